// XXH3-64 (seed 0, default secret) in plain TypeScript: the checksum of message frames and batches
// (iggy-client-wire.md §2.5). The client must not need core.wasm, so this is a BigInt port of the reference
// xxhash.h branches (the same ones assembly/checksum/xxh3.ts follows). Fast enough for a client: checksums are
// over one message or one batch header at a time.

const M64 = (1n << 64n) - 1n;
const P32_1 = 0x9e3779b1n;
const P32_2 = 0x85ebca77n;
const P32_3 = 0xc2b2ae3dn;
const P64_1 = 0x9e3779b185ebca87n;
const P64_2 = 0xc2b2ae3d27d4eb4fn;
const P64_3 = 0x165667b19e3779f9n;
const P64_4 = 0x85ebca77c2b2ae63n;
const P64_5 = 0x27d4eb2f165667c5n;
const PRIME_MX1 = 0x165667919e3779f9n;
const PRIME_MX2 = 0x9fb21c651e98df25n;

const SECRET_SIZE = 192;
const SECRET_SIZE_MIN = 136;
const STRIPE_LEN = 64;
const STRIPES_PER_BLOCK = (SECRET_SIZE - STRIPE_LEN) / 8;
const BLOCK_LEN = STRIPE_LEN * STRIPES_PER_BLOCK;

const SECRET = Uint8Array.from([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
]);
const SECRET_VIEW = new DataView(SECRET.buffer);

const secret64 = (at: number): bigint => SECRET_VIEW.getBigUint64(at, true);
const mul = (a: bigint, b: bigint): bigint => (a * b) & M64;
const add = (a: bigint, b: bigint): bigint => (a + b) & M64;

function rotl(h: bigint, n: bigint): bigint {
  return ((h << n) | (h >> (64n - n))) & M64;
}

function bswap64(v: bigint): bigint {
  let out = 0n;
  for (let i = 0n; i < 64n; i += 8n) out = (out << 8n) | ((v >> i) & 0xffn);
  return out;
}

// 64×64 → 128-bit product folded to 64 bits (low ^ high).
function mul128fold64(a: bigint, b: bigint): bigint {
  const p = a * b;
  return (p & M64) ^ (p >> 64n);
}

function avalanche(h: bigint): bigint {
  h ^= h >> 37n;
  h = mul(h, PRIME_MX1);
  return h ^ (h >> 32n);
}

function xxh64Avalanche(h: bigint): bigint {
  h ^= h >> 33n;
  h = mul(h, P64_2);
  h ^= h >> 29n;
  h = mul(h, P64_3);
  return h ^ (h >> 32n);
}

function rrmxmx(h: bigint, len: bigint): bigint {
  h ^= rotl(h, 49n) ^ rotl(h, 24n);
  h = mul(h, PRIME_MX2);
  h ^= add(h >> 35n, len);
  h = mul(h, PRIME_MX2);
  return h ^ (h >> 28n);
}

export function xxh3_64(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  if (len <= 16) return len0to16(view, len);
  if (len <= 128) return len17to128(view, len);
  if (len <= 240) return len129to240(view, len);
  return hashLong(view, len);
}

function len0to16(v: DataView, len: number): bigint {
  if (len > 8) {
    const lo = v.getBigUint64(0, true) ^ (secret64(24) ^ secret64(32));
    const hi = v.getBigUint64(len - 8, true) ^ (secret64(40) ^ secret64(48));
    return avalanche(add(add(add(BigInt(len), bswap64(lo)), hi), mul128fold64(lo, hi)));
  }
  if (len >= 4) {
    const in1 = BigInt(v.getUint32(0, true));
    const in2 = BigInt(v.getUint32(len - 4, true));
    return rrmxmx((in2 + (in1 << 32n)) ^ (secret64(8) ^ secret64(16)), BigInt(len));
  }
  if (len > 0) {
    const c1 = v.getUint8(0);
    const c2 = v.getUint8(len >> 1);
    const c3 = v.getUint8(len - 1);
    const combined = ((c1 << 16) | (c2 << 24) | c3 | (len << 8)) >>> 0;
    const flip = (SECRET_VIEW.getUint32(0, true) ^ SECRET_VIEW.getUint32(4, true)) >>> 0;
    return xxh64Avalanche(BigInt((combined ^ flip) >>> 0));
  }
  return xxh64Avalanche(secret64(56) ^ secret64(64));
}

function mix16(v: DataView, p: number, s: number): bigint {
  return mul128fold64(v.getBigUint64(p, true) ^ secret64(s), v.getBigUint64(p + 8, true) ^ secret64(s + 8));
}

function len17to128(v: DataView, len: number): bigint {
  let acc = mul(BigInt(len), P64_1);
  if (len > 32) {
    if (len > 64) {
      if (len > 96) {
        acc = add(acc, mix16(v, 48, 96));
        acc = add(acc, mix16(v, len - 64, 112));
      }
      acc = add(acc, mix16(v, 32, 64));
      acc = add(acc, mix16(v, len - 48, 80));
    }
    acc = add(acc, mix16(v, 16, 32));
    acc = add(acc, mix16(v, len - 32, 48));
  }
  acc = add(acc, mix16(v, 0, 0));
  acc = add(acc, mix16(v, len - 16, 16));
  return avalanche(acc);
}

function len129to240(v: DataView, len: number): bigint {
  let acc = mul(BigInt(len), P64_1);
  for (let i = 0; i < 8; i++) acc = add(acc, mix16(v, 16 * i, 16 * i));
  acc = avalanche(acc);
  const rounds = Math.floor(len / 16);
  for (let i = 8; i < rounds; i++) acc = add(acc, mix16(v, 16 * i, 16 * (i - 8) + 3));
  // The reference indexes this last block from the minimum secret size, not the default secret's.
  acc = add(acc, mix16(v, len - 16, SECRET_SIZE_MIN - 17));
  return avalanche(acc);
}

function accumulate512(acc: bigint[], v: DataView, p: number, s: number): void {
  for (let i = 0; i < 8; i++) {
    const value = v.getBigUint64(p + 8 * i, true);
    const key = value ^ secret64(s + 8 * i);
    acc[i ^ 1] = add(acc[i ^ 1], value);
    acc[i] = add(acc[i], (key & 0xffffffffn) * (key >> 32n));
  }
}

function scramble(acc: bigint[], s: number): void {
  for (let i = 0; i < 8; i++) acc[i] = mul((acc[i] ^ (acc[i] >> 47n)) ^ secret64(s + 8 * i), P32_1);
}

function hashLong(v: DataView, len: number): bigint {
  const acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1];
  const blocks = Math.floor((len - 1) / BLOCK_LEN);
  for (let b = 0; b < blocks; b++) {
    for (let s = 0; s < STRIPES_PER_BLOCK; s++) accumulate512(acc, v, b * BLOCK_LEN + s * STRIPE_LEN, s * 8);
    scramble(acc, SECRET_SIZE - STRIPE_LEN);
  }
  const stripes = Math.floor((len - 1 - BLOCK_LEN * blocks) / STRIPE_LEN);
  for (let s = 0; s < stripes; s++) accumulate512(acc, v, blocks * BLOCK_LEN + s * STRIPE_LEN, s * 8);
  accumulate512(acc, v, len - STRIPE_LEN, SECRET_SIZE - STRIPE_LEN - 7);
  let result = mul(BigInt(len), P64_1);
  for (let i = 0; i < 4; i++) {
    result = add(result, mul128fold64(acc[2 * i] ^ secret64(11 + 16 * i), acc[2 * i + 1] ^ secret64(19 + 16 * i)));
  }
  return avalanche(result);
}
