// XXH3-64 with seed 0 and the default secret: the checksum of the Iggy wire protocol (frames, batches, prepares)
// and of every record shardlog writes to disk. Follows the reference xxhash.h (v0.8) branch by branch. Inputs over
// 240 bytes (every message of a throughput batch) take the long path with its eight 64-bit accumulators in four
// v128 locals, as the reference's SSE2 kernel does: on the server a send and a poll each hash every byte once.

const P32_1: u64 = 0x9e3779b1;
const P32_2: u64 = 0x85ebca77;
const P32_3: u64 = 0xc2b2ae3d;
const P64_1: u64 = 0x9e3779b185ebca87;
const P64_2: u64 = 0xc2b2ae3d27d4eb4f;
const P64_3: u64 = 0x165667b19e3779f9;
const P64_4: u64 = 0x85ebca77c2b2ae63;
const P64_5: u64 = 0x27d4eb2f165667c5;
const PRIME_MX1: u64 = 0x165667919e3779f9;
const PRIME_MX2: u64 = 0x9fb21c651e98df25;

const SECRET_SIZE: usize = 192;
const SECRET_SIZE_MIN: usize = 136;
const STRIPE_LEN: usize = 64;
const STRIPES_PER_BLOCK: usize = (SECRET_SIZE - STRIPE_LEN) / 8;

