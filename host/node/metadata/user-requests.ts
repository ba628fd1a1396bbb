// Decoders of the users request bodies (iggy-client-wire.md §7.9, §7.10). Each throws WireError with the Iggy
// code to answer: 3 for a body that does not decode, or the code the spec names for the field. Bytes after a
// fully decoded fixed-shape body are ignored (§14); the two bodies that end in an options block have none.
import { Reader, WireError } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { type Identifier, readIdentifier, readName, readShortBytes, readTlvBlock, TlvKind } from '../../shared/wire/primitives.js';
import { type Permissions, readOptionalPermissions } from './permissions.js';
import { OPTIONS_MAX_BYTES, OPTIONS_MAX_PAIRS, UserErrorCode } from './user-limits.js';
import type { UserStatusValue } from './users.js';

export interface CreateUserRequest {
  username: string;
  password: Uint8Array;
  status: UserStatusValue;
  permissions: Permissions | null;
  options: Uint8Array;
}

export interface UpdateUserRequest {
  user: Identifier;
  username: string | null;
  status: UserStatusValue | null;
  options: Uint8Array;
}

export interface ChangePasswordRequest { user: Identifier; current: Uint8Array; next: Uint8Array }
export interface UpdatePermissionsRequest { user: Identifier; permissions: Permissions | null }
export interface CreatePatRequest { name: string; expiry: bigint }

function readStatus(r: Reader): UserStatusValue {
  const status = r.u8('user status');
  if (status !== 1 && status !== 2) throw new WireError(`user status ${status} is not 1 (active) or 2 (inactive)`, UserErrorCode.invalidUserStatus);
  return status;
}

function readPresence(r: Reader, what: string): boolean {
  const flag = r.u8(what);
  if (flag > 1) throw new WireError(`${what} is ${flag}, expected 0 or 1`);
  return flag === 1;
}

// The unprefixed options block that runs to the end of the body (§6.3). The users catalog has no keys (the
// reference's validate_option_keys with an empty list), so a well-formed block with any entry is 4041.
function readUserOptions(r: Reader): Uint8Array {
  const block = r.rest();
  if (block.length > OPTIONS_MAX_BYTES) throw new WireError(`options block of ${block.length} bytes exceeds ${OPTIONS_MAX_BYTES}`, ErrorCode.optionsBlockTooLarge);
  const entries = readTlvBlock(new Reader(block), block.length, 'options');
  if (entries.length > OPTIONS_MAX_PAIRS) throw new WireError(`options block has ${entries.length} pairs, more than ${OPTIONS_MAX_PAIRS}`, ErrorCode.optionsBlockTooLarge);
  const keys = new Set<string>();
  for (const e of entries) {
    if (e.keyKind !== TlvKind.string) throw new WireError(`option key of kind ${e.keyKind}, expected a string key`);
    const key = Buffer.from(e.key).toString('utf8');
    if (keys.has(key)) throw new WireError(`option key ${JSON.stringify(key)} appears twice`);
    keys.add(key);
  }
  if (entries.length > 0) throw new WireError(`unsupported user option key ${JSON.stringify([...keys][0])}`, ErrorCode.unsupportedOptionKey);
  return block;
}

export function decodeCreateUser(body: Uint8Array): CreateUserRequest {
  const r = new Reader(body);
  const username = readName(r, 'username');
  const password = readShortBytes(r, 'password');
  const status = readStatus(r);
  const permissions = readOptionalPermissions(r);
  return { username, password, status, permissions, options: readUserOptions(r) };
}

export function decodeUpdateUser(body: Uint8Array): UpdateUserRequest {
  const r = new Reader(body);
  const user = readIdentifier(r, 'user id');
  const username = readPresence(r, 'has_username') ? readName(r, 'username') : null;
  const status = readPresence(r, 'has_status') ? readStatus(r) : null;
  return { user, username, status, options: readUserOptions(r) };
}

export function decodeUserIdentifier(body: Uint8Array): Identifier {
  return readIdentifier(new Reader(body), 'user id');
}

export function decodeChangePassword(body: Uint8Array): ChangePasswordRequest {
  const r = new Reader(body);
  const user = readIdentifier(r, 'user id');
  const current = readShortBytes(r, 'current password');
  const next = readShortBytes(r, 'new password');
  return { user, current, next };
}

export function decodeUpdatePermissions(body: Uint8Array): UpdatePermissionsRequest {
  const r = new Reader(body);
  const user = readIdentifier(r, 'user id');
  return { user, permissions: readOptionalPermissions(r) };
}

export function decodeCreatePat(body: Uint8Array): CreatePatRequest {
  const r = new Reader(body);
  const name = readName(r, 'token name');
  return { name, expiry: r.u64('token expiry') };
}

export function decodeDeletePat(body: Uint8Array): string {
  return readName(new Reader(body), 'token name');
}
