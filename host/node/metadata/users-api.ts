// The users half of the metadata state machine, as the server uses it.
export { applyUsersOp } from './users-apply.js';
export { prepareUsersOp, bootstrapRootBody } from './users-prepare.js';
export { readUsersCommand } from './user-reads.js';
export { encodeUsersSnapshot, decodeUsersSnapshot } from './users-snapshot.js';
export {
  SERVER_PROTOCOL_VERSION, MIN_CLIENT_PROTOCOL_VERSION as SERVER_PROTOCOL_VERSION_MIN, authenticateRegister,
} from './login.js';
