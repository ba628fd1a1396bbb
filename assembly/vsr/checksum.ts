// 64-bit checksum used for every header and body checksum in the VSR core.
// TODO(xxh3): switch to ../checksum/xxh3 once merged. Until then: a word-at-a-time multiply/rotate hash with the
// murmur3 fmix64 finaliser. Not cryptographic; it only has to catch torn writes, bit flips and mixups.

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;

// @ts-ignore: decorator
@inline function fmix64(k: u64): u64 {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccd;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53;
  k ^= k >> 33;
  return k;
}

// Continues hash state `h` over [ptr, ptr+len). Chain calls to hash several ranges as one.
export function hashUpdate(h: u64, ptr: usize, len: u32): u64 {
  let i: u32 = 0;
  for (; i + 8 <= len; i += 8) {
    h ^= rotl<u64>(load<u64>(ptr + i) * P2, 31) * P1;
    h = rotl<u64>(h, 27) * P1 + P3;
  }
  for (; i < len; i++) {
    h ^= <u64>load<u8>(ptr + i) * P3;
    h = rotl<u64>(h, 11) * P1;
  }
  return h ^ <u64>len;
}

export function hashFinish(h: u64): u64 {
  return fmix64(h);
}

export function checksum(ptr: usize, len: u32): u64 {
  return hashFinish(hashUpdate(P3, ptr, len));
}
