// One shard's view of the mesh: sending frames to any shard (try-send-or-drop), draining its own inbound rings,
// and going idle without missing a wake-up. Per-instance globals hold the shard id; everything shared is in the
// regions the layout descriptor names.
import {
  C_SHUTDOWN, CONTROL_BLOCK_SIZE, D_INBOX_CAPACITY, D_METRICS_BASE, D_METRICS_STRIDE, D_OWNERS_BASE, D_REPLY_CAPACITY,
  D_SHARD_CTL_BASE, D_SLOT_SIZE, LANE_INBOX, LANE_REPLY, S_CPU, S_DOORBELL, S_SLEEPING, SHARD_CTL_SIZE, control,
  field, ringAddress, shardCount, shardCtl, useDescriptor,
} from "./layout";
import {
  ringAbort, ringCommit, ringCommitLength, ringFits, ringHasData, ringReservedFrame, ringInit, ringPeek, ringPublish, ringPublishTail, ringRelease, ringReserve, ringMaxFrame,
  frameLength,
} from "./ring";
import {
  DROP_REASON_FULL, DROP_REASON_MISROUTED, DROP_REASON_OVERSIZE, DROP_REASON_UNROUTABLE,
  F_CORRELATION, F_FLAGS, F_GROUP, F_AUX, F_KIND, F_PAYLOAD_LEN, F_SOURCE, F_TARGET, F_VARIANT, FRAME_HEADER,
  dropVariantOf, frameIsValidKind, laneOf,
} from "./frame";
import { countDrop, countReceived, countSent } from "./metrics";
import { ownersInit } from "./owners";

const NO_SHARD: u32 = 0xffffffff;

let self: u32 = NO_SHARD;
let reservedRing: usize = 0;
let currentRing: usize = 0; // inbound ring whose frame recvNext last returned
let cursor: u32 = 0; // next inbound ring index to look at, over 2 * shards (inbox lanes, then reply lanes)

// Main thread, once, before any worker starts: rings, owner table, counters, control words.
export function layoutInit(descriptor: usize): void {
  useDescriptor(descriptor);
  const n = shardCount();
  if (n < 1 || n > 0xffff) unreachable(); // a corrupt descriptor: never lay rings over unknown memory
  memory.fill(control(C_SHUTDOWN), 0, CONTROL_BLOCK_SIZE - C_SHUTDOWN);
  memory.fill(<usize>field(D_SHARD_CTL_BASE), 0, <usize>n * SHARD_CTL_SIZE);
  memory.fill(<usize>field(D_METRICS_BASE), 0, <usize>n * <usize>field(D_METRICS_STRIDE));
  const slot = field(D_SLOT_SIZE);
  for (let dst: u32 = 0; dst < n; dst++) {
    const ctl = shardCtl(dst);
    store<i32>(ctl + S_CPU, -1);
    for (let src: u32 = 0; src < n; src++) {
      ringInit(ringAddress(src, dst, LANE_INBOX), field(D_INBOX_CAPACITY), slot, ctl + S_DOORBELL, ctl + S_SLEEPING);
      ringInit(ringAddress(src, dst, LANE_REPLY), field(D_REPLY_CAPACITY), slot, ctl + S_DOORBELL, ctl + S_SLEEPING);
    }
  }
  ownersInit(<usize>field(D_OWNERS_BASE));
}

// Each worker, once, after instantiating the core.
export function shardInit(descriptor: usize, shard: u32): void {
  useDescriptor(descriptor);
  if (shard >= shardCount()) unreachable(); // checked in every build: ring addresses would leave the ring region
  self = shard;
  reservedRing = 0;
  currentRing = 0;
  cursor = 0;
}

export function selfShard(): u32 {
  return self;
}

// Reserves a frame for `dst` and writes its header (group and aux zero: the sender sets them through
// frameSetGroup / frameSetAux when the kind has them). Returns the payload address to fill, then call
// sendCommit; or 0 when the frame was dropped (counted in frame_drops_total): unknown shard, full ring, or too large.
export function sendBegin(dst: u32, variant: u32, kind: u32, correlation: u32, payloadLen: u32): usize {
  if (self == NO_SHARD || !frameIsValidKind(variant, kind)) unreachable(); // a host bug, in every build
  const dropVariant = dropVariantOf(variant, kind);
  if (dst >= shardCount()) {
    countDrop(self, dropVariant, DROP_REASON_UNROUTABLE);
    return 0;
  }
  const ring = ringAddress(self, dst, laneOf(variant, kind));
  const frameLen = FRAME_HEADER + payloadLen;
  if (payloadLen > ringMaxFrame(ring) - FRAME_HEADER) {
    countDrop(self, dropVariant, DROP_REASON_OVERSIZE);
    return 0;
  }
  const frame = ringReserve(ring, frameLen);
  if (frame == 0) {
    countDrop(self, dropVariant, DROP_REASON_FULL);
    return 0;
  }
  store<u8>(frame + F_VARIANT, <u8>variant);
  store<u8>(frame + F_KIND, <u8>kind);
  store<u16>(frame + F_TARGET, <u16>dst);
  store<u16>(frame + F_SOURCE, <u16>self);
  store<u16>(frame + F_FLAGS, 0);
  store<u32>(frame + F_PAYLOAD_LEN, payloadLen);
  store<u32>(frame + F_CORRELATION, correlation);
  store<u64>(frame + F_GROUP, 0);
  store<u64>(frame + F_AUX, 0);
  reservedRing = ring;
  return frame + FRAME_HEADER;
}

