// partition-repair.ts on real files: a damaged log is cut at its first bad record (later segments removed, a segment
// after a missing one removed whole) after the stale marker is set, and opens intact up to the damage; a damaged
// offsets.log is set aside; a damage that names no segment of the directory is refused by name and cuts nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConsumerOffsets, OFFSETS_FILE } from '../../../host/node/data/offsets.js';
import { buildBatch } from '../../../host/node/io/batch-builder.js';
import { Partition } from '../../../host/node/io/partition.js';
import { listSegments, segmentName } from '../../../host/node/io/segment-file.js';
import { storageCore, type StorageCore } from '../../../host/node/io/storage-core.js';
import { STALE_MARKER } from '../../../host/node/server/partition-group.js';
import { cutDamagedLog, setOffsetsAside } from '../../../host/node/server/partition-repair.js';
import { CoreJournalBatch } from '../../../host/shared/core-abi.generated.js';
import { tempDir } from '../helpers.js';

const SEGMENT_BYTES = 2_000;

// A log of three segments or more: batches of 5 messages of 100 B, each segment rolled over at SEGMENT_BYTES.
async function threeSegments(): Promise<{ sc: StorageCore; dir: string }> {
  const sc = await storageCore();
  const dir = tempDir();
  const p = await Partition.open({ dir, partitionId: 0, segmentBytes: SEGMENT_BYTES, quiet: true }, sc);
  for (let b = 0; b < 12; b++) p.append([buildBatch(sc, Array.from({ length: 5 }, (_, i) => ({ payload: Buffer.alloc(100, b * 5 + i) })))]);
  p.close();
  assert.ok(listSegments(dir).length >= 3, 'three segments or more');
  return { sc, dir };
}

const logOf = (dir: string, base: number) => path.join(dir, `${segmentName(base)}.log`);

describe('partition repair: a damaged log cut for the catch-up', () => {
  it('cuts at the first bad record of a sealed segment, removes the later ones, marks stale first; the rest opens intact', async () => {
    const { sc, dir } = await threeSegments();
    const [, middle, ...later] = listSegments(dir);
    const bytes = fs.readFileSync(logOf(dir, middle));
    const first = Number(bytes.readBigUInt64LE(CoreJournalBatch.B_LENGTH));
    bytes[first + 80] ^= 0x04; // inside the segment's second batch
    fs.writeFileSync(logOf(dir, middle), bytes);
    const damaged = await Partition.open({ dir, partitionId: 0, segmentBytes: SEGMENT_BYTES, quiet: true, onCorrupt: 'read-only' }, sc);
    const damage = damaged.damage!;
    damaged.close();
    assert.equal(damage.byte, first);
    const cut = cutDamagedLog(dir, '1/1/0', damage);
    assert.ok(fs.existsSync(path.join(dir, STALE_MARKER)), 'marked stale');
    assert.deepEqual(cut.removed, later.reverse().map((b) => `${segmentName(b)}.log`), 'the later segments, newest first');
    assert.equal(fs.statSync(logOf(dir, middle)).size, first);
    const reopened = await Partition.open({ dir, partitionId: 0, segmentBytes: SEGMENT_BYTES, quiet: true }, sc); // 'fail' on damage
    assert.equal(reopened.nextOffset, damage.offset, 'everything before the damage, nothing from it on');
    assert.equal(reopened.damage, null);
    reopened.close();
  });

  it('removes a segment that starts past where the one before it ended (a segment is missing) and those after it', async () => {
    const { sc, dir } = await threeSegments();
    const [firstBase, middle, ...later] = listSegments(dir);
    fs.rmSync(logOf(dir, middle));
    const damaged = await Partition.open({ dir, partitionId: 0, segmentBytes: SEGMENT_BYTES, quiet: true, onCorrupt: 'read-only' }, sc);
    const damage = damaged.damage!;
    damaged.close();
    assert.equal(damage.offset, middle);
    cutDamagedLog(dir, '1/1/0', damage);
    assert.deepEqual(listSegments(dir), [firstBase], `segments ${later} removed`);
    const reopened = await Partition.open({ dir, partitionId: 0, segmentBytes: SEGMENT_BYTES, quiet: true }, sc);
    assert.equal(reopened.nextOffset, middle);
    reopened.close();
  });

  it('refuses a damage that names no segment of the directory, and cuts nothing', async () => {
    const { dir } = await threeSegments();
    const before = listSegments(dir).map((b) => fs.statSync(logOf(dir, b)).size);
    const elsewhere = { file: path.join(tempDir(), `${segmentName(0)}.log`), byte: 10, offset: 0, detail: 'x', foundBy: 'recovery' as const };
    assert.throws(() => cutDamagedLog(dir, '1/1/0', elsewhere), /not a segment of .*nothing cut/);
    assert.throws(() => cutDamagedLog(dir, '1/1/0', { ...elsewhere, file: path.join(dir, OFFSETS_FILE) }), /not a segment of/);
    assert.deepEqual(listSegments(dir).map((b) => fs.statSync(logOf(dir, b)).size), before);
    assert.equal(fs.existsSync(path.join(dir, STALE_MARKER)), false, 'not marked either');
  });
});

describe('partition repair: a damaged offsets.log set aside', () => {
  it('is renamed with a time stamp after the stale marker is set; the offsets open empty', async () => {
    const sc = await storageCore();
    const dir = tempDir();
    const offsets = ConsumerOffsets.open(dir, sc, { quiet: true });
    offsets.store(1, 7, 42);
    offsets.flush();
    offsets.close();
    const aside = setOffsetsAside(dir, '1/1/0', 'damaged', new Date('2026-12-07T09:30:00.000Z'));
    assert.equal(aside, `${OFFSETS_FILE}.damaged-2026-12-07T09-30-00-000Z`);
    assert.ok(fs.existsSync(path.join(dir, STALE_MARKER)));
    assert.equal(fs.statSync(path.join(dir, aside)).size, 32, 'the damaged log kept as it was');
    const fresh = ConsumerOffsets.open(dir, sc, { quiet: true });
    assert.equal(fresh.get(1, 7), null);
    fresh.close();
  });
});
