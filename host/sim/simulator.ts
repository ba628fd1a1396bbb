// The deterministic cluster simulator: R replicas running the real core.wasm, K clients, a simulated network,
// disks and clock, fault injection, and the checkers. No Node-only imports: the browser visualiser runs this
// same loop (give it a compiled WebAssembly.Module).
//
// A run: `ticks` ticks with faults, then faults stop, partitions heal, crashed replicas restart, clients stop
// issuing new requests, and the cluster must converge (all replicas normal in one view, every op committed
// everywhere, every client answered) within `settleTicks`.
import { CoreRouter } from '../shared/core-abi.generated.js';
import { CoreAbort, Rep, Status, type RecoveryRefused } from '../shared/vsr-abi.js';
import { Checkers } from './checkers.js';
import { SimClient } from './clients.js';
import { Codec } from './codec.js';
import { Disk } from './disk.js';
import { applyEvent, type SimEvent } from './events.js';
import { Network } from './network.js';
import type { SimOptions } from './options.js';
import { Prng } from './prng.js';
import { ReplicaNode, type Effects } from './replica_node.js';
import { stateHash } from './state-hash.js';
import type { SimObserver } from './observer.js';

const CLUSTER = 0x5348_4152_444cn; // "SHARDL"
const GROUP = CoreRouter.METADATA_GROUP; // the metadata group's id; any group works

export interface SimResult {
  seed: number;
  pass: boolean;
  violations: string[];
  ticks: number;
  convergedAfter: number; // ticks after faults stopped, -1 if never
  opsCommitted: number;
  requestsAcked: number;
  maxView: number;
  viewChanges: number;
  crashes: number;
  partitions: number;
  packetsLost: number;
  packetsDuplicated: number;
  packetsCorrupted: number;
  tornWrites: number;
  lostWrites: number;
  bitflips: number;
  wipes: number; //          disks wiped on a crash (the replica recovered its state by transfer)
  stateTransfers: number; // state transfers installed (after a wipe, or a backup behind a checkpoint)
  duplicateRequests: number;
  cachedReplies: number;
  rejectedTooOld: number;
  wallMs: number;
}

export class Simulator {
  now = 0;
  readonly prng: Prng;
  readonly network: Network;
  readonly replicas: ReplicaNode[] = [];
  readonly clients: SimClient[] = [];
  readonly checkers: Checkers;
  faultsOn = true;
  crashes = 0;
  private corruptible: number;
  private effects: Effects;
  private maxView = 0;
  private viewChangesSeen = 0;
  private aborted = false;
  readonly refusals: RecoveryRefused[] = [];
  // For hosts that step the run themselves (the visualiser): control events still to apply, in tick order; the
  // checksum of each replica's last committed prepare (part of the state hash); and who draws what happens.
  private scheduled: SimEvent[] = [];
  readonly commitChecksums: bigint[] = [];
  observer: SimObserver | null = null;
  private codec: Codec;
  // State transfers on their way: the peer's state (op, checksum) reaches replica `to` at tick `at`, if it is
  // still the same incarnation.
  private transfers: { to: number; incarnation: number; at: number; op: number; checksum: bigint; clients: Uint8Array }[] = [];
  readonly wipePrng: Prng; // its own stream: runs without wipes draw exactly what they drew before
  stateTransfers = 0;

