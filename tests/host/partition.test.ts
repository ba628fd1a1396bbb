// Partition segments on real files: append with group commit, reads by offset and timestamp, rollover, retention,
// recovery of the index, and the named errors for out-of-range requests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Partition } from '../../host/node/io/partition.js';
import { batchPayloads, buildBatch } from '../../host/node/io/batch-builder.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { tempDir } from './helpers.js';

function payload(offset: number, size = 100): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (offset * 31 + i) & 0xff;
  return b;
}

// What a fresh open of `dir` recovers: the next offset after every batch found durable.
async function nextOffsetAfterReopen(dir: string, partitionId: number): Promise<number> {
  const q = await Partition.open({ dir, partitionId, quiet: true });
  try {
    return q.nextOffset;
  } finally {
    q.close();
  }
}

async function waitUntil(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function batchOf(first: number, count: number, size = 100): Promise<Buffer> {
  const sc = await storageCore();
  return buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: payload(first + i, size) })), 1000);
}

test('append assigns offsets per message and reads return the same payloads', async () => {
  const dir = tempDir();
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 3, nowMicros: () => (clock += 10), quiet: true });
  const r1 = p.append([await batchOf(0, 5), await batchOf(5, 3)]);
  assert.deepEqual([r1.baseOffset, r1.nextOffset, r1.batches], [0, 8, 2]);
  const r2 = p.append([await batchOf(8, 1)]);
  assert.equal(r2.baseOffset, 8);
  const batches = p.readFromOffset(6);
  assert.deepEqual(batches.map((b) => [b.baseOffset, b.count]), [[5, 3], [8, 1]]);
  assert.deepEqual(batchPayloads(batches[0].bytes)[1], payload(6));
  assert.equal(batches[0].bytes.readBigUInt64LE(0), 3n, 'stamped partition id');
  p.close();
});

test('out-of-range offsets and timestamps are named errors', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, quiet: true });
  assert.throws(() => p.readFromOffset(0), { name: 'OffsetOutOfRange' });
  p.append([await batchOf(0, 2)]);
  assert.throws(() => p.readFromOffset(2), { name: 'OffsetOutOfRange' });
  assert.throws(() => p.readFromOffset(-1), { name: 'OffsetOutOfRange' });
  assert.throws(() => p.readFromTimestamp(p.lastTimestamp + 1), { name: 'TimestampOutOfRange' });
  p.close();
});

test('an invalid batch is rejected before anything is written', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, quiet: true });
  const bad = await batchOf(0, 2);
  bad[bad.length - 1] ^= 1;
  const good = await batchOf(0, 1);
  assert.throws(() => p.append([good, bad]), { name: 'BatchInvalid' });
  assert.equal(p.nextOffset, 0);
  assert.equal(fs.statSync(path.join(dir, '00000000000000000000.log')).size, 0);
  p.close();
});

test('rollover by size, reads across segments, recovery rebuilds offsets and index', async () => {
  const dir = tempDir();
  let clock = 5_000_000;
  const opts = { dir, partitionId: 1, segmentBytes: 4096, indexIntervalBytes: 1024, nowMicros: () => (clock += 100), quiet: true };
  const p = await Partition.open(opts);
  for (let i = 0; i < 40; i++) p.append([await batchOf(i * 2, 2, 300)]);
  assert.ok(p.segments.length >= 8, `segments: ${p.segments.length}`);
  const stamps = p.readFromOffset(0, 1 << 30).map((b) => b.baseTimestamp);
  p.close();

  const q = await Partition.open(opts);
  assert.equal(q.nextOffset, 80);
  assert.equal(q.recovery.truncated.length, 0);
  const all = q.readFromOffset(0, 1 << 30);
  assert.equal(all.length, 40);
  for (const b of all) assert.deepEqual(batchPayloads(b.bytes)[1], payload(b.baseOffset + 1, 300));
  assert.deepEqual(q.readFromOffset(57, 1).map((b) => b.baseOffset), [56]);
  const byTime = q.readFromTimestamp(stamps[17], 1);
  assert.deepEqual(byTime.map((b) => b.baseOffset), [34]);
  assert.deepEqual(q.readFromTimestamp(stamps[17] - 1, 1).map((b) => b.baseOffset), [34]);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.ok(files.includes('00000000000000000000.log'));
  assert.ok(files.every((f) => /^\d{20}\.log$/.test(f)));
  const index0 = fs.readFileSync(path.join(dir, '00000000000000000000.index'));
  assert.equal(index0.length % 24, 0);
  assert.equal(index0.readBigUInt64LE(0), 0n);
  q.close();
});

