// The message batch of the Iggy wire protocol (protocol/iggy-client-wire.md §8.2), which is also the on-disk record of
// a partition segment: a 256-byte batch header, then frames [48-byte frame header][payload][user headers].
// This file decides whether bytes are a valid batch and re-stamps the server-owned header fields.
import { xxh3_64 } from "../checksum/xxh3";

export const BATCH_HEADER: u32 = 256;
export const FRAME_HEADER: u32 = 48;
// Largest batch the storage layer accepts. A torn write is at most one append, and appends are batches, so this also
// bounds how far past a bad record recovery must look for a valid one (segment.ts).
export const MAX_BATCH_BYTES: u32 = 16 << 20;

export const B_PARTITION: u32 = 0;
export const B_BASE_OFFSET: u32 = 8;
export const B_BASE_TIMESTAMP: u32 = 16;
export const B_ORIGIN_TIMESTAMP: u32 = 24;
export const B_LENGTH: u32 = 32;
export const B_CHECKSUM: u32 = 40;
export const B_COUNT: u32 = 48;
export const B_RESERVED: u32 = 52;

export const F_CHECKSUM: u32 = 0;
export const F_OFFSET_DELTA: u32 = 24;
export const F_USER_HEADERS_LEN: u32 = 32;
export const F_PAYLOAD_LEN: u32 = 36;
export const F_RESERVED: u32 = 40;

// Verdicts of batchVerify. INCOMPLETE means "fewer bytes than the header says": a torn tail or a short window.
export const BATCH_OK: u32 = 0;
export const BATCH_INCOMPLETE: u32 = 1;
export const BATCH_BAD_LENGTH: u32 = 2;
export const BATCH_BAD_RESERVED: u32 = 3;
export const BATCH_BAD_FRAMES: u32 = 4;
export const BATCH_FRAME_CHECKSUM: u32 = 5;
export const BATCH_CHECKSUM: u32 = 6;
export const BATCH_TOO_MANY_MESSAGES: u32 = 7;

// The batch checksum covers these header fields (44 bytes), then each frame's 8-byte checksum.
const CHECKSUM_PREFIX: usize = 44;

let errorAt: u32 = 0;
let verifiedLength: u32 = 0;
let verifiedCount: u32 = 0;

// Byte offset inside the batch of the field or frame that failed the last batchVerify.
export function batchErrorAt(): u32 {
  return errorAt;
}

export function batchLength(): u32 {
  return verifiedLength;
}

export function batchCount(): u32 {
  return verifiedCount;
}

// Checks that `avail` bytes at `p` start with a complete, well-formed batch. With `full`, every frame checksum and the
// batch checksum are verified; without, only the structure (used where the bytes were verified moments ago).
// `scratch` holds the frame checksums for the batch checksum: 44 + 8 × message_count bytes.
export function batchVerify(p: usize, avail: u32, scratch: usize, scratchLen: u32, full: bool): u32 {
  verifiedLength = 0;
  verifiedCount = 0;
  if (avail < BATCH_HEADER) return fail(0, BATCH_INCOMPLETE);
  const length = load<u64>(p + B_LENGTH);
  if (length < <u64>(BATCH_HEADER + FRAME_HEADER) || length > <u64>MAX_BATCH_BYTES) return fail(B_LENGTH, BATCH_BAD_LENGTH);
  const count = load<u32>(p + B_COUNT);
  if (count == 0) return fail(B_COUNT, BATCH_BAD_FRAMES);
  const reserved = firstNonZero(p, B_RESERVED, BATCH_HEADER);
  if (reserved >= 0) return fail(<u32>reserved, BATCH_BAD_RESERVED);
  const len = <u32>length;
  if (len > avail) return fail(B_LENGTH, BATCH_INCOMPLETE);
  if (<u64>CHECKSUM_PREFIX + (<u64>count << 3) > <u64>scratchLen) return fail(B_COUNT, BATCH_TOO_MANY_MESSAGES);

  let pos: u32 = BATCH_HEADER;
  let n: u32 = 0;
  while (pos < len) {
    if (len - pos < FRAME_HEADER || n == count) return fail(pos, BATCH_BAD_FRAMES);
    const frame = p + pos;
    const frameLen = <u64>FRAME_HEADER + <u64>load<u32>(frame + F_USER_HEADERS_LEN) + <u64>load<u32>(frame + F_PAYLOAD_LEN);
    if (<u64>pos + frameLen > <u64>len) return fail(pos, BATCH_BAD_FRAMES);
    if (load<u64>(frame + F_RESERVED) != 0) return fail(pos + F_RESERVED, BATCH_BAD_RESERVED);
    const sum = load<u64>(frame + F_CHECKSUM);
    if (full && xxh3_64(frame + 8, <usize>frameLen - 8) != sum) return fail(pos, BATCH_FRAME_CHECKSUM);
    store<u64>(scratch + CHECKSUM_PREFIX + (<usize>n << 3), sum);
    n++;
    pos += <u32>frameLen;
  }
  if (n != count) return fail(B_COUNT, BATCH_BAD_FRAMES);
  if (full && checksumOf(p, n, scratch) != load<u64>(p + B_CHECKSUM)) return fail(B_CHECKSUM, BATCH_CHECKSUM);
  verifiedLength = len;
  verifiedCount = n;
  return BATCH_OK;
}

