// Consumer offsets on real files: round trip across reopen, group commit per flush, torn tails (cut, unwritten
// blocks, a group missing a middle record), damage in the middle and at the end (refused, file untouched),
// compaction, and delete.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConsumerOffsets, OFFSETS_FILE, OFFSET_RECORD_BYTES } from '../../../host/node/data/offsets.js';
import { storageCore } from '../../../host/node/io/storage-core.js';
import { fillDevice, mountTmpfs, unmount } from '../../../host/torture/full-device.js';
import { flipBit, tempDir } from '../helpers.js';

const R = OFFSET_RECORD_BYTES;

async function open(dir: string, compactBytes?: number): Promise<ConsumerOffsets> {
  return ConsumerOffsets.open(dir, await storageCore(), { compactBytes, quiet: true });
}

// Three flushes: group 1 = 2 records, group 2 = 1 record, group 3 = 3 records (96 + ... = 192 bytes).
async function threeGroups(dir: string): Promise<void> {
  const o = await open(dir);
  o.store(1, 1, 10);
  o.store(2, 1, 20);
  o.flush();
  o.store(1, 1, 11);
  o.flush();
  o.store(1, 2, 30);
  o.store(1, 3, 40);
  o.delete(2, 1);
  o.flush();
  o.close();
  assert.equal(fs.statSync(path.join(dir, OFFSETS_FILE)).size, 6 * R);
}

