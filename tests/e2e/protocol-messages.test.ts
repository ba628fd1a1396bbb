// Sending and polling over a real server (iggy-client-wire.md §8, §11): confirmations, every polling strategy,
// auto-commit, partitioning, user headers, checksums of what comes back, and the target-resolution errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { utf8 } from '../../host/shared/wire/buffer.js';
import { IggyError } from '../../host/client/errors.js';
import { stringHeader } from '../../host/client/options.js';
import type { IggyClient } from '../../host/client/client.js';
import type { MessageInput } from '../../host/client/batch.js';
import { closeStreamFixture, openStreamFixture, code, unique, type ProtocolServer } from './helpers/protocol.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('protocol: messages', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  let topic: number;
  before(async () => {
    ({ s, c, stream, topic } = await openStreamFixture('messages', 'm', 1));
  });
  after(() => closeStreamFixture({ s, c }));

  const six: MessageInput[] = Array.from({ length: 6 }, (_, i) => ({
    id: BigInt(1000 + i), payload: `message-${i}`, headers: [stringHeader('n', String(i))],
  }));
  const target = () => ({ stream, topic, partition: 0 });

  it('6 messages to partition 0: one confirmation at base offset 0; Last, First and Next each return all 6', async () => {
    const confirmations = await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: six });
    assert.deepEqual(confirmations, [{ streamId: stream, topicId: topic, partitionId: 0, baseOffset: 0n }]);
    for (const kind of ['last', 'first', 'next'] as const) {
      const polled = await c.pollMessages({ ...target(), strategy: { kind }, count: 10, verifyChecksums: true });
      assert.equal(polled.count, 6, kind);
      assert.equal(polled.currentOffset, 5n);
      assert.deepEqual(polled.messages.map((m) => m.offset), [0n, 1n, 2n, 3n, 4n, 5n]);
      assert.deepEqual(polled.messages.map((m) => m.id), six.map((m) => m.id));
      assert.deepEqual(polled.messages.map((m) => text(m.payload)), six.map((m) => m.payload));
      assert.deepEqual(polled.messages.map((m) => text(m.headers[0].value)), ['0', '1', '2', '3', '4', '5']);
    }
    const last2 = await c.pollMessages({ ...target(), strategy: { kind: 'last' }, count: 2 });
    assert.deepEqual(last2.messages.map((m) => m.offset), [4n, 5n]);
  });

  it('Next with auto-commit returns 6 then 0; the stored offset is 5 (§8.7)', async () => {
    const first = await c.pollMessages({ ...target(), strategy: { kind: 'next' }, count: 10, autoCommit: true });
    assert.equal(first.messages.length, 6);
    const second = await c.pollMessages({ ...target(), strategy: { kind: 'next' }, count: 10, autoCommit: true });
    assert.deepEqual([second.count, second.messages.length, second.partitionId], [0, 0, 0]);
    assert.deepEqual(await c.getOffset(target()), { partitionId: 0, currentOffset: 5n, storedOffset: 5n });
    await c.deleteOffset(target());
    assert.equal(await c.getOffset(target()), null);
    await c.storeOffset(target(), 2n);
    assert.deepEqual(await c.getOffset(target()), { partitionId: 0, currentOffset: 5n, storedOffset: 2n });
    const rest = await c.pollMessages({ ...target(), strategy: { kind: 'next' }, count: 10 });
    assert.deepEqual(rest.messages.map((m) => m.offset), [3n, 4n, 5n]);
  });

  it('3 more messages get base offset 6; Offset and Timestamp strategies start where they should', async () => {
    const sentAt = BigInt(Date.now()) * 1000n;
    const [confirmation] = await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'x' }, { payload: 'y' }, { payload: 'z', originTimestamp: sentAt - 123n }] });
    assert.equal(confirmation.baseOffset, 6n);
    const byOffset = await c.pollMessages({ ...target(), strategy: { kind: 'offset', value: 7n }, count: 2, verifyChecksums: true });
    assert.deepEqual(byOffset.messages.map((m) => [m.offset, text(m.payload)]), [[7n, 'y'], [8n, 'z']]);
    assert.equal(byOffset.messages[1].originTimestamp, sentAt - 123n, 'origin timestamps survive');
    const all = await c.pollMessages({ ...target(), strategy: { kind: 'first' }, count: 100 });
    const secondBatchTime = all.messages[6].timestamp;
    assert.ok(secondBatchTime >= all.messages[5].timestamp && secondBatchTime + 5_000_000n >= sentAt, 'broker time in µs');
    const byTime = await c.pollMessages({ ...target(), strategy: { kind: 'timestamp', value: secondBatchTime }, count: 100 });
    assert.equal(byTime.messages[0].offset, all.messages.find((m) => m.timestamp >= secondBatchTime)!.offset);
    const beyond = await c.pollMessages({ ...target(), strategy: { kind: 'offset', value: 100n }, count: 5 });
    assert.equal(beyond.count, 0);
    const none = await c.pollMessages({ ...target(), strategy: { kind: 'first' }, count: 0 });
    assert.equal(none.count, 0, 'count 0 is an empty poll');
  });

  it('a 200 KiB payload round-trips with valid checksums', async () => {
    const big = new Uint8Array(200 * 1024).map((_, i) => (i * 31) & 0xff);
    const [confirmation] = await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: big, id: 77n }] });
    const polled = await c.pollMessages({ ...target(), strategy: { kind: 'offset', value: confirmation.baseOffset }, count: 1, verifyChecksums: true });
    assert.equal(polled.messages[0].id, 77n);
    assert.deepEqual(polled.messages[0].payload, big);
  });

  it('Balanced partitioning deals round-robin; a messages key always picks the same partition', async () => {
    const t = (await c.createTopic({ stream, name: unique('balanced'), partitionsCount: 3 })).id;
    const dealt: number[] = [];
    for (let i = 0; i < 3; i++) dealt.push((await c.sendMessages({ stream, topic: t, messages: [{ payload: `b${i}` }] }))[0].partitionId);
    assert.deepEqual([...dealt].sort(), [0, 1, 2]);
    const key = { kind: 'key' as const, key: utf8.encode('user-42') };
    const first = (await c.sendMessages({ stream, topic: t, partitioning: key, messages: [{ payload: 'k1' }] }))[0].partitionId;
    const again = (await c.sendMessages({ stream, topic: t, partitioning: key, messages: [{ payload: 'k2' }] }))[0].partitionId;
    assert.equal(again, first);
    const polled = await c.pollMessages({ stream, topic: t, partition: first, strategy: { kind: 'last' }, count: 2 });
    assert.deepEqual(polled.messages.map((m) => text(m.payload)), ['k1', 'k2']);
  });

  it('send to a missing stream, topic or partition is status 20; polls say 1009 / 2010 / 3007', async () => {
    const one = [{ payload: 'x' }];
    await assert.rejects(c.sendMessages({ stream: 999_999, topic, messages: one }), code(20));
    await assert.rejects(c.sendMessages({ stream, topic: 999, messages: one }), code(20));
    await assert.rejects(c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: 99 }, messages: one }), code(20));
    const empty = (await c.createTopic({ stream, name: unique('empty'), partitionsCount: 0 })).id;
    await assert.rejects(c.sendMessages({ stream, topic: empty, messages: one }), code(20), 'balanced over no partitions');
    await assert.rejects(c.pollMessages({ stream: 999_999, topic, partition: 0, strategy: { kind: 'first' }, count: 1 }), code(1009));
    await assert.rejects(c.pollMessages({ stream, topic: 999, partition: 0, strategy: { kind: 'first' }, count: 1 }), code(2010));
    await assert.rejects(c.pollMessages({ stream, topic, partition: 99, strategy: { kind: 'first' }, count: 1 }), code(3007));
  });

  it('FlushUnsavedBuffer answers success or FeatureUnavailable (5), never anything else', async () => {
    const outcome = await c.flushUnsavedBuffer(stream, topic, 0, true).then(() => 'ok', (e: IggyError) => e.code);
    assert.ok(outcome === 'ok' || outcome === 5, `got ${outcome}`);
  });

  it('purging the topic empties its partitions', async () => {
    await c.purgeTopic(stream, topic);
    const polled = await c.pollMessages({ ...target(), strategy: { kind: 'first' }, count: 10 });
    assert.equal(polled.count, 0);
  });
});
