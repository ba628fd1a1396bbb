// The nemesis of a single-node torture run, every choice drawn from the seed's PRNG:
// * kill: SIGKILL, then restart on the same data directory (nothing acknowledged may be lost);
// * pause: SIGSTOP for 0.2-2.5 s, then SIGCONT (clients time out at 5 s: a long pause makes sends indefinite);
// * bitflip: with the workload quiesced, SIGKILL, copy the data directory aside, flip one bit in a segment, the
//   metadata journal, a superblock or a consumer offsets log, restart, and audit: the server must refuse to boot, report the damage in
//   /health (recovery_truncation, partition_read_only, ...), or serve exactly what was acknowledged (every value
//   it serves goes into the history as an audit read, so silently wrong data is an inconsistent offset or an
//   unexpected value). Then the copy is put back and the node restarts: acknowledged data in a flipped region is
//   legitimately damaged, so the checker's final read is of the restored files, and the detection is what the
//   fault tests. An unreported flip that changed nothing served (an index, padding) is counted as "unnoticed";
//   a flip that hits an acknowledged message and is served wrong fails the run through the checker;
// * disk-full: when the data directory is a small tmpfs of the run's own, a filler file takes every free byte for
//   0.5-2.5 s and is then deleted (sends are answered 4006 and fail; the node must recover by itself).
import fs from 'node:fs';
import path from 'node:path';
import { fillDevice } from './full-device.js';
import type { HistoryWriter } from './history.js';
import type { NodeProcess } from './node-process.js';
import { connectClient, readAll, type Gate, type Target } from './workload.js';

export const FAULTS = ['kill', 'pause', 'bitflip', 'disk-full'] as const;
export type FaultKind = typeof FAULTS[number];

export interface NemesisCounts {
  kill: number;
  pause: number;
  bitflip: number;
  'disk-full': number;
  flipVerdicts: Record<FlipVerdict, number>;
}

export interface NemesisContext {
  node: NodeProcess;
  target: Target;
  history: HistoryWriter;
  gate: Gate;
  random: () => number;
  diskFull: boolean; // the data directory is a tmpfs of this run's own
  scratch: string; // where the data directory is copied before a flip
  log: (line: string) => void;
}

export function newCounts(): NemesisCounts {
  return { kill: 0, pause: 0, bitflip: 0, 'disk-full': 0, flipVerdicts: { refused: 0, reported: 0, unnoticed: 0, unreported: 0 } };
}

// The faults in seed order: every available kind once (shuffled), then drawn at random. A short run thus still
// meets each kind.
export function faultSequence<K extends string>(random: () => number, available: readonly K[]): () => K {
  const first = [...available];
  for (let i = first.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [first[i], first[j]] = [first[j], first[i]]; }
  return () => first.shift() ?? available[Math.floor(random() * available.length)];
}

// The nemesis loop of a run (single node or cluster): faults in seed order (faultSequence) with a quiet of 0.5-2.5 s
// before each, for `seconds`, and on until each kind struck once with `everyFaultOnce`; `inflict` returns the line
// logged for it.
export async function runNemesis<K extends string>(
  options: { seconds: number; everyFaultOnce?: boolean }, random: () => number, available: readonly K[],
  inflictOne: (kind: K) => Promise<string>, log: (line: string) => void,
): Promise<void> {
  const next = faultSequence(random, available);
  const until = Date.now() + options.seconds * 1_000;
  const minimum = options.everyFaultOnce ? available.length : 0;
  let inflicted = 0;
  const goOn = () => Date.now() < until || inflicted < minimum;
  while (goOn()) {
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.floor(random() * 2_000))); // the quiet between faults
    if (!goOn()) break;
    const kind = next();
    inflicted++;
    const started = (options.seconds * 1_000 - (until - Date.now())) / 1_000;
    log(`  ${started.toFixed(1)} s: ${await inflictOne(kind)}`);
  }
}

export async function inflict(kind: FaultKind, ctx: NemesisContext, counts: NemesisCounts): Promise<void> {
  counts[kind] += 1;
  if (kind === 'kill') await kill(ctx);
  else if (kind === 'pause') await pause(ctx);
  else if (kind === 'bitflip') counts.flipVerdicts[await bitflip(ctx)] += 1;
  else await diskFull(ctx);
}

const hold = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)); // the fault's duration

async function restart(ctx: NemesisContext, why: string): Promise<void> {
  const boot = await ctx.node.start();
  if (!boot.ok) throw new Error(`the node did not come back after ${why} (exit ${boot.code ?? boot.signal}):\n${boot.output}`);
}