  constructor(module: WebAssembly.Module, readonly options: SimOptions) {
    const seed = options.seed;
    this.prng = new Prng(seed, 0x0001);
    this.wipePrng = new Prng(seed, 0x0003);
    this.network = new Network(new Prng(seed, 0x0002), options.network, options.replicas);
    this.checkers = new Checkers(options.replicas);
    const codec = new Codec(module, CLUSTER, GROUP);
    this.codec = codec;
    for (let r = 0; r < options.replicas; r++) {
      const disk = new Disk(new Prng(seed, 0x0100 + r), options.disk);
      this.replicas.push(new ReplicaNode(module, r, options.replicas, options.slots, disk, options.quorumOverride, CLUSTER, GROUP));
      this.commitChecksums.push(0n);
    }
    for (let c = 0; c < options.clients; c++) {
      this.clients.push(new SimClient(c + 1, options.replicas + c, codec, new Prng(seed, 0x0200 + c), this.checkers,
        options.requestBodyMax, options.duplicateRequests));
    }
    // Storage faults hit one replica only: more would exceed what f = 1 can survive.
    this.corruptible = this.prng.below(options.replicas);
    this.effects = {
      send: (from, to, bytes) => this.network.send(this.now, from, to, bytes),
      requestState: (replica, from, _op) => this.requestState(replica, from),
      reply: (from, bytes) => {
        const client = Number(new DataView(bytes.buffer).getBigUint64(Rep.client, true));
        if (client >= 1 && client <= this.clients.length) this.network.send(this.now, from, this.clients[client - 1].address, bytes);
      },
      commit: (replica, prepare) => {
        this.checkers.commit(replica, prepare);
        this.commitChecksums[replica] = new DataView(prepare.buffer, prepare.byteOffset).getBigUint64(0, true);
        this.observer?.committed(this.now, replica, prepare);
      },
    };
    for (const node of this.replicas) node.start(this.now, this.effects);
  }

  run(): SimResult {
    const started = performance.now();
    let convergedAfter = -1;
    try {
      for (; this.now < this.options.ticks && !this.aborted; ) this.step();
      if (!this.aborted) this.stopFaults(); // (it restarts the replicas that are down: one that refused stays so)
      for (let t = 0; t < this.options.settleTicks && !this.aborted; t++) {
        this.step();
        if (this.converged()) { convergedAfter = t; break; }
      }
    } catch (error) {
      if (!(error instanceof CoreAbort)) throw error;
      this.checkers.violation(`${error.message} (tick ${this.now})`);
    }
    if (convergedAfter < 0 && this.checkers.violations.length === 0) {
      this.checkers.violation(`liveness: not converged ${this.options.settleTicks} ticks after faults stopped (${this.describe()})`);
    }
    if (convergedAfter >= 0) this.checkers.finalCheck(this.replicas[0].commitMin());
    return this.result(convergedAfter, performance.now() - started);
  }

  step(): void {
    while (this.scheduled.length > 0 && this.scheduled[0].tick <= this.now) this.applyControl(this.scheduled.shift()!);
    this.options.script?.(this);
    if (this.faultsOn) this.injectFaults();
    this.network.tick(this.now);
    for (const node of this.replicas) {
      if (!node.alive && node.restartAt >= 0 && this.now >= node.restartAt) this.restart(node.index);
    }
    this.deliverTransfers();
    for (let p = this.network.pop(this.now); p; p = this.network.pop(this.now)) {
      if (p.to < this.replicas.length) {
        const node = this.replicas[p.to];
        if (node.alive) node.deliver(this.now, p.bytes, this.effects);
      } else {
        this.clients[p.to - this.replicas.length].onReply(p.bytes);
      }
    }
    for (const node of this.replicas) if (node.alive) node.diskTick(this.now, this.effects);
    for (const node of this.replicas) if (node.alive) node.tick(this.now, this.effects);
    const broadcast = (from: number, bytes: Uint8Array) => {
      for (let r = 0; r < this.replicas.length; r++) this.network.send(this.now, from, r, bytes);
    };
    for (const client of this.clients) client.tick(this.now, broadcast);
    this.observe();
    this.now++;
    this.observer?.ticked(this);
  }

  // One tick of run() for a host that steps the run itself: faults stop at `options.ticks` as in run(), a core
  // trap becomes a violation, and nothing happens once a violation stopped the run. False once stopped.
  advance(): boolean {
    if (this.aborted) return false;
    try {
      if (this.now === this.options.ticks && this.faultsOn) this.stopFaults();
      this.step();
    } catch (error) {
      if (!(error instanceof CoreAbort)) throw error;
      this.checkers.violation(`${error.message} (tick ${this.now})`);
      this.aborted = true;
    }
    return !this.aborted;
  }

  get stopped(): boolean {
    return this.aborted;
  }

