// Partition homes on real files: layout, append and stats across reopen, purge (Iggy: everything gone, one empty
// segment at 0, offsets cleared), DeleteSegments with and without the consumer-offset barrier, removal, and the
// listing used at boot (with leftovers of interrupted purges).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PartitionHome, listPartitionDirs, partitionDir, type PartitionIds } from '../../../host/node/data/partition-dir.js';
import { buildPollReply, planPoll } from '../../../host/node/data/poll.js';
import { buildBatch, batchPayloads } from '../../../host/node/io/batch-builder.js';
import { StorageCore, storageCore } from '../../../host/node/io/storage-core.js';
import { tempDir } from '../helpers.js';
import { CoreJournalBatch as B } from '../../../host/shared/core-abi.generated.js';

const ids: PartitionIds = { streamId: 3, topicId: 1, partitionId: 2 };
const everyBatch = { fsync: { kind: 'every-batch' as const }, quiet: true };

function batchOf(sc: StorageCore, first: number, count: number, size = 300): Buffer {
  return buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: Buffer.alloc(size, (first + i) & 0xff) })));
}

// 5 segments of 2 messages (offsets 0..9), then an active one holding 10..11: each append of ~900 bytes rolls over.
async function segmented(sc: StorageCore, dataDir: string): Promise<PartitionHome> {
  const home = PartitionHome.open(dataDir, ids, sc, { ...everyBatch, segmentBytes: 512 });
  for (let i = 0; i < 6; i++) await home.appendAsync([batchOf(sc, i * 2, 2)]);
  assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [0, 2, 4, 6, 8, 10]);
  return home;
}

