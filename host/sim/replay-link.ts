// The replay link: a run's settings and its recorded control events as a URL query, so a run seen in the
// visualiser (or a failing `npm run sim` seed) opens and replays identically elsewhere. No Node-only imports:
// the page decodes its own location with this file, and `npm run sim` prints links with it.
//
//   ?seed=7&replicas=3&clients=4&ticks=3000&faults=default&ev=c1e-1.rk-1.p2s-3.h5k.l0-32
//
// `ev` lists events separated by '.'; each is a letter (the kind) then '-'-separated base-36 numbers: the ticks
// since the previous event, then the kind's arguments. Letters: c crash(replica), r restart(replica),
// p partition(sideA mask), o one-way partition(sideA mask), h heal, l loss(permille), u duplicate(permille),
// d delay(tenths of a tick), j corrupt(replica, op), a clients(add).
import { ShardlogError } from '../shared/errors.js';
import { CoreVsrConstants } from '../shared/core-abi.generated.js';
import { CLIENTS_LIMIT, type SimEvent } from './events.js';
import { defaultOptions, quietOptions, randomizeOptions, type SimOptions } from './options.js';

export const FAULT_MIXES = ['default', 'quiet', 'random'] as const;
export type FaultMix = typeof FAULT_MIXES[number];
export const CORE_BUILDS = ['debug', 'release'] as const;
export type CoreBuild = typeof CORE_BUILDS[number];

export interface RunSettings {
  seed: number;
  replicas: number;
  clients: number;
  ticks: number; // fault phase, as `npm run sim -- --ticks`
  faults: FaultMix; // default: defaultOptions; quiet: no random faults (only yours); random: --randomize
  core: CoreBuild; // debug: asserts on (npm run sim's default); release: --release
  quorumOverride: number;
}

export interface ReplayLink {
  settings: RunSettings;
  events: SimEvent[];
}

export const VIZ_URL = 'http://127.0.0.1:4173/';
const EVENTS_MAX = 10_000;
const TICKS_MAX = 100_000_000;

export class ReplayLinkInvalid extends ShardlogError {
  constructor(message: string) {
    super('ReplayLinkInvalid', message);
  }
}

export function defaultSettings(seed = 1): RunSettings {
  return { seed, replicas: 3, clients: 4, ticks: 3000, faults: 'default', core: 'debug', quorumOverride: 0 };
}

// The options `npm run sim` would run for these settings.
export function simOptions(settings: RunSettings): SimOptions {
  const mix = { default: defaultOptions, quiet: quietOptions, random: randomizeOptions }[settings.faults];
  const o = mix(settings.seed);
  o.replicas = settings.replicas;
  o.clients = settings.clients;
  o.ticks = settings.ticks;
  o.quorumOverride = settings.quorumOverride;
  return o;
}

export function encodeQuery(link: ReplayLink): string {
  const s = link.settings;
  const params = [`seed=${s.seed}`, `replicas=${s.replicas}`, `clients=${s.clients}`, `ticks=${s.ticks}`, `faults=${s.faults}`];
  if (s.core !== 'debug') params.push(`core=${s.core}`);
  if (s.quorumOverride !== 0) params.push(`quorum=${s.quorumOverride}`);
  if (link.events.length > 0) params.push(`ev=${encodeEvents(link.events)}`);
  return `?${params.join('&')}`;
}

export function replayUrl(link: ReplayLink, base = VIZ_URL): string {
  return base + encodeQuery(link);
}

// Missing parameters take their defaults; a parameter that is present must be valid (ReplayLinkInvalid names it).
export function decodeQuery(search: string): ReplayLink {
  const params = new URLSearchParams(search);
  const known = new Set(['seed', 'replicas', 'clients', 'ticks', 'faults', 'core', 'quorum', 'ev']);
  for (const key of params.keys()) if (!known.has(key)) throw new ReplayLinkInvalid(`unknown parameter '${key}'`);
  const d = defaultSettings();
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const text = params.get(key);
    if (text === null) return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ReplayLinkInvalid(`${key}=${text}: needs an integer in ${min}..${max}`);
    }
    return value;
  };
  const choice = <T extends string>(key: string, fallback: T, allowed: readonly T[]): T => {
    const text = params.get(key);
    if (text === null) return fallback;
    if (!(allowed as readonly string[]).includes(text)) throw new ReplayLinkInvalid(`${key}=${text}: needs one of ${allowed.join(', ')}`);
    return text as T;
  };
  const settings: RunSettings = {
    seed: int('seed', d.seed, 0, Number.MAX_SAFE_INTEGER),
    replicas: int('replicas', d.replicas, 1, CoreVsrConstants.REPLICAS_MAX),
    clients: int('clients', d.clients, 0, CLIENTS_LIMIT),
    ticks: int('ticks', d.ticks, 0, TICKS_MAX),
    faults: choice('faults', d.faults, FAULT_MIXES),
    core: choice('core', d.core, CORE_BUILDS),
    quorumOverride: int('quorum', 0, 0, CoreVsrConstants.REPLICAS_MAX),
  };
  const ev = params.get('ev');
  return { settings, events: ev ? decodeEvents(ev, settings.replicas) : [] };
}

