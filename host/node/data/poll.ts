// PollMessages (iggy-client-wire.md §8.5–§8.7): where a poll starts (planPoll, pure) and the reply body
// (buildPollReply): u32 partition_id, u64 current_offset, u32 count, then records. A record is a stored batch as it
// is, or a slice of one: same base_offset / base_timestamp / origin, its own message_count and batch_length, and a
// batch checksum the core recomputes (so its first frame may have offset_delta != 0).
import { copyInto } from '../../shared/copy.js';
import type { PollingStrategy } from '../../shared/wire/primitives.js';
import type { Partition, ReadPlace, StoredBatch } from '../io/partition.js';
import type { StorageCore } from '../io/storage-core.js';
import { BATCH_HEADER_BYTES, FRAME_HEADER_BYTES } from './send.js';
import { CoreJournalBatch as B } from '../../shared/core-abi.generated.js';

export const POLL_REPLY_HEAD_BYTES = 16;

export type PollPlan = { start: number } | { empty: true } | { timestamp: number };

export interface PollState {
  firstOffset: number; // oldest offset still stored (retention and DeleteSegments move it up)
  nextOffset: number; // one past the highest committed offset
  storedOffset: number | null; // this consumer's stored offset in this partition
}

export interface PollReply {
  // The body in pieces, back to back: the head (after `prefix` zero bytes), then the records as they were read.
  // The pieces go to the ring or the socket from where they are, instead of being copied into one body first.
  pieces: Uint8Array[];
  lastOffset: number | null; // offset of the last message returned (what auto_commit stores), null when none
  messages: number;
}

// §8.6. C = nextOffset - 1. Empty partition or count 0: empty. Offset → value; First → 0; Last → max(0, C - count + 1);
// Next → stored + 1, or 0; Timestamp → resolved against the batches (buildPollReply). A start past C is empty; a
// start below what retention left starts at the first stored offset.
export function planPoll(strategy: PollingStrategy, count: number, state: PollState): PollPlan {
  const { firstOffset, nextOffset, storedOffset } = state;
  if (count <= 0 || nextOffset <= firstOffset) return { empty: true };
  const highest = nextOffset - 1;
  let start: number;
  switch (strategy.kind) {
    case 'timestamp':
      return { timestamp: Number(strategy.value) };
    case 'offset':
      if (strategy.value > BigInt(highest)) return { empty: true };
      start = Number(strategy.value);
      break;
    case 'first':
      start = 0;
      break;
    case 'last':
      start = Math.max(0, highest - count + 1);
      break;
    case 'next':
      start = storedOffset === null ? 0 : storedOffset + 1;
      break;
  }
  if (start > highest) return { empty: true };
  return { start: Math.max(start, firstOffset) };
}

// The 16-byte head alone: what an empty poll answers (never a zero-length body; the SDKs need the head).
export function emptyPollReply(partitionId: number, currentOffset: number, prefix = 0): Uint8Array {
  const body = Buffer.alloc(prefix + POLL_REPLY_HEAD_BYTES);
  replyHead(body.subarray(prefix), partitionId, currentOffset, 0);
  return body;
}

// Up to `count` messages from the plan's start, as records, in at most `maxBytes` of body. Records are cut between
// frames, never inside one. The first message is returned even when it alone is over `maxBytes` (a consumer must
// always be able to make progress; a batch is at most MAX_BATCH_BYTES). Every record was verified by the core on
// the read (stored batches) or re-checked and re-sealed by it (slices).
export function buildPollReply(
  sc: StorageCore, partition: Partition, partitionId: number, plan: PollPlan, count: number, maxBytes: number,
  prefix = 0, // bytes left free at the front of `body` for the caller's own framing (saves a copy of the reply)
): PollReply {
  const current = currentOffsetOf(partition);
  const none: PollReply = { pieces: [emptyPollReply(partitionId, current, prefix)], lastOffset: null, messages: 0 };
  if ('empty' in plan || count <= 0) return none;
  plan = retained(partition, plan);
  const batches = readPlanned(partition, plan, readBudget(partition, count, maxBytes), count);
  if (batches === null || batches.length === 0) return none;
  const { records, messages, lastOffset } = selectRecords(sc, partition, plan, batches, count, maxBytes);
  if (messages === 0) return none;
  const head = Buffer.alloc(prefix + POLL_REPLY_HEAD_BYTES);
  replyHead(head.subarray(prefix), partitionId, current, messages);
  return { pieces: [head, ...records], lastOffset, messages };
}

