// `npm run sim -- --seed S [--replicas 3] [--ticks T] [--clients K] [--release] [--randomize]`
// `npm run sim -- --seed S --hash-every N`: also the state hash every N ticks (the visualiser shows the same).
// `npm run sim -- --swarm N [--seed BASE]`: N seeds, fault parameters randomized per seed, table at the end.
// The only simulator file that touches Node APIs (argv, reading the wasm, exit code).
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff'); // Node 20: Liftoff miscompiles wasm atomics (design/toolchain.md §0)
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WASM_PAGE, checkWaitCanary, sharedMemory } from '../shared/core.js';
import { instantiateCore } from '../node/core-file.js';
import { defaultOptions, randomizeOptions, type SimOptions } from './options.js';
import { replayUrl } from './replay-link.js';
import { Simulator, type SimResult } from './simulator.js';

interface Args {
  seed?: number;
  replicas?: number;
  clients?: number;
  ticks?: number;
  swarm?: number;
  release: boolean;
  randomize: boolean;
  quorumOverride: number;
  quiet: boolean;
  hashEvery: number;
}

function parse(argv: string[]): Args {
  const args: Args = { release: false, randomize: false, quorumOverride: 0, quiet: false, hashEvery: 0 };
  const number = (i: number, name: string): number => {
    const v = Number(argv[i + 1]);
    if (!Number.isSafeInteger(v) || v < 0) usage(`${name} needs a non-negative integer`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') args.seed = number(i++, a);
    else if (a === '--replicas') args.replicas = number(i++, a);
    else if (a === '--clients') args.clients = number(i++, a);
    else if (a === '--ticks') args.ticks = number(i++, a);
    else if (a === '--swarm') args.swarm = number(i++, a);
    else if (a === '--quorum-override') args.quorumOverride = number(i++, a);
    else if (a === '--hash-every') args.hashEvery = number(i++, a);
    else if (a === '--release') args.release = true;
    else if (a === '--randomize') args.randomize = true;
    else if (a === '--quiet') args.quiet = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (args.replicas !== undefined && (args.replicas < 1 || args.replicas > 8)) usage('--replicas must be 1..8');
  if (args.hashEvery > 0 && args.swarm !== undefined) usage('--hash-every needs a single seed, not --swarm');
  return args;
}

function usage(error?: string): never {
  if (error) console.error(`sim: ${error}`);
  console.error('usage: npm run sim -- [--seed S] [--replicas R] [--clients K] [--ticks T] [--randomize] [--release] [--hash-every N]\n' +
    '       npm run sim -- --swarm N [--seed BASE] [--release]');
  process.exit(error ? 2 : 0);
}

function optionsFor(seed: number, args: Args): SimOptions {
  const o = args.randomize || args.swarm !== undefined ? randomizeOptions(seed) : defaultOptions(seed);
  if (args.replicas !== undefined) o.replicas = args.replicas;
  if (args.clients !== undefined) o.clients = args.clients;
  if (args.ticks !== undefined) o.ticks = args.ticks;
  o.quorumOverride = args.quorumOverride;
  return o;
}

function replay(seed: number, args: Args): string {
  const flags = [`--seed ${seed}`];
  if (args.randomize || args.swarm !== undefined) flags.push('--randomize');
  if (args.replicas !== undefined) flags.push(`--replicas ${args.replicas}`);
  if (args.clients !== undefined) flags.push(`--clients ${args.clients}`);
  if (args.ticks !== undefined) flags.push(`--ticks ${args.ticks}`);
  if (args.quorumOverride) flags.push(`--quorum-override ${args.quorumOverride}`);
  if (args.release) flags.push('--release');
  return `npm run sim -- ${flags.join(' ')}`;
}

function summary(r: SimResult, o: SimOptions): string {
  const tps = Math.round(r.ticks / (r.wallMs / 1000));
  return [
    `seed ${r.seed}: ${o.replicas} replicas, ${o.clients} clients, ${r.ticks} ticks (${o.ticks} with faults), ${r.wallMs.toFixed(0)} ms, ${tps} ticks/s`,
    `  committed ${r.opsCommitted} ops (${Math.round(r.opsCommitted / (r.wallMs / 1000))} ops/s wall), ${r.requestsAcked} requests acked, ` +
      `view ${r.maxView} (${r.viewChanges} view changes), converged ${r.convergedAfter < 0 ? 'never' : `${r.convergedAfter} ticks`} after faults stopped`,
    `  faults: ${r.crashes} crashes, ${r.partitions} partitions, packets lost ${r.packetsLost} / duplicated ${r.packetsDuplicated} / corrupted ${r.packetsCorrupted}, ` +
      `writes torn ${r.tornWrites} / lost ${r.lostWrites}, bit flips ${r.bitflips}, disks wiped ${r.wipes}, state transfers ${r.stateTransfers}`,
    `  clients: ${r.duplicateRequests} duplicate requests sent, ${r.cachedReplies} cached replies, ${r.rejectedTooOld} rejected RequestTooOld`,
  ].join('\n');
}

// Opens the visualiser (`npm run viz:preview`) at this run.
function vizLink(o: SimOptions, args: Args): string {
  return replayUrl({
    settings: {
      seed: o.seed, replicas: o.replicas, clients: o.clients, ticks: o.ticks, faults: args.randomize || args.swarm !== undefined ? 'random' : 'default',
      core: args.release ? 'release' : 'debug', quorumOverride: o.quorumOverride,
    },
    events: [],
  });
}

// One line per N ticks; the visualiser's status bar shows the same fields at the same tick.
function hashLine(sim: Simulator): string {
  const view = Math.max(0, ...sim.replicas.filter((n) => n.alive).map((n) => n.viewNumber()));
  return `tick ${sim.now} hash ${sim.stateHash()} committed ${sim.checkers.maxCommitted} view ${view}`;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const wasm = fileURLToPath(new URL(`../../../build/${args.release ? 'core.wasm' : 'core.debug.wasm'}`, import.meta.url));
  if (!fs.existsSync(wasm)) usage(`${wasm} missing: run npm run asbuild`);
  const module = await WebAssembly.compile(fs.readFileSync(wasm));
  checkWaitCanary(await instantiateCore(module, sharedMemory(2 * WASM_PAGE), wasm), 4096); // refuse a Liftoff-broken engine
  const base = args.seed ?? crypto.randomBytes(4).readUInt32LE(0);
  console.log(`sim: seed ${base}${args.swarm !== undefined ? ` (swarm base), ${args.swarm} seeds` : ''}, core ${args.release ? 'release' : 'debug (asserts on)'}`);

  if (args.swarm === undefined) {
    const options = optionsFor(base, args);
    console.log(`seed ${base}`);
    console.log(`link ${vizLink(options, args)}`);
    const sim = new Simulator(module, options);
    if (args.hashEvery > 0) {
      sim.observer = {
        committed() {},
        control() {},
        ticked(s) { if (s.now % args.hashEvery === 0) console.log(hashLine(s)); },
      };
    }
    const result = sim.run();
    if (args.hashEvery > 0 && sim.now % args.hashEvery !== 0) console.log(hashLine(sim));
    console.log(summary(result, options));
    if (result.pass) { console.log('PASS'); return; }
    for (const v of result.violations) console.log(`  violation: ${v}`);
    console.log(`FAIL\nreplay: ${replay(base, args)}`);
    process.exitCode = 1;
    return;
  }

  const failures: { seed: number; violation: string; link: string }[] = [];
  let ticks = 0, ops = 0, wall = 0, views = 0, crashes = 0, partitions = 0, corrupted = 0, bitflips = 0, torn = 0, wipes = 0, transfers = 0;
  const started = performance.now();
  for (let i = 0; i < args.swarm; i++) {
    const seed = base + i;
    const options = optionsFor(seed, args);
    const result = new Simulator(module, options).run();
    ticks += result.ticks; ops += result.opsCommitted; wall += result.wallMs; views += result.viewChanges;
    crashes += result.crashes; partitions += result.partitions; corrupted += result.packetsCorrupted;
    bitflips += result.bitflips; torn += result.tornWrites; wipes += result.wipes; transfers += result.stateTransfers;
    if (!result.pass) {
      failures.push({ seed, violation: result.violations[0], link: vizLink(options, args) });
      if (!args.quiet) console.log(`  FAIL seed ${seed}: ${result.violations[0]}\n    replay: ${replay(seed, args)}\n    link: ${vizLink(options, args)}`);
    }
    if ((i + 1) % 25 === 0 || i + 1 === args.swarm) {
      const elapsed = (performance.now() - started) / 1000;
      console.log(`  [${i + 1}/${args.swarm}] ${i + 1 - failures.length} passed, ${failures.length} failed, ${elapsed.toFixed(1)} s`);
    }
  }
  console.log('\nswarm summary');
  console.log(`  seeds              ${args.swarm} (${base}..${base + args.swarm - 1})`);
  console.log(`  replay             npm run sim -- --swarm ${args.swarm} --seed ${base}${args.release ? ' --release' : ''}`);
  console.log(`  passed             ${args.swarm - failures.length}`);
  console.log(`  failed             ${failures.length}`);
  console.log(`  simulated ticks    ${ticks} (${Math.round(ticks / (wall / 1000))} ticks/s)`);
  console.log(`  ops committed      ${ops} (${Math.round(ops / (wall / 1000))} ops/s wall)`);
  console.log(`  view changes       ${views}`);
  console.log(`  faults             ${crashes} crashes, ${partitions} partitions, ${corrupted} corrupted packets, ${torn} torn writes, ${bitflips} bit flips, ${wipes} disks wiped`);
  console.log(`  state transfers    ${transfers}`);
  console.log(`  wall time          ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const f of failures.slice(0, 20)) console.log(`  FAIL ${f.seed}: ${f.violation}\n    replay: ${replay(f.seed, args)}\n    link: ${f.link}`);
  console.log(failures.length === 0 ? 'PASS' : 'FAIL');
  if (failures.length > 0) process.exitCode = 1;
}

await main();
