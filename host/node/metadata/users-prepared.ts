// The bodies of committed users ops: what prepareUsersOp proposes and applyUsersOp reads. They are internal to
// this server (never on the client wire), carry hashes instead of secrets, and start with a format version so
// a later layout can be told apart from the ones already in the log. Internal op 68 (bootstrap root) keeps the
// layout pinned in types.ts and has no version byte.
import { Reader, WireError, Writer, decodeUtf8, utf8 } from '../../shared/wire/buffer.js';
import { Operation } from '../../shared/wire/codes.js';
import { type Identifier, readIdentifier, readName, writeIdentifier, writeName } from '../../shared/wire/primitives.js';
import { InternalOperation } from './types.js';
import { type Permissions, readOptionalPermissions, writeOptionalPermissions } from './permissions.js';
import type { UserStatusValue } from './users.js';

export const PREPARED_USERS_VERSION = 1;

export type PreparedUsersOp =
  | { operation: 141; username: string; passwordHash: string; status: UserStatusValue; permissions: Permissions | null; options: Uint8Array }
  | { operation: 142; user: Identifier; username: string | null; status: UserStatusValue | null; options: Uint8Array }
  | { operation: 143; user: Identifier }
  // ChangePassword carries the hash the current password was verified against: if it changed before commit,
  // apply answers 42 instead of overwriting a password the requester never proved to know.
  | { operation: 144; userId: number; currentHash: string; newHash: string }
  | { operation: 145; user: Identifier; permissions: Permissions | null }
  | { operation: 146; name: string; tokenHash: string; expiryAt: bigint }
  | { operation: 147; name: string }
  | { operation: 68; username: string; passwordHash: string };

// Hash strings (scrypt, sha256 hex) are ASCII and shorter than 256 bytes: u8 length + bytes.
function writeShortString(w: Writer, s: string, what: string): Writer {
  const bytes = utf8.encode(s);
  if (bytes.length > 255) throw new Error(`${what} of ${bytes.length} bytes does not fit a u8 length`);
  return w.u8(bytes.length).bytes(bytes);
}

function readShortString(r: Reader, what: string): string {
  return decodeUtf8(r.bytes(r.u8(`${what} length`), what), what);
}

function writeOptionalStatus(w: Writer, status: UserStatusValue | null): Writer {
  return w.u8(status ?? 0);
}

function readOptionalStatus(r: Reader): UserStatusValue | null {
  const s = r.u8('status');
  if (s === 0) return null;
  if (s !== 1 && s !== 2) throw new WireError(`prepared status ${s}`);
  return s;
}

export function encodePrepared(p: PreparedUsersOp): Uint8Array {
  const w = new Writer(128);
  if (p.operation === InternalOperation.bootstrapRoot) {
    writeName(w, p.username, 'username');
    return writeShortString(w, p.passwordHash, 'password hash').finish();
  }
  w.u8(PREPARED_USERS_VERSION);
  switch (p.operation) {
    case Operation.createUser:
      writeName(w, p.username, 'username');
      writeShortString(w, p.passwordHash, 'password hash').u8(p.status);
      writeOptionalPermissions(w, p.permissions).lenBytes32(p.options);
      break;
    case Operation.updateUser:
      writeIdentifier(w, p.user).u8(p.username === null ? 0 : 1);
      if (p.username !== null) writeName(w, p.username, 'username');
      writeOptionalStatus(w, p.status).lenBytes32(p.options);
      break;
    case Operation.deleteUser:
      writeIdentifier(w, p.user);
      break;
    case Operation.changePassword:
      w.u32(p.userId);
      writeShortString(w, p.currentHash, 'current hash');
      writeShortString(w, p.newHash, 'new hash');
      break;
    case Operation.updatePermissions:
      writeOptionalPermissions(writeIdentifier(w, p.user), p.permissions);
      break;
    case Operation.createPersonalAccessToken:
      writeName(w, p.name, 'token name');
      writeShortString(w, p.tokenHash, 'token hash').u64(p.expiryAt);
      break;
    case Operation.deletePersonalAccessToken:
      writeName(w, p.name, 'token name');
      break;
  }
  return w.finish();
}

function decodeVersioned(operation: number, r: Reader): PreparedUsersOp {
  const version = r.u8('prepared version');
  if (version !== PREPARED_USERS_VERSION) throw new WireError(`prepared users body version ${version}, expected ${PREPARED_USERS_VERSION}`);
  switch (operation) {
    case Operation.createUser: {
      const username = readName(r, 'username');
      const passwordHash = readShortString(r, 'password hash');
      const status = readOptionalStatus(r);
      if (status === null) throw new WireError('prepared CreateUser without a status');
      const permissions = readOptionalPermissions(r);
      return { operation: Operation.createUser, username, passwordHash, status, permissions, options: r.bytes(r.u32('options length'), 'options') };
    }
    case Operation.updateUser: {
      const user = readIdentifier(r, 'user id');
      const username = r.u8('has_username') === 1 ? readName(r, 'username') : null;
      const status = readOptionalStatus(r);
      return { operation: Operation.updateUser, user, username, status, options: r.bytes(r.u32('options length'), 'options') };
    }
    case Operation.deleteUser:
      return { operation: Operation.deleteUser, user: readIdentifier(r, 'user id') };
    case Operation.changePassword:
      return { operation: Operation.changePassword, userId: r.u32('user id'), currentHash: readShortString(r, 'current hash'), newHash: readShortString(r, 'new hash') };
    case Operation.updatePermissions:
      return { operation: Operation.updatePermissions, user: readIdentifier(r, 'user id'), permissions: readOptionalPermissions(r) };
    case Operation.createPersonalAccessToken:
      return { operation: Operation.createPersonalAccessToken, name: readName(r, 'token name'), tokenHash: readShortString(r, 'token hash'), expiryAt: r.u64('expiry') };
    case Operation.deletePersonalAccessToken:
      return { operation: Operation.deletePersonalAccessToken, name: readName(r, 'token name') };
  }
  throw new WireError(`operation ${operation} is not a users operation`);
}

// Throws WireError on a body this module did not write (a bug or a corrupt log, never client input).
export function decodePrepared(operation: number, body: Uint8Array): PreparedUsersOp {
  const r = new Reader(body);
  const p: PreparedUsersOp = operation === InternalOperation.bootstrapRoot
    ? { operation: InternalOperation.bootstrapRoot, username: readName(r, 'username'), passwordHash: readShortString(r, 'password hash') }
    : decodeVersioned(operation, r);
  r.done(`prepared body of operation ${operation}`);
  return p;
}
