// Personal access tokens: the raw token is shown once (CreatePersonalAccessToken's reply) and only its hash is
// committed. The reference hashes with blake3; sha256 serves the same purpose here (a one-way hash of 256
// random bits needs no salt or stretching) and ships with node:crypto.
import { createHash, randomBytes } from 'node:crypto';
import type { PersonalAccessToken } from './users.js';

const TOKEN_BYTES = 32;
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

// 32 random bytes, base64url without padding: 43 ASCII characters, fits a WireName.
export function generatePatToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function hashPatToken(token: Uint8Array | string): string {
  return createHash('sha256').update(token).digest('hex');
}

// The absolute expiry for a requested duration (µs) at `nowMicros`: 0 (server default) and u64::MAX mean never
// (the server default is "never"), stored as 0n. Null when the sum does not fit a u64.
export function patExpiryAt(durationMicros: bigint, nowMicros: number): bigint | null {
  if (durationMicros === 0n || durationMicros === U64_MAX) return 0n;
  const at = BigInt(nowMicros) + durationMicros;
  return at >= U64_MAX ? null : at;
}

export function patExpired(pat: PersonalAccessToken, nowMicros: number): boolean {
  return pat.expiryAt !== 0n && pat.expiryAt <= BigInt(nowMicros);
}
