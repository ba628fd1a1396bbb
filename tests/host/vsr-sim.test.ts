// The simulator against the real (debug, asserts on) core: a fixed seed set plus scenarios written on purpose.
// Every test can fail: each asserts the run's verdict and that the scenario's fault actually happened.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff');
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defaultOptions, quietOptions, randomizeOptions, type SimOptions } from '../../host/sim/options.js';
import { Simulator, type SimResult } from '../../host/sim/simulator.js';
import { Status } from '../../host/shared/vsr-abi.js';

const wasm = fileURLToPath(new URL('../../../build/core.debug.wasm', import.meta.url));
const module = new WebAssembly.Module(fs.readFileSync(wasm));
// Release build: asserts stripped, so only the simulator's checkers stand between a bug and a PASS.
const releaseModule = new WebAssembly.Module(fs.readFileSync(fileURLToPath(new URL('../../../build/core.wasm', import.meta.url))));

function run(options: SimOptions, core = module): { sim: Simulator; result: SimResult } {
  const sim = new Simulator(core, options);
  return { sim, result: sim.run() };
}

function passes(result: SimResult): void {
  assert.equal(result.pass, true, `seed ${result.seed}: ${result.violations.join('; ')}`);
  assert.ok(result.opsCommitted > 0, 'nothing committed');
}

function scripted(seed: number, tweak: (o: SimOptions) => void, script: (sim: Simulator) => void): SimOptions {
  const o = quietOptions(seed);
  o.clients = 6;
  o.ticks = 2000;
  tweak(o);
  o.script = script;
  return o;
}

test('fixed seeds with randomized faults pass', () => {
  for (const seed of [1, 2, 3, 42, 1058, 2131, 2278, 10198, 20619, 120366, 764503719, 31337, 4242, 777]) passes(run(randomizeOptions(seed)).result);
});

test('default fault mix passes on 3 and 5 replicas', () => {
  passes(run(defaultOptions(7)).result);
  const five = defaultOptions(8);
  five.replicas = 5;
  passes(run(five).result);
});

test('the core allocates nothing after creation (arena usage flat over a faulty run)', () => {
  const { sim, result } = run(defaultOptions(21));
  passes(result);
  for (const node of sim.replicas) assert.equal(node.arenaGrowth(), 0, `replica ${node.index} allocated after vsrCreate`);
});

test('a seed replays exactly', () => {
  const a = run(randomizeOptions(99)).result;
  const b = run(randomizeOptions(99)).result;
  assert.deepEqual({ ...a, wallMs: 0 }, { ...b, wallMs: 0 });
});

test('primary crash mid-pipeline: a view change keeps every acked op', () => {
  let crashedAt = -1;
  const o = scripted(11, () => {}, (sim) => {
    if (crashedAt < 0 && sim.now >= 400) {
      const p = sim.primary();
      if (p && p.op() > p.commitMax()) { crashedAt = sim.now; sim.crash(p.index, sim.now + 300); }
    }
  });
  const { result } = run(o);
  passes(result);
  assert.ok(crashedAt > 0, 'never caught the primary with prepares in flight');
  assert.ok(result.viewChanges >= 1, 'no view change after the primary crashed');
});

