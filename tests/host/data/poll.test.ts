// PollMessages: every strategy of §8.6 and the e2e-pinned sequence of §8.7, slices that start and end inside stored
// batches, the maxBytes bound, and that every record in a reply re-verifies with the core.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Partition } from '../../../host/node/io/partition.js';
import { buildBatch } from '../../../host/node/io/batch-builder.js';
import { storageCore, type StorageCore } from '../../../host/node/io/storage-core.js';
import { buildPollReply, emptyPollReply, planPoll, pollReplyBound, writePollReply, type PollPlan } from '../../../host/node/data/poll.js';
import type { PollingStrategy } from '../../../host/shared/wire/primitives.js';
import { tempDir } from '../helpers.js';

const first: PollingStrategy = { kind: 'first' };
const last: PollingStrategy = { kind: 'last' };
const next: PollingStrategy = { kind: 'next' };
const offset = (value: number): PollingStrategy => ({ kind: 'offset', value: BigInt(value) });
const timestamp = (value: number): PollingStrategy => ({ kind: 'timestamp', value: BigInt(value) });

const payloadOf = (o: number) => Buffer.from(`message-${o}`);

interface Parsed {
  partitionId: number;
  current: number;
  count: number;
  messages: { offset: number; timestamp: number; payload: string }[];
  records: Buffer[];
}

// Parses a reply as an SDK would, and has the core re-verify every record (frames and batch checksum).
function parseReply(sc: StorageCore, body: Uint8Array): Parsed {
  const b = Buffer.from(body);
  const out: Parsed = { partitionId: b.readUInt32LE(0), current: Number(b.readBigUInt64LE(4)), count: b.readUInt32LE(12), messages: [], records: [] };
  let at = 16;
  while (at < b.length) {
    const length = Number(b.readBigUInt64LE(at + 32));
    const record = b.subarray(at, at + length);
    assert.equal(record.length, length, 'record runs past the body');
    sc.u8.set(record, sc.staging);
    assert.equal(sc.core.batchVerify(sc.staging, length, sc.scratch, sc.scratchLen, true), 0, `record at body byte ${at} does not verify`);
    const base = Number(record.readBigUInt64LE(8));
    let f = 256;
    for (let i = 0; i < record.readUInt32LE(48); i++) {
      const payloadLength = record.readUInt32LE(f + 36);
      out.messages.push({
        offset: base + record.readUInt32LE(f + 24),
        timestamp: Number(record.readBigUInt64LE(16)),
        payload: record.subarray(f + 48, f + 48 + payloadLength).toString(),
      });
      f += 48 + payloadLength + record.readUInt32LE(f + 32);
    }
    out.records.push(record);
    at += length;
  }
  assert.equal(at, b.length);
  assert.equal(out.messages.length, out.count, 'count in the head = messages in the records');
  return out;
}

// A partition holding offsets 0..5 as batches [0,1,2] [3,4] [5], appended at 1000, 2000, 3000 µs.
async function sixMessages(): Promise<{ sc: StorageCore; p: Partition }> {
  const sc = await storageCore();
  const clock = [1000, 2000, 3000];
  const p = Partition.openSync({ dir: tempDir(), partitionId: 4, quiet: true, nowMicros: () => clock.shift() ?? 9999 }, sc);
  for (const group of [[0, 1, 2], [3, 4], [5]]) p.append([buildBatch(sc, group.map((o) => ({ payload: payloadOf(o) })), 500)]);
  return { sc, p };
}

let place = 0; // a region of the core's memory standing in for a ring frame
const PLACE_BYTES = 4 << 20;

