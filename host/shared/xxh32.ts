// XXH32 (xxHash, 32-bit): MessagesKey partitioning and string consumer ids hash with it, seed 0
// (iggy-client-wire.md §8.6, §9.1). Math.imul keeps every product in u32 arithmetic.
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

function readU32(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);
}

export function xxh32(input: Uint8Array, seed = 0): number {
  const len = input.length;
  let at = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (; at + 16 <= len; at += 16) {
      v1 = round(v1, readU32(input, at));
      v2 = round(v2, readU32(input, at + 4));
      v3 = round(v3, readU32(input, at + 8));
      v4 = round(v4, readU32(input, at + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  for (; at + 4 <= len; at += 4) h = Math.imul(rotl((h + Math.imul(readU32(input, at), P3)) | 0, 17), P4);
  for (; at < len; at++) h = Math.imul(rotl((h + Math.imul(input[at], P5)) | 0, 11), P1);
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}
