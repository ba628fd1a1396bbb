// `npm run bench:core`: ring frames/s between two pinned workers (64 B and 1 KiB frames) next to a postMessage
// baseline in the same run, router routes/s (batched in wasm and per call), and start-to-/health time of a
// 2-shard server. Numbers go to stdout; nothing here is asserted.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { checkWaitCanary, sharedMemory } from '../shared/core.js';
import { compileCore, coreInstantiator, instantiateCore } from '../node/core-file.js';
import { MeshView, createMeshMemory } from '../shared/layout.js';
import { Router } from '../shared/router.js';
import { defaultCoreWasm, repoRoot } from '../node/paths.js';
import { allowedCpus } from '../node/cpu.js';
import { freePort } from '../node/free-port.js';

const REPEAT = 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const cpus = allowedCpus();
const cpuA = cpus[0];
const cpuB = cpus[1] ?? cpus[0];

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

const fmt = (n: number, digits = 2) => (n >= 1e6 ? `${(n / 1e6).toFixed(digits)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(digits)} k` : n.toFixed(digits));

interface Done { ms: number; bad?: number }

function runWorker(job: Record<string, unknown>, transfer: unknown[] = []): { ready: Promise<void>; done: Promise<Done>; worker: Worker } {
  const worker = new Worker(path.join(here, 'ring-worker.js'), { workerData: job, transferList: transfer as never[] });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const done = new Promise<Done>((resolve, reject) => {
    worker.on('message', (m: { ready?: boolean; done?: boolean } & Done) => {
      if (m.ready) onReady();
      if (m.done) resolve(m);
    });
    worker.on('error', reject);
  });
  return { ready, done, worker };
}

async function ringRun(module: WebAssembly.Module, frameLen: number, count: number, transport: 'ring' | 'post'): Promise<{ fps: number; bad: number }> {
  const { memory, core } = await createMeshMemory(module, coreInstantiator(defaultCoreWasm), {
    shards: 2, inboxCapacity: 1024, replyCapacity: 1024, slotSize: 256, arenaSize: 1 << 16, scratchSize: 1 << 12,
  });
  const mesh = new MeshView(memory, core);
  const ring = mesh.ringAddress(0, 1, 0);
  const startWord = mesh.scratchAddress(0) >> 2;
  const base = { module, memory, wasmFile: defaultCoreWasm, ring, count, frameLen, startWord };
  let producer; let consumer;
  if (transport === 'ring') {
    producer = runWorker({ ...base, mode: 'ring-produce', cpu: cpuA, buffer: mesh.scratchAddress(0) + 64 });
    consumer = runWorker({ ...base, mode: 'ring-consume', cpu: cpuB, buffer: mesh.scratchAddress(1) });
  } else {
    const { port1, port2 } = new MessageChannel();
    producer = runWorker({ ...base, mode: 'post-produce', cpu: cpuA, port: port1 }, [port1]);
    consumer = runWorker({ ...base, mode: 'post-consume', cpu: cpuB, port: port2 }, [port2]);
  }
  await Promise.all([producer.ready, consumer.ready]);
  const i32 = new Int32Array(memory.buffer);
  Atomics.store(i32, startWord, 1);
  Atomics.notify(i32, startWord);
  const [, result] = await Promise.all([producer.done, consumer.done]);
  await Promise.all([producer.worker.terminate(), consumer.worker.terminate()]);
  return { fps: count / (result.ms / 1000), bad: result.bad ?? 0 };
}

