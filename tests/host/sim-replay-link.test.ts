// The visualiser's replay link (host/sim/replay-link.ts): settings and control events survive URL → events →
// URL unchanged, a link replays the same run (same state hash), and every bad parameter gets a named error.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff');
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimEvent } from '../../host/sim/events.js';
import { randomizeOptions } from '../../host/sim/options.js';
import {
  ReplayLinkInvalid, decodeQuery, defaultSettings, encodeQuery, replayUrl, simOptions, type ReplayLink,
} from '../../host/sim/replay-link.js';
import { Simulator } from '../../host/sim/simulator.js';

const everyKind: SimEvent[] = [
  { tick: 0, kind: 'loss', permille: 50 },
  { tick: 37, kind: 'crash', replica: 1 },
  { tick: 37, kind: 'delay', tenths: 35 },
  { tick: 400, kind: 'partition', sideA: 0b00101, oneWay: false },
  { tick: 401, kind: 'partition', sideA: 0b00010, oneWay: true },
  { tick: 900, kind: 'heal' },
  { tick: 1200, kind: 'restart', replica: 1 },
  { tick: 1300, kind: 'duplicate', permille: 1000 },
  { tick: 1301, kind: 'corrupt', replica: 4, op: 123456 },
  { tick: 99_999, kind: 'clients', add: 8 },
];

test('URL → events → URL round trip keeps every setting and every kind of event', () => {
  const link: ReplayLink = {
    settings: { seed: 4_000_000_123, replicas: 5, clients: 7, ticks: 2500, faults: 'random', core: 'release', quorumOverride: 2 },
    events: everyKind,
  };
  const query = encodeQuery(link);
  assert.deepEqual(decodeQuery(query), link);
  assert.equal(encodeQuery(decodeQuery(query)), query);
  // Compact: ten events in well under 100 characters.
  assert.ok(query.split('ev=')[1].length < 100, query);
  assert.equal(new URL(replayUrl(link)).search, query, 'the link needs no escaping');
});

test('a query without parameters is the default run; the defaults are not spelled out twice', () => {
  assert.deepEqual(decodeQuery(''), { settings: defaultSettings(), events: [] });
  assert.equal(encodeQuery({ settings: defaultSettings(9), events: [] }), '?seed=9&replicas=3&clients=4&ticks=3000&faults=default');
});

test('the link npm run sim prints for a --randomize or swarm seed gives back exactly that seed\'s options', () => {
  for (let seed = 0; seed < 300; seed++) {
    const o = randomizeOptions(seed);
    const settings = { seed, replicas: o.replicas, clients: o.clients, ticks: o.ticks, faults: 'random' as const, core: 'debug' as const, quorumOverride: 0 };
    assert.deepEqual(simOptions(decodeQuery(encodeQuery({ settings, events: [] })).settings), o, `seed ${seed}`);
  }
});

test('bad parameters give ReplayLinkInvalid naming the parameter', () => {
  const bad: [string, RegExp][] = [
    ['?seed=-1', /^seed=-1: needs an integer/],
    ['?seed=1e3', /^seed=1e3: needs an integer/],
    ['?replicas=0', /^replicas=0: needs an integer in 1\.\.8/],
    ['?clients=65', /^clients=65: needs an integer in 0\.\.64/],
    ['?faults=chaos', /^faults=chaos: needs one of default, quiet, random/],
    ['?core=fast', /^core=fast/],
    ['?colour=red', /^unknown parameter 'colour'/],
    ['?ev=x0', /^ev\[0\] 'x0': unknown event letter 'x'/],
    ['?ev=c0-1.c', /^ev\[1\] 'c': needs a letter then base-36 numbers/],
    ['?ev=c0', /^ev\[0\] 'c0': 'c' takes 1 argument/],
    ['?replicas=3&ev=c0-3', /^ev\[0\] 'c0-3': replica 3 outside 0\.\.2/],
    ['?replicas=3&ev=p0-7', /side mask 7 outside 1\.\.6/],
    ['?ev=l0-3e9', /permille 4401 outside 0\.\.1000/],
    ['?ev=j0-1-0', /op 0 outside 1\.\./],
    ['?ev=C0-1', /needs a letter then base-36/],
  ];
  for (const [query, message] of bad) {
    assert.throws(() => decodeQuery(query), (error: unknown) => {
      assert.ok(error instanceof ReplayLinkInvalid, `${query}: ${String(error)}`);
      assert.equal((error as ReplayLinkInvalid).code, 'ReplayLinkInvalid');
      assert.match((error as Error).message, message, query);
      return true;
    });
  }
});

test('a decoded link replays the same run: same state hash at every 100 ticks, and the events took effect', () => {
  const module = new WebAssembly.Module(fs.readFileSync(fileURLToPath(new URL('../../../build/core.debug.wasm', import.meta.url))));
  const link = decodeQuery('?seed=31&replicas=3&clients=3&ticks=800&faults=quiet&ev=c2s-0.p2s-2.h5k.r0-0.a0-2.j2s-1-5');
  const run = (): { hashes: string[]; sim: Simulator } => {
    const sim = new Simulator(module, simOptions(link.settings));
    sim.schedule(link.events);
    const hashes: string[] = [];
    while (sim.now < 800 && sim.advance()) if (sim.now % 100 === 0) hashes.push(sim.stateHash());
    return { hashes, sim };
  };
  const a = run();
  const b = run();
  assert.deepEqual(a.hashes, b.hashes);
  assert.equal(a.hashes.length, 8);
  assert.deepEqual(a.sim.checkers.violations, []);
  assert.equal(a.sim.crashes, 1, 'the crash event did not apply');
  assert.equal(a.sim.clients.length, 5, 'the clients event did not apply');
  assert.ok(a.sim.network.partitionsInjected >= 1, 'the partition event did not apply');
  assert.ok(a.sim.replicas.some((n) => n.disk.bitflips > 0), 'the corrupt event did not apply');
  // Without the events it is another run.
  const plain = new Simulator(module, simOptions(link.settings));
  while (plain.now < 800) plain.advance();
  assert.notEqual(plain.stateHash(), a.sim.stateHash());
});