describe('PartitionHome', () => {
  it('lives at streams/<s>/topics/<t>/partitions/<p>; append, stats and offsets survive reopen', async () => {
    const sc = await storageCore();
    const dataDir = tempDir();
    const home = PartitionHome.open(dataDir, ids, sc, everyBatch);
    assert.equal(home.dir, path.join(dataDir, 'streams/3/topics/1/partitions/2'));
    assert.deepEqual(home.stats(), { currentOffset: 0, messagesCount: 0, sizeBytes: 0, segmentsCount: 1 });
    const r = await home.appendAsync([batchOf(sc, 0, 4), batchOf(sc, 4, 2)]);
    assert.deepEqual([r.baseOffset, r.nextOffset], [0, 6]);
    home.offsets.store(1, 9, 3);
    home.offsets.flush();
    const stats = home.stats();
    home.close();
    assert.deepEqual(fs.readdirSync(home.dir).sort(), ['00000000000000000000.index', '00000000000000000000.log', 'offsets.log']);
    const again = PartitionHome.open(dataDir, ids, sc, everyBatch);
    assert.deepEqual(again.stats(), stats);
    assert.deepEqual(stats, { currentOffset: 5, messagesCount: 6, sizeBytes: 2 * 256 + 6 * (48 + 300), segmentsCount: 1 });
    assert.deepEqual(again.pollState({ kind: 1, id: 9 }), { firstOffset: 0, nextOffset: 6, storedOffset: 3 });
    const plan = planPoll({ kind: 'next' }, 10, again.pollState({ kind: 1, id: 9 }));
    const reply = buildPollReply(sc, again.partition, 2, plan, 10, 1 << 20);
    assert.deepEqual([reply.messages, reply.lastOffset], [2, 5]);
    again.close();
  });

  it('a group larger than the staging area is appended as several groups, in order; an empty one is a no-op', async () => {
    const small = await StorageCore.load({ memoryBytes: 8 << 20, windowBytes: 1 << 20, stagingBytes: 4096 });
    const home = PartitionHome.open(tempDir(), ids, small, everyBatch);
    assert.deepEqual(await home.appendAsync([]), { baseOffset: 0, nextOffset: 0, batches: 0, bytes: 0, refused: [], bases: [] });
    const sc = await storageCore(); // the batch builder keeps its region in the first core it was given
    const batches = [0, 3, 6, 9, 12].map((first) => batchOf(sc, first, 3)); // 1300 bytes each: 3 per group at most
    const r = await home.appendAsync(batches);
    assert.deepEqual(r, { baseOffset: 0, nextOffset: 15, batches: 5, bytes: 5 * (256 + 3 * 348), refused: [0, 0, 0, 0, 0], bases: [0, 3, 6, 9, 12] });
    assert.deepEqual(home.partition.readFromOffset(0, 1 << 20).map((b) => b.baseOffset), [0, 3, 6, 9, 12]);
    home.close();
  });

  it('a purge between two staging groups of one append: each batch is reported where it was stored', async () => {
    const small = await StorageCore.load({ memoryBytes: 8 << 20, windowBytes: 1 << 20, stagingBytes: 4096 });
    const sc = await storageCore();
    const home = PartitionHome.open(tempDir(), ids, small, everyBatch);
    await home.appendAsync([batchOf(sc, 0, 10, 100)]); // offsets 0..9 before the purge
    const writing = home.appendAsync([batchOf(sc, 100, 3, 900), batchOf(sc, 200, 2, 900)]); // two staging groups
    home.purge(); // a committed PurgeTopic, applied while the first group is on its way to the old files
    let idle = false;
    const waited = home.idle().then(() => { idle = true; });
    const r = await writing;
    await waited;
    assert.ok(idle, 'idle() waited for the whole append, across the purge');
    assert.deepEqual(r.bases, [10, 0], 'the first batch went to the purged files at 10, the second to the new ones at 0');
    assert.deepEqual(home.partition.readFromOffset(0).map((b) => [b.baseOffset, b.count]), [[0, 2]]);
    home.close();
  });

  it('the stored bytes are stamped: partition id, offsets and a batch checksum the core accepts', async () => {
    const sc = await storageCore();
    const home = PartitionHome.open(tempDir(), ids, sc, everyBatch);
    await home.appendAsync([batchOf(sc, 0, 1), batchOf(sc, 1, 2)]);
    const [, second] = home.partition.readFromOffset(0);
    assert.deepEqual([Number(second.bytes.readBigUInt64LE(0)), second.baseOffset], [2, 1]);
    assert.deepEqual(batchPayloads(second.bytes)[1], Buffer.alloc(300, 2));
    home.close();
  });

  it('verify(): the core\'s full check where the batch lies (heap or core memory); an append told "verified" hashes nothing again', async () => {
    const sc = await storageCore();
    const good = batchOf(sc, 0, 2);
    const badFrame = Buffer.from(good);
    badFrame[good.length - 1] ^= 1; // the last payload byte
    const badBatch = Buffer.from(good);
    badBatch[B.B_CHECKSUM] ^= 1;
    const home = PartitionHome.open(tempDir(), ids, sc, everyBatch);
    assert.deepEqual([home.verify(good), home.verify(badFrame), home.verify(badBatch)], [B.BATCH_OK, B.BATCH_FRAME_CHECKSUM, B.BATCH_CHECKSUM]);
    const at = sc.alloc(good.length); // as a frame in the frame arena lies: verified in place, not changed
    try {
      sc.u8.set(badFrame, at);
      assert.equal(home.verify(sc.view(at, good.length)), B.BATCH_FRAME_CHECKSUM);
      sc.u8.set(good, at);
      assert.equal(home.verify(sc.view(at, good.length)), B.BATCH_OK);
      assert.deepEqual(Buffer.from(sc.view(at, good.length)), good);
    } finally {
      sc.release(at, good.length);
    }
    // The flag is what spares the second hash pass: a bad batch passed as verified is not caught by the append.
    assert.deepEqual((await home.appendAsync([Buffer.from(badFrame)])).refused, [B.BATCH_FRAME_CHECKSUM]);
    assert.deepEqual((await home.appendAsync([Buffer.from(badFrame)], true)).refused, [0]);
    home.close();
  });

  it('purge: every message and offset gone, one empty segment at 0, new messages from 0, durable across reopen', async () => {
    const sc = await storageCore();
    const dataDir = tempDir();
    const home = await segmented(sc, dataDir);
    home.offsets.store(1, 1, 7);
    home.offsets.store(2, 4, 3);
    home.offsets.flush();
    home.purge();
    assert.deepEqual(home.stats(), { currentOffset: 0, messagesCount: 0, sizeBytes: 0, segmentsCount: 1 });
    assert.deepEqual([home.offsets.get(1, 1), home.offsets.get(2, 4)], [null, null]);
    const files = Object.fromEntries(fs.readdirSync(home.dir).map((f) => [f, fs.statSync(path.join(home.dir, f)).size]));
    assert.deepEqual(files, { '00000000000000000000.index': 0, '00000000000000000000.log': 0, 'offsets.log': 0 });
    assert.ok(!fs.existsSync(home.dir + '.trash'));
    assert.equal((await home.appendAsync([batchOf(sc, 0, 3)])).baseOffset, 0);
    home.close();
    const again = PartitionHome.open(dataDir, ids, sc, everyBatch);
    assert.deepEqual([again.stats().messagesCount, again.offsets.get(1, 1)], [3, null]);
    again.close();
  });

  it('a purge interrupted after its rename is complete at the next open; a leftover trash is removed', async () => {
    const sc = await storageCore();
    const dataDir = tempDir();
    (await segmented(sc, dataDir)).close();
    const dir = partitionDir(dataDir, ids);
    fs.renameSync(dir, dir + '.trash'); // the crash came right after the commit point
    const home = PartitionHome.open(dataDir, ids, sc, everyBatch);
    assert.deepEqual(home.stats(), { currentOffset: 0, messagesCount: 0, sizeBytes: 0, segmentsCount: 1 });
    assert.ok(!fs.existsSync(dir + '.trash'));
    home.close();
  });

  it('deleteSegments without stored offsets: oldest sealed first, count bounded, the active one never', async () => {
    const sc = await storageCore();
    const home = await segmented(sc, tempDir());
    assert.equal(home.deleteSegments(0), 0);
    assert.equal(home.deleteSegments(2), 2);
    assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [4, 6, 8, 10]);
    assert.deepEqual(home.stats(), { currentOffset: 11, messagesCount: 8, sizeBytes: 4 * (256 + 2 * 348), segmentsCount: 4 });
    assert.equal(home.deleteSegments(0xffff_ffff), 3);
    assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [10]);
    assert.equal(home.deleteSegments(1), 0);
    assert.equal(home.stats().currentOffset, 11, 'current offset stays the true maximum');
    home.close();
  });

  it('deleteSegments stops at the lowest stored consumer offset (Iggy: deletable when its last offset <= barrier)', async () => {
    const sc = await storageCore();
    const home = await segmented(sc, tempDir());
    home.offsets.store(2, 1, 9); // a fast group
    home.offsets.store(1, 1, 2); // a slow consumer: segment [0,1] is read, [2,3] is not
    assert.equal(home.deleteSegments(10), 1);
    assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [2, 4, 6, 8, 10]);
    assert.equal(home.deleteSegments(10), 0, 'nothing changed: still blocked');
    home.offsets.store(1, 1, 4); // [2,3] is now read; [4,5] is not (5 > 4)
    assert.equal(home.deleteSegments(10), 1);
    home.offsets.store(1, 1, 5);
    assert.equal(home.deleteSegments(10), 1);
    assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [6, 8, 10]);
    home.offsets.delete(1, 1); // the group at 9 is the barrier now: [6,7] and [8,9] go
    assert.equal(home.deleteSegments(10), 2);
    assert.deepEqual(home.partition.segments.map((s) => s.baseOffset), [10]);
    home.close();
  });

  it('remove() deletes the directory durably; listPartitionDirs finds the rest and sweeps trash', async () => {
    const sc = await storageCore();
    const dataDir = tempDir();
    assert.deepEqual(listPartitionDirs(dataDir), []);
    const all: PartitionIds[] = [{ streamId: 0, topicId: 0, partitionId: 0 }, { streamId: 0, topicId: 0, partitionId: 10 }, { streamId: 0, topicId: 2, partitionId: 1 }, { streamId: 12, topicId: 0, partitionId: 3 }];
    for (const p of [...all].reverse()) PartitionHome.open(dataDir, p, sc, everyBatch).close();
    fs.mkdirSync(path.join(dataDir, 'streams/0/topics/0/partitions/not-a-partition'));
    fs.writeFileSync(path.join(dataDir, 'streams/0/topics/0/partitions/7'), 'a file, not a directory');
    fs.mkdirSync(path.join(dataDir, 'streams/0/topics/0/partitions/5.trash'));
    assert.deepEqual(listPartitionDirs(dataDir), all);
    assert.ok(!fs.existsSync(path.join(dataDir, 'streams/0/topics/0/partitions/5.trash')));
    PartitionHome.remove(dataDir, all[1]);
    assert.ok(!fs.existsSync(partitionDir(dataDir, all[1])));
    assert.deepEqual(listPartitionDirs(dataDir), [all[0], all[2], all[3]]);
    PartitionHome.remove(dataDir, all[1]); // already gone: nothing to do
    assert.throws(() => partitionDir(dataDir, { streamId: -1, topicId: 0, partitionId: 0 }), RangeError);
  });
});
