// Bounds on user input, from the reference (apache/iggy core/common/src/commands/users/defaults.rs), and the
// Iggy error codes that name their violations (iggy_error.rs; in the shared ErrorCode table, so clients name them).
import { ErrorCode } from '../../shared/wire/codes.js';

export const USERNAME_MIN_BYTES = 3;
export const USERNAME_MAX_BYTES = 50;
export const PASSWORD_MIN_BYTES = 3;
export const PASSWORD_MAX_BYTES = 100;
export const PAT_NAME_MIN_BYTES = 3;
export const PAT_NAME_MAX_BYTES = 30;

// Options blocks (iggy-client-wire.md §6.3): the user catalog has no keys, so any key is unsupported.
export const OPTIONS_MAX_PAIRS = 1024;
export const OPTIONS_MAX_BYTES = 100_000;

export const UserErrorCode = {
  invalidPassword: ErrorCode.invalidPassword,
  invalidUserStatus: ErrorCode.invalidUserStatus,
  invalidPersonalAccessTokenName: ErrorCode.invalidPersonalAccessTokenName,
} as const;

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

export function usernameValid(username: string): boolean {
  const n = utf8Length(username);
  return n >= USERNAME_MIN_BYTES && n <= USERNAME_MAX_BYTES;
}

export function passwordValid(password: Uint8Array): boolean {
  return password.length >= PASSWORD_MIN_BYTES && password.length <= PASSWORD_MAX_BYTES;
}

export function patNameValid(name: string): boolean {
  const n = utf8Length(name);
  return n >= PAT_NAME_MIN_BYTES && n <= PAT_NAME_MAX_BYTES;
}
