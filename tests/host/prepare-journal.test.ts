// The metadata WAL on real files: group commit, reopen, torn tails, corruption, drain.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { body, chain, flipBit, tempDir } from './helpers.js';

const SLOTS = 16;
const FILE_HEADER = 4096;
const LOG_START = FILE_HEADER + SLOTS * 256;

test('group append, read back, reopen with every slot valid', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const prepares = chain(sc, 1, 10);
  j.append(prepares.slice(0, 7));
  j.append(prepares.slice(7));
  assert.equal(j.lastOp, 10);
  assert.deepEqual(j.read(4)?.subarray(256), body(4));
  j.close();
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.deepEqual([k.firstOp, k.lastOp, k.recovery.verdict, k.recovery.slots.valid], [1, 10, 'clean', 10]);
  assert.equal(k.read(11), null);
  k.close();
});

test('appends out of order, off the parent chain or over a live slot are refused', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: 4, quiet: true });
  const p = chain(sc, 1, 6);
  j.append(p.slice(0, 2));
  assert.throws(() => j.append([p[3]]), { name: 'JournalAppendRejected' });
  j.append(p.slice(2, 4));
  assert.throws(() => j.append([p[4]]), { name: 'JournalSlotBusy' });
  assert.equal(j.lastOp, 4);
  j.drain(2);
  j.append([p[4], p[5]]);
  assert.deepEqual([j.firstOp, j.lastOp, j.snapshotOp], [3, 6, 2]);
  j.close();
  const k = await PrepareJournal.open({ dir, slotCount: 4, quiet: true, snapshotOp: 2 });
  assert.deepEqual([k.firstOp, k.lastOp], [3, 6]);
  assert.deepEqual(k.read(6)?.subarray(256), body(6));
  k.close();
});

test('a torn tail (no slot header claims it) is truncated and reported, or refused under policy fail', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const p = chain(sc, 1, 4);
  j.append(p.slice(0, 3));
  j.close();
  // What a crash mid-append leaves: half of the next prepare in the log, its slot header never written.
  fs.appendFileSync(path.join(dir, 'journal.wal'), p[3].subarray(0, 200));
  await assert.rejects(PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true, onTornTail: 'fail' }), { name: 'JournalTornTail' });
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.equal(k.recovery.verdict, 'truncated');
  assert.deepEqual(k.recovery.truncated, { at: LOG_START + 3 * 320, bytes: 200, reason: 'fewer than 256 bytes at the end' });
  assert.equal(k.lastOp, 3);
  k.append([p[3]]);
  k.close();
});

test('a complete prepare whose slot header was never written is kept, and its header repaired', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const p = chain(sc, 1, 3);
  j.append(p.slice(0, 2));
  j.close();
  fs.appendFileSync(path.join(dir, 'journal.wal'), p[2]);
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.deepEqual([k.lastOp, k.recovery.repairedHeaders], [3, 1]);
  k.close();
  const header = fs.readFileSync(path.join(dir, 'journal.wal')).subarray(FILE_HEADER + 3 * 256, FILE_HEADER + 4 * 256);
  assert.deepEqual(header, p[2].subarray(0, 256));
});

test('a damaged durable prepare is JournalHeaderCorrupt with its offset, and the file is left intact', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  j.append(chain(sc, 1, 5));
  j.close();
  const file = path.join(dir, 'journal.wal');
  flipBit(file, LOG_START + 4 * 320 + 300, 2); // body of op 5, the last one
  const before = fs.readFileSync(file);
  await assert.rejects(PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true }), (e: Error) => {
    assert.equal(e.name, 'JournalHeaderCorrupt');
    assert.match(e.message, new RegExp(`journal.wal @ byte ${LOG_START + 4 * 320}:.*op 5 corrupt`));
    return true;
  });
  assert.deepEqual(fs.readFileSync(file), before);
});

test('a log cut at an entry boundary while slot headers say more is MISSING, not a silent skip', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  j.append(chain(sc, 1, 5));
  j.close();
  fs.truncateSync(path.join(dir, 'journal.wal'), LOG_START + 3 * 320);
  await assert.rejects(PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true }), /op 4 missing/);
});