// Every reply is built both ways: as pieces (buildPollReply) and read into place (writePollReply, as for another
// shard, after a 4-byte prefix); the two must be the same bytes.
function poll(sc: StorageCore, p: Partition, strategy: PollingStrategy, count: number, stored: number | null = null, maxBytes = 1 << 20) {
  const plan = planPoll(strategy, count, { firstOffset: p.firstOffset, nextOffset: p.nextOffset, storedOffset: stored });
  const reply = buildPollReply(sc, p, 4, plan, count, maxBytes);
  const body = Buffer.concat(reply.pieces);
  place ||= sc.alloc(PLACE_BYTES);
  sc.u8.fill(0xee, place, place + PLACE_BYTES);
  assert.ok(4 + pollReplyBound(p, count, maxBytes) + 4096 <= PLACE_BYTES, 'the test place holds the room and its guard');
  const room = pollReplyBound(p, count, maxBytes);
  const written = writePollReply(sc, p, 4, plan, count, maxBytes, place, 4 + room, 4);
  if (written !== null) {
    assert.ok(written.bytes <= room, 'within the room reserved');
    assert.deepEqual(Buffer.from(sc.u8.subarray(place + 4, place + 4 + written.bytes)), body, 'read in place = built as pieces');
    assert.deepEqual([written.messages, written.lastOffset], [reply.messages, reply.lastOffset]);
    assert.deepEqual([...sc.u8.subarray(place, place + 4)], [0xee, 0xee, 0xee, 0xee], 'the prefix is the caller\'s');
  }
  assert.ok(sc.u8.subarray(place + 4 + room, place + 4 + room + 4096).every((b) => b === 0xee), 'nothing written past the room');
  const parsed = parseReply(sc, body);
  assert.equal(reply.messages, parsed.count);
  assert.equal(reply.lastOffset, parsed.count === 0 ? null : parsed.messages[parsed.count - 1].offset);
  return { plan, reply, parsed, offsets: parsed.messages.map((m) => m.offset), inPlace: written !== null };
}

describe('planPoll (§8.6)', () => {
  const state = { firstOffset: 0, nextOffset: 6, storedOffset: null };
  it('resolves every strategy against C = nextOffset - 1', () => {
    assert.deepEqual(planPoll(first, 10, state), { start: 0 });
    assert.deepEqual(planPoll(last, 10, state), { start: 0 });
    assert.deepEqual(planPoll(last, 2, state), { start: 4 });
    assert.deepEqual(planPoll(next, 10, state), { start: 0 });
    assert.deepEqual(planPoll(next, 10, { ...state, storedOffset: 3 }), { start: 4 });
    assert.deepEqual(planPoll(next, 10, { ...state, storedOffset: 5 }), { empty: true });
    assert.deepEqual(planPoll(offset(5), 1, state), { start: 5 });
    assert.deepEqual(planPoll(offset(6), 1, state), { empty: true });
    assert.deepEqual(planPoll({ kind: 'offset', value: 1n << 63n }, 1, state), { empty: true });
    assert.deepEqual(planPoll(timestamp(1234), 1, state), { timestamp: 1234 });
  });

  it('is empty for count 0 or an empty partition, and clamps to what retention left', () => {
    assert.deepEqual(planPoll(first, 0, state), { empty: true });
    assert.deepEqual(planPoll(first, 5, { firstOffset: 0, nextOffset: 0, storedOffset: null }), { empty: true });
    assert.deepEqual(planPoll(timestamp(0), 5, { firstOffset: 0, nextOffset: 0, storedOffset: null }), { empty: true });
    const trimmed = { firstOffset: 4, nextOffset: 6, storedOffset: 1 };
    assert.deepEqual(planPoll(first, 10, trimmed), { start: 4 });
    assert.deepEqual(planPoll(offset(2), 10, trimmed), { start: 4 });
    assert.deepEqual(planPoll(next, 10, trimmed), { start: 4 });
    assert.deepEqual(planPoll(last, 10, trimmed), { start: 4 });
    assert.deepEqual(planPoll(last, 1, trimmed), { start: 5 });
    assert.deepEqual(planPoll(first, 1, { firstOffset: 6, nextOffset: 6, storedOffset: null }), { empty: true }, 'all deleted');
  });
});

