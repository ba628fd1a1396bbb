// Seeded random bit flips in every file type. Each flip must be caught by a checksum and named with its file and
// byte offset; refused opens leave the files byte-for-byte intact; no damaged byte is ever returned as data.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildBatch } from '../../host/node/io/batch-builder.js';
import { Partition } from '../../host/node/io/partition.js';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { body, chain, flipBit, prng, tempDir } from './helpers.js';

const SEED = Number(process.env.SHARDLOG_CORRUPTION_SEED ?? 5);
const BATCH = 256 + 4 * (48 + 200); // every batch below has 4 messages of 200 bytes

function snapshot(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

function restore(dir: string, files: Map<string, Buffer>): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  for (const [f, bytes] of files) fs.writeFileSync(path.join(dir, f), bytes);
}

function byteOf(error: Error): number {
  const m = /@ byte (\d+)/.exec(error.message);
  assert.ok(m, `no offset in: ${error.message}`);
  return Number(m[1]);
}

async function makePartition(dir: string): Promise<void> {
  const sc = await storageCore();
  const p = await Partition.open({ dir, partitionId: 9, segmentBytes: 6 * BATCH, quiet: true });
  for (let i = 0; i < 14; i++) {
    p.append([buildBatch(sc, Array.from({ length: 4 }, (_, k) => ({ payload: body(i * 4 + k, 200) })))]);
  }
  p.close();
}

test(`segment .log bit flips are SegmentCorrupt at the damaged batch, files untouched (seed ${SEED})`, async () => {
  const dir = tempDir();
  await makePartition(dir);
  const pristine = snapshot(dir);
  const logs = [...pristine.keys()].filter((f) => f.endsWith('.log'));
  const random = prng(SEED);
  for (let trial = 0; trial < 80; trial++) {
    restore(dir, pristine);
    const name = logs[Math.floor(random() * logs.length)];
    const size = pristine.get(name)!.length;
    const byte = Math.floor(random() * size);
    const bit = Math.floor(random() * 8);
    flipBit(path.join(dir, name), byte, bit);
    const damaged = fs.readFileSync(path.join(dir, name));
    const what = `trial ${trial}: ${name} byte ${byte} bit ${bit}`;
    await assert.rejects(Partition.open({ dir, partitionId: 9, segmentBytes: 6 * BATCH, quiet: true }), (e: Error) => {
      assert.equal(e.name, 'SegmentCorrupt', `${what}: ${e.message}`);
      assert.ok(e.message.includes(name), what);
      assert.equal(Math.floor(byteOf(e) / BATCH), Math.floor(byte / BATCH), `${what}: reported ${e.message}`);
      return true;
    });
    assert.deepEqual(fs.readFileSync(path.join(dir, name)), damaged, `${what}: file changed`);
  }
});

test(`bit flips under an open partition are SegmentChecksumMismatch on read, never data (seed ${SEED})`, async () => {
  const dir = tempDir();
  await makePartition(dir);
  const random = prng(SEED + 1);
  const p = await Partition.open({ dir, partitionId: 9, segmentBytes: 6 * BATCH, quiet: true });
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  for (let trial = 0; trial < 40; trial++) {
    const s = Math.floor(random() * logs.length);
    const file = path.join(dir, logs[s]);
    const size = fs.statSync(file).size;
    const byte = Math.floor(random() * size);
    flipBit(file, byte, trial % 8);
    const offset = p.segments[s].baseOffset + Math.floor(byte / BATCH) * 4 + Math.floor(random() * 4);
    assert.throws(() => p.readFromOffset(offset, 1), (e: Error) => {
      assert.equal(e.name, 'SegmentChecksumMismatch', `trial ${trial}: ${e.message}`);
      assert.ok(e.message.includes(logs[s]));
      assert.equal(Math.floor(byteOf(e) / BATCH), Math.floor(byte / BATCH));
      return true;
    });
    flipBit(file, byte, trial % 8);
    assert.equal(p.readFromOffset(offset, 1)[0].count, 4);
  }
  p.close();
});

