// Simulated network: per-packet delay (reorders), loss, duplication, bit corruption, and partitions among
// replicas (symmetric, or asymmetric: one direction only). Addresses: replicas 0..R-1, clients R..R+K-1.
// Clients are never partitioned (they reach every replica, subject to loss), so a partition tests consensus.
import { Prng } from './prng.js';
import type { NetworkOptions } from './options.js';

export interface Packet {
  at: number;
  seq: number;
  from: number;
  to: number;
  bytes: Uint8Array;
}

export interface NetworkObserver {
  queued(now: number, packet: Packet): void;
  dropped(now: number, from: number, to: number, bytes: Uint8Array, why: 'loss' | 'partition'): void;
}

export class Network {
  private heap: Packet[] = [];
  private seq = 0;
  // blocked[from * n + to]: the link from → to is cut.
  private blocked: Uint8Array;
  partitionUntil = -1;
  partitionsInjected = 0;
  packetsSent = 0;
  packetsLost = 0;
  packetsDuplicated = 0;
  packetsCorrupted = 0;
  faultsOn = true;
  // Who draws packets (the visualiser): told of every packet queued and every one the network dropped.
  observer: NetworkObserver | null = null;

  constructor(private prng: Prng, public options: NetworkOptions, private replicas: number) {
    this.blocked = new Uint8Array(replicas * replicas);
  }

  // `bytes` must not be modified afterwards (packets share it; only a corrupted packet gets its own copy).
  send(now: number, from: number, to: number, bytes: Uint8Array): void {
    this.packetsSent++;
    if (from < this.replicas && to < this.replicas && this.blocked[from * this.replicas + to]) {
      this.observer?.dropped(now, from, to, bytes, 'partition');
      return;
    }
    const o = this.options;
    if (this.faultsOn && this.prng.chance(o.loss)) {
      this.packetsLost++;
      this.observer?.dropped(now, from, to, bytes, 'loss');
      return;
    }
    let packet = bytes;
    if (this.faultsOn && this.prng.chance(o.corrupt)) {
      this.packetsCorrupted++;
      packet = bytes.slice();
      const bit = this.prng.below(packet.length * 8);
      packet[bit >> 3] ^= 1 << (bit & 7);
    }
    this.push(now, from, to, packet);
    if (this.faultsOn && this.prng.chance(o.duplicate)) {
      this.packetsDuplicated++;
      this.push(now, from, to, packet);
    }
  }

  private push(now: number, from: number, to: number, bytes: Uint8Array): void {
    const delay = this.options.delayMin + Math.floor(this.prng.exponential(this.options.delayMean));
    const packet = { at: now + Math.max(1, delay), seq: this.seq++, from, to, bytes };
    this.heapPush(packet);
    this.observer?.queued(now, packet);
  }

  // For the state hash: the partition in force (one bit per cut link) and the packets queued, in heap order.
  get cutLinks(): Uint8Array {
    return this.blocked;
  }

  get queued(): readonly Packet[] {
    return this.heap;
  }

  // Next packet due at or before `now`, in (time, send order).
  pop(now: number): Packet | undefined {
    if (this.heap.length === 0 || this.heap[0].at > now) return undefined;
    return this.heapPop();
  }

  get inFlight(): number {
    return this.heap.length;
  }

  // Called every tick: starts and heals partitions.
  tick(now: number): void {
    if (this.partitionUntil >= 0 && now >= this.partitionUntil) this.heal();
    if (!this.faultsOn || this.partitionUntil >= 0 || this.replicas < 2) return;
    if (!this.prng.chance(this.options.partitionProb)) return;
    const sideA: boolean[] = [];
    let inA = 0;
    for (let r = 0; r < this.replicas; r++) { sideA.push(this.prng.chance(0.5)); if (sideA[r]) inA++; }
    if (inA === 0 || inA === this.replicas) sideA[this.prng.below(this.replicas)] = inA === 0;
    this.partition(sideA, this.prng.chance(this.options.asymmetric), now + 1 + Math.floor(this.prng.exponential(this.options.partitionMean)));
  }

  // Cuts side A from the rest (both directions, or only A → rest when asymmetric) until `until`.
  partition(sideA: boolean[], asymmetric: boolean, until: number): void {
    this.blocked.fill(0);
    for (let a = 0; a < this.replicas; a++) {
      for (let b = 0; b < this.replicas; b++) {
        if (sideA[a] && !sideA[b]) this.blocked[a * this.replicas + b] = 1;
        if (!asymmetric && !sideA[a] && sideA[b]) this.blocked[a * this.replicas + b] = 1;
      }
    }
    this.partitionUntil = until;
    this.partitionsInjected++;
  }

  heal(): void {
    this.blocked.fill(0);
    this.partitionUntil = -1;
  }

  private heapPush(p: Packet): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private heapPop(): Packet {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Packet, b: Packet): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
