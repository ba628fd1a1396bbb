import {
  RECORD_PREFIX, frameLength, ringAbort, ringBytes, ringCommit, ringCommitLength, ringDepth, ringFits, ringInit, ringMaxFrame,
  ringPeek, ringPublish, ringPublishTail, ringRelease, ringReserve, ringReservedFrame,
} from "../../assembly/ring";

const SLOT: u32 = 64;

let ring: usize = 0;
let doorbell: usize = 0;

function fresh(capacity: u32): void {
  if (ring != 0) heap.free(ring);
  ring = heap.alloc(ringBytes(capacity, SLOT));
  ringInit(ring, capacity, SLOT, doorbell, doorbell + 4);
}

function push(seq: u32, len: u32): bool {
  const frame = ringReserve(ring, len);
  if (frame == 0) return false;
  memory.fill(frame, <u8>seq, len);
  store<u32>(frame, seq);
  ringCommit(ring);
  return true;
}

// Pops one frame and returns its sequence number, or -1 when the ring is empty. Checks length and contents.
function pop(len: u32): i64 {
  const frame = ringPeek(ring);
  if (frame == 0) return -1;
  expect(frameLength(frame)).toBe(len);
  const seq = load<u32>(frame);
  let torn = 0;
  for (let i: u32 = 4; i < len; i++) if (load<u8>(frame + i) != <u8>seq) torn++;
  expect(torn).toBe(0);
  ringRelease(ring);
  return <i64>seq;
}

describe("SPSC frame ring", () => {
  beforeAll(() => {
    doorbell = heap.alloc(64);
    store<u32>(doorbell, 0);
    store<i32>(doorbell + 4, 0);
  });

  it("keeps frames invisible until published", () => {
    fresh(8);
    expect(push(1, 16)).toBe(true);
    expect(ringPeek(ring)).toBe(0);
    expect(ringPublish(ring)).toBe(true);
    expect(load<u32>(doorbell)).toBeGreaterThan(0);
    expect(pop(16)).toBe(1);
    expect(pop(16)).toBe(-1);
  });

  it("fits a frame of over half the ring even when its padding and the frame together exceed the ring", () => {
    fresh(8);
    const big = 5 * SLOT - RECORD_PREFIX; // 5 of 8 slots
    const small = 3 * SLOT - RECORD_PREFIX;
    expect(push(1, small)).toBe(true); // head at slot 3: 5 slots to the end
    expect(push(2, small)).toBe(true); // head at slot 6: 2 to the end, 2 + 5 > 8
    ringPublish(ring);
    expect(ringFits(ring, big)).toBe(false); // only 2 slots free
    expect(pop(small)).toBe(1);
    ringPublishTail(ring);
    expect(ringFits(ring, big)).toBe(false); // the padding is in; the frame needs 5 free slots, 3 are
    expect(pop(small)).toBe(2);
    ringPublishTail(ring);
    expect(ringFits(ring, big)).toBe(true);
    expect(push(3, big)).toBe(true);
    ringPublish(ring);
    expect(pop(big)).toBe(3);
  });

  it("wraps around many times in order", () => {
    fresh(8);
    let consumed: u32 = 0;
    for (let seq: u32 = 0; seq < 1000; seq++) {
      const len = 8 + (seq % 5) * 20; // 1 or 2 slots
      if (!push(seq, len)) {
        ringPublish(ring);
        while (true) {
          const got = pop(8 + (consumed % 5) * 20);
          if (got < 0) break;
          expect(got).toBe(consumed);
          consumed++;
        }
        ringPublishTail(ring);
        expect(push(seq, len)).toBe(true);
      }
    }
    ringPublish(ring);
    while (consumed < 1000) {
      expect(pop(8 + (consumed % 5) * 20)).toBe(consumed);
      consumed++;
    }
    expect(pop(8)).toBe(-1);
  });

  it("pads with a skip record when a multi-slot frame would straddle the end", () => {
    fresh(4);
    const big = 3 * SLOT - RECORD_PREFIX; // exactly 3 slots
    expect(push(1, 16)).toBe(true); // slot 0
    expect(push(2, 16)).toBe(true); // slot 1
    ringPublish(ring);
    expect(pop(16)).toBe(1);
    expect(pop(16)).toBe(2);
    ringPublishTail(ring);
    // head is at slot 2; 3 slots do not fit before the end, so slots 2-3 become a skip record. Until the consumer
    // has passed the skip, the frame does not fit at slot 0 either: the reservation fails (no blocking).
    expect(push(3, big)).toBe(false);
    ringPublish(ring);
    expect(pop(big)).toBe(-1); // consumes the skip record, finds no frame
    ringPublishTail(ring);
    expect(push(3, big)).toBe(true); // lands at slot 0
    ringPublish(ring);
    expect(pop(big)).toBe(3);
    expect(pop(16)).toBe(-1);
  });

  it("refuses a frame when full and accepts it once the consumer publishes its tail", () => {
    fresh(4);
    for (let i: u32 = 0; i < 4; i++) expect(push(i, 16)).toBe(true);
    expect(push(9, 16)).toBe(false);
    ringPublish(ring);
    expect(ringDepth(ring)).toBe(4);
    expect(pop(16)).toBe(0);
    expect(push(9, 16)).toBe(false); // tail not published yet: the producer cannot know
    ringPublishTail(ring);
    expect(push(9, 16)).toBe(true);
  });

  it("never accepts a frame larger than the ring", () => {
    fresh(4);
    expect(ringMaxFrame(ring)).toBe(4 * SLOT - RECORD_PREFIX);
    expect(ringReserve(ring, 4 * SLOT)).toBe(0);
    expect(push(1, 4 * SLOT - RECORD_PREFIX)).toBe(true);
  });

  it("commits a reservation cut to what was written and hands the unused slots back", () => {
    fresh(8);
    const frame = ringReserve(ring, 6 * SLOT - RECORD_PREFIX); // room for the largest answer: 6 of 8 slots
    expect(frame).not.toBe(0);
    expect(ringReservedFrame(ring)).toBe(frame);
    memory.fill(frame, 7, 40);
    store<u32>(frame, 7);
    ringCommitLength(ring, 40); // one slot used
    ringPublish(ring);
    expect(ringDepth(ring)).toBe(1);
    // The slots it did not use are free at once: 7 more one-slot frames fit beside it, the 8th does not.
    for (let i: u32 = 8; i < 15; i++) expect(push(i, 16)).toBe(true);
    expect(push(99, 16)).toBe(false);
    ringPublish(ring);
    expect(pop(40)).toBe(7);
    for (let i: u32 = 8; i < 15; i++) expect(pop(16)).toBe(<i64>i);
  });

  it("abandons a reservation without publishing anything", () => {
    fresh(8);
    expect(ringReserve(ring, 5 * SLOT - RECORD_PREFIX)).not.toBe(0);
    ringAbort(ring);
    expect(ringPublish(ring)).toBe(false);
    expect(ringPeek(ring)).toBe(0);
    expect(push(1, 16)).toBe(true); // the next frame takes the abandoned frame's place
    ringPublish(ring);
    expect(pop(16)).toBe(1);
  });
});
