// Partition segment decisions: where each batch of a `.log` window starts and whether it is valid, which sparse
// index entries it gets, and whether a bad record at the end of a segment is a torn tail (truncate) or corruption
// (refuse). The host reads windows of the file into memory and asks; it never interprets the bytes itself.
import {
  BATCH_HEADER, BATCH_INCOMPLETE, BATCH_OK, B_BASE_OFFSET, B_BASE_TIMESTAMP, B_COUNT, B_LENGTH, FRAME_HEADER, MAX_BATCH_BYTES, batchCount,
  batchErrorAt, batchLength, batchVerify,
} from "./batch";
import { I_COUNT, indexAppend, indexLastPosition, indexLastSegment } from "./sparse_index";

// Why a scan stopped before the end of its window (or SCAN_END when it consumed everything).
export const SCAN_END: u32 = 0;
// Batch verdicts 1..7 from batch.ts pass through unchanged; these are the segment's own:
export const SCAN_OFFSET_GAP: u32 = 16;
export const SCAN_TIMESTAMP_BACKWARDS: u32 = 17;

let scanConsumed: u32 = 0;
let scanBatches: u32 = 0;
let scanMessages: u32 = 0;
let scanNextOffset: f64 = 0;
let scanLastTimestamp: f64 = 0;
let scanErrorAt: u32 = 0;
let scanNeed: u32 = 0;

// Walks whole batches in `avail` bytes at `p` (file bytes from `filePos`), the first of which must have base offset
// `expectedOffset` and a base timestamp ≥ `minTimestamp`. Each valid batch may get a sparse index entry in `index`
// (0 = none) for `segment`. Returns SCAN_END or the verdict of the batch it stopped at (at byte scanConsumed of the
// window, the problem itself at scanErrorAt). BATCH_INCOMPLETE with scanNeed bytes: read a longer window.
export function segmentScan(
  p: usize, avail: u32, filePos: f64, expectedOffset: f64, minTimestamp: f64, index: usize, segment: u32,
  scratch: usize, scratchLen: u32, full: bool,
): u32 {
  scanConsumed = 0;
  scanBatches = 0;
  scanMessages = 0;
  scanNextOffset = expectedOffset;
  scanLastTimestamp = minTimestamp;
  scanNeed = 0;
  while (scanConsumed < avail) {
    const at = p + scanConsumed;
    const verdict = batchVerify(at, avail - scanConsumed, scratch, scratchLen, full);
    if (verdict != BATCH_OK) {
      scanErrorAt = scanConsumed + batchErrorAt();
      if (verdict == BATCH_INCOMPLETE && avail - scanConsumed >= BATCH_HEADER) scanNeed = <u32>load<u64>(at + 32);
      return verdict;
    }
    const base = <f64>load<u64>(at + B_BASE_OFFSET);
    const timestamp = <f64>load<u64>(at + B_BASE_TIMESTAMP);
    if (base != scanNextOffset) return stop(scanConsumed + B_BASE_OFFSET, SCAN_OFFSET_GAP);
    if (timestamp < scanLastTimestamp) return stop(scanConsumed + B_BASE_TIMESTAMP, SCAN_TIMESTAMP_BACKWARDS);
    if (index != 0) maybeIndex(index, segment, base, timestamp, filePos + <f64>scanConsumed);
    scanNextOffset = base + <f64>batchCount();
    scanLastTimestamp = timestamp;
    scanMessages += batchCount();
    scanBatches++;
    scanConsumed += batchLength();
  }
  return SCAN_END;
}

// A segment's first batch is always indexed (so lookups never cross segments), later ones once `interval` bytes
// have passed since the previous entry.
function maybeIndex(index: usize, segment: u32, offset: f64, timestamp: f64, position: f64): void {
  const count = load<u32>(index + I_COUNT);
  if (count == 0 || indexLastSegment(index) != segment) {
    indexAppend(index, offset, timestamp, position, segment);
    return;
  }
  if (position - indexLastPosition(index) >= <f64>load<u32>(index + 8)) indexAppend(index, offset, timestamp, position, segment);
}

export function segmentScanConsumed(): u32 { return scanConsumed; }
export function segmentScanBatches(): u32 { return scanBatches; }
export function segmentScanMessages(): u32 { return scanMessages; }
export function segmentScanNextOffset(): f64 { return scanNextOffset; }
export function segmentScanLastTimestamp(): f64 { return scanLastTimestamp; }
export function segmentScanErrorAt(): u32 { return scanErrorAt; }
export function segmentScanNeed(): u32 { return scanNeed; }

// Tail decisions after a scan stopped on a bad record.
export const TAIL_TRUNCATE: u32 = 0;
export const TAIL_CORRUPT: u32 = 1;

