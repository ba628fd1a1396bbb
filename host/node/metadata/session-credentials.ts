// What a session logged in with, and whether the committed users still vouch for it. A session lives only as long
// as the credential it was opened with: deleting or deactivating its user ends it, so does changing the password it
// logged in with or deleting (or outliving) the personal access token it logged in with. Permission changes need no
// revocation: every request asks the committed permissions of its user (permissions.ts `allowed`).
//
// Changing one's own password from a session keeps that session (it has just proved the current password, as
// Iggy's ChangePassword requires) and ends the user's other password sessions. Token sessions outlive a password
// change: the token still logs in, so ending them would only make the client log in again.
import { Operation } from '../../shared/wire/codes.js';
import { hashPatToken, patExpired } from './pats.js';
import type { CommittedOp } from './types.js';
import { UserStatus, type UsersState } from './users.js';

export type Credential = { kind: 'password'; passwordHash: string } | { kind: 'token'; tokenHash: string };

export interface SessionCredential {
  userId: number;
  client: bigint; // the session's VSR client id (CommittedOp.client of the ops it proposed)
  credential: Credential;
}

export const passwordCredential = (passwordHash: string): Credential => ({ kind: 'password', passwordHash });
export const tokenCredential = (token: Uint8Array): Credential => ({ kind: 'token', tokenHash: hashPatToken(token) });

// Why the session may no longer act, as of the committed `users` (null = it may). `nowMicros` is for token expiry.
export function sessionRevoked(users: UsersState, s: SessionCredential, nowMicros: number): string | null {
  const user = users.get(s.userId);
  if (!user) return 'its user was deleted';
  if (user.status !== UserStatus.active) return 'its user was deactivated';
  const c = s.credential;
  if (c.kind === 'password') return user.passwordHash === c.passwordHash ? null : 'the password it logged in with was changed';
  const found = users.findToken(c.tokenHash);
  if (!found || found.user.id !== s.userId) return 'the personal access token it logged in with was deleted';
  return patExpired(found.pat, nowMicros) ? 'the personal access token it logged in with expired' : null;
}

// The credential after committed op `op` was applied (`result` its ApplyResult.result): the password session that
// changed its own password now holds the new one. Every other session keeps what it had (and sessionRevoked
// judges it); so does one whose change was refused, which proved nothing.
export function credentialAfter(users: UsersState, op: CommittedOp, result: number, s: SessionCredential): Credential {
  if (result !== 0 || op.operation !== Operation.changePassword || op.client !== s.client || s.credential.kind !== 'password') return s.credential;
  const user = users.get(s.userId);
  return user && op.userId === s.userId ? passwordCredential(user.passwordHash) : s.credential;
}
