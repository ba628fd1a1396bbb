// Superblock ping-pong on real files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SuperblockStore, type VsrState } from '../../host/node/io/superblock-store.js';
import { flipBit, tempDir } from './helpers.js';

function state(commit: number): VsrState {
  return { cluster: 0x0102030405060708090a0b0c0d0e0f10n, replica: 1, replicaCount: 3, view: commit * 2, logView: commit, commit, checkpointOp: commit - 1, checkpointChecksum: 0xdeadbeefn, logHead: commit * 3, logHeadChecksum: 0xfeedface00n + BigInt(commit) };
}

test('alternates copies and the newer valid one wins on reopen', async () => {
  const dir = tempDir();
  const s = await SuperblockStore.open(dir);
  assert.equal(s.state, null);
  s.write(state(1));
  s.write(state(2));
  s.write(state(3));
  s.close();
  assert.ok(fs.existsSync(path.join(dir, 'superblock.a')) && fs.existsSync(path.join(dir, 'superblock.b')));
  const t = await SuperblockStore.open(dir);
  assert.deepEqual([t.sequence, t.state], [3, state(3)]);
  t.close();
});

test('a corrupt newer copy loses to the valid older one, named with file and offset; the next write replaces it', async () => {
  const dir = tempDir();
  const s = await SuperblockStore.open(dir);
  s.write(state(1));
  s.write(state(2)); // sequence 2 → superblock.b
  s.close();
  flipBit(path.join(dir, 'superblock.b'), 60, 0);
  const t = await SuperblockStore.open(dir, undefined, true);
  assert.deepEqual([t.sequence, t.state?.commit], [1, 1]);
  assert.match(t.warnings[0], /SuperblockCopyCorrupt: .*superblock\.b @ byte 108: checksum mismatch/);
  t.write(state(5));
  t.close();
  const u = await SuperblockStore.open(dir);
  assert.deepEqual([u.sequence, u.state?.commit, u.warnings.length], [2, 5, 0]);
  u.close();
});

test('no valid copy while something was written: SuperblockCorrupt', async () => {
  const dir = tempDir();
  const s = await SuperblockStore.open(dir);
  s.write(state(1));
  s.close();
  flipBit(path.join(dir, 'superblock.a'), 9, 3);
  await assert.rejects(SuperblockStore.open(dir, undefined, true), { name: 'SuperblockCorrupt' });
});
