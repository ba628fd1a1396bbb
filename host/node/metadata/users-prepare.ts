// Pre-consensus step of the users ops on the home shard (types.ts `Prepared`): decode and bound the request,
// check the caller's permission against the local committed state, and turn secrets into hashes, so that only
// hashes ever reach the log and every replica. Not deterministic (clock, random salts): apply is.
import { WireError, Writer } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import { writeName } from '../../shared/wire/primitives.js';
import { hashPassword, verifyPassword } from './password.js';
import { generatePatToken, hashPatToken, patExpiryAt } from './pats.js';
import { allowed } from './permissions.js';
import type { MetadataState } from './state.js';
import type { Prepared, Session } from './types.js';
import { InternalOperation } from './types.js';
import { UserErrorCode, passwordValid, patNameValid, usernameValid } from './user-limits.js';
import {
  decodeChangePassword, decodeCreatePat, decodeCreateUser, decodeDeletePat, decodeUpdatePermissions, decodeUpdateUser,
  decodeUserIdentifier,
} from './user-requests.js';
import { encodePrepared } from './users-prepared.js';

const fail = (status: number, message: string): Prepared => ({ ok: false, status, message });
const propose = (body: Uint8Array, reply?: Uint8Array): Prepared => (reply ? { ok: true, body, reply } : { ok: true, body });

const DENIED = (what: string): Prepared => fail(ErrorCode.unauthorized, `${what} needs the manage_users permission`);

function checkUsername(username: string): void {
  if (!usernameValid(username)) throw new WireError(`username must be 3..50 bytes, got ${Buffer.byteLength(username)}`, ErrorCode.invalidUsername);
}

function checkPassword(password: Uint8Array): void {
  if (!passwordValid(password)) throw new WireError(`password must be 3..100 bytes, got ${password.length}`, UserErrorCode.invalidPassword);
}

async function prepareCreateUser(state: MetadataState, session: Session, body: Uint8Array): Promise<Prepared> {
  const req = decodeCreateUser(body);
  checkUsername(req.username);
  checkPassword(req.password);
  if (!allowed(state.users, session.userId, 'manage_users')) return DENIED('CreateUser');
  const passwordHash = await hashPassword(req.password);
  return propose(encodePrepared({
    operation: Operation.createUser, username: req.username, passwordHash, status: req.status, permissions: req.permissions, options: req.options,
  }));
}

function prepareUpdateUser(state: MetadataState, session: Session, body: Uint8Array): Prepared {
  const req = decodeUpdateUser(body);
  if (req.username !== null) checkUsername(req.username);
  if (!allowed(state.users, session.userId, 'manage_users')) return DENIED('UpdateUser');
  return propose(encodePrepared({ operation: Operation.updateUser, ...req }));
}

function prepareDeleteUser(state: MetadataState, session: Session, body: Uint8Array): Prepared {
  const user = decodeUserIdentifier(body);
  if (!allowed(state.users, session.userId, 'manage_users')) return DENIED('DeleteUser');
  return propose(encodePrepared({ operation: Operation.deleteUser, user }));
}

// Changing one's own password needs only the current one; someone else's also needs manage_users. The current
// password is checked against the committed hash here (scrypt is too slow for the apply path), and that hash
// rides along so apply can refuse if it changed meanwhile.
async function prepareChangePassword(state: MetadataState, session: Session, body: Uint8Array): Promise<Prepared> {
  const req = decodeChangePassword(body);
  checkPassword(req.next);
  const target = state.users.resolve(req.user);
  // Refused before "not found", so that a caller without manage_users cannot tell which other users exist.
  if (target?.id !== session.userId && !allowed(state.users, session.userId, 'manage_users')) return DENIED("Changing another user's password");
  if (!target) return fail(ErrorCode.resourceNotFound, 'ChangePassword: no such user');
  const currentHash = target.passwordHash;
  if (!(await verifyPassword(req.current, currentHash))) return fail(ErrorCode.invalidCredentials, 'ChangePassword: the current password is wrong');
  const newHash = await hashPassword(req.next);
  return propose(encodePrepared({ operation: Operation.changePassword, userId: target.id, currentHash, newHash }));
}

function prepareUpdatePermissions(state: MetadataState, session: Session, body: Uint8Array): Prepared {
  const req = decodeUpdatePermissions(body);
  if (!allowed(state.users, session.userId, 'manage_users')) return DENIED('UpdatePermissions');
  return propose(encodePrepared({ operation: Operation.updatePermissions, ...req }));
}

// Tokens belong to the caller (op.userId at apply), so there is nothing to authorize. The raw token goes back to
// the caller in the reply and nowhere else.
function prepareCreatePat(body: Uint8Array, nowMicros: number): Prepared {
  const req = decodeCreatePat(body);
  if (!patNameValid(req.name)) return fail(UserErrorCode.invalidPersonalAccessTokenName, `token name must be 3..30 bytes, got ${Buffer.byteLength(req.name)}`);
  const expiryAt = patExpiryAt(req.expiry, nowMicros);
  if (expiryAt === null) return fail(ErrorCode.invalidPersonalAccessTokenExpiry, `token expiry ${req.expiry} µs from now does not fit a u64 timestamp`);
  const token = generatePatToken();
  const reply = writeName(new Writer(64), token, 'token').finish();
  return propose(encodePrepared({ operation: Operation.createPersonalAccessToken, name: req.name, tokenHash: hashPatToken(token), expiryAt }), reply);
}

function prepareDeletePat(body: Uint8Array): Prepared {
  return propose(encodePrepared({ operation: Operation.deletePersonalAccessToken, name: decodeDeletePat(body) }));
}

// `nowMicros` is the home shard's clock (PAT expiry is absolute from here on); tests pass their own.
export async function prepareUsersOp(
  state: MetadataState, session: Session, operation: number, body: Uint8Array, nowMicros = Date.now() * 1000,
): Promise<Prepared> {
  try {
    switch (operation) {
      case Operation.createUser: return await prepareCreateUser(state, session, body);
      case Operation.updateUser: return prepareUpdateUser(state, session, body);
      case Operation.deleteUser: return prepareDeleteUser(state, session, body);
      case Operation.changePassword: return await prepareChangePassword(state, session, body);
      case Operation.updatePermissions: return prepareUpdatePermissions(state, session, body);
      case Operation.createPersonalAccessToken: return prepareCreatePat(body, nowMicros);
      case Operation.deletePersonalAccessToken: return prepareDeletePat(body);
      default: return fail(ErrorCode.invalidCommand, `operation ${operation} is not a users operation`);
    }
  } catch (e) {
    if (e instanceof WireError) return fail(e.code, e.message);
    throw e;
  }
}

// The body of internal op 68, proposed once on an empty log: creates the root user (id 0).
export async function bootstrapRootBody(username: string, password: string): Promise<Uint8Array> {
  return encodePrepared({ operation: InternalOperation.bootstrapRoot, username, passwordHash: await hashPassword(password) });
}
