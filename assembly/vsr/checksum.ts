// The 64-bit checksum of every VSR header and body checksum: XXH3-64, seed 0, as in Iggy (reference §3.3).
import { xxh3_64 } from "../checksum/xxh3";

// Two ranges hashed as if contiguous are first copied here (a prepare's identity skips its frame prefix).
const JOIN_MAX: u32 = 256;
let joinBuffer: usize = 0;

// Allocates the per-instance join buffer from the arena; vsrCreate calls it so no later call allocates.
export function checksumInit(): void {
  if (joinBuffer == 0) joinBuffer = heap.alloc(JOIN_MAX);
}

export function checksum(ptr: usize, len: u32): u64 {
  return xxh3_64(ptr, len);
}

// XXH3-64 of [a, a+aLen) followed by [b, b+bLen).
export function checksumJoined(a: usize, aLen: u32, b: usize, bLen: u32): u64 {
  assert(aLen + bLen <= JOIN_MAX, "checksumJoined: ranges too long");
  checksumInit();
  memory.copy(joinBuffer, a, aLen);
  memory.copy(joinBuffer + aLen, b, bLen);
  return xxh3_64(joinBuffer, aLen + bLen);
}
