// The visualiser page: decodes the replay link in its URL, loads core.wasm, and steps the simulator on the main
// thread, drawing after every frame's ticks (README "Visualiser" says why not a worker). Every control becomes a
// recorded SimEvent and the URL is rewritten to carry it, so the address bar is always a replay of the run.
import type { SimControl } from '../../sim/events.js';
import { ReplayLinkInvalid, decodeQuery, encodeQuery, type FaultMix, type ReplayLink } from '../../sim/replay-link.js';
import { drawCluster, replicaPositions, NODE_RADIUS } from './draw-cluster.js';
import { ShardMap, drawShards } from './draw-shards.js';
import { drawTimeline } from './draw-timeline.js';
import { loadCore } from './load-core.js';
import { COMMAND_COLOURS, COMMAND_NAMES } from './palette.js';
import { VizRun } from './viz-run.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page: #${id} missing`);
  return element as T;
};
const canvas = (id: string) => $<HTMLCanvasElement>(id).getContext('2d')!;

const SHARDS = 4;
const FRAME_BUDGET_MS = 12; // ticks per frame stop here, so the page stays responsive at any speed

let module: WebAssembly.Module;
let shardMap: ShardMap;
let run: VizRun;
let playing = true;
let speed: number | 'max' = 30;
let owed = 0; // ticks due at the chosen speed, carried between frames
let lastFrame = performance.now();
const selected = new Set<number>();
let rates = { since: performance.now(), ticks: 0, frames: 0, tps: 0, fps: 0 };
let framesDrawn = 0;
let drawMs = 0; // time spent drawing, since the page loaded (the measurements split a frame into ticks and drawing)

async function boot(): Promise<void> {
  $('coi').textContent = String(globalThis.crossOriginIsolated);
  let link: ReplayLink;
  try {
    link = decodeQuery(location.search);
  } catch (error) {
    if (!(error instanceof ReplayLinkInvalid)) throw error;
    fail(`bad link: ${error.code}: ${error.message}`);
    return;
  }
  module = await loadCore(link.settings.core);
  shardMap = new ShardMap(module, SHARDS);
  start(link);
  wireControls();
  legend();
  requestAnimationFrame(frame);
}

function start(link: ReplayLink): void {
  run = new VizRun(module, link.settings, link.events);
  selected.clear();
  document.body.classList.remove('violated');
  $('violation').hidden = true;
  $<HTMLInputElement>('seed').value = String(link.settings.seed);
  $<HTMLSelectElement>('replicas').value = String(link.settings.replicas);
  $<HTMLSelectElement>('faults').value = link.settings.faults;
  replicaButtons();
  publishLink();
  draw(1);
}

function frame(time: number): void {
  const elapsed = Math.min(250, time - lastFrame);
  lastFrame = time;
  if (playing) {
    const deadline = performance.now() + FRAME_BUDGET_MS;
    if (speed === 'max') {
      while (performance.now() < deadline && tick()) { /* as many ticks as fit */ }
    } else {
      owed += (elapsed / 1000) * speed;
      while (owed >= 1 && performance.now() < deadline && tick()) owed--;
      if (owed > 5) owed = 5; // the budget ran out: slow down instead of piling up
    }
  }
  const drawStart = performance.now();
  draw(speed === 'max' || !playing ? 1 : Math.min(1, owed));
  drawMs += performance.now() - drawStart;
  rates.frames++;
  framesDrawn++;
  const window = time - rates.since;
  if (window >= 1000) rates = { since: time, ticks: 0, frames: 0, tps: (rates.ticks * 1000) / window, fps: (rates.frames * 1000) / window };
  requestAnimationFrame(frame);
}

function tick(): boolean {
  const going = run.advance();
  rates.ticks++;
  if (!going) playing = false;
  return going;
}

