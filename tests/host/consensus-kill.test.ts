// SIGKILL test of the metadata log: a child (consensus-kill-writer.ts) proposes in a loop and prints every
// acknowledged op; it is killed at a seeded random moment (sometimes during its own boot and replay), the log is
// reopened here, and every acknowledged op must be replayed with its body, in op order. The directory is reused
// across kills, so recoveries of recoveries and checkpoints (journal of 64 slots) are part of it.
// Seed: SHARDLOG_CONSENSUS_KILL_SEED; kills: SHARDLOG_CONSENSUS_KILLS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { MetadataLog } from '../../host/node/consensus/metadata-log.js';
import { shardCore } from './consensus-core.js';
import { ToyState, digest, requestBody } from './consensus-state.js';
import { prng, tempDir } from './helpers.js';

const SEED = Number(process.env.SHARDLOG_CONSENSUS_KILL_SEED ?? 20261128);
const KILLS = Number(process.env.SHARDLOG_CONSENSUS_KILLS ?? 8);
const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'consensus-kill-writer.js');

interface Ack { op: number; run: number; n: number }

// Runs the writer, kills it `delayMs` after it is ready (or after spawn when `early`), returns its acks.
function runWriter(dir: string, run: number, delayMs: number, early: boolean): Promise<{ acks: Ack[]; ready: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-liftoff', writer, dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready = false;
    const kill = () => child.kill('SIGKILL');
    if (early) setTimeout(kill, delayMs);
    const bound = setTimeout(kill, 20_000); // a writer that never gets ready fails below instead of hanging
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (!ready && out.includes('ready\n')) { ready = true; if (!early) setTimeout(kill, delayMs); }
    });
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      if (signal !== 'SIGKILL') { reject(new Error(`writer exited ${code}/${signal} before the kill: ${err}`)); return; }
      const acks = out.split('\n').filter((l) => l.startsWith('ack ')).map((l) => {
        const [, op, r, n] = l.split(' ').map(Number);
        return { op, run: r, n };
      });
      resolve({ acks, ready });
    });
  });
}

test(`SIGKILL while proposing: every acknowledged op is replayed after reopen (seed ${SEED}, ${KILLS} kills)`, async () => {
  const random = prng(SEED);
  const dir = tempDir('shardlog-metadata-kill-');
  const shard = await shardCore(32 << 20);
  const acked: Ack[] = [];
  let killedInBoot = 0;
  for (let run = 0; run < KILLS; run++) {
    const early = random() < 0.25;
    const delay = Math.floor(random() * (early ? 600 : 250));
    const { acks, ready } = await runWriter(dir, run, delay, early);
    if (!ready) killedInBoot++;
    acked.push(...acks);
    const state = new ToyState();
    const log = await MetadataLog.open(dir, shard.core, shard.memory, shard.sc, state, { slotCount: 64, clientsMax: 64, quiet: true });
    const byOp = new Map(state.applied.map((a) => [a.op, a]));
    for (const ack of acked) {
      const applied = byOp.get(ack.op);
      assert.ok(applied, `run ${run}: acknowledged op ${ack.op} (run ${ack.run} #${ack.n}) is gone`);
      assert.equal(applied.digest, digest(requestBody(ack.run * 100000 + ack.n)), `op ${ack.op}: another body`);
      assert.equal(applied.userId, ack.run);
    }
    assert.equal(log.commitNumber >= Math.max(0, ...acked.map((a) => a.op)), true);
    log.close();
  }
  console.log(`${KILLS} kills (${killedInBoot} before ready), ${acked.length} acknowledged ops verified`);
  assert.ok(acked.length > 0, 'the writers acknowledged nothing');
});
