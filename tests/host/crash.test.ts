// Crash test: a writer process (crash-writer.ts) appends to a partition and the metadata journal and is SIGKILLed
// at seeded random moments, some during its own recovery. After every kill the files are reopened here and must hold
// every acknowledged write intact, and nothing that was not written by the writer (every byte is a function of its
// offset or op). Seed: SHARDLOG_CRASH_SEED (printed in the test name); kills: SHARDLOG_CRASH_KILLS. Half the kills
// are at a seeded file-system step inside the writer (replayable exactly: run one writer with the printed seed and
// SHARDLOG_CRASH_AT), half are timed from outside (seeded delays; where they land depends on the machine's speed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { test } from 'node:test';
import { batchPayloads } from '../../host/node/io/batch-builder.js';
import { Partition } from '../../host/node/io/partition.js';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { SLOTS, messagePayload, partitionOptions, prepareBody } from './crash-writer.js';
import { prng, tempDir } from './helpers.js';

const SEED = Number(process.env.SHARDLOG_CRASH_SEED ?? 20261128);
const KILLS = Number(process.env.SHARDLOG_CRASH_KILLS ?? 220);
const WRITERS = 2; // independent data directories killed in parallel (one per core)
const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.js');

interface Acks { offset: number; op: number; checkpoint: number; ready: boolean; truncated?: boolean; log?: string }

