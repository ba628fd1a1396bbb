// The state hash of a run at a tick: every replica's liveness, status, view, op, commits and the checksum of its
// last committed prepare, its disk's fill, the network's queue and partition, the clients' progress and the
// checkers' counts. Two hosts that print the same hash at the same tick ran the same run (the Node simulator's
// `--hash-every` and the visualiser both call this). 64 bits as 16 hex digits: two 32-bit FNV-1a lanes.
import type { Simulator } from './simulator.js';

class Fnv2x32 {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  word(value: number): void {
    const v = value >>> 0;
    for (let shift = 0; shift < 32; shift += 8) {
      const byte = (v >>> shift) & 0xff;
      this.a = Math.imul(this.a ^ byte, 0x01000193) >>> 0;
      this.b = Math.imul(this.b ^ byte ^ 0xa5, 0x01000193) >>> 0;
    }
  }

  // Non-negative integers below 2^53 (ops, counters) as two words.
  number(value: number): void {
    this.word(value % 0x100000000);
    this.word(Math.floor(value / 0x100000000));
  }

  big(value: bigint): void {
    this.word(Number(value & 0xffffffffn));
    this.word(Number(value >> 32n & 0xffffffffn));
  }

  hex(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}

export function stateHash(sim: Simulator): string {
  const h = new Fnv2x32();
  h.number(sim.now);
  for (const node of sim.replicas) {
    h.word(node.alive ? 1 : 0);
    h.number(node.incarnation);
    if (node.alive) {
      h.word(node.status());
      h.word(node.viewNumber());
      h.number(node.op());
      h.number(node.commitMin());
      h.number(node.commitMax());
    }
    h.big(sim.commitChecksums[node.index]);
    h.number(node.disk.journal.size);
    h.number(node.disk.headers.size);
  }
  const network = sim.network;
  h.number(network.packetsSent);
  h.number(network.queued.length);
  for (const p of network.queued) { h.number(p.at); h.number(p.seq); h.word(p.from); h.word(p.to); h.word(p.bytes.length); }
  for (const cut of network.cutLinks) h.word(cut);
  for (const client of sim.clients) { h.number(client.nextRequest); h.number(client.completed); h.big(client.session); }
  h.number(sim.checkers.commits);
  h.number(sim.checkers.maxCommitted);
  h.word(sim.checkers.violations.length);
  return h.hex();
}