// Server-side stamping at append: partition id, base offset and append time, then the batch checksum again. The frames
// are checked structurally and, with `full`, every frame checksum and the sender's batch checksum too (one pass over
// the bytes, on the copy about to be written): a batch that does not verify is never stamped.
export function batchStamp(
  p: usize, avail: u32, partition: u32, baseOffset: f64, baseTimestamp: f64, scratch: usize, scratchLen: u32, full: bool,
): u32 {
  const verdict = batchVerify(p, avail, scratch, scratchLen, full);
  if (verdict != BATCH_OK) return verdict;
  store<u64>(p + B_PARTITION, <u64>partition);
  store<u64>(p + B_BASE_OFFSET, <u64>baseOffset);
  store<u64>(p + B_BASE_TIMESTAMP, <u64>baseTimestamp);
  store<u64>(p + B_CHECKSUM, checksumOf(p, verifiedCount, scratch));
  return BATCH_OK;
}

// Client side (and tests): computes every frame checksum and the batch checksum of a batch whose lengths are set.
export function batchSeal(p: usize, avail: u32, scratch: usize, scratchLen: u32): u32 {
  let pos: u32 = BATCH_HEADER;
  const len = <u32>load<u64>(p + B_LENGTH);
  if (len > avail) return fail(B_LENGTH, BATCH_INCOMPLETE);
  while (pos + FRAME_HEADER <= len) {
    const frame = p + pos;
    const frameLen = FRAME_HEADER + load<u32>(frame + F_USER_HEADERS_LEN) + load<u32>(frame + F_PAYLOAD_LEN);
    if (pos + frameLen > len) return fail(pos, BATCH_BAD_FRAMES);
    store<u64>(frame + F_CHECKSUM, xxh3_64(frame + 8, frameLen - 8));
    pos += frameLen;
  }
  const verdict = batchVerify(p, avail, scratch, scratchLen, false);
  if (verdict != BATCH_OK) return verdict;
  store<u64>(p + B_CHECKSUM, checksumOf(p, verifiedCount, scratch));
  return BATCH_OK;
}

export function batchBaseOffset(p: usize): f64 {
  return <f64>load<u64>(p + B_BASE_OFFSET);
}

export function batchBaseTimestamp(p: usize): f64 {
  return <f64>load<u64>(p + B_BASE_TIMESTAMP);
}

// Streaming XXH3 over (partition, base_offset, base_timestamp, origin_timestamp, length, count) and the frame
// checksums equals one-shot XXH3 over their concatenation, which is what scratch holds.
function checksumOf(p: usize, count: u32, scratch: usize): u64 {
  store<u64>(scratch, load<u64>(p + B_PARTITION));
  store<u64>(scratch + 8, load<u64>(p + B_BASE_OFFSET));
  store<u64>(scratch + 16, load<u64>(p + B_BASE_TIMESTAMP));
  store<u64>(scratch + 24, load<u64>(p + B_ORIGIN_TIMESTAMP));
  store<u64>(scratch + 32, load<u64>(p + B_LENGTH));
  store<u32>(scratch + 40, count);
  return xxh3_64(scratch, CHECKSUM_PREFIX + (<usize>count << 3));
}

function firstNonZero(p: usize, from: u32, to: u32): i32 {
  for (let i = from; i < to; i += 4) {
    if (load<u32>(p + i) != 0) return <i32>i;
  }
  return -1;
}

function fail(at: u32, verdict: u32): u32 {
  errorAt = at;
  return verdict;
}