// True when sendBegin(dst, variant, kind, _, payloadLen) would reserve now. Used by senders that queue instead of
// dropping (messages between shards that carry client requests and their replies).
export function sendFits(dst: u32, variant: u32, kind: u32, payloadLen: u32): bool {
  if (self == NO_SHARD || !frameIsValidKind(variant, kind) || dst >= shardCount()) return false;
  return ringFits(ringAddress(self, dst, laneOf(variant, kind)), FRAME_HEADER + payloadLen);
}

export function sendCommit(): void {
  assert(reservedRing != 0, "sendCommit without sendBegin");
  ringCommit(reservedRing);
  reservedRing = 0;
  countSent(self);
}

// sendCommit for a frame whose payload came out shorter than sendBegin reserved (written in place, e.g. a read
// straight into the ring): `payloadLen` ≤ the reserved payload.
export function sendCommitLength(payloadLen: u32): void {
  assert(reservedRing != 0, "sendCommitLength without sendBegin");
  const frame = ringReservedFrame(reservedRing);
  assert(payloadLen <= load<u32>(frame + F_PAYLOAD_LEN), "sendCommitLength: payload longer than reserved");
  store<u32>(frame + F_PAYLOAD_LEN, payloadLen);
  ringCommitLength(reservedRing, FRAME_HEADER + payloadLen);
  reservedRing = 0;
  countSent(self);
}

// Gives up the frame sendBegin reserved (the writer found it could not fill it); nothing is sent or counted.
export function sendAbort(): void {
  assert(reservedRing != 0, "sendAbort without sendBegin");
  ringAbort(reservedRing);
  reservedRing = 0;
}

// Publishes everything this shard produced and consumed since the last flush: one atomic store per ring that
// changed, and one doorbell per consumer that has news.
export function shardFlush(): void {
  const n = shardCount();
  for (let peer: u32 = 0; peer < n; peer++) {
    ringPublish(ringAddress(self, peer, LANE_INBOX));
    ringPublish(ringAddress(self, peer, LANE_REPLY));
    ringPublishTail(ringAddress(peer, self, LANE_INBOX));
    ringPublishTail(ringAddress(peer, self, LANE_REPLY));
  }
}

// @ts-ignore: decorator
@inline function inboundRing(index: u32, n: u32): usize {
  return index < n ? ringAddress(index, self, LANE_INBOX) : ringAddress(index - n, self, LANE_REPLY);
}

// Returns the next inbound frame (header address), or 0 when every inbound ring is empty. The previous frame is
// released first, so a frame is valid only until the next call. Rings are visited round-robin, one frame each.
// A frame addressed to another shard is a routing bug: it traps in debug builds and is dropped (counted as
// `misrouted`) in release builds.
export function recvNext(): usize {
  assert(self != NO_SHARD, "recvNext before shardInit");
  if (currentRing != 0) {
    ringRelease(currentRing);
    currentRing = 0;
  }
  const n = shardCount();
  const rings = n << 1;
  for (let visited: u32 = 0; visited < rings; visited++) {
    const index = cursor;
    cursor = cursor + 1 == rings ? 0 : cursor + 1;
    const ring = inboundRing(index, n);
    const frame = ringPeek(ring);
    if (frame == 0) continue;
    assert(frameLength(frame) == FRAME_HEADER + load<u32>(frame + F_PAYLOAD_LEN), "recvNext: frame length mismatch");
    const target = <u32>load<u16>(frame + F_TARGET);
    if (target != self) {
      assert(false, "recvNext: misrouted frame (target shard is not this shard)");
      countDrop(self, dropVariantOf(load<u8>(frame + F_VARIANT), load<u8>(frame + F_KIND)), DROP_REASON_MISROUTED);
      ringRelease(ring);
      continue;
    }
    currentRing = ring;
    countReceived(self);
    return frame;
  }
  return 0;
}

function anyInbound(): bool {
  const n = shardCount();
  for (let i: u32 = 0; i < (n << 1); i++) if (ringHasData(inboundRing(i, n))) return true;
  return false;
}

export function shutdownReason(): u32 {
  return atomic.load<u32>(control(C_SHUTDOWN));
}

let idleSeen: i32 = 0;

// Called when recvNext found nothing. Spins briefly; if still nothing, announces that this shard is going to
// wait and returns true: the caller then waits until the doorbell word differs from shardIdleSeen() (futex or
// Atomics.waitAsync) and calls shardAwake. Returns false if work or a shutdown request showed up.
// The doorbell is read before the announcement and the rings re-checked after it, so a producer either sees the
// announcement (and notifies) or its frame is seen by the re-check: no lost wake-up.
export function shardIdle(spins: u32): bool {
  const ctl = shardCtl(self);
  for (let i: u32 = 0; i < spins; i++) {
    if (anyInbound() || shutdownReason() != 0) return false;
  }
  idleSeen = atomic.load<i32>(ctl + S_DOORBELL);
  atomic.store<i32>(ctl + S_SLEEPING, 1);
  if (anyInbound() || shutdownReason() != 0) {
    atomic.store<i32>(ctl + S_SLEEPING, 0);
    return false;
  }
  return true;
}

export function shardIdleSeen(): i32 {
  return idleSeen;
}

export function shardAwake(): void {
  atomic.store<i32>(shardCtl(self) + S_SLEEPING, 0);
}

// Any thread: set the shutdown word (first reason wins) and wake every shard.
export function requestShutdown(reason: u32): u32 {
  assert(reason != 0, "shutdown reason must be non-zero");
  const previous = atomic.cmpxchg<u32>(control(C_SHUTDOWN), 0, reason);
  const n = shardCount();
  for (let shard: u32 = 0; shard < n; shard++) {
    const doorbell = shardCtl(shard) + S_DOORBELL;
    atomic.add<u32>(doorbell, 1);
    atomic.notify(doorbell, 1);
  }
  return previous == 0 ? reason : previous;
}
