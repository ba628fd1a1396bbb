// Simulated disk of one replica: a journal of prepares keyed by op, a redundant header per op (written after
// the prepare, as TigerBeetle's WAL header ring), and a superblock. Writes complete in order (FIFO) after a
// random latency; the core hears onJournalWriteDone once both the prepare and its header are written. A crash
// loses or tears the writes still pending (never one reported done); what they would have overwritten stays, so
// an op prepared again after a recovery dropped it can be left with its new prepare torn and its OLD header. Bit flips corrupt prepares at rest. The superblock write is atomic
// and synchronous (the core's persist action is a barrier in front of its later sends).
import { HEADER_SIZE } from '../shared/vsr-abi.js';
import { Prng } from './prng.js';
import type { DiskOptions } from './options.js';

export interface Superblock {
  view: number;
  logView: number;
  commit: bigint;
  commitChecksum: bigint;
  logHead: bigint;
  logHeadChecksum: bigint;
}

interface PendingWrite {
  op: number;
  checksum: bigint;
  bytes: Uint8Array;
  header: boolean; // the redundant header write, which completes the journal write
  doneAt: number;
}

export class Disk {
  journal = new Map<number, Uint8Array>();
  headers = new Map<number, Uint8Array>();
  superblock: Superblock | null = null;
  // The state-transfer snapshot installed here (the state machine holds every op up to it); journal entries at or
  // below it are not replayed.
  snapshot: { op: number; checksum: bigint; clients: Uint8Array } | null = null;
  // Set (durably, first) when the disk was wiped, cleared once the replica holds the cluster's state again: a
  // restart in between must recover as a replica that lost its state, whatever it wrote meanwhile.
  lostMarker = false;
  wipes = 0;
  private pending: PendingWrite[] = [];
  private lastDoneAt = 0;
  tornWrites = 0;
  lostWrites = 0;
  bitflips = 0;
  // Crashes that tore or lost a prepare's rewrite while the header ring kept an older prepare's header for that op
  // (a recovery dropped the op from its uncommitted tail, then it was prepared again): what recovery must not take
  // for a completed write.
  staleHeadersExposed = 0;

  constructor(private prng: Prng, private options: DiskOptions) {}

  write(now: number, op: number, checksum: bigint, bytes: Uint8Array): void {
    const latency = this.prng.between(this.options.latencyMin, Math.max(this.options.latencyMin, this.options.latencyMax));
    this.lastDoneAt = Math.max(this.lastDoneAt, now + latency);
    this.pending.push({ op, checksum, bytes, header: false, doneAt: this.lastDoneAt });
    this.pending.push({ op, checksum, bytes: bytes.slice(0, HEADER_SIZE), header: true, doneAt: this.lastDoneAt });
  }

  // Rewrites only the redundant header of a prepare already written (a view change confirming it).
  writeHeader(now: number, op: number, checksum: bigint, header: Uint8Array): void {
    const latency = this.prng.between(this.options.latencyMin, Math.max(this.options.latencyMin, this.options.latencyMax));
    this.lastDoneAt = Math.max(this.lastDoneAt, now + latency);
    this.pending.push({ op, checksum, bytes: header, header: true, doneAt: this.lastDoneAt });
  }

  // Completes due writes in order; `done` is called for each.
  tick(now: number, done: (op: number, checksum: bigint) => void): void {
    while (this.pending.length > 0 && this.pending[0].doneAt <= now) {
      const w = this.pending.shift()!;
      if (!w.header) { this.journal.set(w.op, w.bytes); continue; }
      this.headers.set(w.op, w.bytes);
      done(w.op, w.checksum);
    }
  }

  crash(): void {
    // A header write is only issued once its prepare is written: if the prepare did not make it, neither did it.
    const unfinished = new Set<number>();
    for (const w of this.pending) {
      const store = w.header ? this.headers : this.journal;
      if (w.header && unfinished.has(w.op)) { this.lostWrites++; continue; }
      const roll = this.prng.float();
      if (!w.header && roll < this.options.lostOnCrash + this.options.tornOnCrash) {
        const old = this.headers.get(w.op);
        if (old && new DataView(old.buffer, old.byteOffset).getBigUint64(0, true) !== w.checksum) this.staleHeadersExposed++;
      }
      if (roll < this.options.lostOnCrash) {
        this.lostWrites++;
        unfinished.add(w.op);
      } else if (roll < this.options.lostOnCrash + this.options.tornOnCrash) {
        this.tornWrites++;
        unfinished.add(w.op);
        const torn = w.bytes.slice();
        torn.fill(0, this.prng.below(torn.length)); // the tail never reached the platter
        store.set(w.op, torn);
      } else {
        store.set(w.op, w.bytes); // it made it after all, unacknowledged
      }
    }
    this.pending = [];
    this.lastDoneAt = 0;
  }

  // The whole disk is gone (replaced, or its data directory deleted); the replica is down.
  wipe(): void {
    this.pending = [];
    this.lastDoneAt = 0;
    this.journal.clear();
    this.headers.clear();
    this.superblock = null;
    this.snapshot = null;
    this.lostMarker = true;
    this.wipes++;
  }

  bitflip(): void {
    if (this.journal.size === 0) return;
    const ops = [...this.journal.keys()];
    const op = ops[this.prng.below(ops.length)];
    const bytes = this.journal.get(op)!.slice();
    const bit = this.prng.below(bytes.length * 8);
    bytes[bit >> 3] ^= 1 << (bit & 7);
    this.journal.set(op, bytes);
    this.bitflips++;
  }

  corruptOp(op: number): boolean {
    const bytes = this.journal.get(op);
    if (!bytes) return false;
    const copy = bytes.slice();
    copy[200] ^= 0x10;
    this.journal.set(op, copy);
    this.bitflips++;
    return true;
  }
}