test('partition isolating the primary: the majority elects and commits, the old primary rejoins', () => {
  let isolated = -1;
  let commitDuring = 0;
  const o = scripted(12, () => {}, (sim) => {
    if (isolated < 0 && sim.now === 300) {
      isolated = sim.primary()!.index;
      sim.network.partition(sim.replicas.map((n) => n.index === isolated), false, sim.now + 600);
    }
    if (sim.now === 890) commitDuring = Math.max(...sim.replicas.filter((n) => n.index !== isolated).map((n) => n.commitMin()));
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(result.maxView >= 1, 'no new view');
  assert.notEqual(sim.replicas.findIndex((n) => n.isPrimary()), isolated);
  assert.ok(commitDuring > 0);
});

test('asymmetric partition: the primary can receive but not send', () => {
  const o = scripted(13, () => {}, (sim) => {
    if (sim.now === 300) sim.network.partition(sim.replicas.map((n) => n.isPrimary()), true, sim.now + 500);
  });
  const { result } = run(o);
  passes(result);
  assert.ok(result.maxView >= 1);
});

test('backup with corrupted prepares in its journal recovers and repairs them', () => {
  let corrupted = 0;
  const o = scripted(14, (opt) => { opt.network.corrupt = 0.01; }, (sim) => {
    if (sim.now === 600) {
      const backup = sim.replicas.find((n) => !n.isPrimary())!;
      const head = backup.op();
      sim.crash(backup.index, sim.now + 100);
      // A committed op deep in the log, one near the head, and the head itself.
      for (const op of [5, head - 3, head]) if (backup.disk.corruptOp(op)) corrupted++;
    }
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(corrupted >= 2, 'scenario did not corrupt the journal');
  assert.ok(result.packetsCorrupted > 0, 'no corrupted packets');
  const commits = sim.replicas.map((n) => n.commitMin());
  assert.ok(commits.every((c) => c === commits[0]), `replicas did not converge: ${commits}`);
});

test('duplicate client requests get the cached reply or RequestTooOld, never a second apply', () => {
  const o = scripted(15, (opt) => { opt.duplicateRequests = 0.05; }, () => {});
  const { result } = run(o);
  passes(result);
  assert.ok(result.duplicateRequests > 20, 'too few duplicates sent');
  assert.ok(result.cachedReplies > 0, 'no cached reply seen');
  assert.ok(result.rejectedTooOld > 0, 'no RequestTooOld rejection seen');
});

test('a lagging replica is repaired (within the log window)', () => {
  let lagAtHeal = 0;
  const o = scripted(16, () => {}, (sim) => {
    if (sim.now === 200) sim.network.partition([false, false, true], false, 1200);
    if (sim.now === 1199) lagAtHeal = sim.replicas[0].commitMin() - sim.replicas[2].commitMin();
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(lagAtHeal > 100, `replica 2 lagged only ${lagAtHeal} ops`);
  assert.equal(sim.replicas[2].commitMin(), sim.replicas[0].commitMin());
});

test('a replica further behind than the log window is repaired from peers\' journals', () => {
  let lagAtHeal = 0;
  const o = scripted(17, (opt) => { opt.slots = 64; }, (sim) => {
    if (sim.now === 100) sim.network.partition([false, false, true], false, 1500);
    if (sim.now === 1499) lagAtHeal = sim.replicas[0].commitMin() - sim.replicas[2].commitMin();
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(lagAtHeal > 64, `lag ${lagAtHeal} fits in the window`);
  assert.equal(sim.replicas[2].commitMin(), sim.replicas[0].commitMin());
});

test('a backup whose disk is wiped recovers its state by transfer: it commits nothing before the transfer, then catches up', () => {
  let lostTicks = 0;
  let committedOnItsOwn = 0; // ops committed while lost beyond the installed snapshot
  const o = scripted(18, (opt) => { opt.transferTicks = 40; }, (sim) => {
    if (sim.now === 400) { sim.crash(2, 450); sim.replicas[2].disk.wipe(); }
    const node = sim.replicas[2];
    if (sim.now > 450 && node.alive && node.stateLost()) {
      lostTicks++;
      committedOnItsOwn = Math.max(committedOnItsOwn, node.commitMin() - (node.disk.snapshot?.op ?? 0));
      assert.equal(node.status(), Status.Recovering);
    }
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(lostTicks >= 40, `replica 2 was lost for only ${lostTicks} ticks`); // the transfer takes 40
  assert.equal(committedOnItsOwn, 0);
  assert.ok(result.stateTransfers >= 1 && result.wipes === 1);
  assert.equal(sim.replicas[2].commitMin(), sim.replicas[0].commitMin());
});

test('the primary\'s disk wiped: the others elect, it rejoins by transfer', () => {
  const o = scripted(19, () => {}, (sim) => {
    if (sim.now === 300) { const p = sim.primary()!; sim.crash(p.index, 500); p.disk.wipe(); }
  });
  const { sim, result } = run(o);
  passes(result);
  assert.ok(result.stateTransfers >= 1);
  assert.ok(result.viewChanges >= 1);
  const commit = sim.replicas[0].commitMin();
  for (const n of sim.replicas) assert.equal(n.commitMin(), commit);
});

test('wipes in a swarm: randomized seeds with a wipe on most crashes pass', () => {
  let wipes = 0;
  let transfers = 0;
  for (const seed of [5, 6, 11, 12, 13, 14]) {
    const o = randomizeOptions(seed);
    if (o.replicas === 1) continue;
    o.crash.prob = Math.max(o.crash.prob, 0.003);
    o.crash.wipe = 0.7;
    const { result } = run(o);
    passes(result);
    wipes += result.wipes;
    transfers += result.stateTransfers;
  }
  assert.ok(wipes > 0 && transfers > 0, `wipes ${wipes}, transfers ${transfers}`);
});

test('single-replica group: crash and recovery from its own journal', () => {
  const o = scripted(18, (opt) => { opt.replicas = 1; }, (sim) => {
    if (sim.now === 500) sim.crash(0, 520);
  });
  const { sim, result } = run(o);
  passes(result);
  assert.equal(result.crashes, 1);
  assert.equal(sim.replicas[0].status(), Status.Normal);
});

test('a lone replica recovers every acked op when crashes tear rewrites of ops whose old headers remain (seed 404331256)', () => {
  // It used to abort in the core ("a single replica's journal does not chain"): a stale header of a dropped op
  // was taken for proof that the torn rewrite of that op had completed, so may have been acked.
  const options = randomizeOptions(404331256);
  assert.equal(options.replicas, 1);
  const { sim, result } = run(options);
  passes(result);
  assert.ok(result.crashes >= 5, `only ${result.crashes} crashes`);
  assert.ok(sim.replicas[0].disk.staleHeadersExposed > 0, 'no crash left a torn rewrite over a stale header');
  assert.deepEqual(sim.refusals, []);
  assert.equal(sim.replicas[0].status(), Status.Normal);
  assert.ok(sim.replicas[0].viewNumber() > 0, 'recoveries that dropped a tail did not move to a newer view');
});

test('a lone replica whose disk lost an acked op refuses to start: a named verdict naming the group and ops, no trap', () => {
  let corrupted = false;
  let committedAtCrash = 0;
  const o = scripted(22, (opt) => { opt.replicas = 1; }, (sim) => {
    if (sim.now === 500) {
      committedAtCrash = sim.replicas[0].commitMin();
      sim.crash(0, 520);
      corrupted = sim.replicas[0].disk.corruptOp(40); // a durable, committed (so acked) prepare rots at rest
    }
  });
  const { sim, result } = run(o);
  assert.ok(corrupted && committedAtCrash > 40, `scenario did not corrupt a committed op (commit ${committedAtCrash})`);
  assert.equal(result.pass, false);
  assert.ok(!result.violations.some((v) => /core abort/.test(v)), result.violations.join('; '));
  assert.equal(sim.refusals.length, 1);
  const refusal = sim.refusals[0];
  assert.equal(refusal.code, 'RecoveryLostOps');
  assert.equal(refusal.name, 'RecoveryLostOps');
  assert.equal(refusal.group, 1n << 63n);
  assert.equal(refusal.from, 40);
  assert.ok(refusal.to >= committedAtCrash, `range ends at ${refusal.to}, below the commit ${committedAtCrash}`);
  assert.match(refusal.message, new RegExp(`^group ${1n << 63n}: ops 40\\.\\.${refusal.to} may have been acknowledged`));
  assert.ok(result.violations.some((v) => v.includes('recovery refused') && v.includes('RecoveryLostOps')));
  assert.equal(sim.replicas[0].alive, false, 'a refusing replica must not serve');
});

// Swarm testing from a fresh base every run: a fixed base only ever re-tests the same seeds. The base is printed
// (and named in any failure) so a run replays with `npm run sim -- --swarm N --seed BASE`, a seed with
// `npm run sim -- --seed S --randomize`. SHARDLOG_SIM_SWARM_BASE and SHARDLOG_SIM_SWARM set base and count.
test('a swarm of randomized seeds from a random base passes', () => {
  const base = process.env.SHARDLOG_SIM_SWARM_BASE !== undefined
    ? Number(process.env.SHARDLOG_SIM_SWARM_BASE) : crypto.randomBytes(4).readUInt32LE(0);
  const count = Number(process.env.SHARDLOG_SIM_SWARM ?? 32);
  assert.ok(Number.isSafeInteger(base) && base >= 0, `SHARDLOG_SIM_SWARM_BASE must be a non-negative integer`);
  assert.ok(Number.isSafeInteger(count) && count > 0, `SHARDLOG_SIM_SWARM must be a positive integer`);
  const replay = `npm run sim -- --swarm ${count} --seed ${base}`;
  console.log(`sim swarm base ${base}, ${count} seeds (replay: ${replay})`); // printed first: a killed run still says it
  const failures: string[] = [];
  let committed = 0;
  for (let seed = base; seed < base + count; seed++) {
    const result = run(randomizeOptions(seed)).result;
    committed += result.opsCommitted;
    if (!result.pass) failures.push(`seed ${seed}: ${result.violations[0]} (replay: npm run sim -- --seed ${seed} --randomize)`);
  }
  assert.deepEqual(failures, [], `swarm base ${base} (${replay}):\n${failures.join('\n')}`);
  assert.ok(committed > 0, 'the swarm committed nothing');
});

test('whole-cluster crash and restart: recovery from journals, then an election', () => {
  const o = scripted(20, () => {}, (sim) => {
    if (sim.now === 500) for (const n of sim.replicas) sim.crash(n.index, 540 + 10 * n.index);
  });
  const { result } = run(o);
  passes(result);
  assert.equal(result.crashes, 3);
  assert.ok(result.maxView >= 1);
});

test('whole-cluster power losses with torn writes: regression seeds converge', () => {
  for (const seed of [2, 6, 35, 57, 123, 131, 332]) {
    const o = defaultOptions(seed);
    o.crash.clusterProb = 0.002;
    if (seed % 4 === 0) o.replicas = 5;
    const { result } = run(o);
    passes(result);
    assert.ok(result.crashes >= o.replicas, `seed ${seed}: no whole-cluster crash happened`);
  }
});

// The primary is cut off from the backups (it still hears them and the clients), then crashes.
function brokenQuorumScenario(quorumOverride: number): SimOptions {
  return scripted(19, (opt) => { opt.quorumOverride = quorumOverride; }, (sim) => {
    if (sim.now === 300) sim.network.partition(sim.replicas.map((n) => n.isPrimary()), true, 10_000);
    if (sim.now === 420) { const p = sim.replicas.find((n) => n.alive && n.isPrimary()); if (p) sim.crash(p.index, 900); }
    if (sim.now === 900) sim.network.heal();
  });
}

test('deliberately broken quorum (debug switch) makes the checkers fail', () => {
  // Debug core: its own invariant (a new view must not lose a committed op) traps.
  const broken = run(brokenQuorumScenario(1)).result;
  assert.equal(broken.pass, false, 'a replication quorum of 1 went unnoticed');
  assert.ok(broken.violations.some((v) => /agreement|acked loss|core abort/.test(v)), broken.violations.join('; '));
  // Release core (no asserts): the simulator's checkers catch the divergence themselves.
  const stripped = run(brokenQuorumScenario(1), releaseModule).result;
  assert.equal(stripped.pass, false, 'checkers missed a replication quorum of 1');
  assert.ok(stripped.violations.some((v) => /agreement|acked loss/.test(v)), stripped.violations.join('; '));
  // Control: the same scenario with the real quorum passes.
  passes(run(brokenQuorumScenario(0)).result);
});

test('the simulator loop imports no Node-only module (the browser visualiser runs it)', () => {
  const dir = fileURLToPath(new URL('../../../host/sim/', import.meta.url));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'main.ts');
  assert.ok(files.includes('simulator.ts'));
  for (const f of [...files.map((f) => dir + f), fileURLToPath(new URL('../../../host/shared/vsr-abi.ts', import.meta.url))]) {
    const text = fs.readFileSync(f, 'utf8').replace(/\/\/.*$/gm, ''); // code only, not comments
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const i of imports) assert.ok(i.startsWith('.'), `${f} imports ${i}`);
    assert.ok(!/Math\.random|Date\.now/.test(text), `${f} uses Math.random or Date.now`);
  }
});