describe('buildPollReply', () => {
  it('§8.7: Last / First / Next with count 10 return all 6; Next after storing 5 returns 0', async () => {
    const { sc, p } = await sixMessages();
    for (const strategy of [last, first, next]) {
      const { parsed, reply, inPlace } = poll(sc, p, strategy, 10);
      assert.ok(inPlace, 'a small reply is read in place');
      assert.deepEqual(parsed.messages.map((m) => [m.offset, m.payload]), [0, 1, 2, 3, 4, 5].map((o) => [o, `message-${o}`]));
      assert.deepEqual([parsed.partitionId, parsed.current, parsed.records.length], [4, 5, 3], 'whole stored batches');
      assert.equal(reply.lastOffset, 5);
    }
    const after = poll(sc, p, next, 10, 5);
    assert.deepEqual(after.plan, { empty: true });
    assert.equal(Buffer.concat(after.reply.pieces).length, 16);
    assert.deepEqual([after.parsed.partitionId, after.parsed.current, after.parsed.count], [4, 5, 0]);
    p.close();
  });

  it('Offset 2 count 3 -> 2,3,4: a slice starting mid-batch (offset_delta 2) and a whole batch', async () => {
    const { sc, p } = await sixMessages();
    const { offsets, parsed } = poll(sc, p, offset(2), 3);
    assert.deepEqual(offsets, [2, 3, 4]);
    assert.equal(parsed.records.length, 2);
    const slice = parsed.records[0];
    assert.deepEqual([Number(slice.readBigUInt64LE(8)), slice.readUInt32LE(48), slice.readUInt32LE(256 + 24)], [0, 1, 2], 'base_offset kept, one message, delta 2');
    assert.equal(Number(slice.readBigUInt64LE(0)), 4, 'stamped partition id kept');
    assert.equal(Number(slice.readBigUInt64LE(24)), 500, 'origin timestamp kept');
    assert.deepEqual(parsed.messages.map((m) => m.timestamp), [1000, 2000, 2000], 'broker time of each stored batch');
    p.close();
  });

  it('slices that start and end inside one batch, and end inside the next', async () => {
    const { sc, p } = await sixMessages();
    const middle = poll(sc, p, offset(1), 1);
    assert.deepEqual(middle.offsets, [1]);
    assert.deepEqual(middle.parsed.messages[0].payload, 'message-1');
    const across = poll(sc, p, offset(1), 3);
    assert.deepEqual(across.offsets, [1, 2, 3]);
    assert.deepEqual(across.parsed.records.map((r) => r.readUInt32LE(48)), [2, 1]);
    assert.deepEqual(poll(sc, p, last, 2).offsets, [4, 5]);
    assert.deepEqual(poll(sc, p, next, 2, 0).offsets, [1, 2]);
    p.close();
  });

  it('Timestamp starts at the first batch appended at or after it', async () => {
    const { sc, p } = await sixMessages();
    assert.deepEqual(poll(sc, p, timestamp(0), 10).offsets, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(poll(sc, p, timestamp(1001), 10).offsets, [3, 4, 5]);
    assert.deepEqual(poll(sc, p, timestamp(2000), 1).offsets, [3]);
    assert.deepEqual(poll(sc, p, timestamp(3000), 10).offsets, [5]);
    assert.equal(poll(sc, p, timestamp(3001), 10).parsed.count, 0);
    p.close();
  });

  it('maxBytes bounds the reply at a frame boundary, but the first message always comes', async () => {
    const { sc, p } = await sixMessages();
    const frame = 48 + 9; // "message-N"
    const two = poll(sc, p, first, 10, null, 16 + 256 + 2 * frame);
    assert.deepEqual(two.offsets, [0, 1]);
    assert.equal(Buffer.concat(two.reply.pieces).length, 16 + 256 + 2 * frame);
    const justUnder = poll(sc, p, first, 10, null, 16 + 256 + 3 * frame + 256 + frame - 1);
    assert.deepEqual(justUnder.offsets, [0, 1, 2], 'a next record with one frame would be one byte over');
    const tiny = poll(sc, p, offset(3), 10, null, 1);
    assert.deepEqual(tiny.offsets, [3]);
    p.close();
  });

  it('read in place from a partition much larger than a poll: the read stops at the room reserved', async () => {
    const sc = await storageCore();
    const p = Partition.openSync({ dir: tempDir(), partitionId: 4, quiet: true }, sc);
    // Small batches first (a low average size, so a small budget), then batches of 5 KB messages.
    for (let b = 0; b < 20; b++) p.append([buildBatch(sc, Array.from({ length: 10 }, (_, i) => ({ payload: payloadOf(b * 10 + i) })), 500)]);
    for (let b = 0; b < 60; b++) p.append([buildBatch(sc, Array.from({ length: 4 }, () => ({ payload: Buffer.alloc(5000, b) })), 500)]);
    let inPlace = 0;
    for (const [start, count] of [[0, 100], [150, 40], [200, 20], [200, 7], [230, 100], [100, 250]]) {
      const polled = poll(sc, p, offset(start), count);
      assert.ok(polled.offsets.length > 0 && polled.offsets[0] === start, `poll ${count} from ${start}`);
      if (polled.inPlace) inPlace++;
    }
    assert.ok(inPlace >= 3, `most of these are read in place (${inPlace} of 6); the others are declined and built`);
    p.close();
  });

  it('a poll that starts inside a large batch still gets count messages: Last ends at the newest one', async () => {
    const sc = await storageCore();
    const p = Partition.openSync({ dir: tempDir(), partitionId: 1, quiet: true }, sc);
    for (let b = 0; b < 5; b++) p.append([buildBatch(sc, Array.from({ length: 100 }, () => ({ payload: Buffer.alloc(10_000, b) })), 500)]);
    for (const [strategy, count] of [[last, 150], [last, 120], [offset(250), 150]] as const) {
      const { reply } = poll(sc, p, strategy, count, null, 16 << 20); // the server's default maxPollBytes
      assert.equal(reply.messages, count, `${strategy.kind} ${count}`);
      if (strategy.kind === 'last') assert.equal(reply.lastOffset, p.nextOffset - 1, `${strategy.kind} ${count} ends at the newest message`);
    }
    p.close();
  });

  it('read in place: a first batch larger than the room is declined (null), and skipped batches do not stay', async () => {
    const { sc, p } = await sixMessages();
    const plan = planPoll(offset(5), 10, { firstOffset: 0, nextOffset: 6, storedOffset: null });
    place ||= sc.alloc(PLACE_BYTES);
    // The index has one entry for these small batches: the read starts at batch [0,1,2] and keeps only [5].
    const written = writePollReply(sc, p, 4, plan, 10, 1 << 20, place, 1 << 20);
    assert.ok(written !== null);
    const parsed = parseReply(sc, sc.u8.slice(place, place + written.bytes));
    assert.deepEqual(parsed.messages.map((m) => m.offset), [5]);
    assert.equal(writePollReply(sc, p, 4, plan, 10, 1 << 20, place, 16 + 100), null, 'a 100-byte room holds no batch');
    p.close();
  });

  it('a plan made before retention removed the segment it starts in reads from the first offset still stored', async () => {
    const sc = await storageCore();
    const p = Partition.openSync({ dir: tempDir(), partitionId: 4, quiet: true, segmentBytes: 300 }, sc);
    for (let o = 0; o < 6; o++) p.append([buildBatch(sc, [{ payload: payloadOf(o) }], 500)]);
    const plan = planPoll(offset(1), 3, { firstOffset: p.firstOffset, nextOffset: p.nextOffset, storedOffset: null });
    assert.deepEqual(plan, { start: 1 });
    assert.equal(p.deleteOldestSegments(2), 2);
    assert.equal(p.firstOffset, 2);
    const reply = buildPollReply(sc, p, 4, plan, 3, 1 << 20);
    assert.deepEqual(parseReply(sc, Buffer.concat(reply.pieces)).messages.map((m) => [m.offset, m.payload]), [[2, 'message-2'], [3, 'message-3'], [4, 'message-4']]);
    assert.equal(reply.lastOffset, 4);
    place ||= sc.alloc(PLACE_BYTES);
    const written = writePollReply(sc, p, 4, plan, 3, 1 << 20, place, 4 + pollReplyBound(p, 3, 1 << 20), 4);
    assert.deepEqual(Buffer.from(sc.u8.subarray(place + 4, place + 4 + written!.bytes)), Buffer.concat(reply.pieces), 'read in place = built as pieces');
    p.close();
  });

  it('a plan made stale by the partition (start past what is stored) is an empty reply, not an error', async () => {
    const { sc, p } = await sixMessages();
    const stale: PollPlan = { start: 99 };
    assert.equal(buildPollReply(sc, p, 4, stale, 10, 1 << 20).messages, 0);
    assert.deepEqual(Buffer.from(emptyPollReply(0xffff_ffff, 7)), Buffer.from([0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    p.close();
  });
});