test('retention by size and by age deletes the oldest sealed segments only', async () => {
  const dir = tempDir();
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 1, segmentBytes: 2048, nowMicros: () => (clock += 1000), quiet: true, retention: { maxBytes: 6000 } });
  for (let i = 0; i < 20; i++) p.append([await batchOf(i, 1, 700)]);
  const before = p.segments.length;
  const { removed, error } = p.applyRetention();
  assert.equal(error, null);
  assert.ok(removed.length > 0 && p.sizeBytes <= 6000, `dropped ${removed.length} of ${before}, ${p.sizeBytes} bytes left`);
  assert.ok(p.sizeBytes + removed[removed.length - 1].bytes > 6000, 'no more than needed went');
  assert.ok(removed.every((r) => r.reason === 'size'));
  assert.throws(() => p.readFromOffset(0), { name: 'OffsetOutOfRange' });
  assert.equal(p.readFromOffset(p.firstOffset)[0].baseOffset, p.firstOffset);
  p.close();

  const q = await Partition.open({ dir, partitionId: 1, segmentBytes: 2048, quiet: true, retention: { maxAgeMicros: 1 } });
  assert.equal(q.firstOffset, removed[removed.length - 1].lastOffset + 1, 'the removal outlives a reopen');
  q.applyRetention(undefined, clock + 10_000_000);
  assert.equal(q.segments.length, 1, 'only the active segment survives age retention');
  assert.equal(q.nextOffset, 20);
  q.close();
});

// Segments of 2 batches (800-byte messages, 2048-byte segments), the append clock 1000 µs apart per batch.
async function twoBatchSegments(segments: number, retention?: { maxBytes?: number; maxAgeMicros?: number }) {
  const dir = tempDir();
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 1, segmentBytes: 2048, nowMicros: () => (clock += 1000), quiet: true, retention });
  for (let i = 0; i < segments * 2; i++) p.append([await batchOf(i, 1, 800)]);
  return { dir, p, clock };
}

test('retention by expiry: a sealed segment goes once its newest message is message_expiry old, not a microsecond before', async () => {
  const { p } = await twoBatchSegments(3, { maxAgeMicros: 5000 });
  // 6 batches at 1001000..1006000 µs (append times): segments [0,1] [2,3] [4,5], the last one active.
  assert.deepEqual(p.segments.map((s) => [s.baseOffset, s.lastTimestamp]), [[0, 1_002_000], [2, 1_004_000], [4, 1_006_000]]);
  assert.deepEqual(p.applyRetention(undefined, 1_006_999).removed, [], 'newest message of segment 0 is 4999 µs old');
  const { removed } = p.applyRetention(undefined, 1_007_000);
  assert.deepEqual(removed.map((r) => [path.basename(r.logPath), r.firstOffset, r.lastOffset, r.reason, r.lastTimestamp]),
    [['00000000000000000000.log', 0, 1, 'expiry', 1_002_000]]);
  assert.ok(removed[0].bytes > 1400);
  assert.equal(p.firstOffset, 2);
  assert.ok(!fs.existsSync(removed[0].logPath) && !fs.existsSync(removed[0].logPath.replace(/log$/, 'index')));
  // Long past every message's expiry: the active segment stays, and with it the newest messages.
  const later = p.applyRetention(undefined, 1e12).removed;
  assert.deepEqual(later.map((r) => r.firstOffset), [2]);
  assert.deepEqual([p.segments.length, p.firstOffset, p.nextOffset], [1, 4, 6]);
  assert.deepEqual(p.applyRetention(undefined, 1e12).removed, []);
  assert.deepEqual(batchPayloads(p.readFromOffset(5)[0].bytes)[0], payload(5, 800));
  p.close();
});

