// Rings: one shard thread's ends of the SPSC rings between shards, the only host code that drives them
// (README "The core contract"). The core instance it wraps has been bound to its shard (Rings.bind): sends go
// from that shard, frames are received for it, and idling parks it on its doorbell. Stateless over the core, so
// the shard loop and its mailbox may each hold one.
import type { CoreExports } from './core.js';
import { DESCRIPTOR_BASE } from './layout.js';

export class Rings {
  constructor(private readonly core: CoreExports) {}

  // Makes `core` shard `shard` of the laid-out memory: its ring ends and its own arena for consensus groups.
  static bind(core: CoreExports, shard: number): Rings {
    core.shardInit(DESCRIPTOR_BASE, shard);
    core.__arena_init(core.shardArenaAddress(shard), core.shardArenaSize());
    return new Rings(core);
  }

  // The lane (inbox or reply) a frame of this variant and kind travels on.
  lane(variant: number, kind: number): number {
    return this.core.frameLane(variant, kind);
  }

  // Whether a frame with a payload of `payloadLen` bytes fits the ring towards `dst` now.
  fits(dst: number, variant: number, kind: number, payloadLen: number): boolean {
    return this.core.sendFits(dst, variant, kind, payloadLen);
  }

  // Reserves a frame towards `dst`: the address of its payload, 0 when the ring is full.
  begin(dst: number, variant: number, kind: number, correlation: number, payloadLen: number): number {
    return this.core.sendBegin(dst, variant, kind, correlation, payloadLen);
  }

  // Commits the reserved frame (with the payload length reserved, or a shorter one written in place).
  commit(payloadLen?: number): void {
    if (payloadLen === undefined) this.core.sendCommit();
    else this.core.sendCommitLength(payloadLen);
  }

  abort(): void {
    this.core.sendAbort();
  }

  // Sends a frame with no payload if the ring has room: whether it went.
  trySendEmpty(dst: number, variant: number, kind: number, correlation: number): boolean {
    if (this.core.sendBegin(dst, variant, kind, correlation, 0) === 0) return false;
    this.core.sendCommit();
    return true;
  }

  // The next inbound frame's address, 0 when none waits.
  receive(): number {
    return this.core.recvNext();
  }

  // Publishes the tails of everything sent and received since the last flush (and rings the peers' doorbells).
  flush(): void {
    this.core.shardFlush();
  }

  // After `spins` empty scans, announces sleep: true when the shard may wait on its doorbell from idleSeen().
  idle(spins: number): boolean {
    return this.core.shardIdle(spins);
  }

  idleSeen(): number {
    return this.core.shardIdleSeen();
  }

  awake(): void {
    this.core.shardAwake();
  }

  // Non-zero once the process asked every shard to stop (the reason).
  shutdownReason(): number {
    return this.core.shutdownReason();
  }
}