async function kill(ctx: NemesisContext): Promise<void> {
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'kill', detail: `SIGKILL pid ${ctx.node.pid}` });
  await ctx.node.kill();
  await restart(ctx, 'a SIGKILL');
}

async function pause(ctx: NemesisContext): Promise<void> {
  const ms = 200 + Math.floor(ctx.random() * 2_300);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'pause', detail: `SIGSTOP pid ${ctx.node.pid} for ${ms} ms` });
  ctx.node.pause();
  await hold(ms);
  ctx.node.resume();
}

async function diskFull(ctx: NemesisContext): Promise<void> {
  const ms = 500 + Math.floor(ctx.random() * 2_000);
  const filler = path.join(ctx.node.addresses.dataDir, '..', 'torture-filler');
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'disk-full', detail: `filled the data device for ${ms} ms` });
  fillDevice(filler);
  try {
    await hold(ms);
  } finally {
    fs.rmSync(filler, { force: true });
  }
}


// unreported: reads failed while /health said ok (damage found but not reported): fails the run.
export type FlipVerdict = 'refused' | 'reported' | 'unnoticed' | 'unreported';

async function bitflip(ctx: NemesisContext): Promise<FlipVerdict> {
  ctx.gate.close();
  try {
    await ctx.gate.drained(15_000);
    await ctx.node.kill();
    const dataDir = ctx.node.addresses.dataDir;
    const backup = path.join(ctx.scratch, 'before-flip');
    fs.rmSync(backup, { recursive: true, force: true });
    fs.cpSync(dataDir, backup, { recursive: true });
    const { where } = flipOneBit(dataDir, ctx.random);
    const verdict = await audit(ctx);
    ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'bitflip', detail: `${where}: ${verdict}` });
    ctx.log(`  bitflip ${where}: ${verdict}`);
    await ctx.node.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.cpSync(backup, dataDir, { recursive: true });
    fs.rmSync(backup, { recursive: true, force: true });
    await restart(ctx, 'restoring the flipped files');
    return verdict;
  } finally {
    ctx.gate.open();
  }
}

// A flipped node: refused to boot, reported damage in /health, or served (what it served is in the history).
async function audit(ctx: NemesisContext): Promise<FlipVerdict> {
  const boot = await ctx.node.start();
  if (!boot.ok) return 'refused';
  const client = await connectClient(ctx.target.address);
  let failed: Map<number, string>;
  try {
    ({ failed } = await readAll(client, ctx.target, ctx.history, false));
  } finally {
    await client.close().catch(() => {});
  }
  const health = await ctx.node.health();
  if (health.status !== 'ok' || health.reasons.length > 0) return 'reported';
  if (failed.size > 0) {
    ctx.log(`  a flipped node answered errors on reads without reporting damage in /health: ${[...failed.values()].join('; ')}`);
    return 'unreported';
  }
  return 'unnoticed';
}

// Flips one bit of one stored file (chooseFile), both drawn from `random`; `where` names it for the history.
export function flipOneBit(dataDir: string, random: () => number): { file: string; at: number; bit: number; where: string } {
  const file = chooseFile(dataDir, random);
  const bytes = fs.readFileSync(file);
  const at = Math.floor(random() * bytes.length);
  const bit = Math.floor(random() * 8);
  bytes[at] ^= 1 << bit;
  fs.writeFileSync(file, bytes);
  return { file, at, bit, where: `${path.relative(dataDir, file)} byte ${at} of ${bytes.length}, bit ${bit}` };
}

// A segment ({base offset:020}.log), the metadata journal, a superblock copy or a consumer offsets log, in
// proportion 3:1:1:1 (segments hold the messages).
export function chooseFile(dataDir: string, random: () => number): string {
  const all = walk(dataDir).filter((f) => fs.statSync(f).size > 0);
  const segments = all.filter((f) => /^\d{20}\.log$/.test(path.basename(f)));
  const journal = all.filter((f) => path.basename(f) === 'journal.wal');
  const superblocks = all.filter((f) => /superblock\.[ab]$/.test(path.basename(f)));
  const offsets = all.filter((f) => path.basename(f) === 'offsets.log');
  const classes = [segments, segments, segments, journal, superblocks, offsets].filter((c) => c.length > 0);
  const chosen = classes[Math.floor(random() * classes.length)];
  return chosen[Math.floor(random() * chosen.length)];
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
}