test('retention by size keeps the newest sealed segment; no limit, or one segment, removes nothing', async () => {
  const { p } = await twoBatchSegments(4);
  assert.deepEqual(p.applyRetention({}).removed, [], 'no policy');
  assert.deepEqual(p.applyRetention({ maxBytes: 0, maxAgeMicros: 0 }).removed, [], '0 = no limit');
  assert.deepEqual(p.applyRetention({ maxBytes: Number.NaN }).removed, [], 'not a number: no limit');
  const { removed } = p.applyRetention({ maxBytes: 1 });
  assert.deepEqual(removed.map((r) => [r.firstOffset, r.lastOffset, r.reason]), [[0, 1, 'size'], [2, 3, 'size']]);
  assert.deepEqual(p.segments.map((s) => s.baseOffset), [4, 6], 'the newest sealed segment and the active one');
  p.close();

  const single = await twoBatchSegments(1);
  assert.equal(single.p.segments.length, 1);
  assert.deepEqual(single.p.applyRetention({ maxBytes: 1, maxAgeMicros: 1 }, 1e12).removed, [], 'the active segment alone is never removed');
  single.p.close();
});

test('retention while an append is being written: the write lands, the index stays right, a reopen agrees', async () => {
  const { dir, p } = await twoBatchSegments(4);
  const pending = p.appendAsync([await batchOf(8, 1, 800)]); // rolls over first: segments [0] [2] [4] [6] sealed
  const { removed } = p.applyRetention({ maxAgeMicros: 1 }, 1e12);
  assert.deepEqual(removed.map((r) => r.firstOffset), [0, 2, 4, 6]);
  const result = await pending;
  assert.deepEqual([result.baseOffset, result.nextOffset], [8, 9]);
  assert.deepEqual([p.firstOffset, p.nextOffset], [8, 9]);
  assert.deepEqual(batchPayloads(p.readFromOffset(8)[0].bytes)[0], payload(8, 800));
  const index = fs.readFileSync(path.join(dir, '00000000000000000008.index'));
  assert.deepEqual([index.length, index.readBigUInt64LE(0)], [24, 8n]);
  p.close();
  const q = await Partition.open({ dir, partitionId: 1, quiet: true });
  assert.deepEqual([q.firstOffset, q.nextOffset, q.warnings.length], [8, 9, 0]);
  q.close();
});

test('a segment retention cannot remove stops the pass: it and the newer ones stay and serve; what went is reported', async () => {
  const { p } = await twoBatchSegments(4);
  // Segment [2] cannot be unlinked: a directory stands at its name (its file, open, is moved aside).
  const blocked = p.segments[1].logPath;
  fs.renameSync(blocked, `${blocked}.aside`);
  fs.mkdirSync(blocked);
  const { removed, error } = p.applyRetention({ maxAgeMicros: 1 }, 1e12);
  assert.deepEqual(removed.map((r) => r.firstOffset), [0]);
  assert.ok(error !== null);
  assert.deepEqual([p.segments.map((s) => s.baseOffset), p.firstOffset], [[2, 4, 6], 2]);
  assert.deepEqual(batchPayloads(p.readFromOffset(2)[0].bytes)[0], payload(2, 800), 'the segment that stayed still serves');
  fs.rmdirSync(blocked);
  fs.renameSync(`${blocked}.aside`, blocked);
  assert.deepEqual(p.applyRetention({ maxAgeMicros: 1 }, 1e12).removed.map((r) => r.firstOffset), [2, 4]);
  p.close();
});

test('interval fsync policy acknowledges after write and flushes on its timer', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, fsync: { kind: 'interval', ms: 5 }, quiet: true });
  p.append([await batchOf(0, 2)]);
  assert.match(p.describe(), /interval:5/);
  assert.equal(p.syncPending, true, 'acknowledged before its fdatasync');
  await waitUntil(() => !p.syncPending, 'the interval timer synced the append');
  await p.appendAsync([await batchOf(2, 1)]);
  assert.equal(p.syncPending, true);
  await waitUntil(() => !p.syncPending, 'the interval timer synced the asynchronous append');
  p.close();
  assert.equal(await nextOffsetAfterReopen(dir, 0), 3);
});

