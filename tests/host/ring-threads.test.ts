// The rings across two real threads, each running the server's idle protocol: no frame lost, reordered or
// torn, and no wake-up lost (a lost one shows up as a doorbell wait that runs into its long timeout).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compileCore, coreInstantiator } from '../../host/node/core-file.js';
import { createMeshMemory } from '../../host/shared/layout.js';
import { defaultCoreWasm } from '../../host/node/paths.js';

const peer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ring-peer.js');

async function run(jobs: { mode: string; shard: number; peer: number }[], count: number, payload: number, capacity: number) {
  const module = await compileCore(defaultCoreWasm);
  const { memory } = await createMeshMemory(module, coreInstantiator(defaultCoreWasm), { shards: 2, inboxCapacity: capacity, replyCapacity: capacity, slotSize: 64, arenaSize: 1 << 16, scratchSize: 4096 });
  const results = await Promise.all(jobs.map((job) => new Promise<{ bad: number; timeouts: number }>((resolve, reject) => {
    const worker = new Worker(peer, { workerData: { module, memory, wasmFile: defaultCoreWasm, count, payload, waitMs: 5_000, ...job } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`peer exited with ${code}`)); });
  })));
  return results;
}

describe('rings across threads', () => {
  it('20,000 ping-pong round trips, both sides sleeping on their doorbells between frames', async () => {
    const results = await run([{ mode: 'ping', shard: 0, peer: 1 }, { mode: 'pong', shard: 1, peer: 0 }], 20_000, 16, 64);
    for (const r of results) assert.deepEqual(r, { bad: 0, timeouts: 0 });
  });

  it('200,000 frames of varying size through a small ring stay in order and intact', async () => {
    const results = await run([{ mode: 'stream-send', shard: 0, peer: 1 }, { mode: 'stream-recv', shard: 1, peer: 0 }], 200_000, 24, 16);
    for (const r of results) assert.equal(r.bad, 0);
  });
});
