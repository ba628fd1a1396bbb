// --direct-io under SIGKILL: a writer appending through O_DIRECT (two writes in flight per append) is killed at
// seeded moments; after every kill the partition recovers every acknowledged message intact and nothing else.
// Seed: SHARDLOG_CRASH_SEED; kills: SHARDLOG_DIRECT_CRASH_KILLS. The data lives under the repository's build/, not
// the temp dir (often tmpfs, which has no O_DIRECT: the partition would write buffered and the test prove nothing);
// the writer says which it did, and the test skips, saying why, where the file system has no O_DIRECT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Partition } from '../../host/node/io/partition.js';
import { batchPayloads } from '../../host/node/io/batch-builder.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { messagePayload } from './crash-writer.js';
import { directPartitionOptions } from './direct-crash-writer.js';
import { repoRoot } from '../../host/node/paths.js';
import { prng } from './helpers.js';

const SEED = Number(process.env.SHARDLOG_CRASH_SEED ?? 20261207);
const KILLS = Number(process.env.SHARDLOG_DIRECT_CRASH_KILLS ?? 24);
const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'direct-crash-writer.js');

// Runs the writer, kills it `delayMs` after it is ready, and resolves with the last offset it acknowledged and
// whether its appends went through O_DIRECT.
function runWriter(dir: string, seed: number, delayMs: number): Promise<{ acked: number; direct: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-liftoff', writer, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000); // a writer that never gets ready fails below
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && /^READY \w+\n/.test(out)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL' || !armed) return reject(new Error(`writer ended ${code ?? signal} before its kill: ${err}`));
      const acks = out.split('\n').filter((l) => l.startsWith('A ')).map((l) => Number(l.slice(2)));
      resolve({ acked: acks.at(-1) ?? 0, direct: out.startsWith('READY direct\n') });
    });
  });
}

test(`direct-io crash: ${KILLS} SIGKILLs lose no acknowledged message and invent nothing (seed ${SEED})`, { skip: !fs.constants.O_DIRECT, timeout: 120_000 }, async (t) => {
  const random = prng(SEED);
  fs.mkdirSync(path.join(repoRoot, 'build'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(repoRoot, 'build', 'direct-crash-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let acked = 0;
  let truncations = 0;
  const sc = await storageCore();
  for (let kill = 1; kill <= KILLS; kill++) {
    const seed = Math.floor(random() * 2 ** 31);
    const delay = Math.floor(random() * 150);
    const run = await runWriter(dir, seed, delay);
    if (!run.direct) {
      t.skip(`${dir}: the file system takes no O_DIRECT, so the writer wrote buffered`);
      return;
    }
    acked = Math.max(acked, run.acked);
    const what = `kill ${kill} (seed ${seed}, +${delay} ms)`;
    const partition = await Partition.open(directPartitionOptions(dir), sc);
    truncations += partition.recovery.truncated.length;
    try {
      assert.ok(partition.nextOffset >= acked, `${what}: partition ends at ${partition.nextOffset}, acknowledged ${acked}`);
      let expected = partition.firstOffset;
      if (partition.nextOffset > expected) {
        for (const batch of partition.readFromOffset(expected, 1 << 30)) {
          assert.equal(batch.baseOffset, expected, `${what}: batch offsets contiguous`);
          for (const payload of batchPayloads(batch.bytes)) assert.deepEqual(payload, messagePayload(expected++), `${what}: offset ${expected - 1}`);
        }
      }
      assert.equal(expected, partition.nextOffset, `${what}: nothing after the last batch`);
    } finally {
      partition.close();
    }
  }
  console.log(`# direct-io crash: ${KILLS} kills, ${acked} messages acknowledged, torn tails cut: ${truncations}`);
  assert.ok(acked > 0, 'the writer made progress');
});