  // Control events to apply at their ticks (merged with those already scheduled; same-tick order kept).
  schedule(events: readonly SimEvent[]): void {
    this.scheduled = [...this.scheduled, ...events].sort((a, b) => a.tick - b.tick);
  }

  private applyControl(event: SimEvent): void {
    applyEvent(this, event);
    this.observer?.control(this.now, event);
  }

  addClient(): SimClient {
    const c = this.clients.length;
    const client = new SimClient(c + 1, this.options.replicas + c, this.codec, new Prng(this.options.seed, 0x0200 + c),
      this.checkers, this.options.requestBodyMax, this.options.duplicateRequests);
    client.issuing = this.faultsOn; // once faults stopped, clients only finish what they sent
    this.clients.push(client);
    return client;
  }

  // A hash of everything that decides what happens next, printed by `npm run sim -- --hash-every N` and shown by
  // the visualiser at the same tick: equal hashes mean the two runs are the same run.
  stateHash(): string {
    return stateHash(this);
  }

  // Per-tick checks that need the cores' state.
  private observe(): void {
    for (const node of this.replicas) {
      if (!node.alive) continue;
      if (node.disk.lostMarker && !node.stateLost()) node.disk.lostMarker = false; // it holds the cluster's state
      const commit = node.commitMin();
      this.checkers.checkCommitRegress(node.index, node.lastCommitMin, commit);
      node.lastCommitMin = commit;
      const view = node.viewNumber();
      if (view > this.maxView) { this.viewChangesSeen += view - this.maxView; this.maxView = view; }
    }
    if (this.checkers.violations.length > 0) this.aborted = true;
  }

  private injectFaults(): void {
    const o = this.options;
    // At most f replicas down at once; a single replica may crash too (a full outage it must recover from).
    const f = o.replicas === 1 ? 1 : Math.floor((o.replicas - 1) / 2);
    const down = this.replicas.filter((n) => !n.alive).length;
    if (down < f && this.prng.chance(o.crash.prob)) {
      const alive = this.replicas.filter((n) => n.alive);
      const victim = alive[this.prng.below(alive.length)].index;
      this.crash(victim, this.now + this.prng.between(o.crash.downMin, o.crash.downMax));
      // Its disk too, sometimes: only the replica whose storage takes the faults (a wipe on one replica and bit flips
      // on another is two faulty replicas, beyond f = 1: an op acked by those two only is then gone), and only when
      // every other replica holds its state (f = 1 lost at a time).
      if (o.crash.wipe > 0 && victim === this.corruptible && this.wipePrng.chance(o.crash.wipe) && this.replicas.every((n) => n.index === victim || (n.alive && !n.disk.lostMarker))) {
        this.replicas[victim].disk.wipe();
      }
    }
    if (this.prng.chance(o.crash.clusterProb)) {
      for (const node of this.replicas) {
        if (node.alive) this.crash(node.index, this.now + this.prng.between(o.crash.downMin, 2 * o.crash.downMin));
      }
    }
    if (o.replicas > 1 && this.prng.chance(o.disk.bitflipProb)) this.replicas[this.corruptible].disk.bitflip();
  }

  crash(replica: number, restartAt = -1): void {
    const node = this.replicas[replica];
    if (!node.alive) return;
    node.crash();
    node.restartAt = restartAt;
    this.crashes++;
  }

  restart(replica: number): void {
    const node = this.replicas[replica];
    if (node.alive) return;
    node.restartAt = -1;
    this.checkers.restarted(replica);
    if (node.disk.lostMarker) {
      node.restartLost(this.now, this.effects, (BigInt(this.wipePrng.nextU32()) << 32n) | BigInt(this.wipePrng.nextU32()));
      return;
    }
    if (node.disk.snapshot) this.checkers.installed(replica, node.disk.snapshot.op); // replayed from there
    const refusal = node.restart(this.now, this.effects);
    if (refusal) {
      // The core's verdict, not a trap: named, with the ops it cannot give back. A failure of the run all the same
      // (the simulated disks lose only writes never reported done, so every acked op must come back).
      this.refusals.push(refusal);
      this.checkers.violation(`recovery refused: replica ${replica}: ${refusal.name}: ${refusal.message} (tick ${this.now})`);
      this.aborted = true;
    }
  }

