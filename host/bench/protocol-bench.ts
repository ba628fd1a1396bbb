// `npm run bench:protocol`: throughput of the Iggy binary protocol against a real server process on loopback.
// Producers each send batches of `--messages` × `--size` B to their own stream (one topic, one partition), one
// request at a time as the SDKs do, each acknowledged after its fsync; then as many consumers poll the same data
// back by offset. Prints MB/s and msg/s, and per-batch latency percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IggyClient } from '../client/client.js';
import { buildBatch } from '../client/batch.js';
import * as req from '../client/requests.js';
import { repoRoot } from '../node/paths.js';
import { freePort } from '../node/free-port.js';

interface Options {
  address: string | null;
  shards: number;
  producers: number;
  batches: number;
  messages: number;
  size: number;
  fsync: string;
  verifyReads: string;
  runs: number;
  cpuPids: { label: string; pid: number }[];
}

const HELP = `usage: npm run bench:protocol -- [flags]
  --address host:port   use a running server (root iggy/iggy) instead of starting one
  --shards N            shards of the server started here [2]
  --producers N         producers = consumers = streams [2]
  --batches N           batches per producer [200]
  --messages N          messages per batch [1000]
  --size B              payload bytes per message [1000]
  --fsync POLICY        --fsync of the server started here [every-batch]
  --verify-reads MODE   --verify-reads of the server started here [full]
  --runs N              repeat the measurement on fresh streams of the same server, then print the medians [1]
  --cpu-pids L=PID,...  also print each of these processes' CPU per MB by thread (shard-N, main, other) for each phase`;

function parseOptions(argv: string[]): Options {
  const o: Options = { address: null, shards: 2, producers: 2, batches: 200, messages: 1000, size: 1000, fsync: 'every-batch', verifyReads: 'full', runs: 1, cpuPids: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (flag === '--help') { console.log(HELP); process.exit(0); }
    if (value === undefined) throw new Error(`${flag} needs a value\n${HELP}`);
    if (flag === '--address') o.address = value;
    else if (flag === '--fsync') o.fsync = value;
    else if (flag === '--verify-reads') o.verifyReads = value;
    else if (flag === '--cpu-pids') o.cpuPids = parseCpuPids(value);
    else if (['--shards', '--producers', '--batches', '--messages', '--size', '--runs'].includes(flag)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
      (o as unknown as Record<string, number>)[flag.slice(2)] = n;
    } else throw new Error(`unknown flag ${flag}\n${HELP}`);
  }
  return o;
}

