// Read commands of the users half, answered from the local committed state (iggy-client-wire.md §7.9, §7.10).
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { allowed } from './permissions.js';
import type { MetadataState } from './state.js';
import type { ReadResult, Session } from './types.js';
import { decodeUserIdentifier } from './user-requests.js';
import { encodePatList, encodeUserDetails, encodeUserList } from './user-responses.js';

export const UserReadCode = { getUser: 31, getUsers: 32, getPersonalAccessTokens: 41 } as const;

const denied = (what: string): ReadResult => ({ ok: false, status: ErrorCode.unauthorized, message: `${what} needs the read_users permission` });

// Anyone may read themselves; anyone else needs read_users, asked before "not found" so that the empty answer
// does not tell an unprivileged caller which users exist.
function getUser(state: MetadataState, session: Session, body: Uint8Array): ReadResult {
  const user = state.users.resolve(decodeUserIdentifier(body));
  if (user?.id !== session.userId && !allowed(state.users, session.userId, 'read_users')) return denied('GetUser');
  return { ok: true, body: user ? encodeUserDetails(user) : new Uint8Array(0) };
}

function getUsers(state: MetadataState, session: Session): ReadResult {
  if (!allowed(state.users, session.userId, 'read_users')) return denied('GetUsers');
  return { ok: true, body: encodeUserList(state.users.all()) };
}

export function readUsersCommand(state: MetadataState, session: Session, code: number, body: Uint8Array): ReadResult {
  try {
    switch (code) {
      case UserReadCode.getUser: return getUser(state, session, body);
      case UserReadCode.getUsers: return getUsers(state, session);
      case UserReadCode.getPersonalAccessTokens: return { ok: true, body: encodePatList(state.users.get(session.userId)) };
      default: return { ok: false, status: ErrorCode.invalidCommand, message: `command ${code} is not a users read` };
    }
  } catch (e) {
    if (e instanceof WireError) return { ok: false, status: e.code, message: e.message };
    throw e;
  }
}
