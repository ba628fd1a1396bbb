import { layoutPlan, ringAddress, LANE_INBOX } from "../../assembly/layout";
import {
  layoutInit, recvNext, requestShutdown, sendAbort, sendBegin, sendCommit, sendCommitLength, shardFlush, shardIdle, shardInit, shutdownReason,
} from "../../assembly/shard";
import {
  DROP_REASON_FULL, DROP_REASON_OVERSIZE, DROP_REASON_UNROUTABLE, DROP_VARIANT_LIFECYCLE, DROP_VARIANT_PARTITION,
  CONSENSUS_PARTITION, F_KIND, F_PAYLOAD_LEN, F_SOURCE, F_TARGET, F_CORRELATION, F_VARIANT, FRAME_HEADER, LIFECYCLE_PING,
  LIFECYCLE_PONG, VARIANT_CONSENSUS, VARIANT_LIFECYCLE,
} from "../../assembly/frame";
import { dropCount } from "../../assembly/metrics";
import { ringCommit, ringPublish, ringReserve } from "../../assembly/ring";

const SHARDS: u32 = 3;
const CAPACITY: u32 = 8;
const SLOT: u32 = 128;
let region: usize = 0;
let descriptor: usize = 0;

function plan(): void {
  if (region == 0) region = heap.alloc(1 << 20);
  descriptor = (region + 63) & ~(<usize>63);
  const end = layoutPlan(descriptor, descriptor + 1024, SHARDS, CAPACITY, CAPACITY, SLOT, 0, 0, 0);
  assert(end != 0 && end <= region + (1 << 20), "test region too small");
  layoutInit(descriptor);
}

function send(from: u32, to: u32, kind: u8, correlation: u32): bool {
  shardInit(descriptor, from);
  const payload = sendBegin(to, VARIANT_LIFECYCLE, kind, correlation, 4);
  if (payload == 0) return false;
  store<u32>(payload, from * 100 + to);
  sendCommit();
  shardFlush();
  return true;
}