test('a torn tail is truncated after the last valid batch and reported; policy fail refuses instead', async () => {
  const dir = tempDir();
  const opts = { dir, partitionId: 0, quiet: true };
  const p = await Partition.open(opts);
  p.append([await batchOf(0, 2)]);
  p.append([await batchOf(2, 2)]);
  const size = p.sizeBytes;
  p.close();
  const log = path.join(dir, '00000000000000000000.log');
  const next = await batchOf(4, 3);
  fs.appendFileSync(log, next.subarray(0, 300)); // what a crash mid-write leaves
  await assert.rejects(Partition.open({ ...opts, onTornTail: 'fail' }), { name: 'SegmentTornTail' });
  assert.equal(fs.statSync(log).size, size + 300, 'refusing leaves the file as it was');
  const q = await Partition.open(opts);
  // The cut record was never stamped (it is a client's batch): its header's base offset 0 does not continue offset 4,
  // so it claims no offsets.
  assert.deepEqual(q.recovery.truncated, [{ file: log, at: size, bytes: 300, reason: 'incomplete batch', errorAt: size + 32, firstOffset: 4, claimedMessages: 0 }]);
  assert.equal(q.nextOffset, 4);
  assert.equal(q.append([next]).baseOffset, 4);
  q.close();
  fs.appendFileSync(log, Buffer.alloc(5000)); // blocks allocated, never written
  const r = await Partition.open(opts);
  assert.equal(r.recovery.truncated[0].bytes, 5000);
  assert.equal(r.nextOffset, 7);
  r.close();
});

test('a full in-memory index thins itself; lookups stay exact and the .index files follow', async () => {
  const dir = tempDir();
  const opts = { dir, partitionId: 2, segmentBytes: 8192, indexIntervalBytes: 1, indexCapacity: 8, quiet: true };
  const p = await Partition.open(opts);
  for (let i = 0; i < 60; i++) p.append([await batchOf(i, 1, 200)]);
  for (const offset of [0, 7, 31, 59]) assert.equal(p.readFromOffset(offset, 1)[0].baseOffset, offset);
  p.close();
  const q = await Partition.open(opts);
  assert.deepEqual(q.warnings, [], 'the .index files match what recovery rebuilds');
  for (const offset of [3, 44, 58]) assert.deepEqual(batchPayloads(q.readFromOffset(offset, 1)[0].bytes)[0], payload(offset, 200));
  q.close();
});

test('the .index of a segment retention already deleted is removed at boot', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, quiet: true });
  p.append([await batchOf(0, 1)]);
  p.close();
  fs.writeFileSync(path.join(dir, '00000000000000000099.index'), Buffer.alloc(24));
  const q = await Partition.open({ dir, partitionId: 0, quiet: true });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['00000000000000000000.index', '00000000000000000000.log']);
  q.close();
});

test('deleteOldestSegments drops sealed segments oldest first and never the active one', async () => {
  const dir = tempDir();
  const sc = await storageCore();
  const opts = { dir, partitionId: 0, segmentBytes: 1024, quiet: true };
  const p = Partition.openSync(opts, sc);
  for (let i = 0; i < 6; i++) p.append([await batchOf(i * 2, 2, 400)]);
  assert.deepEqual(p.segments.map((s) => s.baseOffset), [0, 2, 4, 6, 8, 10]);
  assert.equal(p.deleteOldestSegments(0), 0);
  assert.equal(p.deleteOldestSegments(2), 2);
  assert.equal(p.firstOffset, 4);
  assert.throws(() => p.readFromOffset(3), { name: 'OffsetOutOfRange' });
  assert.deepEqual(batchPayloads(p.readFromOffset(4, 1)[0].bytes)[0], payload(4, 400));
  assert.equal(p.deleteOldestSegments(1e9), 3, 'all sealed ones, the active segment stays');
  assert.deepEqual(p.segments.map((s) => s.baseOffset), [10]);
  assert.equal(p.deleteOldestSegments(1), 0);
  p.close();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['00000000000000000010.index', '00000000000000000010.log']);
  const q = Partition.openSync(opts, sc);
  assert.deepEqual([q.firstOffset, q.nextOffset], [10, 12]);
  q.close();
});

