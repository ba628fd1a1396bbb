import {
  BATCH_BAD_RESERVED, BATCH_CHECKSUM, BATCH_FRAME_CHECKSUM, BATCH_INCOMPLETE, BATCH_OK, batchErrorAt, batchSeal,
  batchStamp, batchVerify,
} from "../../assembly/journal/batch";
import { SCAN_END, TAIL_CORRUPT, TAIL_TRUNCATE, segmentScan, segmentScanBatches, segmentScanConsumed, segmentScanNextOffset, segmentTailClaimedMessages, segmentTailDecision } from "../../assembly/journal/segment";
import { indexAppend, indexCount, indexFindOffset, indexFindTimestamp, indexInit, indexOffsetAt, indexRegionBytes, retentionPick } from "../../assembly/journal/sparse_index";
import { PICK_A, PICK_B, PICK_FAIL, PICK_NONE, SB_BAD_LENGTH, SB_CHECKSUM, SB_EMPTY, SB_HEADER, SB_OK, SB_PAYLOAD_V1, SB_RECORD, SB_VERSION_1, superblockCheck, superblockPick, superblockSeal } from "../../assembly/journal/superblock";
import { xxh3_64 } from "../../assembly/checksum/xxh3";

const SCRATCH_LEN: u32 = 1 << 16;
const scratch = heap.alloc(SCRATCH_LEN);

// The wire spec's batch: one message, id 1, payload "hi", origin 1000 µs (iggy-client-wire.md §13).
function specBatch(p: usize): void {
  memory.fill(p, 0, 306);
  store<u64>(p + 24, 1000);
  store<u64>(p + 32, 306);
  store<u32>(p + 48, 1);
  store<u8>(p + 256 + 8, 1);
  store<u32>(p + 256 + 36, 2);
  store<u8>(p + 304, 0x68);
  store<u8>(p + 305, 0x69);
}

// `count` one-message batches of `payload` bytes, stamped with consecutive offsets; returns bytes written.
function writeBatches(p: usize, count: u32, payload: u32): u32 {
  let at: usize = p;
  for (let i: u32 = 0; i < count; i++) {
    const len = 256 + 48 + payload;
    memory.fill(at, 0, len);
    store<u64>(at + 32, len);
    store<u32>(at + 48, 1);
    store<u32>(at + 256 + 36, payload);
    for (let j: u32 = 0; j < payload; j++) store<u8>(at + 304 + j, <u8>(i + j));
    batchSeal(at, len, scratch, SCRATCH_LEN);
    batchStamp(at, len, 7, <f64>i, 1000 + <f64>i * 10, scratch, SCRATCH_LEN, true);
    at += len;
  }
  return <u32>(at - p);
}