describe('ConsumerOffsets', () => {
  it('round trip across reopen; unflushed changes write nothing; one group per flush', async () => {
    const dir = tempDir();
    const file = path.join(dir, OFFSETS_FILE);
    const o = await open(dir);
    assert.equal(o.get(1, 0), null);
    o.store(1, 0, 5);
    o.store(2, 0xffff_ffff, 7);
    o.store(1, 0, 6); // the same key twice in one turn is one record
    assert.equal(o.get(1, 0), 6, 'visible before the flush');
    assert.equal(fs.statSync(file).size, 0, 'nothing written before flush');
    o.flush();
    assert.equal(fs.statSync(file).size, 2 * R);
    o.flush(); // nothing pending: no write
    assert.equal(fs.statSync(file).size, 2 * R);
    o.close();
    const q = await open(dir);
    assert.deepEqual([q.get(1, 0), q.get(2, 0xffff_ffff), q.get(2, 0), q.get(1, 1)], [6, 7, null, null]);
    assert.deepEqual(q.recovery, { records: 2, truncatedBytes: 0, truncatedAt: 0 });
    assert.equal(q.minOffset(), 6);
    assert.deepEqual(q.entries().sort((a, b) => a.kind - b.kind), [{ kind: 1, id: 0, offset: 6 }, { kind: 2, id: 0xffff_ffff, offset: 7 }]);
    q.close();
  });

  it('delete then reopen -> null; deleting what is not stored is false', async () => {
    const dir = tempDir();
    await threeGroups(dir);
    const o = await open(dir);
    assert.deepEqual([o.get(1, 1), o.get(2, 1), o.get(1, 2), o.get(1, 3)], [11, null, 30, 40]);
    assert.equal(o.delete(2, 1), false);
    assert.equal(o.delete(1, 2), true);
    o.flush();
    o.close();
    const q = await open(dir);
    assert.equal(q.get(1, 2), null);
    assert.equal(q.minOffset(), 11);
    q.close();
  });

  it('a torn tail (cut record, records of an unfinished group, unwritten blocks) is truncated to the last whole group', async () => {
    const dir = tempDir();
    const file = path.join(dir, OFFSETS_FILE);
    await threeGroups(dir);
    const whole = fs.readFileSync(file);
    for (const tail of [whole.subarray(0, 6 * R - 10), whole.subarray(0, 5 * R), Buffer.concat([whole.subarray(0, 4 * R), Buffer.alloc(R), whole.subarray(5 * R)])]) {
      fs.writeFileSync(file, tail);
      const o = await open(dir);
      assert.deepEqual(o.recovery, { records: 3, truncatedBytes: tail.length - 3 * R, truncatedAt: 3 * R });
      assert.deepEqual([o.get(1, 1), o.get(2, 1), o.get(1, 2), o.get(1, 3)], [11, 20, null, null], 'group 3 is gone entirely');
      assert.equal(fs.statSync(file).size, 3 * R);
      o.store(1, 9, 99); // the next flush reuses the torn group's sequence
      o.close();
      const q = await open(dir);
      assert.equal(q.get(1, 9), 99);
      q.close();
    }
    fs.writeFileSync(file, Buffer.concat([whole, Buffer.alloc(4096)]));
    const z = await open(dir);
    assert.equal(z.recovery.truncatedBytes, 4096);
    assert.equal(z.get(1, 3), 40);
    z.close();
  });

  it('damage before a valid group is ConsumerOffsetsCorrupt naming file and byte; nothing is rewritten', async () => {
    const dir = tempDir();
    const file = path.join(dir, OFFSETS_FILE);
    await threeGroups(dir);
    flipBit(file, R + 9, 3); // group 1, record 1: its offset
    const before = fs.readFileSync(file);
    await assert.rejects(open(dir), (e: Error & { file?: string; offset?: number }) => {
      assert.equal(e.name, 'ConsumerOffsetsCorrupt');
      assert.equal(e.file, file);
      assert.equal(e.offset, R);
      assert.match(e.message, /offsets\.log @ byte 32/);
      return true;
    });
    assert.deepEqual(fs.readFileSync(file), before);
    // A zeroed record in the middle is damage too when a later group follows it.
    const other = tempDir();
    const otherFile = path.join(other, OFFSETS_FILE);
    await threeGroups(other);
    const bytes = fs.readFileSync(otherFile);
    bytes.fill(0, R, 2 * R);
    fs.writeFileSync(otherFile, bytes);
    await assert.rejects(open(other), { name: 'ConsumerOffsetsCorrupt', message: /@ byte 32: .*group 2/ });
    assert.deepEqual(fs.readFileSync(otherFile), bytes);
  });

  it('a damaged record at the very end is not mistaken for a torn write', async () => {
    const dir = tempDir();
    const file = path.join(dir, OFFSETS_FILE);
    await threeGroups(dir);
    flipBit(file, 6 * R - 1, 0); // the checksum of the last record
    await assert.rejects(open(dir), { name: 'ConsumerOffsetsCorrupt', message: /@ byte 160: record does not verify/ });
    assert.equal(fs.statSync(file).size, 6 * R);
  });

  it('compacts to the live set once the log outgrows its bound, and survives reopen', async () => {
    const dir = tempDir();
    const file = path.join(dir, OFFSETS_FILE);
    const o = await open(dir, 10 * R);
    for (let i = 0; i < 24; i++) {
      o.store(1, 1, i);
      o.store(2, 7, 1000 + i);
      if (i === 10) o.store(1, 2, 5);
      if (i === 20) o.delete(1, 2);
      o.flush();
      assert.ok(fs.statSync(file).size < 10 * R + 3 * R, `log stays bounded (${fs.statSync(file).size} bytes after flush ${i})`);
    }
    o.close();
    assert.ok(!fs.existsSync(`${file}.tmp`));
    fs.writeFileSync(`${file}.tmp`, 'leftover of a compaction that never renamed');
    const q = await open(dir, 10 * R);
    assert.ok(!fs.existsSync(`${file}.tmp`), 'leftover tmp removed at open');
    assert.deepEqual([q.get(1, 1), q.get(2, 7), q.get(1, 2)], [23, 1023, null]);
    q.store(1, 1, 24);
    q.close();
    const r = await open(dir, 10 * R);
    assert.equal(r.get(1, 1), 24, 'groups continue after a compacted one');
    r.close();
  });

  it('group sequences wrap around u32', async () => {
    const dir = tempDir();
    const sc = await storageCore();
    const record = Buffer.alloc(R); // what a compaction at group 0xffffffff writes: one store, last of its group
    record.set([1, 1, 1], 0);
    record.writeUInt32LE(5, 4);
    record.writeBigUInt64LE(9n, 8);
    record.writeUInt32LE(0xffff_ffff, 16);
    sc.u8.set(record.subarray(0, 24), sc.scratch);
    record.writeUInt32LE(sc.core.xxh3_64_low(sc.scratch, 24) >>> 0, 24);
    record.writeUInt32LE(sc.core.xxh3_last_high() >>> 0, 28);
    fs.writeFileSync(path.join(dir, OFFSETS_FILE), record);
    const o = await open(dir);
    assert.equal(o.get(1, 5), 9);
    o.store(1, 6, 10);
    o.close();
    assert.equal(fs.readFileSync(path.join(dir, OFFSETS_FILE)).readUInt32LE(R + 16), 0);
    const q = await open(dir);
    assert.deepEqual([q.get(1, 5), q.get(1, 6), q.recovery.truncatedBytes], [9, 10, 0]);
    q.close();
  });

  it('refuses bad keys and offsets', async () => {
    const o = await open(tempDir());
    assert.throws(() => o.store(3 as 1, 0, 0), RangeError);
    assert.throws(() => o.get(1, -1), RangeError);
    assert.throws(() => o.get(1, 2 ** 32), RangeError);
    assert.throws(() => o.store(1, 0, -1), RangeError);
    assert.throws(() => o.store(1, 0, 2 ** 53), RangeError);
    o.close();
  });

  it('a flush that finds the device full rolls back (file and memory), stays writable, and succeeds once there is room', async (t) => {
    const mount = tempDir();
    const why = mountTmpfs(mount, '1m');
    if (why) {
      t.skip(why);
      return;
    }
    t.after(() => unmount(mount));
    const o = await open(mount);
    o.store(1, 1, 10);
    o.flush();
    const file = path.join(mount, OFFSETS_FILE);
    const durable = fs.readFileSync(file);
    fillDevice(path.join(mount, 'filler'));
    o.store(1, 1, 11);
    for (let id = 2; id < 400; id++) o.store(1, id, id); // 399 records: more than the last page has room for
    assert.throws(() => o.flush(), (e: Error & { code?: string }) => e.code === 'NoSpace' && /ENOSPC/.test(e.message));
    assert.deepEqual(fs.readFileSync(file), durable, 'nothing of the refused flush stays in the log');
    assert.deepEqual([o.get(1, 1), o.get(1, 2), o.count], [10, null, 1], 'memory is what a restart would find');
    fs.rmSync(path.join(mount, 'filler'));
    o.store(1, 1, 12);
    o.flush();
    o.close();
    const q = await open(mount);
    assert.deepEqual([q.get(1, 1), q.count], [12, 1]);
    q.close();
  });
});
