// Reply payloads of the users commands (iggy-client-wire.md §7.9, §7.10).
import { Writer } from '../../shared/wire/buffer.js';
import { writeName } from '../../shared/wire/primitives.js';
import { encodePermissions } from './permissions.js';
import type { User } from './users.js';

// UserResponse: u32 id, u64 created_at, u8 status, WireName username, u32 len + options.
export function writeUserResponse(w: Writer, u: User): Writer {
  w.u32(u.id).u64(u.createdAt).u8(u.status);
  return writeName(w, u.username, 'username').lenBytes32(u.options);
}

// UserDetails: UserResponse, then `u8 1, u32 len, Permissions`, or four zero bytes when the user has none.
export function encodeUserDetails(u: User): Uint8Array {
  const w = writeUserResponse(new Writer(128), u);
  if (u.permissions === null) return w.u32(0).finish();
  return w.u8(1).lenBytes32(encodePermissions(u.permissions)).finish();
}

export function encodeUserList(users: User[]): Uint8Array {
  const w = new Writer(64 * Math.max(1, users.length));
  for (const u of users) writeUserResponse(w, u);
  return w.finish();
}

// GetPersonalAccessTokens: {WireName name, u64 expiry_at} per token, expiry_at 0 = never.
export function encodePatList(user: User | undefined): Uint8Array {
  const w = new Writer(64);
  for (const pat of user?.tokens.values() ?? []) writeName(w, pat.name, 'token name').u64(pat.expiryAt);
  return w.finish();
}
