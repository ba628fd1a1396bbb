// One torture run of a single node (--cluster 1): the server with 2 shards on loopback, the workload through the
// SDK, the nemesis on a schedule drawn from the seed, then healing (the node running, unpaused, with room), the
// final read of every partition, and the checker over the history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../node/free-port.js';
import { checkFile, formatVerdict, type Verdict } from './checker.js';
import { mountTmpfs, unmount } from './full-device.js';
import { HistoryWriter } from './history.js';
import { FAULTS, inflict, newCounts, runNemesis, type FaultKind, type NemesisCounts } from './nemesis.js';
import { NodeProcess } from './node-process.js';
import { connectClient, Gate, groupMember, producer, readAll, singleConsumer, type Target, type Worker } from './workload.js';

export interface TortureOptions {
  seconds: number; // how long the nemesis runs (the run takes longer: boot, healing, final read)
  seed: number;
  historyFile?: string; // [a file in the run's scratch directory, kept]
  faults?: readonly FaultKind[]; // [all available]
  // Go on past `seconds` until every available fault kind struck once (the short profile in npm test: on a loaded
  // machine a fault takes longer, and a time budget alone would leave some kinds out). [false]
  everyFaultOnce?: boolean;
  log?: (line: string) => void;
}

export interface TortureResult {
  seed: number;
  verdict: Verdict;
  faults: NemesisCounts;
  diskFullAvailable: string | null; // null, or why the disk-full fault was left out
  finalReadErrors: string[];
  historyFile: string;
  ok: boolean;
}

const PRODUCERS = 3;
const PARTITIONS = 4; // with 2 shards, partitions land on both
const GROUP_MEMBERS = 2;
const TMPFS_SIZE = '512m';

export function prng(seed: number): () => number {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x1_0000_0000; };
}

export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const random = prng(options.seed);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-torture-'));
  const device = path.join(scratch, 'device');
  fs.mkdirSync(device);
  const diskFullWhy = mountTmpfs(device, TMPFS_SIZE);
  const dataDir = path.join(device, 'data');
  const historyFile = options.historyFile ?? path.join(scratch, 'history.jsonl');
  const history = new HistoryWriter(historyFile);
  const node = new NodeProcess({ tcp: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}`, dataDir, shards: 2 });
  const available = (options.faults ?? FAULTS).filter((f) => f !== 'disk-full' || diskFullWhy === null);
  const counts = newCounts();
  const workers: Worker[] = [];
  let running = true;
  try {
    log(`torture: seed ${options.seed}, ${options.seconds} s, 1 node (2 shards), faults ${available.join(', ')}${diskFullWhy ? ` (disk-full left out: ${diskFullWhy})` : ''}`);
    log(`torture: history in ${historyFile}`);
    const boot = await node.start();
    if (!boot.ok) throw new Error(`the node did not start (exit ${boot.code}):\n${boot.output}`);
    const target = await setUp(node.addresses.tcp);
    const gate = new Gate();
    const isRunning = () => running;
    for (let i = 0; i < PRODUCERS; i++) workers.push(producer(`p${i}`, target, history, gate, prng(options.seed + 1 + i), isRunning));
    for (let p = 0; p < PARTITIONS; p++) workers.push(singleConsumer(`c${p}`, 1 + p, p, target, history, gate, isRunning));
    for (let i = 0; i < GROUP_MEMBERS; i++) workers.push(groupMember(`g${i}`, target, history, gate, isRunning));

    const ctx = { node, target, history, gate, random, diskFull: diskFullWhy === null, scratch, log };
    await runNemesis(options, random, available, async (kind) => {
      await inflict(kind, ctx, counts);
      return kind;
    }, log);

    // Heal: the node runs unpaused with room on its device; the workload stops; every partition is read back.
    node.resume();
    if (!node.running) await node.start();
    running = false;
    await Promise.all(workers.map((w) => w.done.catch((error) => log(`  worker ${w.name} ended with ${error}`))));
    const client = await connectClient(node.addresses.tcp);
    let failed: Map<number, string>;
    try {
      ({ failed } = await readAll(client, target, history, true));
    } finally {
      await client.close().catch(() => {});
    }
    history.close();
    const verdict = await checkFile(historyFile);
    const finalReadErrors = [...failed].map(([p, e]) => `partition ${p}: ${e}`);
    const ok = verdict.valid && finalReadErrors.length === 0 && counts.flipVerdicts.unreported === 0;
    return { seed: options.seed, verdict, faults: counts, diskFullAvailable: diskFullWhy, finalReadErrors, historyFile, ok };
  } finally {
    running = false;
    node.resume();
    await node.kill();
    if (diskFullWhy === null) unmount(device);
    // The scratch directory goes unless it holds the history the caller asked to keep.
    if (options.historyFile) fs.rmSync(scratch, { recursive: true, force: true });
    else fs.rmSync(device, { recursive: true, force: true });
  }
}

async function setUp(address: string): Promise<Target> {
  const client = await connectClient(address);
  try {
    const stream = (await client.createStream('torture')).id;
    const topic = (await client.createTopic({ stream, name: 'events', partitionsCount: PARTITIONS })).id;
    const groupName = 'torture-group';
    await client.createGroup(stream, topic, groupName);
    return { address, stream, topic, partitions: PARTITIONS, groupName };
  } finally {
    await client.close();
  }
}


export function formatResult(r: TortureResult): string {
  const f = r.faults;
  return [
    `faults: ${f.kill} kills, ${f.pause} pauses, ${f.bitflip} bit flips (${f.flipVerdicts.refused} refused at boot, ${f.flipVerdicts.reported} reported in /health, ${f.flipVerdicts.unnoticed} unnoticed and served intact, ${f.flipVerdicts.unreported} read errors not reported), ${f['disk-full']} disk-full`,
    formatVerdict(r.verdict),
    ...r.finalReadErrors.map((e) => `final read failed: ${e}`),
    `torture: ${r.ok ? 'PASS' : 'FAIL'} (seed ${r.seed}; history ${r.historyFile})`,
  ].join('\n');
}