test('a damaged .index is rebuilt from the verified log and reported', async () => {
  const dir = tempDir();
  await makePartition(dir);
  const index = path.join(dir, '00000000000000000000.index');
  const good = fs.readFileSync(index);
  flipBit(index, 20, 1);
  const p = await Partition.open({ dir, partitionId: 9, segmentBytes: 6 * BATCH, quiet: true });
  assert.match(p.warnings.join('\n'), /00000000000000000000\.index @ byte 20: differs from the log \(damaged/);
  assert.deepEqual(fs.readFileSync(index), good);
  assert.equal(p.readFromOffset(0, 1 << 20).length, 14);
  p.close();
});

test(`journal.wal bit flips: file-header and log damage is JournalHeaderCorrupt at its start, slot damage is repaired and reported (seed ${SEED})`, async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const slots = 16;
  const entry = 256 + 64;
  const j = await PrepareJournal.open({ dir, slotCount: slots, quiet: true });
  const prepares = chain(sc, 1, 10);
  j.append(prepares.slice(0, 4));
  j.append(prepares.slice(4));
  j.close();
  const pristine = snapshot(dir);
  const size = pristine.get('journal.wal')!.length;
  const random = prng(SEED + 2);
  let refused = 0;
  let repaired = 0;
  for (let trial = 0; trial < 80; trial++) {
    restore(dir, pristine);
    const byte = Math.floor(random() * size);
    flipBit(path.join(dir, 'journal.wal'), byte, Math.floor(random() * 8));
    const damaged = fs.readFileSync(path.join(dir, 'journal.wal'));
    const what = `trial ${trial}: byte ${byte}`;
    if (byte < 4096) {
      // The file header: the whole layout depends on it, so a damaged one refuses the boot.
      await assert.rejects(PrepareJournal.open({ dir, slotCount: slots, quiet: true }), (e: Error) => {
        assert.equal(e.name, 'JournalHeaderCorrupt', `${what}: ${e.message}`);
        assert.equal(byteOf(e), 0, what);
        return true;
      });
      assert.deepEqual(fs.readFileSync(path.join(dir, 'journal.wal')), damaged, `${what}: file changed`);
      refused++;
    } else if (byte >= 4096 + slots * 256) {
      await assert.rejects(PrepareJournal.open({ dir, slotCount: slots, quiet: true }), (e: Error) => {
        assert.equal(e.name, 'JournalHeaderCorrupt', `${what}: ${e.message}`);
        const start = 4096 + slots * 256 + Math.floor((byte - 4096 - slots * 256) / entry) * entry;
        assert.equal(byteOf(e), start, `${what}: ${e.message}`);
        return true;
      });
      assert.deepEqual(fs.readFileSync(path.join(dir, 'journal.wal')), damaged, `${what}: file changed`);
      refused++;
    } else {
      const k = await PrepareJournal.open({ dir, slotCount: slots, quiet: true });
      assert.match(k.recoveryWarnings.join('\n'), new RegExp(`@ byte ${Math.floor(byte / 256) * 256}: slot`), what);
      for (let op = 1; op <= 10; op++) assert.deepEqual(k.read(op), prepares[op - 1], `${what}: op ${op}`);
      k.close();
      repaired++;
    }
  }
  assert.ok(refused > 0 && repaired > 0, `both regions hit: ${refused} refused, ${repaired} repaired`);
});

test(`superblock bit flips: the damaged copy is named and the other one used (seed ${SEED})`, async () => {
  const dir = tempDir();
  const s = await SuperblockStore.open(dir);
  const base = { cluster: 7n, replica: 0, replicaCount: 1, view: 1, logView: 1, checkpointOp: 0, checkpointChecksum: 0n, logHead: 0, logHeadChecksum: 0n };
  s.write({ ...base, commit: 10 }); // a
  s.write({ ...base, commit: 20 }); // b
  s.close();
  const pristine = snapshot(dir);
  const random = prng(SEED + 3);
  for (let trial = 0; trial < 40; trial++) {
    restore(dir, pristine);
    const which = random() < 0.5 ? 'a' : 'b';
    flipBit(path.join(dir, `superblock.${which}`), Math.floor(random() * 100), Math.floor(random() * 8));
    const t = await SuperblockStore.open(dir, undefined, true);
    assert.match(t.warnings.join('\n'), new RegExp(`SuperblockCopyCorrupt: .*superblock\\.${which} @ byte \\d+`), `trial ${trial}`);
    assert.equal(t.state?.commit, which === 'a' ? 20 : 10, `trial ${trial}`);
    t.close();
  }
});