// The most bytes writePollReply may need for a poll of `count`, not counting its `prefix`: the caller reserves
// prefix + this.
export function pollReplyBound(partition: Partition, count: number, maxBytes: number): number {
  return POLL_REPLY_HEAD_BYTES + readBudget(partition, count, maxBytes);
}

// The same reply as buildPollReply, written into the core's memory at `at` (a ring frame reserved for it), in at
// most `room` bytes from `at`, the first `prefix` of them left to the caller: stored batches are read straight to
// their place in the reply, so a reply to another shard is not copied out of the read window and then into the ring.
// Returns the bytes written after `prefix`, or null when the reply does not fit (a batch it takes is larger than
// what is left of the room): then build it instead. Nothing is written at or past `at + room`.
export function writePollReply(
  sc: StorageCore, partition: Partition, partitionId: number, plan: PollPlan, count: number, maxBytes: number,
  at: number, room: number, prefix = 0,
): { bytes: number; lastOffset: number | null; messages: number } | null {
  const headAt = at + prefix;
  const first = headAt + POLL_REPLY_HEAD_BYTES;
  const records = room - prefix - POLL_REPLY_HEAD_BYTES; // what the batches may take
  if (records < 0) return null;
  const head = Buffer.from(sc.u8.buffer, sc.u8.byteOffset + headAt, POLL_REPLY_HEAD_BYTES);
  const current = currentOffsetOf(partition);
  const none = { bytes: POLL_REPLY_HEAD_BYTES, lastOffset: null, messages: 0 };
  replyHead(head, partitionId, current, 0);
  if ('empty' in plan || count <= 0) return none;
  plan = retained(partition, plan);
  const batches = readPlanned(partition, plan, Math.min(readBudget(partition, count, maxBytes), records), count, { at: first, room: records });
  if (batches === null) return null;
  if (batches.length === 0) return none;
  const { records: chosen, messages, lastOffset } = selectRecords(sc, partition, plan, batches, count, maxBytes);
  if (messages === 0) return none;
  // Records lie where their batches were read, except slices (built aside, shorter than their batch): each goes
  // to the end of the previous one, which is never after where it was read.
  let end = first;
  for (const record of chosen) {
    const from = record.byteOffset - sc.u8.byteOffset;
    if (record.buffer === sc.u8.buffer) {
      if (from !== end) sc.u8.copyWithin(end, from, from + record.length);
    } else {
      copyInto(sc.u8, end, record);
    }
    end += record.length;
  }
  replyHead(head, partitionId, current, messages);
  return { bytes: end - headAt, lastOffset, messages };
}

// The records of a reply from the batches read for `plan`: whole batches as they are, cut ones re-sealed.
function selectRecords(
  sc: StorageCore, partition: Partition, plan: { start: number } | { timestamp: number }, batches: StoredBatch[], count: number, maxBytes: number,
): { records: Uint8Array[]; messages: number; lastOffset: number | null } {
  const start = 'start' in plan ? plan.start : batches[0].baseOffset;
  const end = Math.min(start + count, partition.readableNextOffset);
  const records: Uint8Array[] = [];
  let bytes = POLL_REPLY_HEAD_BYTES;
  let messages = 0;
  for (const batch of batches) {
    if (batch.baseOffset >= end) break;
    const from = Math.max(start, batch.baseOffset) - batch.baseOffset;
    const to = Math.min(end, batch.baseOffset + batch.count) - batch.baseOffset;
    if (from >= to) continue;
    const room = maxBytes - bytes;
    const whole = from === 0 && to === batch.count && batch.bytes.length <= room;
    const record = whole ? { bytes: batch.bytes, count: batch.count } : sliceBatch(sc, batch.bytes, from, to, room, messages === 0);
    if (record === null) break;
    records.push(record.bytes);
    bytes += record.bytes.length;
    messages += record.count;
    if (record.count < to - from) break; // out of room
  }
  return { records, messages, lastOffset: messages === 0 ? null : start + messages - 1 };
}

// current_offset of §8.5: the highest committed offset, 0 when nothing was ever stored.
export function currentOffsetOf(partition: Partition): number {
  return partition.readableNextOffset > 0 ? partition.readableNextOffset - 1 : 0;
}

