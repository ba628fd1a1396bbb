// The users half of a metadata snapshot: everything UsersState holds, so that decode(encode(u)) is the same
// state and encode of it the same bytes. Versioned like the prepared bodies.
import { Reader, WireError, Writer, decodeUtf8, utf8 } from '../../shared/wire/buffer.js';
import { readName, writeName } from '../../shared/wire/primitives.js';
import { readOptionalPermissions, writeOptionalPermissions } from './permissions.js';
import { type PersonalAccessToken, type User, UsersState } from './users.js';

export const USERS_SNAPSHOT_VERSION = 1;

function writeString32(w: Writer, s: string): Writer {
  return w.lenBytes32(utf8.encode(s));
}

function readString32(r: Reader, what: string): string {
  return decodeUtf8(r.bytes(r.u32(`${what} length`), what), what);
}

function writeUser(w: Writer, u: User): void {
  w.u32(u.id);
  writeName(w, u.username, 'username');
  writeString32(w, u.passwordHash).u8(u.status).u64(u.createdAt);
  writeOptionalPermissions(w, u.permissions).lenBytes32(u.options).u32(u.tokens.size);
  for (const pat of u.tokens.values()) {
    writeName(w, pat.name, 'token name');
    writeString32(w, pat.tokenHash).u64(pat.expiryAt);
  }
}

function readUser(r: Reader): User {
  const id = r.u32('user id');
  const username = readName(r, 'username');
  const passwordHash = readString32(r, 'password hash');
  const status = r.u8('status');
  if (status !== 1 && status !== 2) throw new WireError(`users snapshot: user ${id} has status ${status}`);
  const createdAt = Number(r.u64('created_at'));
  const permissions = readOptionalPermissions(r);
  const options = r.bytes(r.u32('options length'), 'options').slice();
  const tokens = new Map<string, PersonalAccessToken>();
  for (let n = r.u32('token count'); n > 0; n--) {
    const pat = { name: readName(r, 'token name'), tokenHash: readString32(r, 'token hash'), expiryAt: r.u64('expiry_at') };
    if (tokens.has(pat.name)) throw new WireError(`users snapshot: user ${id} has token ${pat.name} twice`);
    tokens.set(pat.name, pat);
  }
  return { id, username, passwordHash, status, createdAt, permissions, options, tokens };
}

export function encodeUsersSnapshot(u: UsersState): Uint8Array {
  const all = u.all();
  const w = new Writer(256).u8(USERS_SNAPSHOT_VERSION).u32(u.nextId).u32(all.length);
  for (const user of all) writeUser(w, user);
  return w.finish();
}

export function decodeUsersSnapshot(bytes: Uint8Array): UsersState {
  const r = new Reader(bytes);
  const version = r.u8('users snapshot version');
  if (version !== USERS_SNAPSHOT_VERSION) throw new WireError(`users snapshot version ${version}, expected ${USERS_SNAPSHOT_VERSION}`);
  const nextId = r.u32('next user id');
  const users = new UsersState();
  let previous = -1;
  for (let n = r.u32('user count'); n > 0; n--) {
    const user = readUser(r);
    if (user.id <= previous || user.id >= nextId) throw new WireError(`users snapshot: user id ${user.id} out of order or not below ${nextId}`);
    if (users.byUsername(user.username)) throw new WireError(`users snapshot: username ${user.username} twice`);
    previous = user.id;
    users.insert(user);
  }
  r.done('users snapshot');
  users.nextId = nextId;
  return users;
}