// Runs one writer until the kill; resolves with the acknowledgements it printed before dying.
// crashAt > 0: the writer kills itself at that file-system step (deterministic); else the kill comes from here.
function runWriter(dir: string, seed: number, killAfterMs: number, afterReady: boolean, crashAt: number, prior: Acks): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const env = crashAt > 0 ? { ...process.env, SHARDLOG_CRASH_AT: String(crashAt) } : process.env;
    const child = spawn(process.execPath, ['--no-liftoff', writer, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    const arm = () => { timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs); };
    // Bound on the whole run: a writer that never becomes ready is a failure, not a hang.
    let overdue = false;
    const deadline = setTimeout(() => { overdue = true; child.kill('SIGKILL'); }, 20_000);
    if (crashAt === 0 && !afterReady) arm();
    child.stdout.on('data', (d) => { out += d; if (crashAt === 0 && afterReady && out.includes('READY')) arm(); });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code ?? signal} before the kill: ${err}`));
      if (overdue) return reject(new Error(`writer (seed ${seed}, crash at ${crashAt}) was still running after 20 s: ${err}`));
      const acks: Acks = { offset: 0, op: 0, checkpoint: 0, ready: out.includes('READY') };
      for (const line of out.split('\n')) {
        const [kind, value] = line.split(' ');
        if (kind === 'A') acks.offset = Math.max(acks.offset, Number(value));
        if (kind === 'J') acks.op = Math.max(acks.op, Number(value));
        if (kind === 't') {
          // Ops ≥ value are gone on purpose (view change); later J lines re-acknowledge the new ones.
          acks.op = Math.min(Math.max(acks.op, acks.truncated ? 0 : prior.op), Number(value) - 1);
          acks.truncated = true;
        }
        if (kind === 'S') acks.checkpoint = Math.max(acks.checkpoint, Number(value));
      }
      acks.log = out.split('\n').filter((l) => /^[JtTS] /.test(l)).slice(-12).join(', ');
      resolve(acks);
    });
  });
}

const seen = { partitionTruncations: 0, journalTruncations: 0, headerRepairs: 0 };

async function verify(dir: string, acked: Acks, what: string): Promise<void> {
  const sc = await storageCore();
  const superblock = await SuperblockStore.open(path.join(dir, 'metadata'), sc, true);
  const checkpoint = superblock.state?.checkpointOp ?? 0;
  assert.ok(checkpoint >= acked.checkpoint, `${what}: checkpoint ${checkpoint} < acknowledged ${acked.checkpoint}`);
  superblock.close();

  const journal = await PrepareJournal.open({ dir: path.join(dir, 'metadata'), slotCount: SLOTS, snapshotOp: Math.max(0, checkpoint - 1), quiet: true }, sc);
  seen.journalTruncations += journal.recovery.truncated ? 1 : 0;
  seen.headerRepairs += journal.recovery.repairedHeaders;
  try {
    assert.ok((journal.lastOp ?? 0) >= acked.op, `${what}: journal ends at op ${journal.lastOp}, acknowledged ${acked.op}; recovery ${JSON.stringify(journal.recovery)}`);
    if (journal.lastOp !== null) {
      for (let op = Math.max(journal.firstOp!, checkpoint); op <= journal.lastOp; op++) {
        const entry = journal.read(op);
        assert.ok(entry, `${what}: op ${op} missing`);
        assert.deepEqual(entry.subarray(256), prepareBody(op), `${what}: op ${op} body`);
      }
    }
  } finally {
    journal.close();
  }

  const partition = await Partition.open(partitionOptions(dir), sc);
  seen.partitionTruncations += partition.recovery.truncated.length;
  try {
    assert.ok(partition.nextOffset >= acked.offset, `${what}: partition ends at ${partition.nextOffset}, acknowledged ${acked.offset}`);
    let expected = partition.firstOffset;
    if (partition.nextOffset > expected) {
      for (const batch of partition.readFromOffset(expected, 1 << 30)) {
        assert.equal(batch.baseOffset, expected, `${what}: batch offsets contiguous`);
        for (const payload of batchPayloads(batch.bytes)) {
          assert.deepEqual(payload, messagePayload(expected), `${what}: payload of offset ${expected}`);
          expected++;
        }
      }
    }
    assert.equal(expected, partition.nextOffset, `${what}: nothing after the last batch`);
  } finally {
    partition.close();
  }
}

test(`crash: ${KILLS} SIGKILLs at seeded moments lose no acknowledged write and invent nothing (seed ${SEED})`, { timeout: 240_000 }, async () => {
  const started = Date.now();
  const random = prng(SEED);
  const dirs = Array.from({ length: WRITERS }, () => tempDir('shardlog-crash-'));
  const acked: Acks[] = dirs.map(() => ({ offset: 0, op: 0, checkpoint: 0, ready: true }));
  let kills = 0;
  let duringRecovery = 0;
  let selfKills = 0;
  while (kills < KILLS) {
    const round = dirs.map((dir, w) => {
      // Half the crashes at a seeded file-system step of the writer (exactly replayable), half at a seeded delay
      // from outside (these also land inside fsyncs and inside recovery).
      const selfKill = random() < 0.5;
      const crashAt = selfKill ? 1 + Math.floor(random() * 1500) : 0;
      const afterReady = random() < 0.8;
      const delay = afterReady ? Math.floor(random() * 120) : Math.floor(random() * 250);
      const seed = Math.floor(random() * 2 ** 31);
      return runWriter(dir, seed, delay, afterReady, crashAt, acked[w]).then(async (acks) => {
        kills++;
        if (selfKill) selfKills++;
        if (!acks.ready) duringRecovery++;
        const merged = {
          offset: Math.max(acked[w].offset, acks.offset), op: acks.truncated ? acks.op : Math.max(acked[w].op, acks.op),
          checkpoint: Math.max(acked[w].checkpoint, acks.checkpoint), ready: true,
        };
        await verify(dir, merged, `writer ${w}, kill ${kills} [prior op ${acked[w].op}; last journal acks: ${acks.log}] (seed ${seed}, ${crashAt ? `self-kill at step ${crashAt}` : `${afterReady ? 'after ready' : 'from spawn'} +${delay} ms`})`);
        acked[w] = merged;
      });
    });
    await Promise.all(round);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`# crash: ${kills} kills (${selfKills} at a seeded file-system step, ${duringRecovery} before ready) in ${seconds.toFixed(1)} s; torn tails truncated: ${seen.partitionTruncations} segment, ${seen.journalTruncations} journal; slot headers repaired: ${seen.headerRepairs}; acknowledged: ${acked.map((a) => `offset ${a.offset}, op ${a.op}, checkpoint ${a.checkpoint}`).join(' | ')}`);
  assert.ok(acked.every((a) => a.offset > 0 && a.op > 0 && a.checkpoint > 0), 'every writer made progress on all three files');
});