test('drain: a leftover tmp (crash before rename) is ignored; after rename the new file is complete', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const p = chain(sc, 1, 12);
  j.append(p.slice(0, 8));
  fs.writeFileSync(path.join(dir, 'journal.wal.tmp'), 'half-written drain');
  j.close();
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.equal(fs.existsSync(path.join(dir, 'journal.wal.tmp')), false);
  assert.deepEqual([k.firstOp, k.lastOp], [1, 8]);
  k.drain(5);
  assert.equal(fs.statSync(path.join(dir, 'journal.wal')).size, LOG_START + 3 * 320);
  k.append(p.slice(8));
  k.close();
  const m = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true, snapshotOp: 5 });
  assert.deepEqual([m.firstOp, m.lastOp, m.recovery.slots.valid], [6, 12, 7]);
  m.close();
});

test('truncateFrom removes a suffix durably; new ops take its place', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const p = chain(sc, 1, 8);
  j.append(p);
  j.truncateFrom(6);
  assert.deepEqual([j.lastOp, j.read(6)], [5, null]);
  const replacement = chain(sc, 6, 7, p[4], 100);
  j.append(replacement);
  j.close();
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.deepEqual([k.lastOp, k.recovery.verdict], [7, 'clean']);
  assert.deepEqual(k.read(7), replacement[1]);
  k.truncateFrom(1);
  assert.equal(k.lastOp, null);
  k.close();
  assert.equal(fs.statSync(path.join(dir, 'journal.wal')).size, LOG_START);
});

test('replaceFrom switches the journal whole: the ops below kept, the entries from the op on; entries off the chain are refused untouched', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  const p = chain(sc, 1, 8);
  j.append(p.slice(0, 4));
  j.append(p.slice(4)); // its slot headers still pending: the replacement writes every header itself
  const replacement = chain(sc, 6, 9, p[4], 100); // a longer tail than the one it replaces
  j.replaceFrom(6, replacement);
  assert.deepEqual([j.firstOp, j.lastOp], [1, 9]);
  assert.deepEqual(j.read(5), p[4]);
  assert.deepEqual(j.read(9), replacement[3]);
  j.append(chain(sc, 10, 10, replacement[3]));
  j.close();
  const k = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  assert.deepEqual([k.firstOp, k.lastOp, k.recovery.verdict, k.recovery.repairedHeaders], [1, 10, 'clean', 0]);
  assert.deepEqual(k.read(7), replacement[1]);
  // Entries that do not chain to the op below, or skip an op: refused by the core before anything is written.
  const before = fs.readFileSync(path.join(dir, 'journal.wal'));
  assert.throws(() => k.replaceFrom(3, chain(sc, 3, 4, p[0])), { name: 'JournalAppendRejected', message: /op 3: parent does not chain/ });
  assert.throws(() => k.replaceFrom(3, chain(sc, 4, 5, p[1])), { name: 'JournalAppendRejected', message: /op 4: op out of order/ });
  assert.deepEqual(fs.readFileSync(path.join(dir, 'journal.wal')), before);
  assert.deepEqual([k.lastOp, k.read(10)?.length], [10, 256 + 64]);
  k.close();
});

test('the file header makes the layout self-describing: another slot count or a damaged header is refused untouched', async () => {
  const sc = await storageCore();
  const dir = tempDir();
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true });
  j.append(chain(sc, 1, 3));
  j.close();
  const file = path.join(dir, 'journal.wal');
  const before = fs.readFileSync(file);
  await assert.rejects(PrepareJournal.open({ dir, slotCount: 1024, quiet: true }), { name: 'JournalSlotCountMismatch' });
  flipBit(file, 100, 0);
  await assert.rejects(PrepareJournal.open({ dir, slotCount: SLOTS, quiet: true }), (e: Error) => e.name === 'JournalHeaderCorrupt' && /@ byte 0: file header/.test(e.message));
  flipBit(file, 100, 0);
  assert.deepEqual(fs.readFileSync(file), before);
});
