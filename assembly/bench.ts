// Tight loops for `npm run bench:core`: one producer and one consumer on a single ring, whole loop in wasm,
// head/tail published once per BATCH frames. The producer copies every frame in from `source` and the consumer
// copies it out to `sink`, so the numbers include moving the bytes. Each frame carries its sequence number at
// both ends so the consumer can count frames that arrive out of order or torn.
import { ringCommit, ringPeek, ringPublish, ringPublishTail, ringRelease, ringReserve, frameLength, R_DOORBELL, R_SLEEPING } from "./ring";

// Publish every 256 frames: the server's shard loop drains and flushes at most 256 frames per turn too.
const BATCH: u32 = 256;

export function benchProduce(ring: usize, count: u32, frameLen: u32, source: usize): void {
  assert(frameLen >= 8, "bench frames carry an 8-byte sequence");
  let sinceFlush: u32 = 0;
  for (let seq: u32 = 0; seq < count; seq++) {
    let frame = ringReserve(ring, frameLen);
    while (frame == 0) {
      ringPublish(ring);
      sinceFlush = 0;
      frame = ringReserve(ring, frameLen);
    }
    memory.copy(frame, source, frameLen);
    store<u32>(frame, seq);
    store<u32>(frame + frameLen - 4, ~seq);
    ringCommit(ring);
    if (++sinceFlush == BATCH) {
      ringPublish(ring);
      sinceFlush = 0;
    }
  }
  ringPublish(ring);
}

// Returns how many frames were wrong (out of order, wrong length or torn).
export function benchConsume(ring: usize, count: u32, frameLen: u32, sink: usize): u32 {
  let bad: u32 = 0;
  let sinceFlush: u32 = 0;
  const doorbell = <usize>load<u32>(ring + R_DOORBELL);
  const sleeping = <usize>load<u32>(ring + R_SLEEPING);
  for (let seq: u32 = 0; seq < count; seq++) {
    let frame = ringPeek(ring);
    let spins: u32 = 0;
    while (frame == 0) {
      ringPublishTail(ring);
      sinceFlush = 0;
      if (++spins > 256) {
        const seen = atomic.load<i32>(doorbell);
        atomic.store<i32>(sleeping, 1);
        frame = ringPeek(ring);
        if (frame == 0) atomic.wait<i32>(doorbell, seen, 10_000_000);
        atomic.store<i32>(sleeping, 0);
        spins = 0;
        if (frame != 0) break;
      }
      frame = ringPeek(ring);
    }
    memory.copy(sink, frame, frameLen);
    if (frameLength(frame) != frameLen || load<u32>(sink) != seq || load<u32>(sink + frameLen - 4) != ~seq) bad++;
    ringRelease(ring);
    if (++sinceFlush == BATCH) {
      ringPublishTail(ring);
      sinceFlush = 0;
    }
  }
  ringPublishTail(ring);
  return bad;
}
