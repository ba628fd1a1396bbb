// A crash at every single file-system step of a journal drain and of a superblock write (tmp → fsync → rename →
// fsync dir → reopen) leaves exactly the old state or the new one, never a mix and never a refusal to boot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { DRAIN_UP_TO, OPS } from './step-crasher.js';
import { tempDir } from './helpers.js';

const crasher = path.join(path.dirname(fileURLToPath(import.meta.url)), 'step-crasher.js');

// Runs the crasher killing it at step `at`; returns null if it was killed, else the number of steps it took.
function run(what: string, dir: string, at: number): number | null {
  const r = spawnSync(process.execPath, ['--no-liftoff', crasher, what, dir, String(at)], { encoding: 'utf8', timeout: 20_000 });
  if (r.signal === 'SIGKILL' && at > 0) return null;
  assert.equal(r.status, 0, `crasher ${what} at ${at}: ${r.stderr}`);
  return Number(/DONE (\d+)/.exec(r.stdout)?.[1]);
}

test('journal drain: a crash at each step leaves the old journal or the drained one', async () => {
  const steps = run('drain', tempDir(), 0)!;
  assert.ok(steps >= 5, `drain took ${steps} steps`);
  const seen = new Set<string>();
  for (let at = 1; at <= steps; at++) {
    const dir = tempDir();
    assert.equal(run('drain', dir, at), null, `step ${at} of ${steps} was reached`);
    const j = await PrepareJournal.open({ dir, slotCount: 16, quiet: true, snapshotOp: 0 });
    const state = `${j.firstOp}..${j.lastOp}`;
    assert.ok(state === `1..${OPS}` || state === `${DRAIN_UP_TO + 1}..${OPS}`, `crash at step ${at}: journal holds ${state}`);
    for (let op = j.firstOp!; op <= OPS; op++) assert.equal(j.read(op)?.subarray(256).toString(), `op ${op}`);
    seen.add(state);
    j.close();
  }
  assert.equal(seen.size, 2, `both outcomes occur across the steps: ${[...seen].join(', ')}`);
});

test('superblock write: a crash at each step leaves the previous state or the new one', async () => {
  const steps = run('superblock', tempDir(), 0)!;
  const seen = new Set<number>();
  for (let at = 1; at <= steps; at++) {
    const dir = tempDir();
    assert.equal(run('superblock', dir, at), null);
    const s = await SuperblockStore.open(dir, undefined, true);
    assert.ok(s.state?.commit === 2 || s.state?.commit === 3, `crash at step ${at}: commit ${s.state?.commit}`);
    seen.add(s.state!.commit);
    s.close();
  }
  assert.deepEqual([...seen].sort(), [2, 3]);
});
