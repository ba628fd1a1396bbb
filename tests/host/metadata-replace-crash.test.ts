// A backup's metadata journal holds ops 1..5 (each reported durable: its prepare_ok may have left) when a view
// change asks for another prepare at op 3. The journal is consecutive, so ops 4 and 5 must be written again after
// the new op 3; a crash at ANY file-system step of that must leave every prepare the core was told is durable on
// disk (op 3 itself may be the old prepare or the new one until the new one is reported). Before replaceFrom the
// journal was cut at op 3 and fsynced before the rewrite: a crash there lost the acknowledged ops 4 and 5.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import { readPrepare } from '../../host/node/consensus/group.js';
import { HEADER_SIZE } from '../../host/shared/vsr-abi.js';
import { MAX_ENTRY, SLOTS, prepare } from './metadata-replace-crasher.js';
import { shardCore } from './consensus-core.js';
import { tempDir } from './helpers.js';

const crasher = path.join(path.dirname(fileURLToPath(import.meta.url)), 'metadata-replace-crasher.js');

// Runs the crasher killing it at step `at`: the durable reports it printed, and its step count if it completed.
function run(dir: string, at: number): { durable: Map<number, bigint>; steps: number | null } {
  const r = spawnSync(process.execPath, ['--no-liftoff', crasher, dir, String(at)], { encoding: 'utf8', timeout: 30_000 });
  const killed = r.signal === 'SIGKILL' && at > 0;
  if (!killed) assert.equal(r.status, 0, `crasher at ${at}: ${r.stderr}`);
  const durable = new Map<number, bigint>();
  for (const [, op, checksum] of r.stdout.matchAll(/^durable (\d+) (\d+)$/gm)) durable.set(Number(op), BigInt(checksum));
  return { durable, steps: killed ? null : Number(/DONE (\d+)/.exec(r.stdout)?.[1]) };
}

// op → the checksum of the core prepare the journal holds for it, as boot finds the journal.
async function journaled(dir: string): Promise<Map<number, bigint>> {
  const j = await PrepareJournal.open({ dir, slotCount: SLOTS, maxEntryBytes: MAX_ENTRY, quiet: true });
  const held = new Map<number, bigint>();
  try {
    for (let op = j.firstOp ?? 1; op <= (j.lastOp ?? 0); op++) {
      const entry = j.read(op)!;
      const n = entry.readUInt32LE(HEADER_SIZE);
      held.set(op, readPrepare(entry.subarray(HEADER_SIZE + 4, HEADER_SIZE + 4 + n)).checksum);
    }
  } finally {
    j.close();
  }
  return held;
}

test('a crash at each step of replacing a journaled prepare keeps every prepare reported durable', async () => {
  const shard = await shardCore();
  const at = shard.sc.alloc(4096);
  const old3 = prepare(shard, at, 3, 3).checksum;
  const new3 = prepare(shard, at, 3, 103).checksum;
  const wholeDir = tempDir('shardlog-mdreplace-');
  const whole = { ...run(wholeDir, 0), dir: wholeDir };
  assert.ok(whole.steps !== null && whole.steps >= 4, `the replacement took ${whole.steps} steps`);

  const outcomes = new Set<string>();
  for (let step = 1; step <= whole.steps!; step++) {
    const dir = tempDir('shardlog-mdreplace-');
    const { durable, steps } = run(dir, step);
    assert.equal(steps, null, `step ${step} of ${whole.steps} was reached`);
    const held = await journaled(dir);
    for (const [op, checksum] of durable) {
      // The old op 3 was superseded by the write the core asked for: either prepare may be there until the new one is reported.
      const allowed = op === 3 && checksum === old3 ? [old3, new3] : [checksum];
      assert.ok(allowed.includes(held.get(op)!), `crash at step ${step}: op ${op}, reported durable, is ${held.has(op) ? 'another prepare' : 'missing'} after recovery (journal holds ops ${[...held.keys()].join(',')})`);
    }
    outcomes.add(held.get(3) === new3 ? 'new' : 'old');
  }
  assert.deepEqual([...outcomes].sort(), ['new', 'old'], 'crashes before and after the switch both occur');
  // Uncrashed, the one write journals the new op 3, the kept 4 and 5 and the new op 6 (and reports 3 and 6); op 7
  // is appended after it, and boot finds exactly that.
  const expected = [1, 2, 3, 4, 5, 6, 7].map((op) => [op, op === 3 ? new3 : prepare(shard, at, op, op).checksum]);
  assert.deepEqual([...whole.durable], expected);
  assert.deepEqual([...await journaled(whole.dir)], expected);
});
