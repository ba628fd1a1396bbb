// One run in the page: the Simulator stepped frame by frame, plus what the views draw that the simulator does not
// keep (packets in flight, commit marks, the log, view changes seen) and the control events recorded so far.
// A control is scheduled at the current tick and recorded in the same form the URL carries, so the page and a
// replay of its link apply it at the same point of the same tick.
import type { SimControl, SimEvent } from '../../sim/events.js';
import { type ReplayLink, type RunSettings, encodeQuery, simOptions } from '../../sim/replay-link.js';
import { Simulator } from '../../sim/simulator.js';
import { Prep, Operation, Status } from '../../shared/vsr-abi.js';
import { COMMAND_NAMES, roleOf, type Role } from './palette.js';

export interface Flight {
  from: number;
  to: number;
  sentAt: number;
  at: number;
  command: number;
  lost: boolean;
}

export interface CommitMark {
  tick: number;
  op: number;
  client: number; // 0: a register or not a client request
  request: number;
}

const FLIGHTS_MAX = 4000;
const MARKS_MAX = 4000;
const LOG_MAX = 400;
export const HISTORY_TICKS = 600;

export class VizRun {
  readonly sim: Simulator;
  readonly events: SimEvent[];
  flights: Flight[] = [];
  readonly marks: CommitMark[][];
  readonly firstCommits: CommitMark[] = []; // the cluster's commits, once per op (the shard view routes these)
  readonly log: string[] = [];
  viewChanges = 0;
  readonly roleHistory: Role[][]; // per replica, one entry per tick (the last HISTORY_TICKS)
  private roles: Role[];
  private views: number[];
  private violationsLogged = 0;
  private highestCommitted = 0;

  constructor(module: WebAssembly.Module, readonly settings: RunSettings, replay: SimEvent[]) {
    this.sim = new Simulator(module, simOptions(settings));
    this.events = [...replay];
    this.sim.schedule(replay);
    this.marks = this.sim.replicas.map(() => []);
    this.roles = this.sim.replicas.map(() => 'backup');
    this.views = this.sim.replicas.map(() => 0);
    this.roleHistory = this.sim.replicas.map(() => []);
    this.sim.network.observer = {
      queued: (now, p) => this.fly({ from: p.from, to: p.to, sentAt: now, at: p.at, command: p.bytes[60], lost: false }),
      dropped: (now, from, to, bytes) => this.fly({ from, to, sentAt: now, at: now + 2, command: bytes[60], lost: true }),
    };
    this.sim.observer = {
      committed: (now, replica, prepare) => this.committed(now, replica, prepare),
      control: (now, event) => this.say(now, `control: ${describe(event)}`),
      ticked: () => this.watchRoles(),
    };
    this.watchRoles();
    this.say(0, `seed ${settings.seed}: ${settings.replicas} replicas, ${settings.clients} clients, faults ${settings.faults}, core ${settings.core}`);
  }

  get link(): ReplayLink {
    return { settings: this.settings, events: this.events };
  }

  get query(): string {
    return encodeQuery(this.link);
  }

  // Records a control and schedules it for the tick about to run.
  control(event: SimControl): void {
    const e = { ...event, tick: this.sim.now } as SimEvent;
    this.events.push(e);
    this.sim.schedule([e]);
  }

  advance(): boolean {
    const going = this.sim.advance();
    const violations = this.sim.checkers.violations;
    for (; this.violationsLogged < violations.length; this.violationsLogged++) this.say(this.sim.now, `VIOLATION ${violations[this.violationsLogged]}`);
    return going;
  }

  role(replica: number): Role {
    return this.roles[replica];
  }

  maxView(): number {
    return Math.max(0, ...this.sim.replicas.filter((n) => n.alive).map((n) => n.viewNumber()));
  }

  // Pruned in bulk, not per packet: a per-packet splice at the front of a full array cost more than the tick.
  private fly(flight: Flight): void {
    this.flights.push(flight);
    if (this.flights.length > FLIGHTS_MAX) {
      const now = this.sim.now;
      this.flights = this.flights.filter((f) => f.at >= now - 4);
      if (this.flights.length > FLIGHTS_MAX / 2) this.flights = this.flights.slice(-FLIGHTS_MAX / 2);
    }
  }

  private committed(now: number, replica: number, prepare: Uint8Array): void {
    const v = new DataView(prepare.buffer, prepare.byteOffset, prepare.byteLength);
    const op = Number(v.getBigUint64(Prep.op, true));
    const app = v.getUint8(Prep.operation) === Operation.App;
    const mark = {
      tick: now, op,
      client: app ? Number(v.getBigUint64(Prep.client, true)) : 0,
      request: app ? Number(v.getBigUint64(Prep.request, true)) : 0,
    };
    const marks = this.marks[replica];
    marks.push(mark);
    if (marks.length > 2 * MARKS_MAX) marks.splice(0, marks.length - MARKS_MAX);
    if (op > this.highestCommitted) { // the cluster's first commit of this op
      this.highestCommitted = op;
      this.firstCommits.push(mark);
      if (this.firstCommits.length > 2 * MARKS_MAX) this.firstCommits.splice(0, this.firstCommits.length - MARKS_MAX);
    }
  }

  // Role and view transitions, read from the cores after every tick (what the node colours show).
  private watchRoles(): void {
    const now = this.sim.now;
    for (const node of this.sim.replicas) {
      const role = roleOf(node.alive, node.alive ? node.status() : Status.Normal, node.alive && node.isPrimary());
      const view = node.alive ? node.viewNumber() : this.views[node.index];
      const was = this.roles[node.index];
      if (role !== was) {
        if (role === 'view change') this.viewChanges++;
        this.say(now, `r${node.index}: ${was} → ${role}${node.alive ? ` (view ${view}, op ${node.op()}, commit ${node.commitMin()})` : ''}`);
      } else if (view !== this.views[node.index]) {
        this.say(now, `r${node.index}: view ${this.views[node.index]} → ${view}`);
      }
      this.roles[node.index] = role;
      this.views[node.index] = view;
      const history = this.roleHistory[node.index];
      history.push(role);
      if (history.length > 2 * HISTORY_TICKS) history.splice(0, history.length - HISTORY_TICKS);
    }
  }

  say(tick: number, text: string): void {
    this.log.push(`${String(tick).padStart(6)}  ${text}`);
    if (this.log.length > LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
  }
}

export function commandName(command: number): string {
  return COMMAND_NAMES[command] ?? `command ${command}`;
}

function describe(e: SimEvent): string {
  switch (e.kind) {
    case 'crash': case 'restart': return `${e.kind} r${e.replica}`;
    case 'partition': return `partition {${sideList(e.sideA)}} ${e.oneWay ? '→' : '|'} rest`;
    case 'heal': return 'heal the network';
    case 'loss': case 'duplicate': return `${e.kind} ${(e.permille / 10).toFixed(1)}%`;
    case 'delay': return `mean extra delay ${(e.tenths / 10).toFixed(1)} ticks`;
    case 'corrupt': return `corrupt r${e.replica}'s journal entry for op ${e.op}`;
    case 'clients': return `add ${e.add} clients`;
  }
}

function sideList(mask: number): string {
  const out: string[] = [];
  for (let r = 0; mask >> r; r++) if (mask >> r & 1) out.push(`r${r}`);
  return out.join(',');
}