// Read-only static data: every instance re-applies it to the shared memory, so it must never be written.
const SECRET: usize = memory.data<u8>([
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

let lastHigh: u32 = 0;

export function xxh3_64(ptr: usize, len: usize): u64 {
  if (len <= 16) return len0to16(ptr, len);
  if (len <= 128) return len17to128(ptr, len);
  if (len <= 240) return len129to240(ptr, len);
  return hashLong(ptr, len);
}

// JS-friendly: writes the 64-bit result little-endian at `out` (no BigInt at the boundary).
export function xxh3_64_into(ptr: usize, len: usize, out: usize): void {
  store<u64>(out, xxh3_64(ptr, len));
}

// JS-friendly: returns the low 32 bits; the high 32 bits are then read with xxh3_last_high().
export function xxh3_64_low(ptr: usize, len: usize): u32 {
  const h = xxh3_64(ptr, len);
  lastHigh = <u32>(h >> 32);
  return <u32>h;
}

export function xxh3_last_high(): u32 {
  return lastHigh;
}

function len0to16(p: usize, len: usize): u64 {
  if (len > 8) {
    const flip1 = load<u64>(SECRET + 24) ^ load<u64>(SECRET + 32);
    const flip2 = load<u64>(SECRET + 40) ^ load<u64>(SECRET + 48);
    const lo = load<u64>(p) ^ flip1;
    const hi = load<u64>(p + len - 8) ^ flip2;
    const acc = <u64>len + bswap<u64>(lo) + hi + mul128fold64(lo, hi);
    return avalanche(acc);
  }
  if (len >= 4) {
    const in1 = <u64>load<u32>(p);
    const in2 = <u64>load<u32>(p + len - 4);
    const flip = load<u64>(SECRET + 8) ^ load<u64>(SECRET + 16);
    return rrmxmx((in2 + (in1 << 32)) ^ flip, <u64>len);
  }
  if (len > 0) {
    const c1 = <u32>load<u8>(p);
    const c2 = <u32>load<u8>(p + (len >> 1));
    const c3 = <u32>load<u8>(p + len - 1);
    const combined = (c1 << 16) | (c2 << 24) | c3 | (<u32>len << 8);
    const flip = <u64>(load<u32>(SECRET) ^ load<u32>(SECRET + 4));
    return xxh64Avalanche(<u64>combined ^ flip);
  }
  return xxh64Avalanche(load<u64>(SECRET + 56) ^ load<u64>(SECRET + 64));
}

function len17to128(p: usize, len: usize): u64 {
  let acc = <u64>len * P64_1;
  if (len > 32) {
    if (len > 64) {
      if (len > 96) {
        acc += mix16(p + 48, SECRET + 96);
        acc += mix16(p + len - 64, SECRET + 112);
      }
      acc += mix16(p + 32, SECRET + 64);
      acc += mix16(p + len - 48, SECRET + 80);
    }
    acc += mix16(p + 16, SECRET + 32);
    acc += mix16(p + len - 32, SECRET + 48);
  }
  acc += mix16(p, SECRET);
  acc += mix16(p + len - 16, SECRET + 16);
  return avalanche(acc);
}

function len129to240(p: usize, len: usize): u64 {
  let acc = <u64>len * P64_1;
  for (let i: usize = 0; i < 8; i++) acc += mix16(p + 16 * i, SECRET + 16 * i);
  acc = avalanche(acc);
  const rounds = len / 16;
  for (let i: usize = 8; i < rounds; i++) acc += mix16(p + 16 * i, SECRET + 16 * (i - 8) + 3);
  // The reference indexes this last block from the minimum secret size, not the default secret's.
  acc += mix16(p + len - 16, SECRET + SECRET_SIZE_MIN - 17);
  return avalanche(acc);
}

function hashLong(p: usize, len: usize): u64 {
  // Lanes [acc0, acc1], [acc2, acc3], [acc4, acc5], [acc6, acc7] of the reference.
  let a0 = i64x2(P32_3, P64_1);
  let a1 = i64x2(P64_2, P64_3);
  let a2 = i64x2(P64_4, P32_2);
  let a3 = i64x2(P64_5, P32_1);
  // Every stripe but the last, 16 to a block, the accumulators scrambled after each whole block (the reference's
  // block loop and its tail loop in one: the tail has fewer than 16 stripes, so it is never scrambled).
  const stripes = (len - 1) / STRIPE_LEN;
  for (let n: usize = 0; n < stripes; n++) {
    const d = p + n * STRIPE_LEN;
    const s = n % STRIPES_PER_BLOCK;
    a0 = accumulate128(a0, d, SECRET + s * 8);
    a1 = accumulate128(a1, d + 16, SECRET + s * 8 + 16);
    a2 = accumulate128(a2, d + 32, SECRET + s * 8 + 32);
    a3 = accumulate128(a3, d + 48, SECRET + s * 8 + 48);
    if (s == STRIPES_PER_BLOCK - 1) {
      a0 = scramble128(a0, SECRET + SECRET_SIZE - STRIPE_LEN);
      a1 = scramble128(a1, SECRET + SECRET_SIZE - STRIPE_LEN + 16);
      a2 = scramble128(a2, SECRET + SECRET_SIZE - STRIPE_LEN + 32);
      a3 = scramble128(a3, SECRET + SECRET_SIZE - STRIPE_LEN + 48);
    }
  }
  const last = p + len - STRIPE_LEN;
  const key = SECRET + SECRET_SIZE - STRIPE_LEN - 7;
  a0 = accumulate128(a0, last, key);
  a1 = accumulate128(a1, last + 16, key + 16);
  a2 = accumulate128(a2, last + 32, key + 32);
  a3 = accumulate128(a3, last + 48, key + 48);
  let result = <u64>len * P64_1;
  result += mul128fold64(i64x2.extract_lane(a0, 0) ^ load<u64>(SECRET + 11), i64x2.extract_lane(a0, 1) ^ load<u64>(SECRET + 19));
  result += mul128fold64(i64x2.extract_lane(a1, 0) ^ load<u64>(SECRET + 27), i64x2.extract_lane(a1, 1) ^ load<u64>(SECRET + 35));
  result += mul128fold64(i64x2.extract_lane(a2, 0) ^ load<u64>(SECRET + 43), i64x2.extract_lane(a2, 1) ^ load<u64>(SECRET + 51));
  result += mul128fold64(i64x2.extract_lane(a3, 0) ^ load<u64>(SECRET + 59), i64x2.extract_lane(a3, 1) ^ load<u64>(SECRET + 67));
  return avalanche(result);
}

// Two lanes of the reference's accumulate_512: acc[i] += data[i ^ 1] + lo32(data[i] ^ key[i]) × hi32(data[i] ^ key[i]).
// @ts-ignore: decorator
@inline function accumulate128(acc: v128, d: usize, k: usize): v128 {
  const data = v128.load(d);
  const key = v128.xor(data, v128.load(k));
  // The low and the high halves of both 64-bit lanes, side by side, for one 32 × 32 → 64 multiply per lane.
  const lo = i32x4.shuffle(key, key, 0, 2, 0, 2);
  const hi = i32x4.shuffle(key, key, 1, 3, 1, 3);
  const product = i64x2.extmul_low_i32x4_u(lo, hi);
  const swapped = i64x2.shuffle(data, data, 1, 0);
  return i64x2.add(i64x2.add(acc, swapped), product);
}

// Two lanes of the reference's scramble: acc = ((acc ^ (acc >> 47)) ^ key) × PRIME32_1.
// @ts-ignore: decorator
@inline function scramble128(acc: v128, k: usize): v128 {
  const mixed = v128.xor(v128.xor(acc, i64x2.shr_u(acc, 47)), v128.load(k));
  return i64x2.mul(mixed, i64x2.splat(P32_1));
}

// @ts-ignore: decorator
@inline function mix16(p: usize, s: usize): u64 {
  return mul128fold64(load<u64>(p) ^ load<u64>(s), load<u64>(p, 8) ^ load<u64>(s, 8));
}

// 64×64 → 128-bit product folded to 64 bits (low ^ high), from four 32-bit partial products.
function mul128fold64(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff, aHi = a >> 32;
  const bLo = b & 0xffffffff, bHi = b >> 32;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  const cross = (loLo >> 32) + (hiLo & 0xffffffff) + loHi;
  const upper = (hiLo >> 32) + (cross >> 32) + hiHi;
  const lower = (cross << 32) | (loLo & 0xffffffff);
  return lower ^ upper;
}

// @ts-ignore: decorator
@inline function avalanche(h: u64): u64 {
  h ^= h >> 37;
  h *= PRIME_MX1;
  return h ^ (h >> 32);
}

function xxh64Avalanche(h: u64): u64 {
  h ^= h >> 33;
  h *= P64_2;
  h ^= h >> 29;
  h *= P64_3;
  return h ^ (h >> 32);
}

function rrmxmx(h: u64, len: u64): u64 {
  h ^= rotl<u64>(h, 49) ^ rotl<u64>(h, 24);
  h *= PRIME_MX2;
  h ^= (h >> 35) + len;
  h *= PRIME_MX2;
  return h ^ (h >> 28);
}