test('appendAsync: readers see the partition as it was until the write is done; one write at a time; a close waits for it', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 1, quiet: true });
  p.append([await batchOf(0, 2)]);
  const extra = await batchOf(5, 1);
  const writing = p.appendAsync([await batchOf(2, 3)]);
  assert.equal(p.nextOffset, 2, 'offsets move when the bytes are on disk');
  assert.deepEqual(p.readFromOffset(0).map((b) => [b.baseOffset, b.count]), [[0, 2]]);
  await assert.rejects(p.appendAsync([await batchOf(5, 1)]), /one at a time/);
  assert.throws(() => p.append([extra]), /being written asynchronously/);
  const r = await writing;
  assert.deepEqual([r.baseOffset, r.nextOffset], [2, 5]);
  assert.deepEqual(p.readFromOffset(3).map((b) => [b.baseOffset, b.count]), [[2, 3]]);

  // A close while a write is on its way keeps the descriptors until it is done; the write lands in this
  // partition's files and is there at the next open.
  const late = p.appendAsync([await batchOf(5, 4)]);
  p.close();
  assert.deepEqual(await late, { baseOffset: 5, nextOffset: 9, batches: 1, bytes: (await batchOf(5, 4)).length, refused: [0], bases: [5] });
  const after = await batchOf(9, 1);
  assert.throws(() => p.append([after]), /closed/);
  const reopened = await Partition.open({ dir, partitionId: 1, quiet: true });
  assert.equal(reopened.nextOffset, 9);
  assert.deepEqual(batchPayloads(reopened.readFromOffset(8)[0].bytes)[3], payload(8));
  reopened.close();
});

test('appendAsync stamps the batches it is given in place and writes them as they are (a refused one is skipped)', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 4, quiet: true, badChecksum: 'refuse' });
  const good = await batchOf(0, 2);
  const bad = await batchOf(2, 2);
  bad[bad.length - 1] ^= 1;
  const last = await batchOf(4, 3);
  const r = await p.appendAsync([good, bad, last]);
  assert.deepEqual([r.baseOffset, r.nextOffset, r.batches, r.refused, r.bases], [0, 5, 2, [0, 5, 0], [0, -1, 2]]);
  assert.equal(good.readBigUInt64LE(0), 4n, 'stamped partition id, in the caller\'s batch');
  assert.equal(last.readBigUInt64LE(8), 2n, 'stamped base offset');
  assert.equal(bad.readBigUInt64LE(8), 0n, 'a refused batch is not stamped');
  const log = fs.readFileSync(path.join(dir, '00000000000000000000.log'));
  assert.deepEqual(log, Buffer.concat([good, last]), 'exactly the stamped batches, back to back');
  p.close();
  assert.equal(await nextOffsetAfterReopen(dir, 4), 5);
});

test('reads stop at the batch that holds the messages asked for (a poll reads no batch it will not return)', async () => {
  const dir = tempDir();
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 0, quiet: true, nowMicros: () => (clock += 10) });
  for (const first of [0, 3, 6, 9]) p.append([await batchOf(first, 3)]); // one append time each
  const bases = (batches: { baseOffset: number }[]) => batches.map((b) => b.baseOffset);
  assert.deepEqual(bases(p.readFromOffset(1, 1 << 20, 2)), [0], 'offsets 1 and 2 are in the first batch');
  assert.deepEqual(bases(p.readFromOffset(1, 1 << 20, 3)), [0, 3]);
  assert.deepEqual(bases(p.readFromOffset(4, 1 << 20)), [3, 6, 9], 'no count: up to the byte budget');
  const t = p.readFromOffset(6, 1 << 20, 1)[0].baseTimestamp;
  assert.deepEqual(bases(p.readFromTimestamp(t, 1 << 20, 4)), [6, 9]);
  p.close();
});

// Descriptors this process holds on `file`, with their open flags (Linux /proc).
function descriptorsOf(file: string): number[] {
  const flags: number[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== file) continue;
    const line = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'))!;
    flags.push(parseInt(line.split(/\s+/)[1], 8));
  }
  return flags;
}