const LETTER: Record<SimEvent['kind'], string> = {
  crash: 'c', restart: 'r', partition: 'p', heal: 'h', loss: 'l', duplicate: 'u', delay: 'd', corrupt: 'j', clients: 'a',
};

function argsOf(e: SimEvent): number[] {
  switch (e.kind) {
    case 'crash': case 'restart': return [e.replica];
    case 'partition': return [e.sideA];
    case 'heal': return [];
    case 'loss': case 'duplicate': return [e.permille];
    case 'delay': return [e.tenths];
    case 'corrupt': return [e.replica, e.op];
    case 'clients': return [e.add];
  }
}

export function encodeEvents(events: readonly SimEvent[]): string {
  let previous = 0;
  return events.map((e) => {
    if (e.tick < previous) throw new ReplayLinkInvalid(`events out of order: tick ${e.tick} after ${previous}`);
    const letter = e.kind === 'partition' && e.oneWay ? 'o' : LETTER[e.kind];
    const fields = [e.tick - previous, ...argsOf(e)].map((n) => n.toString(36));
    previous = e.tick;
    return letter + fields.join('-');
  }).join('.');
}

export function decodeEvents(text: string, replicas: number): SimEvent[] {
  const parts = text.split('.');
  if (parts.length > EVENTS_MAX) throw new ReplayLinkInvalid(`ev: ${parts.length} events, at most ${EVENTS_MAX}`);
  let tick = 0;
  return parts.map((part, i) => {
    const where = `ev[${i}] '${part}'`;
    const match = /^([a-z])([0-9a-z]+(?:-[0-9a-z]+)*)$/.exec(part);
    if (!match) throw new ReplayLinkInvalid(`${where}: needs a letter then base-36 numbers separated by '-'`);
    const [delta, ...args] = match[2].split('-').map((f) => parseInt(f, 36));
    if (!Number.isSafeInteger(delta) || args.some((a) => !Number.isSafeInteger(a))) throw new ReplayLinkInvalid(`${where}: number too large`);
    tick += delta;
    if (tick > TICKS_MAX) throw new ReplayLinkInvalid(`${where}: tick ${tick} above ${TICKS_MAX}`);
    const arity = (n: number): void => {
      if (args.length !== n) throw new ReplayLinkInvalid(`${where}: '${match[1]}' takes ${n} argument(s) after the tick, got ${args.length}`);
    };
    const range = (name: string, value: number, min: number, max: number): number => {
      if (value < min || value > max) throw new ReplayLinkInvalid(`${where}: ${name} ${value} outside ${min}..${max}`);
      return value;
    };
    const replica = (value: number): number => range('replica', value, 0, replicas - 1);
    switch (match[1]) {
      case 'c': arity(1); return { tick, kind: 'crash', replica: replica(args[0]) };
      case 'r': arity(1); return { tick, kind: 'restart', replica: replica(args[0]) };
      case 'p': case 'o':
        arity(1);
        return { tick, kind: 'partition', sideA: range('side mask', args[0], 1, (1 << replicas) - 2), oneWay: match[1] === 'o' };
      case 'h': arity(0); return { tick, kind: 'heal' };
      case 'l': arity(1); return { tick, kind: 'loss', permille: range('permille', args[0], 0, 1000) };
      case 'u': arity(1); return { tick, kind: 'duplicate', permille: range('permille', args[0], 0, 1000) };
      case 'd': arity(1); return { tick, kind: 'delay', tenths: range('tenths', args[0], 0, 1000) };
      case 'j': arity(2); return { tick, kind: 'corrupt', replica: replica(args[0]), op: range('op', args[1], 1, Number.MAX_SAFE_INTEGER) };
      case 'a': arity(1); return { tick, kind: 'clients', add: range('clients', args[0], 1, CLIENTS_LIMIT) };
      default: throw new ReplayLinkInvalid(`${where}: unknown event letter '${match[1]}'`);
    }
  });
}