describe("batch", () => {
  it("seals the wire spec's vector to its published checksums", () => {
    const p = heap.alloc(512);
    specBatch(p);
    expect(batchSeal(p, 306, scratch, SCRATCH_LEN)).toBe(BATCH_OK);
    expect(load<u64>(p + 256)).toBe(0xa9920b42ca008edc);
    expect(load<u64>(p + 40)).toBe(0x3128cad93892dd65);
    expect(batchVerify(p, 306, scratch, SCRATCH_LEN, true)).toBe(BATCH_OK);
    heap.free(p);
  });

  it("names what is wrong and where", () => {
    const p = heap.alloc(512);
    specBatch(p);
    batchSeal(p, 306, scratch, SCRATCH_LEN);
    expect(batchVerify(p, 305, scratch, SCRATCH_LEN, true)).toBe(BATCH_INCOMPLETE);
    store<u8>(p + 305, 0x6a);
    expect(batchVerify(p, 306, scratch, SCRATCH_LEN, true)).toBe(BATCH_FRAME_CHECKSUM);
    expect(batchErrorAt()).toBe(256);
    store<u8>(p + 305, 0x69);
    store<u8>(p + 16, 1);
    expect(batchVerify(p, 306, scratch, SCRATCH_LEN, true)).toBe(BATCH_CHECKSUM);
    store<u8>(p + 16, 0);
    store<u8>(p + 100, 1);
    expect(batchVerify(p, 306, scratch, SCRATCH_LEN, true)).toBe(BATCH_BAD_RESERVED);
    expect(batchErrorAt()).toBe(100);
    heap.free(p);
  });

  it("refuses to stamp a batch whose frame checksum is wrong", () => {
    const p = heap.alloc(512);
    specBatch(p);
    batchSeal(p, 306, scratch, SCRATCH_LEN);
    store<u8>(p + 304, 0);
    expect(batchStamp(p, 306, 1, 5, 9, scratch, SCRATCH_LEN, true)).toBe(BATCH_FRAME_CHECKSUM);
    expect(load<u64>(p + 8)).toBe(0);
    heap.free(p);
  });

  it("does not stamp a batch whose sender's batch checksum is wrong (frames intact)", () => {
    const p = heap.alloc(512);
    specBatch(p);
    batchSeal(p, 306, scratch, SCRATCH_LEN);
    store<u64>(p + 40, load<u64>(p + 40) ^ 1);
    expect(batchStamp(p, 306, 1, 5, 9, scratch, SCRATCH_LEN, true)).toBe(BATCH_CHECKSUM);
    expect(load<u64>(p + 8)).toBe(0);
    expect(batchStamp(p, 306, 1, 5, 9, scratch, SCRATCH_LEN, false)).toBe(BATCH_OK);
    expect(load<u64>(p + 8)).toBe(5);
    heap.free(p);
  });
});

describe("segment scan and tail decision", () => {
  it("walks batches, indexes sparsely and stops at a torn tail", () => {
    const p = heap.alloc(1 << 16);
    const index = heap.alloc(indexRegionBytes(64));
    indexInit(index, 64, 1000);
    const len = writeBatches(p, 20, 100);
    expect(segmentScan(p, len, 0, 0, 0, index, 0, scratch, SCRATCH_LEN, true)).toBe(SCAN_END);
    expect(segmentScanBatches()).toBe(20);
    expect(segmentScanNextOffset()).toBe(20);
    // 404-byte batches, one entry per ≥ 1000 bytes: positions 0, 1212, 2424, ...
    expect(indexCount(index)).toBe(7);
    expect(indexFindOffset(index, 4)).toBe(1);
    expect(indexFindTimestamp(index, 1035)).toBe(1);
    expect(indexFindTimestamp(index, 0)).toBe(0);
    expect(segmentScan(p, len - 10, 0, 0, 0, 0, 0, scratch, SCRATCH_LEN, true)).toBe(BATCH_INCOMPLETE);
    expect(segmentScanConsumed()).toBe(len - 404);
    expect(segmentTailDecision(p + len - 404, 394, 394, <f64>(len - 404), 19, BATCH_INCOMPLETE, scratch, SCRATCH_LEN, 1 << 20)).toBe(TAIL_TRUNCATE);
    // A complete last batch with a flipped payload bit is damage, not a torn write.
    store<u8>(p + len - 3, load<u8>(p + len - 3) ^ 4);
    expect(segmentTailDecision(p + len - 404, 404, 404, <f64>(len - 404), 19, BATCH_FRAME_CHECKSUM, scratch, SCRATCH_LEN, 1 << 20)).toBe(TAIL_CORRUPT);
    store<u8>(p + len - 3, load<u8>(p + len - 3) ^ 4);
    // A grown length field makes the last batch look short; with the true length it verifies: damage.
    store<u8>(p + len - 404 + 33, 1);
    expect(segmentTailDecision(p + len - 404, 404, 404, <f64>(len - 404), 19, BATCH_INCOMPLETE, scratch, SCRATCH_LEN, 1 << 20)).toBe(TAIL_CORRUPT);
    heap.free(p);
    heap.free(index);
  });

  it("the offsets a truncated tail claims come from its consecutive headers, a cut last record included", () => {
    const p = heap.alloc(1 << 16);
    const len = writeBatches(p, 5, 100); // 404-byte batches of one message each, offsets 0..4
    // The tail from batch 2 cut 100 bytes short: batches 2, 3 and the cut 4 claim offsets 2, 3, 4.
    expect(segmentTailClaimedMessages(p + 808, len - 808 - 100, 2)).toBe(3);
    // Fewer than a header's bytes: nothing is claimed.
    expect(segmentTailClaimedMessages(p + 1616, 200, 4)).toBe(0);
    // A header that does not continue the expected offset claims nothing (and stops the walk).
    expect(segmentTailClaimedMessages(p + 808, len - 808, 3)).toBe(0);
    // A count that cannot fit the declared length stops the walk after the batches before it.
    store<u32>(p + 1212 + 48, 1000);
    expect(segmentTailClaimedMessages(p + 808, len - 808, 2)).toBe(1);
    heap.free(p);
  });

  it("a bad record followed by a valid batch is corruption, not a torn tail", () => {
    const p = heap.alloc(1 << 16);
    const len = writeBatches(p, 5, 100);
    store<u8>(p + 404 * 2 + 310, load<u8>(p + 404 * 2 + 310) ^ 1);
    expect(segmentScan(p, len, 0, 0, 0, 0, 0, scratch, SCRATCH_LEN, true)).toBe(BATCH_FRAME_CHECKSUM);
    expect(segmentScanConsumed()).toBe(808);
    expect(segmentTailDecision(p + 808, len - 808, <f64>(len - 808), 808, 2, BATCH_FRAME_CHECKSUM, scratch, SCRATCH_LEN, 1 << 20)).toBe(TAIL_CORRUPT);
    heap.free(p);
  });
});