describe("shard mesh", () => {
  beforeEach(() => {
    plan();
  });

  it("every ordered pair exchanges a ping on the inbox lane and a pong on the reply lane", () => {
    for (let s: u32 = 0; s < SHARDS; s++) {
      for (let d: u32 = 0; d < SHARDS; d++) {
        expect(send(s, d, LIFECYCLE_PING, s * 10 + d)).toBe(true);
        shardInit(descriptor, d);
        const ping = recvNext();
        expect(ping).not.toBe(0);
        expect(load<u8>(ping + F_KIND)).toBe(LIFECYCLE_PING);
        expect(<u32>load<u16>(ping + F_SOURCE)).toBe(s);
        expect(<u32>load<u16>(ping + F_TARGET)).toBe(d);
        expect(load<u32>(ping + FRAME_HEADER)).toBe(s * 100 + d);
        const correlation = load<u32>(ping + F_CORRELATION);
        expect(recvNext()).toBe(0);
        shardFlush();
        expect(send(d, s, LIFECYCLE_PONG, correlation)).toBe(true);
        shardInit(descriptor, s);
        const pong = recvNext();
        expect(pong).not.toBe(0);
        expect(load<u8>(pong + F_KIND)).toBe(LIFECYCLE_PONG);
        expect(load<u32>(pong + F_CORRELATION)).toBe(s * 10 + d);
        expect(recvNext()).toBe(0);
        shardFlush();
      }
    }
  });

  it("drops on a full ring without blocking and counts frame_drops_total{variant,reason=full}", () => {
    let sent: u32 = 0;
    shardInit(descriptor, 0);
    for (let i: u32 = 0; i < CAPACITY + 5; i++) {
      const payload = sendBegin(1, VARIANT_CONSENSUS, CONSENSUS_PARTITION, i, 16);
      if (payload != 0) {
        sendCommit();
        sent++;
      }
    }
    expect(sent).toBe(CAPACITY);
    expect(dropCount(0, DROP_VARIANT_PARTITION, DROP_REASON_FULL)).toBe(5);
    expect(dropCount(1, DROP_VARIANT_PARTITION, DROP_REASON_FULL)).toBe(0);
    shardFlush();
    shardInit(descriptor, 1);
    let received: u32 = 0;
    while (recvNext() != 0) received++;
    shardFlush();
    expect(received).toBe(CAPACITY);
    shardInit(descriptor, 0);
    expect(sendBegin(1, VARIANT_CONSENSUS, CONSENSUS_PARTITION, 0, 16)).not.toBe(0);
    sendCommit();
  });

  it("sends a frame written in place with the payload length it came out at, or abandons it", () => {
    shardInit(descriptor, 0);
    const big = 5 * SLOT; // reserved for the largest answer
    const payload = sendBegin(1, VARIANT_LIFECYCLE, LIFECYCLE_PONG, 42, big);
    expect(payload).not.toBe(0);
    store<u32>(payload, 0xfeed);
    sendCommitLength(8);
    const abandoned = sendBegin(1, VARIANT_LIFECYCLE, LIFECYCLE_PONG, 43, big);
    expect(abandoned).not.toBe(0);
    sendAbort();
    expect(send(0, 1, LIFECYCLE_PONG, 44)).toBe(true);
    shardInit(descriptor, 1);
    const first = recvNext();
    expect(load<u32>(first + F_CORRELATION)).toBe(42);
    expect(load<u32>(first + F_PAYLOAD_LEN)).toBe(8);
    expect(load<u32>(first + FRAME_HEADER)).toBe(0xfeed);
    const second = recvNext();
    expect(load<u32>(second + F_CORRELATION)).toBe(44); // the abandoned frame was never sent
    expect(recvNext()).toBe(0);
    shardFlush();
  });

  it("counts unroutable and oversize frames", () => {
    shardInit(descriptor, 2);
    expect(sendBegin(SHARDS, VARIANT_LIFECYCLE, LIFECYCLE_PING, 0, 4)).toBe(0);
    expect(dropCount(2, DROP_VARIANT_LIFECYCLE, DROP_REASON_UNROUTABLE)).toBe(1);
    expect(sendBegin(0, VARIANT_LIFECYCLE, LIFECYCLE_PING, 0, CAPACITY * SLOT)).toBe(0);
    expect(dropCount(2, DROP_VARIANT_LIFECYCLE, DROP_REASON_OVERSIZE)).toBe(1);
  });

  it("traps on a frame delivered to the wrong shard (debug build)", () => {
    // Forge a frame in ring 0 -> 1 whose header says it is for shard 2.
    const ring = ringAddress(0, 1, LANE_INBOX);
    const frame = ringReserve(ring, FRAME_HEADER);
    memory.fill(frame, 0, FRAME_HEADER);
    store<u8>(frame + F_VARIANT, VARIANT_LIFECYCLE);
    store<u8>(frame + F_KIND, LIFECYCLE_PING);
    store<u16>(frame + F_TARGET, 2);
    ringCommit(ring);
    ringPublish(ring);
    shardInit(descriptor, 1);
    expect(() => { recvNext(); }).toThrow();
  });

  it("goes idle only when nothing is pending, and never after a shutdown request", () => {
    shardInit(descriptor, 1);
    expect(shardIdle(4)).toBe(true);
    expect(send(0, 1, LIFECYCLE_PING, 1)).toBe(true);
    shardInit(descriptor, 1);
    expect(shardIdle(4)).toBe(false);
    expect(recvNext()).not.toBe(0);
    expect(recvNext()).toBe(0);
    shardFlush();
    expect(shardIdle(4)).toBe(true);
    expect(requestShutdown(7)).toBe(7);
    expect(requestShutdown(9)).toBe(7); // first reason wins
    expect(shutdownReason()).toBe(7);
    expect(shardIdle(4)).toBe(false);
  });
});