test('every-batch appends are written through an O_DSYNC descriptor of the active segment (interval: not); sealing or closing lets it go', { skip: process.platform !== 'linux' }, async () => {
  const O_DSYNC = fs.constants.O_DSYNC!;
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 1, segmentBytes: 2048, quiet: true });
  const first = path.join(dir, '00000000000000000000.log');
  assert.equal(descriptorsOf(first).filter((f) => (f & O_DSYNC) !== 0).length, 0, 'nothing before the first append');
  await p.appendAsync([await batchOf(0, 5, 300)]);
  assert.equal(descriptorsOf(first).filter((f) => (f & O_DSYNC) !== 0).length, 1, 'the append opened one O_DSYNC descriptor');
  await p.appendAsync([await batchOf(5, 5, 300)]); // over 2048 B: the next append rolls over
  await p.appendAsync([await batchOf(10, 1, 300)]);
  assert.equal(descriptorsOf(first).filter((f) => (f & O_DSYNC) !== 0).length, 0, 'the sealed segment no longer holds one');
  assert.equal(descriptorsOf(path.join(dir, '00000000000000000010.log')).filter((f) => (f & O_DSYNC) !== 0).length, 1);
  p.close();
  assert.deepEqual(descriptorsOf(path.join(dir, '00000000000000000010.log')), [], 'close releases every descriptor');
  assert.equal(await nextOffsetAfterReopen(dir, 1), 11);

  const other = tempDir();
  const q = await Partition.open({ dir: other, partitionId: 1, fsync: { kind: 'interval', ms: 5 }, quiet: true });
  await q.appendAsync([await batchOf(0, 2)]);
  assert.equal(descriptorsOf(path.join(other, '00000000000000000000.log')).filter((f) => (f & O_DSYNC) !== 0).length, 0);
  q.close();
});

test('batches already in the core memory (the frame arena) are verified and stamped where they lie, mixed with copied ones', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 6, indexIntervalBytes: 1, badChecksum: 'refuse', quiet: true });
  const region = sc.alloc(64 << 10);
  const inCore = (batch: Buffer, at: number) => { sc.u8.set(batch, region + at); return Buffer.from(sc.u8.buffer, sc.u8.byteOffset + region + at, batch.length); };
  const a = await batchOf(0, 2);
  const b = inCore(await batchOf(2, 3), 0);
  const bad = inCore(await batchOf(5, 2), 8192);
  bad[bad.length - 1] ^= 1;
  const badBefore = Buffer.from(bad);
  const c = inCore(await batchOf(7, 1), 16384);
  const d = await batchOf(8, 2);
  const result = await p.appendAsync([a, b, bad, c, d]);
  assert.deepEqual(result.refused, [0, 0, 5, 0, 0], 'the bad one (in core memory) refused: a frame checksum');
  assert.deepEqual(result.bases, [0, 2, -1, 5, 6]);
  assert.equal(Number(b.readBigUInt64LE(8)), 2, 'stamped in place: base offset');
  assert.equal(Number(b.readBigUInt64LE(0)), 6, 'stamped in place: partition id');
  assert.ok(bad.equals(badBefore), 'a refused batch is left as it came');
  assert.deepEqual(p.readFromOffset(0).map((x) => [x.baseOffset, x.count]), [[0, 2], [2, 3], [5, 1], [6, 2]]);
  for (const offset of [0, 3, 5, 7]) assert.equal(p.readFromOffset(offset)[0].baseOffset, [0, 2, 5, 6][[0, 3, 5, 7].indexOf(offset)], `index lookup of ${offset}`);
  p.close();
  const reopened = await Partition.open({ dir, partitionId: 6, quiet: true });
  assert.equal(reopened.nextOffset, 8);
  assert.deepEqual(batchPayloads(reopened.readFromOffset(5)[0].bytes), [payload(7)]);
  reopened.close();
  sc.release(region, 64 << 10);
});

