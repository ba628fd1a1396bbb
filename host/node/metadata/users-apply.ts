// Apply step of the users ops: every shard runs it on the same committed ops in the same order, so it reads only
// its arguments (timestamps come from the op, never the clock). Business rejections are the reference's
// (iggy-client-wire.md end of §5.4, core/metadata/src/stm/result.rs), plus 41 from the in-apply permission gate
// the reference also runs (core/metadata/src/stm/authz.rs): a grant revoked between prepare and commit must not
// let the op through.
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import { ROOT_USER_ID, allowed, rootPermissions } from './permissions.js';
import type { MetadataState } from './state.js';
import type { ApplyResult, CommittedOp } from './types.js';
import { InternalOperation } from './types.js';
import { usernameValid } from './user-limits.js';
import { encodeUserDetails } from './user-responses.js';
import { type User, UserStatus, type UsersState } from './users.js';
import { type PreparedUsersOp, decodePrepared } from './users-prepared.js';

const EMPTY = new Uint8Array(0);
const ok = (payload: Uint8Array = EMPTY): ApplyResult => ({ result: 0, payload });
const reject = (result: number): ApplyResult => ({ result, payload: EMPTY });

function createUser(users: UsersState, p: Extract<PreparedUsersOp, { operation: 141 }>, op: CommittedOp): ApplyResult {
  if (!usernameValid(p.username)) return reject(ErrorCode.invalidUsername);
  if (users.byUsername(p.username)) return reject(ErrorCode.userAlreadyExists);
  const user: User = {
    id: users.nextId, username: p.username, passwordHash: p.passwordHash, status: p.status, createdAt: op.timestampMicros,
    permissions: p.permissions, options: p.options, tokens: new Map(),
  };
  users.insert(user);
  return ok(encodeUserDetails(user));
}

function updateUser(users: UsersState, p: Extract<PreparedUsersOp, { operation: 142 }>): ApplyResult {
  const user = users.resolve(p.user);
  if (!user) return reject(ErrorCode.resourceNotFound);
  if (p.username !== null && p.username !== user.username) {
    if (!usernameValid(p.username)) return reject(ErrorCode.invalidUsername);
    if (users.byUsername(p.username)) return reject(ErrorCode.userAlreadyExists);
    users.rename(user, p.username);
  }
  if (p.status !== null) user.status = p.status;
  user.options = p.options;
  return ok();
}

function deleteUser(users: UsersState, p: Extract<PreparedUsersOp, { operation: 143 }>): ApplyResult {
  const user = users.resolve(p.user);
  if (!user) return reject(ErrorCode.resourceNotFound);
  if (user.id === ROOT_USER_ID) return reject(ErrorCode.cannotDeleteUser);
  users.remove(user.id);
  return ok();
}

function changePassword(users: UsersState, p: Extract<PreparedUsersOp, { operation: 144 }>): ApplyResult {
  const user = users.get(p.userId);
  if (!user) return reject(ErrorCode.resourceNotFound);
  if (user.passwordHash !== p.currentHash) return reject(ErrorCode.invalidCredentials);
  user.passwordHash = p.newHash;
  return ok();
}

function updatePermissions(users: UsersState, p: Extract<PreparedUsersOp, { operation: 145 }>): ApplyResult {
  const user = users.resolve(p.user);
  if (!user) return reject(ErrorCode.resourceNotFound);
  if (user.id === ROOT_USER_ID) return reject(ErrorCode.cannotChangePermissions);
  user.permissions = p.permissions;
  return ok();
}

// An owner deleted between prepare and commit has nowhere to keep the token: 20, like the other missing users.
function createPat(users: UsersState, p: Extract<PreparedUsersOp, { operation: 146 }>, op: CommittedOp): ApplyResult {
  const user = users.get(op.userId);
  if (!user) return reject(ErrorCode.resourceNotFound);
  if (user.tokens.has(p.name) || users.hasTokenHash(p.tokenHash)) return reject(ErrorCode.personalAccessTokenAlreadyExists);
  if (p.expiryAt !== 0n && p.expiryAt <= BigInt(op.timestampMicros)) return reject(ErrorCode.invalidPersonalAccessTokenExpiry);
  users.addToken(user, { name: p.name, tokenHash: p.tokenHash, expiryAt: p.expiryAt });
  return ok();
}

function deletePat(users: UsersState, p: Extract<PreparedUsersOp, { operation: 147 }>, op: CommittedOp): ApplyResult {
  const user = users.get(op.userId);
  if (!user || !users.removeToken(user, p.name)) return reject(ErrorCode.resourceNotFound);
  return ok();
}

// Only ever the first user: a second bootstrap (or one on a non-empty state) changes nothing.
function bootstrapRoot(users: UsersState, p: Extract<PreparedUsersOp, { operation: 68 }>, op: CommittedOp): ApplyResult {
  if (users.nextId !== 0) return reject(ErrorCode.userAlreadyExists);
  users.insert({
    id: ROOT_USER_ID, username: p.username, passwordHash: p.passwordHash, status: UserStatus.active, createdAt: op.timestampMicros,
    permissions: rootPermissions(), options: EMPTY, tokens: new Map(),
  });
  return ok();
}

// Whether op.userId may run `p` as of the state before it (null = allowed).
function gate(users: UsersState, p: PreparedUsersOp, userId: number): ApplyResult | null {
  switch (p.operation) {
    case Operation.createUser: case Operation.updateUser: case Operation.deleteUser: case Operation.updatePermissions:
      return allowed(users, userId, 'manage_users') ? null : reject(ErrorCode.unauthorized);
    case Operation.changePassword:
      return p.userId === userId || allowed(users, userId, 'manage_users') ? null : reject(ErrorCode.unauthorized);
    default:
      return null;
  }
}

function dispatch(users: UsersState, p: PreparedUsersOp, op: CommittedOp): ApplyResult {
  switch (p.operation) {
    case Operation.createUser: return createUser(users, p, op);
    case Operation.updateUser: return updateUser(users, p);
    case Operation.deleteUser: return deleteUser(users, p);
    case Operation.changePassword: return changePassword(users, p);
    case Operation.updatePermissions: return updatePermissions(users, p);
    case Operation.createPersonalAccessToken: return createPat(users, p, op);
    case Operation.deletePersonalAccessToken: return deletePat(users, p, op);
    case InternalOperation.bootstrapRoot: return bootstrapRoot(users, p, op);
  }
}

// Applies a committed users op (141..147, internal 68). A body that does not decode was not written by
// prepareUsersOp; it is answered 3 on every shard alike rather than crashing them.
export function applyUsersOp(state: MetadataState, op: CommittedOp): ApplyResult {
  let p: PreparedUsersOp;
  try {
    p = decodePrepared(op.operation, op.body);
  } catch (e) {
    if (e instanceof WireError) return reject(ErrorCode.invalidCommand);
    throw e;
  }
  return gate(state.users, p, op.userId) ?? dispatch(state.users, p, op);
}