async function startServer(o: Options): Promise<{ address: string; child: ChildProcess; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-bench-'));
  const address = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [path.join(repoRoot, 'host', 'bin', 'shardlog-server.mjs'), '--shards', String(o.shards),
    '--data-dir', dataDir, '--tcp-address', address, '--http-address', `127.0.0.1:${await freePort()}`, '--fsync', o.fsync, '--verify-reads', o.verifyReads, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await IggyClient.connect({ address, timeoutMs: 1000 });
      await c.ping();
      await c.close();
      return { address, child, dataDir };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not come up: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function parseCpuPids(value: string): { label: string; pid: number }[] {
  return value.split(',').map((entry) => {
    const [label, pid] = entry.includes('=') ? entry.split('=') : [entry, entry];
    if (!/^[0-9]+$/.test(pid)) throw new Error(`--cpu-pids: ${entry} is not LABEL=PID`);
    return { label, pid: Number(pid) };
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(what: string, bytes: number, messages: number, seconds: number, latenciesMs: number[]): number {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  console.log(`${what.padEnd(6)} ${(bytes / seconds / 1e6).toFixed(1).padStart(8)} MB/s ${(messages / seconds / 1e3).toFixed(1).padStart(9)} k msg/s` +
    `   per batch p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms  p999 ${percentile(sorted, 99.9).toFixed(2)} ms  (${sorted.length} batches, ${seconds.toFixed(2)} s)`);
  return bytes / seconds / 1e6;
}

// CPU time spent while a phase ran: this process (the clients), the server process when the bench started it
// (utime + stime of all its threads, from /proc), and the whole machine (busy = not idle or iowait). It tells a
// phase limited by CPU from one limited by waiting (fsync, wake-ups).
interface CpuSample { client: number; server: number | null; busy: number; steal: number; total: number }

function cpuSample(serverPid: number | null): CpuSample {
  const usage = process.cpuUsage();
  let server: number | null = null;
  if (serverPid !== null) {
    try {
      const fields = fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1].split(' ');
      server = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    } catch { server = null; }
  }
  let busy = 0;
  let steal = 0;
  let total = 0;
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    total = cpu.reduce((a, b) => a + b, 0) / 100;
    busy = total - (cpu[3] + cpu[4]) / 100; // idle, iowait
    steal = (cpu[7] ?? 0) / 100; // time a virtual machine's host ran something else: the numbers above then suffer
  } catch { /* not Linux: the machine line is left out */ }
  return { client: (usage.user + usage.system) / 1e6, server, busy, steal, total };
}

function reportCpu(before: CpuSample, after: CpuSample, seconds: number, megabytes: number): void {
  const part = (label: string, s: number): string => `${label} ${s.toFixed(2)} s (${(s * 1000 / megabytes).toFixed(2)} ms/MB)`;
  const parts = [part('client', after.client - before.client)];
  if (after.server !== null && before.server !== null) parts.push(part('server', after.server - before.server));
  if (after.total > before.total) {
    parts.push(`machine busy ${((after.busy - before.busy) / seconds).toFixed(2)} of ${os.cpus().length} cores, stolen ${((after.steal - before.steal) / seconds).toFixed(2)}`);
  }
  console.log(`       cpu: ${parts.join(', ')}`);
}

// CPU seconds of each thread of a process, grouped by thread: the shard workers by their name (shard-N, set by the
// worker), the main thread, and every other thread (libuv's pool: writes and fsyncs; V8's: GC, compilation).
type ThreadCpu = Map<string, number>;

function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tasks: string[] = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const group = Number(tid) === pid ? 'main' : comm.startsWith('shard-') ? comm : 'other';
      out.set(group, (out.get(group) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}

function reportThreadCpu(pids: { label: string; pid: number }[], before: ThreadCpu[], after: ThreadCpu[], megabytes: number): void {
  pids.forEach(({ label }, i) => {
    const groups = [...after[i].keys()].sort();
    let total = 0;
    const parts = groups.map((g) => {
      const s = (after[i].get(g) ?? 0) - (before[i].get(g) ?? 0);
      total += s;
      return `${g} ${(s * 1000 / megabytes).toFixed(2)}`;
    });
    console.log(`       ${label} ms/MB: ${parts.join(', ')}; total ${(total * 1000 / megabytes).toFixed(2)}`);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// One measurement on fresh streams: every producer sends its batches, then as many consumers poll them back.
async function measure(
  o: Options, address: string, serverPid: number | null, admin: IggyClient, messages: { id: bigint; payload: Uint8Array }[], batch: Uint8Array,
): Promise<{ send: number; poll: number }> {
  const run = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const targets: { stream: number; topic: number }[] = [];
  for (let p = 0; p < o.producers; p++) {
    const stream = await admin.createStream(`bench-${run}-${p}`);
    const topic = await admin.createTopic({ stream: stream.id, name: 't', partitionsCount: 1 });
    targets.push({ stream: stream.id, topic: topic.id });
  }
  const batchBytes = o.messages * o.size;
  const producers = await Promise.all(targets.map(() => IggyClient.connect({ address, username: 'iggy', password: 'iggy' })));
  try {
    const sendLatencies: number[] = [];
    const sendCpu = cpuSample(serverPid);
    const sendThreads = o.cpuPids.map(({ pid }) => threadCpu(pid));
    const sendStart = performance.now();
    await Promise.all(producers.map(async (client, i) => {
      const body = req.sendMessages({ ...targets[i], partitioning: { kind: 'partition', partition: 0 }, messages }, batch);
      for (let b = 0; b < o.batches; b++) {
        const t = performance.now();
        await client.rawCommand(101, body);
        sendLatencies.push(performance.now() - t);
      }
    }));
    const sendSeconds = (performance.now() - sendStart) / 1000;
    const send = report('send', batchBytes * o.batches * o.producers, o.messages * o.batches * o.producers, sendSeconds, sendLatencies);
    reportCpu(sendCpu, cpuSample(serverPid), sendSeconds, batchBytes * o.batches * o.producers / 1e6);
    reportThreadCpu(o.cpuPids, sendThreads, o.cpuPids.map(({ pid }) => threadCpu(pid)), batchBytes * o.batches * o.producers / 1e6);

    const pollLatencies: number[] = [];
    let polledBytes = 0;
    let polledMessages = 0;
    const pollCpu = cpuSample(serverPid);
    const pollThreads = o.cpuPids.map(({ pid }) => threadCpu(pid));
    const pollStart = performance.now();
    await Promise.all(producers.map(async (client, i) => {
      for (let offset = 0; offset < o.batches * o.messages;) {
        const t = performance.now();
        const reply = await client.rawCommand(100, req.pollMessages({ ...targets[i], partition: 0, strategy: { kind: 'offset', value: BigInt(offset) }, count: o.messages }));
        pollLatencies.push(performance.now() - t);
        const count = new DataView(reply.buffer, reply.byteOffset).getUint32(12, true);
        if (count === 0) throw new Error(`poll at offset ${offset} returned nothing`);
        offset += count;
        polledMessages += count;
        polledBytes += count * o.size;
      }
    }));
    const pollSeconds = (performance.now() - pollStart) / 1000;
    const poll = report('poll', polledBytes, polledMessages, pollSeconds, pollLatencies);
    reportCpu(pollCpu, cpuSample(serverPid), pollSeconds, polledBytes / 1e6);
    reportThreadCpu(o.cpuPids, pollThreads, o.cpuPids.map(({ pid }) => threadCpu(pid)), polledBytes / 1e6);
    return { send, poll };
  } finally {
    await Promise.all(producers.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`bench:protocol: ${(error as Error).message}`);
    process.exit(2);
  }
  const server = o.address ? null : await startServer(o);
  const address = o.address ?? server!.address;
  try {
    const admin = await IggyClient.connect({ address, username: 'iggy', password: 'iggy' });
    const payload = new Uint8Array(o.size).fill(0x61);
    const messages = Array.from({ length: o.messages }, (_, i) => ({ id: BigInt(i + 1), payload }));
    const batch = buildBatch(messages); // built once: the bench measures the server, not the client's hashing
    console.log(`shardlog protocol bench: ${address}, ${o.producers} producer(s) × ${o.batches} batches × ${o.messages} msg × ${o.size} B` +
      `${server ? `, ${o.shards} shard(s), fsync ${o.fsync}, verify-reads ${o.verifyReads}` : ''}${o.runs > 1 ? `, ${o.runs} runs` : ''}`);
    const results: { send: number; poll: number }[] = [];
    for (let run = 1; run <= o.runs; run++) {
      if (o.runs > 1) console.log(`run ${run}/${o.runs}`);
      results.push(await measure(o, address, server?.child.pid ?? null, admin, messages, batch));
    }
    if (o.runs > 1) {
      console.log(`median of ${o.runs} runs: send ${median(results.map((r) => r.send)).toFixed(1)} MB/s, poll ${median(results.map((r) => r.poll)).toFixed(1)} MB/s`);
    }
    console.log('(MB/s counts payload bytes; frames add 48 B per message and 256 B per batch)');
    await admin.close();
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    }
  }
}

await main();