test('in-core batches give the same log and the same sparse index as copied ones (interval carried across batches)', async () => {
  const sc = await storageCore();
  const region = sc.alloc(256 << 10);
  const groups: Buffer[][] = [];
  for (let g = 0, first = 0; g < 12; g++) {
    const group: Buffer[] = [];
    for (let b = 0; b < 3; b++) {
      const count = 1 + ((g * 3 + b) % 4);
      group.push(await batchOf(first, count, 300));
      first += count;
    }
    groups.push(group);
  }
  const dirs: string[] = [];
  for (const inCore of [false, true]) {
    const dir = tempDir();
    dirs.push(dir);
    let clock = 0;
    const p = await Partition.open({ dir, partitionId: 2, indexIntervalBytes: 2500, nowMicros: () => (clock += 10), quiet: true });
    for (const group of groups) {
      let at = 0;
      const batches = group.map((batch) => {
        if (!inCore) return Buffer.from(batch);
        sc.u8.set(batch, region + at);
        const view = Buffer.from(sc.u8.buffer, sc.u8.byteOffset + region + at, batch.length);
        at += batch.length;
        return view;
      });
      await p.appendAsync(batches);
    }
    p.close();
  }
  for (const name of ['00000000000000000000.log', '00000000000000000000.index']) {
    assert.ok(fs.readFileSync(path.join(dirs[0], name)).equals(fs.readFileSync(path.join(dirs[1], name))), `${name} differs`);
  }
  assert.ok(fs.statSync(path.join(dirs[0], '00000000000000000000.index')).size > 24 * 2, 'several index entries');
  sc.release(region, 256 << 10);
});

test('a damaged sealed segment opens read-only under onCorrupt read-only: the prefix is read, appends refused, no byte written', async () => {
  const dir = tempDir();
  const opts = { dir, partitionId: 0, quiet: true };
  const one = (await batchOf(0, 4)).length;
  const p = await Partition.open({ ...opts, segmentBytes: 3 * one }); // 3 batches per segment
  for (let b = 0; b < 8; b++) p.append([await batchOf(b * 4, 4)]);
  p.close();
  const files = () => new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  const sealed = path.join(dir, '00000000000000000012.log'); // the second segment: offsets 12..23
  const bytes = fs.readFileSync(sealed);
  bytes[one + 300] ^= 4; // a payload bit of its second batch (offsets 16..19)
  fs.writeFileSync(sealed, bytes);
  const before = files();
  await assert.rejects(Partition.open(opts), { name: 'SegmentCorrupt' });
  const damaged: string[] = [];
  const q = await Partition.open({ ...opts, onCorrupt: 'read-only', onDamage: (d) => damaged.push(d.file) });
  assert.deepEqual({ ...q.damage, detail: undefined }, { file: sealed, byte: one, offset: 16, detail: undefined, foundBy: 'recovery' });
  assert.equal(q.nextOffset, 16, 'served up to the damaged batch');
  assert.deepEqual(q.readFromOffset(0, 1 << 20).map((b) => b.baseOffset), [0, 4, 8, 12]);
  assert.throws(() => q.readFromOffset(16), { name: 'OffsetOutOfRange' });
  const more = await batchOf(16, 1);
  assert.throws(() => q.append([more]), { name: 'PartitionReadOnly' });
  q.close();
  assert.deepEqual(files(), before, 'nothing was truncated, rewritten or removed (the .index files included)');
  assert.deepEqual(damaged, [], 'damage found at recovery is in `damage`, not reported as a read');
});