// How much to read for `count` messages: the partition's average stored bytes per message, with a margin, never
// more than `maxBytes`. Reading `maxBytes` (16 MiB) for a poll of a thousand 1 KB messages cost a 16x read. A
// partition whose messages vary a lot may answer with fewer than `count`; the consumer polls again from there.
// Where the messages end on a batch boundary the index knows, the read itself stops there (Partition.readEnd).
function readBudget(partition: Partition, count: number, maxBytes: number): number {
  const messages = Math.max(1, partition.nextOffset - partition.firstOffset);
  const perMessage = partition.sizeBytes / messages;
  return Math.min(maxBytes, Math.ceil(count * perMessage * 1.25) + (64 << 10));
}

// A plan made before retention (or DeleteSegments) removed the segment it starts in starts at the first offset
// still stored, as planPoll does for a fresh plan: the consumer gets what is left, not an empty reply.
function retained(partition: Partition, plan: { start: number } | { timestamp: number }): { start: number } | { timestamp: number } {
  return 'start' in plan && plan.start < partition.firstOffset ? { start: partition.firstOffset } : plan;
}

// The stored batches a plan touches, re-checked against the partition as it is now (the plan may be older); read
// into `place` when one is given (null: the first batch does not fit it).
function readPlanned(
  partition: Partition, plan: { start: number } | { timestamp: number }, maxBytes: number, count: number, place?: ReadPlace,
): StoredBatch[] | null {
  const { firstOffset } = partition;
  const nextOffset = partition.readableNextOffset;
  if (nextOffset <= firstOffset) return [];
  if ('start' in plan) {
    if (plan.start < firstOffset || plan.start >= nextOffset) return [];
    return place ? partition.readFromOffset(plan.start, maxBytes, count, place) : partition.readFromOffset(plan.start, maxBytes, count);
  }
  // Timestamps are the broker's append time (base_timestamp), one per batch, so batch granularity is exact here.
  if (!(plan.timestamp >= 0) || plan.timestamp > partition.lastTimestamp) return [];
  return place ? partition.readFromTimestamp(plan.timestamp, maxBytes, count, place) : partition.readFromTimestamp(plan.timestamp, maxBytes, count);
}

// Frames [from, to) of a stored batch as a record of at most `room` bytes (at least one frame when `atLeastOne`),
// or null when not one frame fits. The core checks the new layout and recomputes the batch checksum over the
// unchanged partition id, base offset and base timestamp.
function sliceBatch(
  sc: StorageCore, stored: Uint8Array, from: number, to: number, room: number, atLeastOne: boolean,
): { bytes: Uint8Array; count: number } | null {
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const frameLength = (at: number) => FRAME_HEADER_BYTES + view.getUint32(at + B.F_USER_HEADERS_LEN, true) + view.getUint32(at + B.F_PAYLOAD_LEN, true);
  let first = BATCH_HEADER_BYTES;
  for (let i = 0; i < from; i++) first += frameLength(first);
  let end = first;
  let count = 0;
  while (from + count < to) {
    const next = end + frameLength(end);
    if (BATCH_HEADER_BYTES + next - first > room && !(atLeastOne && count === 0)) break;
    end = next;
    count++;
  }
  if (count === 0) return null;

  const length = BATCH_HEADER_BYTES + end - first;
  const out = Buffer.allocUnsafe(length);
  out.set(stored.subarray(0, BATCH_HEADER_BYTES));
  out.set(stored.subarray(first, end), BATCH_HEADER_BYTES);
  out.writeBigUInt64LE(BigInt(length), B.B_LENGTH);
  out.writeUInt32LE(count, B.B_COUNT);
  copyInto(sc.u8, sc.staging, out);
  const { verdict, errorAt } = sc.batchStamp(sc.staging, length, Number(out.readBigUInt64LE(0)), Number(out.readBigUInt64LE(8)),
    Number(out.readBigUInt64LE(16)), false);
  if (verdict !== 0) throw new Error(`slice of a verified batch refused by the core (verdict ${verdict} at byte ${errorAt}): a bug`);
  copyInto(out, 0, sc.view(sc.staging, length));
  return { bytes: out, count };
}

function replyHead(body: Buffer, partitionId: number, currentOffset: number, count: number): Buffer {
  body.writeUInt32LE(partitionId >>> 0, 0);
  body.writeBigUInt64LE(BigInt(currentOffset), 4);
  body.writeUInt32LE(count, 12);
  return body;
}
