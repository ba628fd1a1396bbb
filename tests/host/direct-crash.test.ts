// --direct-io under SIGKILL: a writer appending through O_DIRECT (two writes in flight per append) is killed at
// seeded moments; after every kill the partition recovers every acknowledged message intact and nothing else.
// Seed: SHARDLOG_CRASH_SEED; kills: SHARDLOG_DIRECT_CRASH_KILLS.
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
import { prng, tempDir } from './helpers.js';

const SEED = Number(process.env.SHARDLOG_CRASH_SEED ?? 20261207);
const KILLS = Number(process.env.SHARDLOG_DIRECT_CRASH_KILLS ?? 24);
const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'direct-crash-writer.js');

// Runs the writer, kills it `delayMs` after it is ready, and resolves with the last offset it acknowledged.
function runWriter(dir: string, seed: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-liftoff', writer, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000); // a writer that never gets ready fails below
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.startsWith('READY\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL' || !out.startsWith('READY\n')) return reject(new Error(`writer ended ${code ?? signal} before its kill: ${err}`));
      const acks = out.split('\n').filter((l) => l.startsWith('A ')).map((l) => Number(l.slice(2)));
      resolve(acks.at(-1) ?? 0);
    });
  });
}

test(`direct-io crash: ${KILLS} SIGKILLs lose no acknowledged message and invent nothing (seed ${SEED})`, { skip: !fs.constants.O_DIRECT, timeout: 120_000 }, async () => {
  const random = prng(SEED);
  const dir = tempDir('shardlog-direct-crash-');
  let acked = 0;
  let truncations = 0;
  const sc = await storageCore();
  for (let kill = 1; kill <= KILLS; kill++) {
    const seed = Math.floor(random() * 2 ** 31);
    const delay = Math.floor(random() * 150);
    acked = Math.max(acked, await runWriter(dir, seed, delay));
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