test('damage found by a read: the batches before it are returned, reads from it fail, onDamage fires once, appends are refused', async () => {
  const dir = tempDir();
  const one = (await batchOf(0, 4)).length;
  const damaged: number[] = [];
  const p = await Partition.open({ dir, partitionId: 0, quiet: true, onDamage: (d) => damaged.push(d.offset) });
  for (let b = 0; b < 4; b++) p.append([await batchOf(b * 4, 4)]);
  const fd = fs.openSync(path.join(dir, '00000000000000000000.log'), 'r+');
  // One byte of the third batch's base timestamp (offsets 8..11) flipped: a constant could equal what the clock put
  // there (this byte of the µs clock stays 0xff for hours at a time).
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, 2 * one + 20);
  fs.writeSync(fd, Buffer.from([byte[0] ^ 0xff]), 0, 1, 2 * one + 20);
  fs.closeSync(fd);
  assert.deepEqual(p.readFromOffset(0, 1 << 20).map((b) => b.baseOffset), [0, 4]);
  assert.throws(() => p.readFromOffset(8), { name: 'SegmentChecksumMismatch' });
  assert.throws(() => p.readFromOffset(9), { name: 'SegmentChecksumMismatch' });
  assert.deepEqual(damaged, [8]);
  assert.equal(p.damage?.foundBy, 'read');
  const more = await batchOf(16, 1);
  assert.throws(() => p.append([more]), { name: 'PartitionReadOnly' });
  p.close();
});

test('a cut stamped batch at the tail is reported with the offsets its header claims', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, quiet: true });
  p.append([await batchOf(0, 5)]);
  p.append([await batchOf(5, 7)]);
  const size = p.sizeBytes;
  p.close();
  const log = path.join(dir, '00000000000000000000.log');
  fs.truncateSync(log, size - 100);
  const q = await Partition.open({ dir, partitionId: 0, quiet: true });
  const [cut] = q.recovery.truncated;
  assert.deepEqual({ firstOffset: cut.firstOffset, claimedMessages: cut.claimedMessages, bytes: cut.at + cut.bytes }, { firstOffset: 5, claimedMessages: 7, bytes: size - 100 });
  assert.equal(q.nextOffset, 5);
  q.close();
});

// A read for whole batches stops where they end when the index knows that boundary (each of these 20 KB batches
// has an index entry): it reads exactly their bytes, not its margin past them. A read whose end falls inside a
// batch still returns every batch it needs.
test('readFromOffset of whole indexed batches reads exactly their bytes', async (t) => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, indexIntervalBytes: 16 << 10, quiet: true });
  try {
    for (let b = 0; b < 6; b++) p.append([await batchOf(b * 10, 10, 2000)]);
    const lengths = p.readFromOffset(0, 1 << 20).map((b) => b.bytes.length);
    const read: number[] = [];
    const readSync = fs.readSync;
    t.mock.method(fs, 'readSync', (...args: Parameters<typeof fs.readSync>) => {
      const n = (readSync as (...a: unknown[]) => number)(...args);
      read.push(n);
      return n;
    });
    const two = p.readFromOffset(20, 1 << 20, 20);
    assert.deepEqual(two.map((b) => b.baseOffset), [20, 30]);
    assert.deepEqual(read, [lengths[2] + lengths[3]], 'one read of the two batches, nothing past them');
    read.length = 0;
    const cut = p.readFromOffset(20, 1 << 20, 15);
    assert.deepEqual(cut.map((b) => b.baseOffset), [20, 30], 'an end inside a batch: that batch is read too');
    assert.ok(read.reduce((a, b) => a + b, 0) > lengths[2] + lengths[3], 'with the margin, as before');
  } finally {
    p.close();
  }
});

test('cutBack: batches appended for replaced ops are cut off durably; the next append takes their offsets; refused below the committed end or mid-batch', async () => {
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 1, quiet: true });
  p.append([await batchOf(0, 4), await batchOf(4, 3), await batchOf(7, 2)]);
  p.committedEnd = 4;
  assert.throws(() => p.cutBack(2), { name: 'PartitionCutRefused' }, 'below the committed end');
  assert.throws(() => p.cutBack(5), { name: 'PartitionCutRefused' }, 'no batch starts at 5');
  p.cutBack(4);
  assert.equal(p.nextOffset, 4);
  assert.deepEqual(p.readFromOffset(0).map((b) => [b.baseOffset, b.count]), [[0, 4]]);
  const again = p.append([await batchOf(100, 5)]);
  assert.equal(again.baseOffset, 4, 'the canonical op appends at the cut offsets');
  assert.deepEqual(batchPayloads(p.readFromOffset(4)[0].bytes)[0], payload(100));
  p.close();
  assert.equal(await nextOffsetAfterReopen(dir, 1), 9, 'a reopen finds the cut and the new batch, nothing of the old ones');
});
