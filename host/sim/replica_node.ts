// One simulated replica: a core.wasm instance over its own small shared memory, plus its disk, run by the
// shared driver (host/shared/replica-driver.ts) that the server runs too: the simulator injects its network as
// the bus and its disk as the storage. A crash drops the instance (volatile state gone) and tears pending writes;
// a restart instantiates afresh and replays the disk through the driver's recovery.
import { arenaUsed, initArena, instantiateVsr, setQuorumOverride, type RecoveryRefused, type VsrExports } from '../shared/vsr-abi.js';
import { CoreVsrConstants } from '../shared/core-abi.generated.js';
import { ReplicaDriver, type JournalWrite, type PersistState, type ReplicaIo } from '../shared/replica-driver.js';
import { Disk } from './disk.js';

export const REPLICA_PAGES = 48; // 3 MiB: static data + arena (log window, DVC store, outbox)
const ARENA_BASE = 65536;

export interface Effects {
  send(from: number, to: number, bytes: Uint8Array): void;
  requestState(replica: number, from: number, op: number): void; // the simulator transfers a peer's state
  reply(from: number, bytes: Uint8Array): void;
  commit(replica: number, prepare: Uint8Array): void;
}

export class ReplicaNode {
  core!: VsrExports;
  driver!: ReplicaDriver;
  alive = false;
  incarnation = 0;
  restartAt = -1;
  lastCommitMin = 0;
  arenaAfterCreate = 0; // the core allocates at creation only: __arena_used() must stay at this value
  private now = 0; // the tick of the event being handled: disk writes complete relative to it

  constructor(
    private module: WebAssembly.Module, public index: number, private replicas: number,
    private slots: number, public disk: Disk, private quorumOverride: number,
    private cluster: bigint, private group: bigint,
  ) {}

  get handle(): number { return this.driver.handle; }

  private instantiate(effects: Effects): void {
    const memory = new WebAssembly.Memory({ initial: REPLICA_PAGES, maximum: REPLICA_PAGES, shared: true });
    this.core = instantiateVsr(this.module, memory);
    initArena(this.core, ARENA_BASE, REPLICA_PAGES * 65536 - ARENA_BASE);
    setQuorumOverride(this.core, this.quorumOverride);
    this.driver = ReplicaDriver.create(this.core, memory, {
      cluster: this.cluster, group: this.group, replica: this.index, replicaCount: this.replicas, slots: this.slots, clientsMax: CoreVsrConstants.CLIENTS_MAX,
    }, this.io(effects));
    this.arenaAfterCreate = arenaUsed(this.core);
    this.alive = true;
    this.incarnation++;
    this.lastCommitMin = 0;
  }

  // The simulated network is the bus (it never refuses: it loses, delays, duplicates and corrupts instead), the
  // simulated disk the storage.
  private io(effects: Effects): ReplicaIo {
    const disk = this.disk;
    return {
      bus: { send: (to, message) => { effects.send(this.index, to, message); return true; } },
      storage: {
        write: (writes: JournalWrite[]) => {
          for (const w of writes) {
            if (w.headerOnly) disk.writeHeader(this.now, w.op, w.checksum, w.message);
            else disk.write(this.now, w.op, w.checksum, w.message);
          }
        },
        read: (op, done) => done(disk.journal.get(op) ?? null),
        requestState: (from, op) => effects.requestState(this.index, from, op),
        persist: (s: PersistState) => {
          disk.superblock = {
            view: s.view, logView: s.logView, commit: BigInt(s.commit), commitChecksum: s.commitChecksum,
            logHead: BigInt(s.logHead), logHeadChecksum: s.logHeadChecksum,
          };
        },
      },
      callbacks: {
        commit: (_op, prepare) => effects.commit(this.index, prepare),
        reply: (reply) => effects.reply(this.index, reply),
      },
    };
  }

  start(now: number, effects: Effects): void {
    this.now = now;
    this.instantiate(effects);
  }

  crash(): void {
    this.alive = false;
    this.disk.crash();
  }

  // Returns the core's refusal to start (a single replica whose journal lost acked ops); the node stays down then.
  restart(now: number, effects: Effects): RecoveryRefused | null {
    this.now = now;
    this.instantiate(effects);
    const sb = this.disk.superblock;
    const state = sb && { ...sb, commit: Number(sb.commit), logHead: Number(sb.logHead) };
    const disk = this.disk;
    const from = disk.snapshot;
    const ops = [...new Set([...disk.journal.keys(), ...disk.headers.keys()])].filter((op) => !from || op > from.op).sort((a, b) => a - b);
    const entries = ops.map((op) => ({ op, prepare: disk.journal.get(op) ?? new Uint8Array(0), header: disk.headers.get(op) ?? null }));
    const refusal = this.driver.recover(state, from, entries);
    if (refusal) {
      this.alive = false;
      return refusal;
    }
    this.driver.flush();
    return null;
  }

  // A restart after the disk was wiped (or before the transfer that followed it completed): nothing to replay, and
  // nothing to trust. The driver's recoverLost: it votes and acks nothing until it holds the cluster's state.
  restartLost(now: number, effects: Effects, nonce: bigint): void {
    this.now = now;
    this.disk.wipe(); // whatever it wrote since the wipe: the snapshot it installed may be half the story
    this.disk.wipes--;
    this.instantiate(effects);
    this.driver.recoverLost(nonce);
    this.driver.flush();
  }

  // The simulator's state transfer arrived: the peer's state up to op, durable here before the core hears of it.
  installState(now: number, op: number, checksum: bigint, clients: Uint8Array): void {
    this.now = now;
    if (this.driver.stateLost || op > this.driver.commitMin) this.disk.snapshot = { op, checksum, clients };
    this.driver.stateInstalled(op, checksum, clients);
    this.driver.flush();
  }

  deliver(now: number, bytes: Uint8Array, _effects?: Effects): void {
    this.now = now;
    this.driver.onMessage(bytes);
    this.driver.flush();
  }

  tick(now: number, _effects?: Effects): void {
    this.now = now;
    this.driver.tick();
    this.driver.flush();
  }

  // Writes are started as soon as the core asks (a flush after every event), so one that a completion triggers
  // may complete in this same tick, as a real disk's queue would.
  diskTick(now: number, _effects?: Effects): void {
    this.now = now;
    this.disk.tick(now, (op, checksum) => {
      this.driver.onJournalWriteDone(op, checksum);
      this.driver.flush();
    });
  }

  arenaGrowth(): number { return arenaUsed(this.core) - this.arenaAfterCreate; }
  commitMin(): number { return this.driver.commitMin; }
  commitMax(): number { return this.driver.commitMax; }
  op(): number { return this.driver.op; }
  viewNumber(): number { return this.driver.view; }
  status(): number { return this.driver.status; }
  isPrimary(): boolean { return this.driver.isPrimary; }
  stateLost(): boolean { return this.driver.stateLost; }
  clientTable(): Uint8Array { return this.driver.clientTable(); }
  commitChecksum(): bigint { return this.driver.commitChecksum; }
  viewChanges(): number { return this.driver.viewChanges; }
}
