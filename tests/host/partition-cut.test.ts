// A cluster replica's cuts on real files (Partition.cutBack, Partition.rebase): a cut that lands in a sealed segment
// (the later segments go, that one is written to again), a cut under --direct-io (the next aligned append starts
// from the truncated tail's partial block), and a log started again at a peer's first offset (TAIL_REBASE).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Partition } from '../../host/node/io/partition.js';
import { batchPayloads, buildBatch } from '../../host/node/io/batch-builder.js';
import { segmentName } from '../../host/node/io/segment-file.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { takesDirect, tempDir } from './helpers.js';

const O_DIRECT = fs.constants.O_DIRECT ?? 0;

function payload(offset: number, size: number, tag = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (offset * 31 + i + tag * 7) & 0xff;
  return b;
}

async function batchOf(first: number, count: number, size = 300, tag = 0): Promise<Buffer> {
  const sc = await storageCore();
  return buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: payload(first + i, size, tag) })), 1000);
}

const logs = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

// Batches of 4 messages, one group each, into segments of about 2 KiB: 2 batches per segment.
async function threeSegments(dir: string, options: { directIo?: boolean } = {}): Promise<Partition> {
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 1, segmentBytes: 2000, nowMicros: () => (clock += 10), quiet: true, ...options });
  for (let b = 0; b < 6; b++) await p.appendAsync([await batchOf(b * 4, 4)]);
  assert.deepEqual(p.segments.map((s) => s.baseOffset), [0, 8, 16], 'three segments of two batches');
  return p;
}

test('cutBack into a sealed segment: the later segments go, that segment is written to again, a reopen finds exactly that', async () => {
  const dir = tempDir();
  const p = await threeSegments(dir);
  const stampOf = (offset: number) => p.readFromOffset(offset)[0].baseTimestamp;
  const before12 = stampOf(8);
  p.committedEnd = 24;
  assert.throws(() => p.cutBack(12), { name: 'PartitionCutRefused' }, 'below the committed end, unless catching up');
  assert.throws(() => p.cutBack(14, true), { name: 'PartitionCutRefused' }, 'no batch starts at 14');
  p.cutBack(12, true);
  assert.equal(p.nextOffset, 12);
  assert.equal(p.committedEnd, 12, 'the committed end assumed at open follows the cut down');
  assert.equal(p.lastTimestamp, before12, 'the append time before the cut: the next append stamps from it');
  assert.deepEqual(logs(dir), [`${segmentName(0)}.log`, `${segmentName(8)}.log`], 'the later segment is gone');
  assert.ok(!fs.existsSync(`${dir}/${segmentName(16)}.index`), 'and its index');
  const again = await p.appendAsync([await batchOf(12, 4, 300, 1)]);
  assert.equal(again.baseOffset, 12, 'the canonical batch appends at the cut offset, in the truncated segment');
  assert.deepEqual(p.segments.map((s) => s.baseOffset), [0, 8]);
  assert.deepEqual(batchPayloads(p.readFromOffset(12)[0].bytes)[0], payload(12, 300, 1));
  p.cutBack(8, true); // at a sealed segment's first batch: that segment is left empty and written to
  assert.deepEqual(p.segments.map((s) => [s.baseOffset, s.size]), [[0, p.segments[0].size], [8, 0]]);
  assert.equal((await p.appendAsync([await batchOf(8, 4, 300, 2)])).baseOffset, 8);
  p.close();
  const q = await Partition.open({ dir, partitionId: 1, quiet: true });
  try {
    assert.deepEqual([q.firstOffset, q.nextOffset, q.recovery.truncated.length], [0, 12, 0]);
    assert.deepEqual(q.readFromOffset(0, 1 << 20).map((b) => batchPayloads(b.bytes)[0]), [payload(0, 300), payload(4, 300), payload(8, 300, 2)]);
  } finally {
    q.close();
  }
});

test('a crash at any step of a cut into a sealed segment leaves a log a reopen accepts: whole segments, newest gone first', async () => {
  // The steps in order: remove 16's files, remove 8's, truncate 0. A step that fails stands for a crash just before
  // it (the files as the steps before it left them); the reopen finds whole segments up to that point.
  const steps: Array<{ fail: (file: string) => boolean; reopensAt: number }> = [
    { fail: (f) => f.endsWith(`${segmentName(16)}.log`), reopensAt: 24 },
    { fail: (f) => f.endsWith(`${segmentName(8)}.log`), reopensAt: 16 },
    { fail: () => false, reopensAt: 8 }, // the truncation fails (below)
  ];
  for (const [k, step] of steps.entries()) {
    const dir = tempDir();
    const p = await threeSegments(dir);
    const rmSync = fs.rmSync;
    const ftruncateSync = fs.ftruncateSync;
    fs.rmSync = ((file: fs.PathLike, options?: fs.RmOptions) => {
      if (step.fail(String(file))) throw new Error('crash');
      rmSync(file, options);
    }) as typeof fs.rmSync;
    if (k === 2) fs.ftruncateSync = () => { throw new Error('crash'); };
    try {
      assert.throws(() => p.cutBack(4, true), /crash/);
    } finally {
      fs.rmSync = rmSync;
      fs.ftruncateSync = ftruncateSync;
    }
    assert.equal(p.nextOffset, step.reopensAt, 'the failed cut leaves the partition in memory as its files are');
    assert.equal(p.readFromOffset(0, 1 << 20).reduce((n, b) => n + b.count, 0), step.reopensAt);
    p.close();
    const q = await Partition.open({ dir, partitionId: 1, quiet: true });
    try {
      assert.deepEqual([q.firstOffset, q.nextOffset, q.recovery.truncated.length], [0, step.reopensAt, 0], `crash before step ${k}`);
      assert.equal(q.readFromOffset(0, 1 << 20).reduce((n, b) => n + b.count, 0), step.reopensAt, 'every batch reads back');
    } finally {
      q.close();
    }
  }
});