function draw(subTick: number): void {
  drawCluster(canvas('cluster'), run, subTick, selected);
  drawShards(canvas('shards'), run, shardMap, subTick);
  drawTimeline(canvas('timeline'), run);
  const state = snapshot();
  $('tick').textContent = String(state.tick);
  $('hash').textContent = state.hash;
  $('committed').textContent = String(state.committed);
  $('view').textContent = String(state.view);
  $('view-changes').textContent = String(state.viewChanges);
  $('checkers').textContent = state.violations.length ? 'VIOLATED' : 'green';
  $('rates').textContent = `${Math.round(rates.tps)} ticks/s, ${Math.round(rates.fps)} frames/s`;
  $('play').textContent = playing ? 'pause' : 'play';
  const log = $('log');
  const text = run.log.slice(-200).join('\n');
  if (log.textContent !== text) { log.textContent = text; log.scrollTop = log.scrollHeight; }
  if (state.violations.length && !document.body.classList.contains('violated')) {
    document.body.classList.add('violated');
    const banner = $('violation');
    banner.hidden = false;
    banner.textContent = `checker violation at tick ${state.tick}: ${state.violations.join(' | ')}`;
  }
}

export interface VizState {
  tick: number; hash: string; committed: number; view: number; viewChanges: number; violations: string[];
  primary: number; roles: string[]; query: string;
}

function snapshot(): VizState {
  const sim = run.sim;
  return {
    tick: sim.now, hash: sim.stateHash(), committed: sim.checkers.maxCommitted, view: run.maxView(),
    viewChanges: run.viewChanges, violations: [...sim.checkers.violations], primary: sim.primary()?.index ?? -1,
    roles: sim.replicas.map((n) => run.role(n.index)), query: run.query,
  };
}

function control(event: SimControl): void {
  run.control(event);
  publishLink();
  if (!playing) { run.advance(); draw(1); } // paused: run the tick it applies at, to show its effect at once
}

function publishLink(): void {
  const query = run.query;
  history.replaceState(null, '', query);
  $<HTMLAnchorElement>('link').href = query;
}

function wireControls(): void {
  $('play').onclick = () => { playing = !playing; owed = 0; };
  $('step').onclick = () => { playing = false; run.advance(); draw(1); };
  $<HTMLSelectElement>('speed').onchange = (e) => {
    const value = (e.target as HTMLSelectElement).value;
    speed = value === 'max' ? 'max' : Number(value);
  };
  $('new-run').onclick = () => {
    const seed = Number($<HTMLInputElement>('seed').value);
    const settings = { ...run.settings, seed: Number.isSafeInteger(seed) && seed >= 0 ? seed : 1,
      replicas: Number($<HTMLSelectElement>('replicas').value), faults: $<HTMLSelectElement>('faults').value as FaultMix };
    const query = encodeQuery({ settings, events: [] });
    start(decodeQuery(query));
    playing = true;
  };
  $('crash-primary').onclick = () => {
    const primary = run.sim.primary();
    if (primary) control({ kind: 'crash', replica: primary.index });
    else run.say(run.sim.now, 'crash primary: no primary right now (view change in progress)');
  };
  const all = () => (1 << run.sim.replicas.length) - 1;
  const primaryMask = () => { const p = run.sim.primary(); return p ? 1 << p.index : 0; };
  $('part-primary').onclick = () => { const m = primaryMask(); if (m) control({ kind: 'partition', sideA: m, oneWay: false }); };
  $('part-oneway').onclick = () => { const m = primaryMask(); if (m) control({ kind: 'partition', sideA: m, oneWay: true }); };
  $('part-minority').onclick = () => {
    const minority = (1 << Math.floor(run.sim.replicas.length / 2)) - 1; // r0.. r(f-1): a minority, no quorum
    if (minority) control({ kind: 'partition', sideA: minority, oneWay: false });
  };
  $('part-selected').onclick = () => {
    let mask = 0;
    for (const r of selected) mask |= 1 << r;
    if (mask === 0 || mask === all()) { run.say(run.sim.now, 'partition: select some replicas (not all) first'); return; }
    selected.clear();
    control({ kind: 'partition', sideA: mask, oneWay: false });
  };
  $('heal').onclick = () => control({ kind: 'heal' });
  slider('loss', (v) => `${(v / 10).toFixed(1)}%`, (v) => control({ kind: 'loss', permille: v }));
  slider('dup', (v) => `${(v / 10).toFixed(1)}%`, (v) => control({ kind: 'duplicate', permille: v }));
  slider('delay', (v) => `+${(v / 10).toFixed(1)}t`, (v) => control({ kind: 'delay', tenths: v }));
  $('corrupt').onclick = () => {
    const replica = Number($<HTMLSelectElement>('corrupt-replica').value);
    const node = run.sim.replicas[replica];
    const op = node.alive ? node.commitMin() : Math.max(0, ...node.disk.journal.keys());
    if (op < 1) { run.say(run.sim.now, `corrupt: r${replica} has no journal entry yet`); return; }
    control({ kind: 'corrupt', replica, op });
  };
  $('load').onclick = () => control({ kind: 'clients', add: 4 });
  dragToSelect();
}

