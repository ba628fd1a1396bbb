// Password hashing: salted scrypt, stored as a self-describing string `scrypt$N$r$p$saltB64$hashB64` so the
// parameters can be raised later without breaking hashes already committed to the log.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 1 << 14;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Caps on parameters read back from a stored string, so a corrupt hash cannot make verification eat the heap.
const MAX_N = 1 << 20;
const MAX_RP = 64;

function derive(password: Uint8Array, salt: Uint8Array, n: number, r: number, p: number, keyBytes: number): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; node's default maxmem (32 MiB) would refuse a raised N.
  const maxmem = 256 * n * r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, { N: n, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const bytesOf = (password: Uint8Array | string): Uint8Array =>
  typeof password === 'string' ? Buffer.from(password, 'utf8') : password;

export async function hashPassword(password: Uint8Array | string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(bytesOf(password), salt, N, R, P, KEY_BYTES);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash { n: number; r: number; p: number; salt: Buffer; key: Buffer }

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [n, r, p] = parts.slice(1, 4).map((s) => (/^[1-9][0-9]{0,9}$/.test(s) ? Number(s) : NaN));
  if (!(n >= 2 && n <= MAX_N && (n & (n - 1)) === 0 && r <= MAX_RP && p <= MAX_RP)) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length === 0 || key.length === 0 || key.length > 64) return null;
  return { n, r, p, salt, key };
}

export function isPasswordHash(stored: string): boolean {
  return parseHash(stored) !== null;
}

// False for a wrong password and for a stored string that is not a hash this module wrote.
export async function verifyPassword(password: Uint8Array | string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await derive(bytesOf(password), parsed.salt, parsed.n, parsed.r, parsed.p, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}