describe("sparse index", () => {
  it("thins itself when full instead of going blind past the last entry", () => {
    const index = heap.alloc(indexRegionBytes(8));
    indexInit(index, 8, 100);
    for (let i = 0; i < 8; i++) indexAppend(index, <f64>(i * 10), <f64>i, <f64>(i * 100), i < 5 ? 0 : 1);
    expect(indexAppend(index, 80, 8, 300, 1)).toBe(true);
    // segment 0 kept 0, 20, 40; segment 1 kept 50, 70; then the new 80.
    expect(indexCount(index)).toBe(6);
    expect(indexOffsetAt(index, 3)).toBe(50);
    expect(indexOffsetAt(index, 5)).toBe(80);
    expect(indexFindOffset(index, 35)).toBe(1);
    expect(load<u32>(index + 8)).toBe(200);
    heap.free(index);
  });
});

describe("torn or corrupt", () => {
  it("zeros where a batch should be are unwritten blocks of a cut write: truncate", () => {
    const p = heap.alloc(3 << 12);
    memory.fill(p, 0, 3 << 12);
    const len = writeBatches(p, 1, 9000);
    // The batch is complete in length, but its middle 4 KiB block was never written.
    memory.fill(p + 4096, 0, 4096);
    expect(segmentScan(p, len, 0, 0, 0, 0, 0, scratch, SCRATCH_LEN, true)).toBe(BATCH_FRAME_CHECKSUM);
    expect(segmentTailDecision(p, len, <f64>len, 0, 0, BATCH_FRAME_CHECKSUM, scratch, SCRATCH_LEN, 1 << 20)).toBe(TAIL_TRUNCATE);
    // More bytes after the bad record than one write can leave: never a torn tail.
    expect(segmentTailDecision(p, len, <f64>len, 0, 0, BATCH_FRAME_CHECKSUM, scratch, SCRATCH_LEN, 4096)).toBe(TAIL_CORRUPT);
    heap.free(p);
  });
});

