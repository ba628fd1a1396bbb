// The mailbox's queue towards a slow shard is bounded by pushing back instead of growing or dropping: calls wait
// (their producer paused) while the backlog is at its bound, owed messages never wait, roomFor/roomEverywhere hold
// a proposer until the backlog is under its bound, and a stats-like notice keeps only its newest value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle, Variant } from '../../../host/shared/frames.js';
import type { CoreExports } from '../../../host/shared/core.js';
import { MAILBOX_METRIC } from '../../../host/shared/layout.js';
import { Mailbox, type Producer, type ShardMessage } from '../../../host/node/server/mailbox.js';
import { loadMesh } from '../core-loader.js';

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[i] = x & 0xff; }
  return bytes;
}

// A producer that records its pauses and resumes (a client connection stops and starts reading its socket).
class CountingProducer implements Producer {
  paused = 0;
  pauses = 0;
  resumes = 0;
  onResume: (() => void) | null = null;
  pause(): void { this.paused++; this.pauses++; }
  resume(): void {
    assert.ok(this.paused > 0, 'resumed without a pause');
    this.paused--;
    this.resumes++;
    this.onResume?.();
  }
}

// The slow consumer: takes at most `frames` frames out of its rings per turn.
function consume(core: CoreExports, receiver: Mailbox, got: ShardMessage[], frames: number): void {
  for (let n = 0; n < frames; n++) {
    const frame = core.recvNext();
    if (frame === 0) break;
    const message = receiver.receive(frame);
    if (message) got.push(message);
  }
  core.shardFlush();
}

async function twoShards(bound: { bytes: number; messages: number }) {
  const mesh = await loadMesh('release', 2, 16, 64); // 1 KiB rings: fragments of about 400 B
  const [a, b] = [await mesh.shard(0), await mesh.shard(1)];
  const u64 = new BigUint64Array(mesh.memory.buffer);
  return {
    a, b, mesh,
    sender: new Mailbox(a, mesh.memory, 0, 2, { bound }),
    receiver: new Mailbox(b, mesh.memory, 1, 2),
    metric: (which: number) => u64[a.mailboxMetricAddress(0, 1, which) >> 3],
    drops: () => Array.from({ length: 8 }, (_, variant) => u64[a.dropCounterAddress(0, variant, 0) >> 3]).reduce((x, y) => x + y),
  };
}