test('cutBack under --direct-io: the next aligned append starts from the truncated tail, the bytes are the buffered ones', { skip: O_DIRECT === 0 }, async () => {
  // The same steps with and without directIo, compared byte for byte. A sync (buffered) append of the cut batch's
  // size brings the file back to the size the direct writer last left: without forgetting its kept partial block on
  // the cut, the next direct append would write that stale block back.
  const steps = async (p: Partition) => {
    await p.appendAsync([await batchOf(24, 3, 777)]);
    await p.appendAsync([await batchOf(27, 2, 555)]);
    p.cutBack(27, true);
    p.append([await batchOf(27, 2, 555, 3)]);
    await p.appendAsync([await batchOf(29, 5, 901)]);
  };
  const directDir = tempDir();
  const bufferedDir = tempDir();
  const direct = await threeSegments(directDir, { directIo: true });
  await steps(direct);
  const directAppends = direct.directAppends;
  direct.close();
  const buffered = await threeSegments(bufferedDir);
  await steps(buffered);
  buffered.close();
  assert.ok(directAppends > 0 || !takesDirect(directDir), 'written through O_DIRECT where the file system takes it');
  for (const name of logs(bufferedDir)) {
    assert.ok(fs.readFileSync(`${directDir}/${name}`).equals(fs.readFileSync(`${bufferedDir}/${name}`)), `${name} differs from the buffered partition's`);
  }
  const q = await Partition.open({ dir: directDir, partitionId: 1, quiet: true });
  try {
    assert.deepEqual([q.nextOffset, q.recovery.truncated.length], [34, 0]);
    assert.deepEqual(batchPayloads(q.readFromOffset(27)[0].bytes)[1], payload(28, 555, 3));
  } finally {
    q.close();
  }
});

test('rebase: every segment goes, the log starts again empty at the peer\'s first offset, appends and a reopen go on from there', async () => {
  const dir = tempDir();
  const p = await threeSegments(dir);
  p.committedEnd = 20;
  p.rebase(500);
  assert.deepEqual([p.firstOffset, p.nextOffset, p.committedEnd, p.segments.length], [500, 500, 500, 1]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [`${segmentName(500)}.index`, `${segmentName(500)}.log`]);
  assert.throws(() => p.readFromOffset(0), { name: 'OffsetOutOfRange' });
  assert.equal((await p.appendAsync([await batchOf(500, 4)])).baseOffset, 500);
  p.close();
  const q = await Partition.open({ dir, partitionId: 1, quiet: true });
  try {
    assert.deepEqual([q.firstOffset, q.nextOffset], [500, 504]);
    assert.deepEqual(batchPayloads(q.readFromOffset(500)[0].bytes)[3], payload(503, 300));
  } finally {
    q.close();
  }
});

test('a crash at any step of a rebase leaves a log a reopen accepts: the newest segments, or none', async () => {
  // Oldest first: a failed removal of 8 leaves 8 and 16 (a late first segment); of 16, only 16; the new segment,
  // made first under a .tmp name, is removed at the reopen.
  const steps: Array<{ fail: (file: string) => boolean; reopens: [number, number] }> = [
    { fail: (f) => f.endsWith(`${segmentName(8)}.log`), reopens: [8, 24] },
    { fail: (f) => f.endsWith(`${segmentName(16)}.log`), reopens: [16, 24] },
  ];
  for (const step of steps) {
    const dir = tempDir();
    const p = await threeSegments(dir);
    const rmSync = fs.rmSync;
    fs.rmSync = ((file: fs.PathLike, options?: fs.RmOptions) => {
      if (step.fail(String(file))) throw new Error('crash');
      rmSync(file, options);
    }) as typeof fs.rmSync;
    try {
      assert.throws(() => p.rebase(500), /crash/);
    } finally {
      fs.rmSync = rmSync;
    }
    assert.deepEqual([p.firstOffset, p.nextOffset], step.reopens, 'in memory as the files are');
    p.close();
    assert.ok(fs.existsSync(`${dir}/${segmentName(500)}.log.tmp`));
    const q = await Partition.open({ dir, partitionId: 1, quiet: true });
    try {
      assert.deepEqual([q.firstOffset, q.nextOffset], step.reopens);
      assert.ok(!fs.existsSync(`${dir}/${segmentName(500)}.log.tmp`));
    } finally {
      q.close();
    }
  }
  const dir = tempDir();
  const p = await threeSegments(dir);
  fs.mkdirSync(`${dir}/${segmentName(500)}.log.tmp`); // the new segment cannot be made: nothing changes
  assert.throws(() => p.rebase(500), { code: 'EISDIR' });
  assert.deepEqual([p.firstOffset, p.nextOffset], [0, 24]);
  assert.equal((await p.appendAsync([await batchOf(24, 4)])).baseOffset, 24, 'and it is written to as before');
  p.close();
});

test('cutBack and rebase refuse bad offsets with a named error', async () => {
  const p = await threeSegments(tempDir());
  try {
    assert.throws(() => p.cutBack(30, true), { name: 'PartitionCutRefused' }, 'past the end');
    assert.throws(() => p.rebase(-1), { name: 'PartitionCutRefused' }, 'not an offset');
    p.deleteOldestSegments(1);
    assert.throws(() => p.cutBack(4, true), { name: 'PartitionCutRefused' }, 'below the first offset');
  } finally {
    p.close();
  }
});