// `p`/`avail`: the bytes from the bad record to the end of the file (at file position `filePos`), `remaining` their
// true count (may exceed the window), `verdict` what segmentScan said about the record. A torn write is at most one
// append (≤ `maxWrite` bytes) and leaves either a short record (its declared length runs past the end of the file)
// or unwritten blocks (zeros). Anything else, in particular a complete record that fails its checksums, or a valid
// batch after the bad one, is damage to acknowledged data: it must be refused, never truncated away.
export function segmentTailDecision(
  p: usize, avail: u32, remaining: f64, filePos: f64, nextOffset: f64, verdict: u32, scratch: usize, scratchLen: u32, maxWrite: u32,
): u32 {
  if (remaining > <f64>avail || remaining > <f64>maxWrite) return TAIL_CORRUPT;
  if (segmentFindBatch(p, avail, 1, nextOffset, scratch, scratchLen) >= 0) return TAIL_CORRUPT;
  if (verdict == BATCH_INCOMPLETE) return lengthFieldDamaged(p, avail, scratch, scratchLen) ? TAIL_CORRUPT : TAIL_TRUNCATE;
  return hasUnwrittenBlock(p, avail, <u64>filePos) ? TAIL_TRUNCATE : TAIL_CORRUPT;
}

// How many messages the records of a tail about to be truncated claim, from their unverified headers: consecutive
// whole headers whose base offsets continue `nextOffset`, each with a plausible length and count (the last may run
// past the end of the bytes: a cut record). For the report only (which offsets are dropped); 0 when no header says.
export function segmentTailClaimedMessages(p: usize, avail: u32, nextOffset: f64): f64 {
  let at: u32 = 0;
  let expected = nextOffset;
  while (at + BATCH_HEADER <= avail) {
    const h = p + at;
    const length = load<u64>(h + B_LENGTH);
    const count = load<u32>(h + B_COUNT);
    if (<f64>load<u64>(h + B_BASE_OFFSET) != expected || length < <u64>BATCH_HEADER || length > <u64>MAX_BATCH_BYTES) break;
    if (count == 0 || <u64>count > (length - <u64>BATCH_HEADER) / <u64>FRAME_HEADER) break;
    expected += <f64>count;
    if (<u64>at + length > <u64>avail) break;
    at += <u32>length;
  }
  return expected - nextOffset;
}

// A record that looks short only because its length field grew: with the length set to what is there, it verifies.
function lengthFieldDamaged(p: usize, avail: u32, scratch: usize, scratchLen: u32): bool {
  if (avail < BATCH_HEADER) return false;
  const declared = load<u64>(p + 32);
  store<u64>(p + 32, <u64>avail);
  const whole = batchVerify(p, avail, scratch, scratchLen, true) == BATCH_OK;
  store<u64>(p + 32, declared);
  return whole;
}

// Zeros to the end of the file, or a whole zero 4 KiB file block inside the record: the signature of a write cut by a
// crash (blocks allocated, data never written). A flipped bit never produces either.
function hasUnwrittenBlock(p: usize, avail: u32, filePos: u64): bool {
  let zeroTail = true;
  for (let i: u32 = 0; i < avail; i++) if (load<u8>(p + i) != 0) { zeroTail = false; break; }
  if (zeroTail) return true;
  const BLOCK: u64 = 4096;
  let block = (filePos + BLOCK - 1) & ~(BLOCK - 1);
  while (block + BLOCK <= filePos + <u64>avail) {
    const at = p + <usize>(block - filePos);
    let zero = true;
    for (let i: usize = 0; i < <usize>BLOCK; i += 8) if (load<u64>(at + i) != 0) { zero = false; break; }
    if (zero) return true;
    block += BLOCK;
  }
  return false;
}

// First position ≥ `from` in the window where a complete, fully verified batch with base offset ≥ `minOffset`
// starts, or -1. Candidates are pre-filtered on cheap header fields before hashing.
export function segmentFindBatch(p: usize, avail: u32, from: u32, minOffset: f64, scratch: usize, scratchLen: u32): i32 {
  for (let at = from; at + BATCH_HEADER <= avail; at++) {
    const h = p + at;
    const length = load<u64>(h + 32);
    if (length < <u64>BATCH_HEADER || length > <u64>MAX_BATCH_BYTES || <u64>at + length > <u64>avail) continue;
    if (load<u32>(h + B_COUNT) == 0 || load<u64>(h + 56) != 0 || load<u64>(h + 248) != 0) continue;
    if (<f64>load<u64>(h + B_BASE_OFFSET) < minOffset) continue;
    if (batchVerify(h, avail - at, scratch, scratchLen, true) == BATCH_OK) return <i32>at;
  }
  return -1;
}

function stop(at: u32, verdict: u32): u32 {
  scanErrorAt = at;
  return verdict;
}