describe("retention", () => {
  it("drops the oldest segments over size or age, never the active one", () => {
    const t = heap.alloc(64);
    for (let i = 0; i < 4; i++) { store<f64>(t + i * 16, 100); store<f64>(t + i * 16 + 8, <f64>(i * 1000)); }
    expect(retentionPick(t, 4, 250, 0, 0)).toBe(2);
    expect(retentionPick(t, 4, 0, 3500, 1000)).toBe(3);
    expect(retentionPick(t, 4, 0, 1e9, 1)).toBe(3);
    expect(retentionPick(t, 4, 0, 0, 0)).toBe(0);
    // Expiry at its boundary (as Iggy: last + expiry <= now), and the segment just short of it.
    expect(retentionPick(t, 4, 0, 2000, 1000)).toBe(2);
    expect(retentionPick(t, 4, 0, 1999, 1000)).toBe(1);
    // A size limit below one segment keeps the newest sealed one; expiry does not.
    expect(retentionPick(t, 4, 1, 0, 0)).toBe(2);
    expect(retentionPick(t, 4, 1, 1e9, 1)).toBe(3);
    // The longer of the two runs wins.
    expect(retentionPick(t, 4, 350, 2000, 1000)).toBe(2);
    expect(retentionPick(t, 4, 250, 1000, 1000)).toBe(2);
    // Nothing to choose from: one (active) segment, or none.
    expect(retentionPick(t, 1, 1, 1e9, 1)).toBe(0);
    expect(retentionPick(t, 0, 1, 1e9, 1)).toBe(0);
    heap.free(t);
  });
});

describe("superblock", () => {
  it("checks records and lets the newer valid copy win", () => {
    const a = heap.alloc(SB_RECORD);
    const b = heap.alloc(SB_RECORD);
    memory.fill(a, 0, SB_RECORD);
    memory.fill(b, 0, SB_RECORD);
    expect(superblockCheck(a, SB_RECORD)).toBe(SB_EMPTY);
    superblockSeal(a, 1, 0);
    superblockSeal(b, 2, a);
    expect(superblockCheck(a, SB_RECORD)).toBe(SB_OK);
    expect(superblockCheck(b, SB_RECORD)).toBe(SB_OK);
    expect(superblockPick(SB_OK, 1, SB_OK, 2)).toBe(PICK_B);
    store<u8>(b + 40, 1);
    expect(superblockCheck(b, SB_RECORD)).toBe(SB_CHECKSUM);
    expect(superblockPick(SB_OK, 1, SB_CHECKSUM, 2)).toBe(PICK_A);
    expect(superblockPick(SB_EMPTY, 0, SB_EMPTY, 0)).toBe(PICK_NONE);
    expect(superblockPick(SB_EMPTY, 0, SB_CHECKSUM, 0)).toBe(PICK_FAIL);
    heap.free(a);
    heap.free(b);
  });

  it("still reads a version 1 record (no log head) and chains a version 2 record to it", () => {
    // A version 1 record as the servers before the log head wrote it: 64 B of payload.
    const v1Len = SB_HEADER + SB_PAYLOAD_V1 + 8;
    const a = heap.alloc(SB_RECORD);
    const b = heap.alloc(SB_RECORD);
    memory.fill(a, 0, SB_RECORD);
    memory.fill(b, 0, SB_RECORD);
    store<u32>(a, 0x53424c4b);
    store<u16>(a + 4, SB_VERSION_1);
    store<u64>(a + 8, 7);
    store<u32>(a + 24, SB_PAYLOAD_V1);
    store<u64>(a + SB_HEADER + SB_PAYLOAD_V1, xxh3_64(a, SB_HEADER + SB_PAYLOAD_V1));
    expect(superblockCheck(a, v1Len)).toBe(SB_OK);
    expect(superblockCheck(a, SB_RECORD)).not.toBe(SB_OK); // its length is its version's
    store<u32>(a + 24, SB_PAYLOAD_V1 + 16); // a version 1 record claiming version 2's payload
    expect(superblockCheck(a, v1Len)).toBe(SB_BAD_LENGTH);
    store<u32>(a + 24, SB_PAYLOAD_V1);
    superblockSeal(b, 8, a);
    expect(superblockCheck(b, SB_RECORD)).toBe(SB_OK);
    expect(load<u64>(b + 16)).toBe(load<u64>(a + SB_HEADER + SB_PAYLOAD_V1)); // the parent is the v1 record's checksum
    heap.free(a);
    heap.free(b);
  });
});
