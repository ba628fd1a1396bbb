// Topic retention on a real server (issue 14, item 9): message_expiry and max_topic_size remove the oldest sealed
// segments, on the retention timer and after appends; never the active segment, never unexpired data, and only
// when a topic has a limit. Polls (also a consumer whose stored offset pointed into a removed segment) go on from
// the first retained offset; an update of the settings takes effect; every removal is logged and counted.
// Small segments (--segment-bytes 65536) and a fast timer (--retention-interval-ms 100); nothing here asserts on
// time: every wait is for a state, bounded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { u64Option } from '../../host/client/options.js';
import type { IggyClient } from '../../host/client/client.js';
import type { TlvEntry } from '../../host/shared/wire/primitives.js';
import { eventually, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const SEGMENT = 65536;
const PER_BATCH = 16; // messages of PAYLOAD bytes: 4 batches fill a segment (the 4th crosses 65536 bytes)
const PAYLOAD = 1000;
const PER_SEGMENT = 4 * PER_BATCH;
const WAIT_MS = 30_000;

const payloadOf = (offset: number) => `m-${offset}`.padEnd(PAYLOAD, '.');

describe('protocol: retention (message_expiry, max_topic_size)', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  before(async () => {
    s = await startProtocolServer(['--segment-bytes', String(SEGMENT), '--retention-interval-ms', '100']);
    c = await s.connect();
    stream = (await c.createStream(unique('retention'))).id;
  });
  after(async () => {
    await c?.close();
    await s?.stop();
  });

  const topicWith = async (partitionsCount: number, options: TlvEntry[] = []) =>
    (await c.createTopic({ stream, name: unique('t'), partitionsCount, options })).id;

  // Batches `from` to `to` - 1 of PER_BATCH messages to one partition, one at a time (offsets follow the order sent).
  async function fill(topic: number, partition: number, to: number, from = 0): Promise<void> {
    for (let b = from; b < to; b++) {
      const first = b * PER_BATCH;
      const messages = Array.from({ length: PER_BATCH }, (_, i) => ({ payload: payloadOf(first + i) }));
      await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages });
    }
  }

  async function partitionOf(topic: number, partition: number) {
    return (await c.getTopic(stream, topic))!.partitions[partition];
  }

  async function firstRetained(topic: number, partition: number): Promise<number> {
    const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'offset', value: 0n }, count: 1 });
    return Number(polled.messages[0].offset);
  }

  // Every message from the first retained one to the last sent, in order, with its payload: polled from offset 0.
  // The first retained offset is the first poll's: a separate look before it could be older by the time of the poll
  // (an expiring topic on a slow machine loses another segment in between).
  async function assertRetained(topic: number, partition: number, total: number): Promise<number> {
    let first = -1;
    let next = 0;
    let expected = 0;
    while (first < 0 || expected < total) {
      const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'offset', value: BigInt(next) }, count: 500 });
      assert.ok(polled.messages.length > 0, `poll from ${next} returned nothing; expected offset ${expected}`);
      if (first < 0) first = expected = Number(polled.messages[0].offset);
      for (const m of polled.messages) {
        assert.equal(Number(m.offset), expected, 'offsets continue without a gap from the first retained one');
        assert.equal(new TextDecoder().decode(m.payload), payloadOf(expected));
        expected++;
      }
      next = expected;
    }
    // The stats other shards show are pushed by the owner: they follow.
    await eventually('the topic stats to show what is retained', async () => {
      const p = await partitionOf(topic, partition);
      return Number(p.currentOffset) === total - 1 && Number(p.messagesCount) === total - first;
    }, WAIT_MS);
    return first;
  }

  async function metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`);
    return response.text();
  }

  // Summed over shards (and labels matching `filter`).
  function counter(text: string, name: string, filter = ''): number {
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))) if (m[1].includes(filter)) sum += Number(m[2]);
    return sum;
  }

  // Resolves after every shard has made `n` more retention passes than now: every partition was looked at since.
  async function passes(n: number): Promise<void> {
    const perShard = (text: string) => [...text.matchAll(/^retention_passes_total\{shard="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    const start = perShard(await metrics());
    assert.equal(start.length, 2);
    await eventually(`${n} retention passes on every shard`, async () => perShard(await metrics()).every((v, i) => v >= start[i] + n), WAIT_MS);
  }

  it('message_expiry: expired sealed segments go, oldest first; the active segment and unexpired topics stay; a consumer behind polls on', async () => {
    const expiring = await topicWith(1, [u64Option('message_expiry', 1_000_000n)]); // 1 s
    const kept = await topicWith(1, [u64Option('message_expiry', 86_400_000_000n)]); // 1 day
    const total = 5 * PER_SEGMENT; // 4 sealed segments and a full active one (rollover is at the next append)
    await fill(kept, 0, 5 * 4);
    await fill(expiring, 0, 1);
    await c.storeOffset({ stream, topic: expiring, partition: 0 }, 5n); // points into what will be the first segment
    await fill(expiring, 0, 5 * 4, 1); // (on a slow machine the first segments may expire while this runs)

    await eventually('the oldest segment of the expiring topic to go', async () => (await firstRetained(expiring, 0)) > 0, WAIT_MS);
    const first = await assertRetained(expiring, 0, total);
    assert.equal(first % PER_SEGMENT, 0, 'whole segments go');
    const behind = await c.pollMessages({ stream, topic: expiring, partition: 0, strategy: { kind: 'next' }, count: 3 });
    assert.equal(Number(behind.messages[0].offset) >= first, true, 'a consumer whose offset was removed polls from what is retained');
    assert.equal(new TextDecoder().decode(behind.messages[0].payload), payloadOf(Number(behind.messages[0].offset)));

    await eventually('every sealed segment of the expiring topic to go', async () => (await partitionOf(expiring, 0)).segmentsCount === 1, WAIT_MS);
    await passes(2);
    const p = await partitionOf(expiring, 0);
    assert.equal(p.segmentsCount, 1, 'the active segment is never removed, however old its messages');
    assert.equal(await assertRetained(expiring, 0, total), 4 * PER_SEGMENT);
    const last = await c.pollMessages({ stream, topic: expiring, partition: 0, strategy: { kind: 'last' }, count: 1 });
    assert.equal(Number(last.messages[0].offset), total - 1);

    const k = await partitionOf(kept, 0);
    assert.deepEqual([k.segmentsCount, Number(k.messagesCount)], [5, total], 'nothing unexpired was removed');
    assert.equal(await assertRetained(kept, 0, total), 0);

    const text = await metrics();
    assert.equal(counter(text, 'retention_segments_removed_total', 'reason="expiry"'), 4);
    assert.ok(counter(text, 'retention_bytes_removed_total', 'reason="expiry"') >= 4 * SEGMENT);
    assert.match(s.server.output(), /retention removed \S+00000000000000000000\.log, offsets 0-63, \d+ bytes \(expiry/);
  });

  it('max_topic_size: each partition keeps its share, trimmed after appends from the oldest, the newest sealed segment kept', async () => {
    const sizeRemovals = counter(await metrics(), 'retention_segments_removed_total', 'reason="size"');
    // 2 partitions share 262144 bytes: 131072 each, about two segments; 6 segments are sent to each.
    const capped = await topicWith(2, [u64Option('segment_size', BigInt(SEGMENT)), u64Option('max_topic_size', 4n * BigInt(SEGMENT))]);
    const total = 6 * PER_SEGMENT;
    for (const partition of [0, 1]) await fill(capped, partition, 6 * 4);
    for (const partition of [0, 1]) {
      // Left: the newest sealed segment and the full active one (together just over the share: the floor).
      await eventually(`partition ${partition} trimmed to two segments`, async () => (await partitionOf(capped, partition)).segmentsCount === 2, WAIT_MS);
      assert.equal(await assertRetained(capped, partition, total), 4 * PER_SEGMENT);
      assert.ok(Number((await partitionOf(capped, partition)).sizeBytes) < 3 * SEGMENT);
    }
    const text = await metrics();
    assert.equal(counter(text, 'retention_segments_removed_total', 'reason="size"') - sizeRemovals, 8);
    assert.match(s.server.output(), /retention removed \S+00000000000000000000\.log, offsets 0-63, \d+ bytes \(size: over 131072 bytes per partition/);
  });

  it('a topic without limits keeps everything; limits set later by UpdateTopic take effect', async () => {
    const later = await topicWith(1);
    const total = 3 * PER_SEGMENT;
    await fill(later, 0, 3 * 4);
    await passes(2);
    await eventually('3 segments', async () => (await partitionOf(later, 0)).segmentsCount === 3, WAIT_MS);
    assert.equal(await assertRetained(later, 0, total), 0, 'no limit: nothing removed');

    const name = (await c.getTopic(stream, later))!.name;
    await c.updateTopic({ stream, topic: later, name, options: [u64Option('segment_size', BigInt(SEGMENT)), u64Option('max_topic_size', BigInt(SEGMENT))] });
    await eventually('the size limit set by the update to remove the oldest segment', async () => (await firstRetained(later, 0)) > 0, WAIT_MS);
    await passes(2);
    assert.equal(await assertRetained(later, 0, total), PER_SEGMENT, 'only the oldest: the newest sealed segment is kept');

    await c.updateTopic({ stream, topic: later, name, options: [u64Option('message_expiry', 1n)] });
    await eventually('the expiry set by the update to remove the remaining sealed segment', async () => (await partitionOf(later, 0)).segmentsCount === 1, WAIT_MS);
    assert.equal(await assertRetained(later, 0, total), 2 * PER_SEGMENT);
  });
});