async function benchRings(module: WebAssembly.Module): Promise<void> {
  console.log(`\n## Ring between two pinned workers (CPU ${cpuA} -> CPU ${cpuB}): frames copied in and out, head/tail published every 256 frames`);
  console.log('| frame | transport | frames | frames/s min / median / max | MB/s (median) | bad frames | ring / postMessage |');
  console.log('|---|---|---|---|---|---|---|');
  for (const frameLen of [64, 1024]) {
    const results: Record<string, { fps: number[]; bad: number; count: number }> = {};
    for (const transport of ['ring', 'post'] as const) {
      const count = transport === 'ring' ? (frameLen === 64 ? 4_000_000 : 1_000_000) : 200_000;
      const runs = [];
      for (let i = 0; i < REPEAT; i++) runs.push(await ringRun(module, frameLen, count, transport));
      results[transport] = { fps: runs.map((r) => r.fps), bad: runs.reduce((a, r) => a + r.bad, 0), count };
    }
    for (const transport of ['ring', 'post'] as const) {
      const r = results[transport];
      const s = stats(r.fps);
      const ratio = transport === 'ring' ? `${(s.median / stats(results.post.fps).median).toFixed(1)}x` : '1x';
      console.log(`| ${frameLen} B | ${transport === 'ring' ? 'SPSC ring (wasm loop)' : 'postMessage per frame'} | ${fmt(r.count, 1)} | ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} | ${(s.median * frameLen / 1e6).toFixed(0)} | ${r.bad} | ${ratio} |`);
    }
  }
}

async function benchRouter(module: WebAssembly.Module): Promise<void> {
  const memory = sharedMemory(64 * 65536);
  const router = new Router(await instantiateCore(module, memory, defaultCoreWasm), 16);
  const n = 4096;
  const keys = 1 << 20;
  const out = keys + n * 8;
  const u64 = new BigUint64Array(memory.buffer, keys, n);
  for (let i = 0; i < n; i++) u64[i] = (BigInt(i % 1000) << 32n) | (BigInt(i % 7) << 20n) | BigInt(i);
  console.log('\n## Router: murmur3_x86_32 shard of a packed namespace (16 shards)');
  console.log('| mode | routes/s min / median / max |');
  console.log('|---|---|');
  const batched = [];
  for (let r = 0; r < REPEAT; r++) {
    const rounds = 4000;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) router.batch(keys, out, n);
    batched.push((rounds * n) / ((performance.now() - t0) / 1000));
  }
  const perCall = [];
  for (let r = 0; r < REPEAT; r++) {
    const calls = 4_000_000;
    let sink = 0;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) sink += router.partition(i & 1023, i & 7, i & 0xffff);
    perCall.push(calls / ((performance.now() - t0) / 1000));
    if (sink < 0) console.log(sink);
  }
  const b = stats(batched);
  const p = stats(perCall);
  console.log(`| routeBatch, ${n} groups per call, keys in wasm memory | ${fmt(b.min)} / ${fmt(b.median)} / ${fmt(b.max)} |`);
  console.log(`| routePartition, one JS->wasm call per route | ${fmt(p.min)} / ${fmt(p.median)} / ${fmt(p.max)} |`);
}

async function benchBoot(): Promise<void> {
  console.log('\n## Start to /health ready, 2 shards (node process spawn included)');
  const times: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(repoRoot, 'host/bin/shardlog-server.mjs'), '--shards', '2', '--http-address', `127.0.0.1:${port}`, '--data-dir', path.join(repoRoot, 'data', 'bench-boot')], { stdio: 'ignore' });
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((res) => res.ok, () => false);
      if (ok) break;
      if (performance.now() - t0 > 20_000) throw new Error('server did not become healthy within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    times.push(performance.now() - t0);
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  const s = stats(times);
  console.log(`| start -> /health 200 | min ${s.min.toFixed(0)} ms / median ${s.median.toFixed(0)} ms / max ${s.max.toFixed(0)} ms |`);
}

const module = await compileCore(defaultCoreWasm);
checkWaitCanary(await instantiateCore(module, sharedMemory(2 * 65536), defaultCoreWasm), 4096); // run with --no-liftoff
console.log(`# shardlog bench:core  (node ${process.version}, ${cpus.length} allowed CPUs, ${REPEAT} runs each)`);
await benchRings(module);
await benchRouter(module);
await benchBoot();
