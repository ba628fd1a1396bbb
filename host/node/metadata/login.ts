// Login: the Register body (iggy-client-wire.md §4.2), protocol compatibility, and credential checks against the
// committed users. Failures are EvictionReason values (§5.3), which the connection layer sends as an Eviction.
import { Reader, decodeUtf8 } from '../../shared/wire/buffer.js';
import { EvictionReason } from '../../shared/wire/codes.js';
import { readName, readShortBytes } from '../../shared/wire/primitives.js';
import { hashPassword, verifyPassword } from './password.js';
import { hashPatToken, patExpired } from './pats.js';
import { passwordCredential, tokenCredential, type Credential } from './session-credentials.js';
import { UserStatus, type UsersState } from './users.js';

// Packed semver: (major << 20) | (minor << 10) | patch.
export const packVersion = (major: number, minor: number, patch: number): number => (major << 20) | (minor << 10) | patch;

export const SERVER_PROTOCOL_VERSION = packVersion(0, 11, 0);
export const MIN_CLIENT_PROTOCOL_VERSION = packVersion(0, 11, 0);

// The reference's rule (version.rs): at least 0.11.0 and the same major.minor as the server (0.11.x).
export function protocolCompatible(version: number): boolean {
  return version >= MIN_CLIENT_PROTOCOL_VERSION && version >>> 10 <= SERVER_PROTOCOL_VERSION >>> 10;
}

interface VersionInfo { version: number; sdkName: string; sdkVersion: string }
interface PasswordShape { username: string; password: Uint8Array; context: string }
interface TokenShape { token: Uint8Array; context: string }

// §4.2 tries the password shape, then the PAT shape. Requiring an exact fit with UTF-8 strings makes them
// exclusive: for one body to fit both, the password shape's context length would need a low byte of 0xff
// inside what the PAT shape reads as its (UTF-8) context, or a context beyond the 64 MiB frame limit. So the
// first shape that fits decides, and a wrong password can only ever be answered 9.
export type RegisterBody =
  | ({ kind: 'password' } & VersionInfo & PasswordShape)
  | ({ kind: 'token' } & VersionInfo & TokenShape)
  | { kind: 'malformed' }
  | { kind: 'incompatible'; version: number };

function readVersionInfo(r: Reader): VersionInfo {
  const version = r.u32('protocol version');
  return { version, sdkName: readName(r, 'sdk name'), sdkVersion: readName(r, 'sdk version') };
}

// Secrets and the context are UTF-8 strings in the reference (read_str); a body that is not fails that shape.
function readSecret(r: Reader, what: string): Uint8Array {
  const bytes = readShortBytes(r, what);
  decodeUtf8(bytes, what);
  return bytes;
}

function readContext(r: Reader): string {
  return decodeUtf8(r.bytes(r.u32('context length'), 'context'), 'context');
}

// A shape matches only when it consumes the body exactly (§4.2's recommendation).
function tryShape<T>(tail: Uint8Array, read: (r: Reader) => T): T | null {
  try {
    const r = new Reader(tail);
    const shape = read(r);
    return r.remaining === 0 ? shape : null;
  } catch {
    return null;
  }
}

const passwordShape = (r: Reader): PasswordShape =>
  ({ username: readName(r, 'username'), password: readSecret(r, 'password'), context: readContext(r) });
const tokenShape = (r: Reader): TokenShape => ({ token: readSecret(r, 'token'), context: readContext(r) });

export function decodeRegisterBody(body: Uint8Array): RegisterBody {
  const r = new Reader(body);
  let info: VersionInfo;
  try {
    info = readVersionInfo(r);
  } catch {
    return { kind: 'malformed' };
  }
  if (!protocolCompatible(info.version)) return { kind: 'incompatible', version: info.version };
  const tail = body.subarray(r.offset);
  const password = tryShape(tail, passwordShape);
  if (password) return { kind: 'password', ...info, ...password };
  const token = tryShape(tail, tokenShape);
  return token ? { kind: 'token', ...info, ...token } : { kind: 'malformed' };
}

export type LoginResult = { ok: true; userId: number } | { ok: false; reason: number };

// Unknown users cost a scrypt too, so that timing does not tell which usernames exist.
let decoyHash: Promise<string> | undefined;

export async function verifyPasswordLogin(users: UsersState, username: string, password: Uint8Array): Promise<LoginResult> {
  const user = users.byUsername(username);
  if (!user) {
    decoyHash ??= hashPassword('decoy password for unknown users');
    await verifyPassword(password, await decoyHash);
    return { ok: false, reason: EvictionReason.invalidCredentials };
  }
  if (!(await verifyPassword(password, user.passwordHash))) return { ok: false, reason: EvictionReason.invalidCredentials };
  if (user.status !== UserStatus.active) return { ok: false, reason: EvictionReason.userInactive };
  return { ok: true, userId: user.id };
}

export function verifyTokenLogin(users: UsersState, token: Uint8Array, nowMicros: number): { ok: true; userId: number } | { ok: false; reason: 10 | 11 } {
  const found = users.findToken(hashPatToken(token));
  if (!found || patExpired(found.pat, nowMicros)) return { ok: false, reason: EvictionReason.invalidToken };
  if (found.user.status !== UserStatus.active) return { ok: false, reason: EvictionReason.userInactive };
  return { ok: true, userId: found.user.id };
}

// Only the version fields: the decoded body also holds the secret.
const versionInfo = (d: VersionInfo): VersionInfo => ({ version: d.version, sdkName: d.sdkName, sdkVersion: d.sdkVersion });

// The whole §4.2 decision for one Register body: the user id to bind and the credential the session holds
// (session-credentials.ts), or the eviction reason (14 comes with the client's version so the caller can fill the
// window fields of the Eviction; a failed password login names its username, for the login throttle).
export type RegisterDecision =
  | { ok: true; userId: number; info: VersionInfo; credential: Credential }
  | { ok: false; reason: number; username?: string };

export async function authenticateRegister(users: UsersState, body: Uint8Array, nowMicros: number): Promise<RegisterDecision> {
  const decoded = decodeRegisterBody(body);
  switch (decoded.kind) {
    case 'malformed': return { ok: false, reason: EvictionReason.malformedLogin };
    case 'incompatible': return { ok: false, reason: EvictionReason.incompatibleProtocol };
    case 'token': {
      const r = verifyTokenLogin(users, decoded.token, nowMicros);
      return r.ok ? { ...r, info: versionInfo(decoded), credential: tokenCredential(decoded.token) } : r;
    }
    case 'password': {
      // The hash the password is checked against (read before the scrypt yields): if it changes meanwhile, the
      // session holds the old one and ends at its first request.
      const verified = users.byUsername(decoded.username)?.passwordHash ?? '';
      const r = await verifyPasswordLogin(users, decoded.username, decoded.password);
      if (!r.ok) return { ...r, username: decoded.username };
      return { ...r, info: versionInfo(decoded), credential: passwordCredential(verified) };
    }
  }
}