describe('shard mailbox: the backlog towards a slow shard is bounded', () => {
  it('calls never take the backlog past the bound; their producers pause while held and resume once queued; every call arrives whole and in order', async () => {
    const bound = { bytes: 4096, messages: 3 };
    const { b, sender, receiver, metric, drops } = await twoShards(bound);
    const producers = Array.from({ length: 8 }, () => new CountingProducer());
    // Sizes up to 3000 B, and every 40th larger than the bound (it must go alone, not wait forever).
    const sizes = Array.from({ length: 120 }, (_, i) => (i % 40 === 7 ? 6000 : ((i * 397) % 3000) + 1));
    const within = (where: string) => {
      const backlog = sender.backlog(1);
      assert.ok(backlog.messages <= bound.messages, `${where}: ${backlog.messages} messages queued`);
      assert.ok(backlog.bytes <= bound.bytes || backlog.messages === 1, `${where}: ${backlog.bytes} B queued in ${backlog.messages} messages`);
      assert.equal(metric(MAILBOX_METRIC.backlogBytes), BigInt(backlog.bytes), `${where}: the bytes gauge`);
      assert.equal(metric(MAILBOX_METRIC.backlogMessages), BigInt(backlog.messages), `${where}: the messages gauge`);
    };
    for (const producer of producers) producer.onResume = () => within('as a held call was queued');
    const got: ShardMessage[] = [];
    let made = 0;
    let held = 0;
    for (let turn = 0; got.length < sizes.length; turn++) {
      assert.ok(turn < 100_000, `stuck after ${got.length} of ${sizes.length} calls`);
      // A fast producer side: three calls a turn while the consumer takes one frame.
      for (let n = 0; n < 3 && made < sizes.length; n++, made++) {
        const producer = producers[made % producers.length];
        const before = sender.backlog(1).held;
        sender.sendWhenRoom(1, Variant.lifecycle, Lifecycle.partitionRead, made + 1, pattern(sizes[made], made + 1), BigInt(made), producer);
        if (sender.backlog(1).held > before) {
          held++;
          assert.ok(producer.paused > 0, `call ${made + 1} was held but its producer was not paused`);
        }
        within(`after call ${made + 1}`);
      }
      sender.pump();
      within(`after a pump on turn ${turn}`);
      consume(b, receiver, got, 1);
    }
    assert.ok(held > 0, 'the bound never held a call back: the test did not exercise it');
    assert.deepEqual(got.map((m) => m.correlation), sizes.map((_, i) => i + 1), 'in the order they were made');
    for (const [i, message] of got.entries()) {
      assert.equal(message.group, BigInt(i));
      assert.deepEqual(new Uint8Array(message.payload), pattern(sizes[i], i + 1), `call ${i + 1} (${sizes[i]} B)`);
    }
    const pauses = producers.reduce((sum, p) => sum + p.pauses, 0);
    assert.equal(pauses, held, 'one pause per held call');
    assert.deepEqual(producers.map((p) => p.paused), producers.map(() => 0), 'every pause was followed by its resume');
    assert.equal(metric(MAILBOX_METRIC.waits), BigInt(held), 'the waits counter counts each held call');
    assert.equal(metric(MAILBOX_METRIC.backlogBytes), 0n);
    assert.equal(metric(MAILBOX_METRIC.backlogMessages), 0n);
    assert.equal(sender.pending, 0);
    assert.equal(drops(), 0n, 'nothing was dropped for a full ring');
  });

  it('a held call is let in even when the ring takes everything queued in one pump (a pump that ended with calls held and nothing queued would never run again)', async () => {
    const { b, sender, receiver } = await twoShards({ bytes: 1 << 20, messages: 1 });
    // Owed messages fill the ring and leave one queued; three small calls are held behind it (one message at most).
    for (let i = 0; i < 3; i++) sender.send(1, Variant.lifecycle, Lifecycle.metadataCommitTick, 0, pattern(300, i));
    assert.equal(sender.backlog(1).messages, 1, 'the ring is full and one commit waits');
    const producers = [1, 2, 3].map(() => new CountingProducer());
    for (const [i, producer] of producers.entries()) sender.sendWhenRoom(1, Variant.lifecycle, Lifecycle.partitionRead, 10 + i, pattern(8, 10 + i), 0n, producer);
    assert.equal(sender.backlog(1).held, 3);
    const got: ShardMessage[] = [];
    for (let turn = 0; got.length < 6; turn++) {
      assert.ok(turn < 1_000, `stuck after ${got.length} messages with ${sender.backlog(1).held} call(s) held`);
      consume(b, receiver, got, 100); // a fast consumer: the ring empties every turn
      sender.pump();
    }
    assert.deepEqual(got.map((m) => m.correlation), [0, 0, 0, 10, 11, 12]);
    assert.deepEqual(producers.map((p) => p.paused), [0, 0, 0]);
  });

  it('owed messages go past the bound without waiting; a call and a proposer gate wait until it drains, and are let through under the bound', async () => {
    const bound = { bytes: 2048, messages: 2 };
    const { b, sender, receiver, metric } = await twoShards(bound);
    // Committed ops broadcast to a slow shard: queued whatever the backlog (never held, never dropped).
    for (let i = 0; i < 5; i++) sender.send(1, Variant.lifecycle, Lifecycle.metadataCommitTick, 0, pattern(1000, 100 + i), BigInt(i));
    assert.ok(sender.backlog(1).messages > bound.messages, 'owed messages are not held back by the bound');
    const caller = new CountingProducer();
    const proposer = new CountingProducer();
    const atRelease: { bytes: number; messages: number }[] = [];
    proposer.onResume = () => atRelease.push(sender.backlog(1));
    sender.sendWhenRoom(1, Variant.lifecycle, Lifecycle.partitionRead, 77, pattern(10, 77), 0n, caller);
    assert.equal(sender.backlog(1).held, 1, 'a call waits while the backlog is over its bound');
    assert.equal(caller.paused, 1);
    const gate = sender.roomEverywhere(proposer);
    assert.ok(gate, 'a proposal waits while a shard is over its bound');
    assert.equal(proposer.paused, 1);
    let open = false;
    void gate.then(() => { open = true; });
    const got: ShardMessage[] = [];
    for (let turn = 0; got.length < 6 || !open; turn++) {
      assert.ok(turn < 10_000, `stuck after ${got.length} messages (gate open: ${open})`);
      sender.pump();
      consume(b, receiver, got, 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(atRelease.length, 1);
    assert.ok(atRelease[0].bytes < bound.bytes && atRelease[0].messages < bound.messages, `the gate opened at ${JSON.stringify(atRelease[0])}`);
    assert.deepEqual(got.map((m) => m.correlation), [0, 0, 0, 0, 0, 77], 'the commits in order, then the call');
    for (let i = 0; i < 5; i++) assert.deepEqual(new Uint8Array(got[i].payload), pattern(1000, 100 + i));
    assert.equal(caller.paused + proposer.paused, 0);
    assert.equal(metric(MAILBOX_METRIC.waits), 2n);
    assert.equal(sender.roomEverywhere(), null, 'no wait once drained');
    assert.equal(sender.roomFor(1), null);
  });

  it('a proposer waiting for room is let through in its turn: calls made after it, however many, do not keep it out', async () => {
    const bound = { bytes: 1 << 20, messages: 2 };
    const { b, sender, receiver } = await twoShards(bound);
    const order: string[] = [];
    const callProducer = (i: number) => Object.assign(new CountingProducer(), { onResume: () => order.push(`call ${i}`) });
    let made = 0;
    const call = () => { made++; sender.sendWhenRoom(1, Variant.lifecycle, Lifecycle.partitionRead, made, pattern(600, made), 0n, callProducer(made)); };
    for (let i = 0; i < 6; i++) call(); // the backlog is at its bound and calls wait
    const proposer = Object.assign(new CountingProducer(), { onResume: () => order.push('gate') });
    const gate = sender.roomEverywhere(proposer);
    assert.ok(gate, 'the proposer waits');
    const gateAfter = made;
    const got: ShardMessage[] = [];
    for (let turn = 0; got.length < 60; turn++) {
      assert.ok(turn < 10_000, `stuck after ${got.length} messages`);
      if (made < 60) call(); // a steady stream of calls, one a turn, while the consumer takes a frame a turn
      sender.pump();
      consume(b, receiver, got, 1);
    }
    await gate;
    const gateAt = order.indexOf('gate');
    assert.ok(gateAt >= 0, 'the gate opened');
    assert.ok(order.slice(gateAt).every((e) => e === 'gate' || Number(e.split(' ')[1]) > gateAfter), `calls made before the gate went in after it: ${order.join(', ')}`);
    assert.ok(order.slice(0, gateAt).every((e) => Number(e.split(' ')[1]) <= gateAfter), `calls made after the gate went in before it: ${order.join(', ')}`);
    assert.deepEqual(got.map((m) => m.correlation), Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('sendLatest replaces a notice still queued untouched with the newest value, in its place; one already on its way is not touched', async () => {
    const { b, sender, receiver } = await twoShards({ bytes: 1 << 20, messages: 1024 });
    const stats = (key: bigint, payload: Uint8Array) => sender.sendLatest(1, Variant.lifecycle, Lifecycle.forwardClientSend, key, payload);
    // A large reply fills the reply lane, so the notices after it queue.
    sender.send(1, Variant.lifecycle, Lifecycle.forwardClientSend, 5, pattern(5000, 5));
    stats(7n, Uint8Array.of(7, 1));
    stats(8n, Uint8Array.of(8, 1));
    stats(7n, Uint8Array.of(7, 2));
    stats(7n, Uint8Array.of(7, 3, 3));
    assert.equal(sender.backlog(1).messages, 3, 'the reply and one notice per key');
    const got: ShardMessage[] = [];
    for (let turn = 0; sender.pending > 0 || got.length < 3; turn++) {
      assert.ok(turn < 10_000, 'stuck');
      sender.pump();
      consume(b, receiver, got, 100);
    }
    assert.deepEqual(got.map((m) => [m.correlation, ...(m.correlation === 0 ? m.payload : [m.payload.length])]), [[5, 5000], [0, 7, 3, 3], [0, 8, 1]]);
    // A notice larger than a fragment starts into the ring at once; a newer one queues behind it, both whole.
    stats(9n, pattern(2000, 1));
    stats(9n, pattern(2000, 2));
    const more: ShardMessage[] = [];
    for (let turn = 0; more.length < 2; turn++) {
      assert.ok(turn < 10_000, 'stuck');
      sender.pump();
      consume(b, receiver, more, 100);
    }
    assert.deepEqual(more.map((m) => new Uint8Array(m.payload)), [pattern(2000, 1), pattern(2000, 2)]);
  });

  it('refuses a bound of zero bytes or messages (nothing could ever be queued behind it)', async () => {
    const mesh = await loadMesh('release', 2, 16, 64);
    const a = await mesh.shard(0);
    assert.throws(() => new Mailbox(a, mesh.memory, 0, 2, { bound: { bytes: 0 } }), /backlog bound must be at least 1 B and 1 message/);
    assert.throws(() => new Mailbox(a, mesh.memory, 0, 2, { bound: { messages: 0 } }), /backlog bound must be at least 1 B and 1 message/);
  });
});
