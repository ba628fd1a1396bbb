// Permission checks (stub: filled in by the users work; until then only root may do anything).
import type { UsersState } from './users.js';

export type PermissionAction =
  | 'manage_servers' | 'read_servers' | 'manage_users' | 'read_users' | 'manage_streams' | 'read_streams'
  | 'manage_topics' | 'read_topics' | 'poll_messages' | 'send_messages';

export function allowed(_users: UsersState, userId: number, _action: PermissionAction, _streamId?: number, _topicId?: number): boolean {
  return userId === 0;
}
