// Users and personal access tokens (stub: filled in by the users work).
export class UsersState {}