function slider(id: string, label: (v: number) => string, apply: (v: number) => void): void {
  const input = $<HTMLInputElement>(id);
  const out = $(`${id}-out`);
  const o = run.sim.network.options;
  input.value = String(id === 'loss' ? o.loss * 1000 : id === 'dup' ? o.duplicate * 1000 : o.delayMean * 10);
  out.textContent = label(Number(input.value));
  input.oninput = () => { out.textContent = label(Number(input.value)); };
  input.onchange = () => apply(Number(input.value));
}

// Per-replica crash/restart buttons and the corrupt target list, for the current replica count.
function replicaButtons(): void {
  const box = $('replica-controls');
  box.querySelectorAll('.per-replica').forEach((e) => e.remove());
  const corrupt = $<HTMLSelectElement>('corrupt-replica');
  corrupt.innerHTML = '';
  for (let r = 0; r < run.sim.replicas.length; r++) {
    const span = document.createElement('span');
    span.className = 'per-replica';
    span.innerHTML = `<button id="crash-r${r}">crash r${r}</button><button id="restart-r${r}">restart r${r}</button>`;
    box.append(span);
    $(`crash-r${r}`).onclick = () => control({ kind: 'crash', replica: r });
    $(`restart-r${r}`).onclick = () => control({ kind: 'restart', replica: r });
    corrupt.append(new Option(`r${r}`, String(r)));
  }
}

// Click a replica to toggle it into the side to cut off, or drag across several; then "selected | rest".
function dragToSelect(): void {
  const c = $<HTMLCanvasElement>('cluster');
  let dragging = false;
  const hit = (e: MouseEvent): number => {
    const rect = c.getBoundingClientRect();
    const x = ((e.clientX - rect.left) * c.width) / rect.width;
    const y = ((e.clientY - rect.top) * c.height) / rect.height;
    return replicaPositions(c.width, c.height, run.sim.replicas.length).findIndex((p) => Math.hypot(p.x - x, p.y - y) <= NODE_RADIUS);
  };
  c.onmousedown = (e) => {
    const r = hit(e);
    dragging = true;
    if (r < 0) { selected.clear(); return; }
    if (selected.has(r)) selected.delete(r); else selected.add(r);
  };
  c.onmousemove = (e) => { if (dragging) { const r = hit(e); if (r >= 0) selected.add(r); } };
  window.addEventListener('mouseup', () => { dragging = false; });
}

function legend(): void {
  $('legend').innerHTML = Object.entries(COMMAND_COLOURS)
    .map(([command, colour]) => `<span style="color:${colour}">■ ${COMMAND_NAMES[Number(command)]}</span>`).join('');
}

function fail(text: string): void {
  document.body.classList.add('violated');
  const banner = $('violation');
  banner.hidden = false;
  banner.textContent = text;
}

// For the browser test and the measurements: the same stepping and drawing the controls use.
const api = {
  ready: boot().then(() => true, (error: unknown) => { fail(String(error)); throw error; }),
  state: () => snapshot(),
  pause: () => { playing = false; draw(1); },
  play: (ticksPerSecond: number | 'max') => { speed = ticksPerSecond; playing = true; owed = 0; },
  runTo: (target: number) => {
    playing = false;
    while (run.sim.now < target && run.advance()) { /* step */ }
    draw(1);
    return snapshot();
  },
  rates: () => ({ ticksPerSecond: rates.tps, framesPerSecond: rates.fps, framesDrawn, drawMs }),
};
(globalThis as unknown as { viz: typeof api }).viz = api;
