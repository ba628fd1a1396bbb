// One simulated replica: a core.wasm instance over its own small shared memory, plus its disk. A crash drops
// the instance (volatile state gone) and tears pending writes; a restart instantiates afresh and replays the
// disk through the core's own recovery entry points (vsrRecoverBegin / vsrRecoverPrepare / vsrRecoverEnd).
import {
  Action, H, Prep, drainOutbox, instantiateVsr, recoveryRefusal, type RecoveryRefused, type VsrExports,
} from '../shared/vsr-abi.js';
import { Disk } from './disk.js';

export const CLIENTS_MAX = 64; // client table capacity per replica (the simulator's clients stay far below it)
export const REPLICA_PAGES = 48; // 3 MiB: static data + arena (log window, DVC store, outbox)
const ARENA_BASE = 65536;

export interface Effects {
  send(from: number, to: number, bytes: Uint8Array): void;
  reply(from: number, bytes: Uint8Array): void;
  commit(replica: number, prepare: Uint8Array): void;
}

export class ReplicaNode {
  core!: VsrExports;
  handle = 0;
  bytes!: Uint8Array;
  view!: DataView;
  alive = false;
  incarnation = 0;
  restartAt = -1;
  lastCommitMin = 0;
  arenaAfterCreate = 0; // the core allocates at creation only: __arena_used() must stay at this value

  constructor(
    private module: WebAssembly.Module, public index: number, private replicas: number,
    private slots: number, public disk: Disk, private quorumOverride: number,
    private cluster: bigint, private group: bigint,
  ) {}

  private instantiate(): void {
    const memory = new WebAssembly.Memory({ initial: REPLICA_PAGES, maximum: REPLICA_PAGES, shared: true });
    this.core = instantiateVsr(this.module, memory);
    if (this.core.staticDataEnd() >>> 0 > ARENA_BASE) throw new Error('core static data overlaps the arena');
    this.core.__arena_init(ARENA_BASE, REPLICA_PAGES * 65536 - ARENA_BASE);
    this.core.vsrDebugSetQuorumOverride(this.quorumOverride);
    this.handle = this.core.vsrCreate(this.cluster, this.group, this.index, this.replicas, this.slots, CLIENTS_MAX);
    this.arenaAfterCreate = this.core.__arena_used() >>> 0;
    this.bytes = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    this.alive = true;
    this.incarnation++;
    this.lastCommitMin = 0;
  }

  start(now: number, effects: Effects): void {
    this.instantiate();
    this.drain(now, effects);
  }

  crash(): void {
    this.alive = false;
    this.disk.crash();
  }

  // Returns the core's refusal to start (a single replica whose journal lost acked ops); the node stays down then.
  restart(now: number, effects: Effects): RecoveryRefused | null {
    this.instantiate();
    const sb = this.disk.superblock ?? { view: 0, logView: 0, commit: 0n, commitChecksum: 0n, logHead: 0n, logHeadChecksum: 0n };
    this.core.vsrRecoverBegin(this.handle, sb.view, sb.logView, sb.commit, sb.commitChecksum, sb.logHead, sb.logHeadChecksum);
    const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
    const headerAt = inbox + 1024; // the inbox holds MESSAGE_MAX bytes; a prepare is at most 512
    const ops = [...new Set([...this.disk.journal.keys(), ...this.disk.headers.keys()])].sort((a, b) => a - b);
    for (const op of ops) {
      const entry = this.disk.journal.get(op) ?? new Uint8Array(0);
      const header = this.disk.headers.get(op);
      this.bytes.set(entry, inbox);
      if (header) this.bytes.set(header, headerAt);
      this.core.vsrRecoverPrepare(this.handle, BigInt(op), inbox, entry.length, header ? headerAt : 0, header ? header.length : 0);
      this.drain(now, effects);
    }
    const refusal = recoveryRefusal(this.core, this.handle, this.core.vsrRecoverEnd(this.handle), this.group);
    if (refusal) {
      this.alive = false;
      return refusal;
    }
    this.drain(now, effects);
    return null;
  }

  deliver(now: number, bytes: Uint8Array, effects: Effects): void {
    const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
    this.bytes.set(bytes, inbox);
    this.core.vsrOnMessage(this.handle, inbox, bytes.length);
    this.drain(now, effects);
  }

  tick(now: number, effects: Effects): void {
    this.core.vsrOnTick(this.handle);
    this.drain(now, effects);
  }

  diskTick(now: number, effects: Effects): void {
    this.disk.tick(now, (op, checksum) => {
      this.core.vsrOnJournalWriteDone(this.handle, BigInt(op), checksum);
      this.drain(now, effects);
    });
  }

  // Performs the core's actions in order. Journal reads are answered after the outbox is drained (the answer
  // is a call into the core, which writes to the outbox again).
  drain(now: number, effects: Effects): void {
    const reads: [number, number][] = [];
    drainOutbox(this.core, this.handle, this.view, (kind, target, payload, length) => {
      // Copy out of shared memory (subarray + set: slice() on a SharedArrayBuffer view is several times slower).
      const message = new Uint8Array(length);
      message.set(this.bytes.subarray(payload, payload + length));
      if (kind === Action.Send) effects.send(this.index, target, message);
      else if (kind === Action.Reply) effects.reply(this.index, message);
      else if (kind === Action.JournalWrite) {
        const v = new DataView(message.buffer);
        this.disk.write(now, Number(v.getBigUint64(Prep.op, true)), v.getBigUint64(H.checksum, true), message);
      } else if (kind === Action.JournalWriteHeader) {
        const v = new DataView(message.buffer);
        this.disk.writeHeader(now, Number(v.getBigUint64(Prep.op, true)), v.getBigUint64(H.checksum, true), message);
      } else if (kind === Action.Commit) effects.commit(this.index, message);
      else if (kind === Action.Persist) {
        const v = new DataView(message.buffer);
        this.disk.superblock = {
          view: v.getUint32(0, true), logView: v.getUint32(4, true),
          commit: v.getBigUint64(8, true), commitChecksum: v.getBigUint64(16, true), logHead: v.getBigUint64(24, true),
          logHeadChecksum: v.getBigUint64(32, true),
        };
      } else if (kind === Action.JournalRead) {
        reads.push([Number(new DataView(message.buffer).getBigUint64(0, true)), target]);
      } else throw new Error(`unknown outbox action ${kind}`);
    });
    for (const [op, to] of reads) {
      const entry = this.disk.journal.get(op);
      if (!entry) continue;
      const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
      this.bytes.set(entry, inbox);
      this.core.vsrOnJournalRead(this.handle, BigInt(op), to, inbox, entry.length);
      this.drain(now, effects);
    }
  }

  arenaGrowth(): number { return (this.core.__arena_used() >>> 0) - this.arenaAfterCreate; }
  commitMin(): number { return this.core.vsrCommitMin(this.handle); }
  commitMax(): number { return this.core.vsrCommitMax(this.handle); }
  op(): number { return this.core.vsrOp(this.handle); }
  viewNumber(): number { return this.core.vsrView(this.handle) >>> 0; }
  status(): number { return this.core.vsrStatus(this.handle) >>> 0; }
  isPrimary(): boolean { return this.core.vsrIsPrimary(this.handle) !== 0; }
  viewChanges(): number { return this.core.vsrViewChanges(this.handle); }
}