  // The host side of a state transfer: replica `to` asked for `from`'s state. The snapshot is taken now (what the
  // peer has committed) and arrives transferTicks later. One transfer in flight per replica.
  private requestState(to: number, from: number): void {
    const source = this.replicas[from];
    if (!source?.alive || source.stateLost() || this.transfers.some((t) => t.to === to)) return;
    const node = this.replicas[to];
    this.transfers.push({ to, incarnation: node.incarnation, at: this.now + this.options.transferTicks, op: source.commitMin(), checksum: source.commitChecksum(), clients: source.clientTable() });
  }

  private deliverTransfers(): void {
    const due = this.transfers.filter((t) => t.at <= this.now);
    if (due.length === 0) return;
    this.transfers = this.transfers.filter((t) => t.at > this.now);
    for (const t of due) {
      const node = this.replicas[t.to];
      if (!node.alive || node.incarnation !== t.incarnation) continue;
      if (!node.stateLost() && t.op <= node.commitMin()) continue;
      this.stateTransfers++;
      this.checkers.installed(t.to, t.op); // before the core commits on from it
      if (t.op > 0) this.commitChecksums[t.to] = t.checksum;
      node.installState(this.now, t.op, t.checksum, t.clients);
    }
  }

  stopFaults(): void {
    this.faultsOn = false;
    this.network.faultsOn = false;
    this.network.heal();
    for (const node of this.replicas) if (!node.alive) this.restart(node.index);
    for (const client of this.clients) client.issuing = false;
  }

  primary(): ReplicaNode | undefined {
    return this.replicas.find((n) => n.alive && n.status() === Status.Normal && n.isPrimary());
  }

  converged(): boolean {
    if (this.clients.some((c) => c.outstanding !== null)) return false;
    const first = this.replicas[0];
    if (!first.alive) return false;
    const view = first.viewNumber();
    const commit = first.commitMin();
    for (const node of this.replicas) {
      if (!node.alive || node.status() !== Status.Normal || node.viewNumber() !== view) return false;
      if (node.commitMin() !== commit || node.op() !== commit) return false;
    }
    return commit >= this.checkers.maxAcked;
  }

  describe(): string {
    return this.replicas.map((n) => n.alive
      ? `r${n.index}: ${['normal', 'view_change', 'recovering'][n.status()]} v${n.viewNumber()} op ${n.op()} commit ${n.commitMin()}/${n.commitMax()}`
      : `r${n.index}: down`).join(', ') + `; clients waiting ${this.clients.filter((c) => c.outstanding).length}`;
  }

  private result(convergedAfter: number, wallMs: number): SimResult {
    const disks = this.replicas.map((n) => n.disk);
    const sum = (f: (c: SimClient) => number) => this.clients.reduce((a, c) => a + f(c), 0);
    return {
      seed: this.options.seed,
      pass: this.checkers.violations.length === 0,
      violations: this.checkers.violations,
      ticks: this.now,
      convergedAfter,
      opsCommitted: this.checkers.maxCommitted,
      requestsAcked: sum((c) => c.completed),
      maxView: this.maxView,
      viewChanges: this.viewChangesSeen,
      crashes: this.crashes,
      partitions: this.network.partitionsInjected,
      packetsLost: this.network.packetsLost,
      packetsDuplicated: this.network.packetsDuplicated,
      packetsCorrupted: this.network.packetsCorrupted,
      tornWrites: disks.reduce((a, d) => a + d.tornWrites, 0),
      lostWrites: disks.reduce((a, d) => a + d.lostWrites, 0),
      bitflips: disks.reduce((a, d) => a + d.bitflips, 0),
      wipes: disks.reduce((a, d) => a + d.wipes, 0),
      stateTransfers: this.stateTransfers,
      duplicateRequests: sum((c) => c.duplicatesSent),
      cachedReplies: sum((c) => c.cachedReplies),
      rejectedTooOld: sum((c) => c.rejectedTooOld),
      wallMs,
    };
  }
}
