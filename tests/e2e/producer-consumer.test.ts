// The SDK's high-level Producer and Consumer against a real server, imported the way a user imports them
// (`shardlog/client`, package.json "exports"): keyed messages land on the partition a keyed send of any Iggy SDK
// picks, batches and backpressure, a consumer group splitting the partitions between two members, and auto-commit
// resuming a new consumer where the last one stopped; and the README's runnable example runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../host/node/paths.js';
import { Consumer, EvictionError, IggyClient, IggyError, Producer, ProducerClosed, ProducerSendFailed, partitionForKey, type ConsumedMessage } from 'shardlog/client';
import { closeStreamFixture, openStreamFixture, unique, type StreamFixture } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

// Takes `n` messages from a consumer's iterator, then stops iterating (the consumer stays usable).
async function take(consumer: Consumer, n: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  if (n === 0) return out;
  for await (const m of consumer) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

describe('SDK: producer and consumer', () => {
  let f: StreamFixture;
  let client: IggyClient;
  before(async () => {
    f = await openStreamFixture('sdk-pc', 'events', 3);
    client = await IggyClient.connect({ address: f.s.address, username: 'iggy', password: 'iggy', reconnect: true });
  });
  after(async () => {
    await client?.close();
    await closeStreamFixture(f);
  });

  it('keyed messages land on the partition of a keyed send (the server\'s hash); explicit and round-robin routing', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('keyed'), partitionsCount: 3 })).id;
    const producer = await Producer.create(client, { stream: f.stream, topic, partitioning: { kind: 'key' }, lingerMs: 1000, batchMaxMessages: 1000 });
    const keys = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    for (const key of keys) await producer.send([{ key, payload: `${key}-1` }, { key, payload: `${key}-2` }]);
    await producer.flush();
    // The server's own routing of the same keys, for comparison.
    for (const key of keys) await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'key', key: new TextEncoder().encode(key) }, messages: [{ payload: `${key}-server` }] });
    const where = new Map<string, Set<number>>();
    for (let partition = 0; partition < 3; partition++) {
      const polled = await f.c.pollMessages({ stream: f.stream, topic, partition, strategy: { kind: 'first' }, count: 100 });
      for (const m of polled.messages) {
        const key = text(m.payload).split('-')[0];
        where.set(key, (where.get(key) ?? new Set()).add(partition));
      }
    }
    for (const key of keys) {
      assert.deepEqual([...where.get(key)!], [partitionForKey(new TextEncoder().encode(key), 3)], `${key}: producer and server agree, one partition`);
    }
    assert.ok(new Set([...where.values()].map((s) => [...s][0])).size > 1, 'the keys spread over more than one partition');

    const rr = await Producer.create(client, { stream: f.stream, topic, partitioning: { kind: 'round-robin' } });
    await rr.send(Array.from({ length: 6 }, (_, i) => ({ payload: `rr-${i}` })));
    await rr.send({ payload: 'explicit', partition: 2 });
    await rr.close();
    const before = [0, 1, 2].map((p) => keys.filter((k) => partitionForKey(new TextEncoder().encode(k), 3) === p).length * 3);
    const want = [before[0] + 2, before[1] + 2, before[2] + 3];
    // The counts a shard that does not own a partition shows are pushed by the owner: they follow the sends.
    const counts = await waitFor('the partition counts to follow the sends', 10_000, async () => {
      const now = (await f.c.getTopic(f.stream, topic))!.partitions.map((p) => Number(p.messagesCount));
      return now.reduce((a, b) => a + b, 0) >= want.reduce((a, b) => a + b, 0) ? now : undefined;
    });
    assert.deepEqual(counts, want, 'round-robin puts 2 on each partition; explicit adds 1 to partition 2');
    await assert.rejects(rr.send({ payload: 'late' }), ProducerClosed);
  });

  it('batches by size, waits for room when the buffer is full, and rejects bad input by name', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('batch'), partitionsCount: 1 })).id;
    const producer = new Producer(client, { stream: f.stream, topic, partitioning: { kind: 'partition', partition: 0 }, batchMaxMessages: 10, lingerMs: 60_000, bufferMaxMessages: 25 });
    const sends = Array.from({ length: 100 }, (_, i) => producer.send({ payload: `m-${i}` }));
    // With a 25-message buffer, the 100 sends can only all resolve once full batches (10 each) were delivered.
    await Promise.all(sends);
    // (The count a shard that does not own the partition shows follows the owner's: waited for.)
    const delivered = await waitFor('the delivered count to follow the sends', 10_000, async () => {
      const n = Number((await f.c.getTopic(f.stream, topic))!.partitions[0].messagesCount);
      return n + producer.buffered.messages >= 100 ? n : undefined;
    });
    assert.ok(producer.buffered.messages <= 25, `buffer bound kept: ${producer.buffered.messages}`);
    assert.equal(delivered + producer.buffered.messages, 100, 'what is not buffered was delivered, without waiting for the linger');
    assert.equal(delivered % 10, 0, 'in whole batches of 10');
    await producer.close();
    const polled = await f.c.pollMessages({ stream: f.stream, topic, partition: 0, strategy: { kind: 'first' }, count: 1000 });
    assert.deepEqual(polled.messages.map((m) => text(m.payload)), Array.from({ length: 100 }, (_, i) => `m-${i}`), 'all, in order');
    assert.throws(() => new Producer(client, { stream: f.stream, topic, batchMaxMessages: 0 }), /batchMaxMessages must be an integer >= 1/);
    const small = new Producer(client, { stream: f.stream, topic, batchMaxBytes: 100 });
    await assert.rejects(small.send({ payload: 'x'.repeat(200) }), /message of 248 bytes is larger than the producer's batch\/buffer limit of 100 bytes/);
    await assert.rejects(small.send({ payload: 'x', key: '' }), /message key must be 1\.\.255 bytes, got 0/);
    await assert.rejects(Producer.create(client, { stream: f.stream, topic: 'no-such-topic' }), /topic no-such-topic of stream/);
    await small.close();

    // A batch the server refuses is reported once, by the next flush, with how many messages were lost.
    const lost = new Producer(client, { stream: f.stream, topic, partitioning: { kind: 'partition', partition: 99 } });
    await lost.send([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
    await assert.rejects(lost.flush(), (e: unknown) => e instanceof ProducerSendFailed && e.messages === 3 && e.cause instanceof IggyError && e.cause.code === 20);
    await lost.flush(); // reported once
    await lost.close();
  });

  it('a consumer group splits the partitions between two members, each message once', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('group'), partitionsCount: 3 })).id;
    const producer = new Producer(client, { stream: f.stream, topic, partitioning: { kind: 'round-robin' } }, 3);
    await producer.send(Array.from({ length: 90 }, (_, i) => ({ payload: `g-${i}` })));
    await producer.close();
    const second = await IggyClient.connect({ address: f.s.address, username: 'iggy', password: 'iggy', reconnect: true });
    const a = new Consumer(client, { stream: f.stream, topic, group: 'workers', batchSize: 7, pollIntervalMs: 5 });
    const b = new Consumer(second, { stream: f.stream, topic, group: 'workers', batchSize: 7, pollIntervalMs: 5 });
    try {
      const seen: ConsumedMessage[] = [];
      seen.push(...await a.poll()); // a joins (creating the group) and is alone: all three partitions
      assert.deepEqual([...a.assignment].sort(), [0, 1, 2]);
      // b joins and the server deals the partitions over both; a re-syncs when a poll of a partition it no longer
      // owns is refused (or at its next periodic re-sync).
      for (let round = 0; round < 500 && seen.length < 90; round++) seen.push(...await b.poll(), ...await a.poll());
      const split = (await f.c.getGroup(f.stream, topic, 'workers'))!.members.map((m) => m.partitions.length).sort();
      assert.deepEqual(split, [1, 2], 'two members share three partitions');
      assert.ok(b.assignment.length > 0, 'b got partitions');
      assert.deepEqual([...a.assignment, ...b.assignment].sort(), [0, 1, 2], 'each partition has one owner');
      const keys = seen.map((m) => `${m.partitionId}:${m.offset}`);
      assert.equal(new Set(keys).size, keys.length, 'no message twice');
      assert.deepEqual(seen.map((m) => text(m.payload)).sort(), Array.from({ length: 90 }, (_, i) => `g-${i}`).sort(), 'every message once');
    } finally {
      await a.close();
      await b.close();
      await second.close();
    }
  });

  it('a member that was out of its group (a dropped connection leaves it) rejoins from the group\'s stored offset, not its old position', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('rejoin'), partitionsCount: 1 })).id;
    await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: 20 }, (_, i) => ({ payload: `r-${i}` })) });
    const other = await IggyClient.connect({ address: f.s.address, username: 'iggy', password: 'iggy' });
    const a = new Consumer(client, { stream: f.stream, topic, group: 'rejoin', batchSize: 5, pollIntervalMs: 0 });
    const b = new Consumer(other, { stream: f.stream, topic, group: 'rejoin', batchSize: 5, pollIntervalMs: 0 });
    const stored = async () => (await f.c.getOffset({ consumer: { kind: 'group', id: 'rejoin' }, stream: f.stream, topic, partition: 0 }))?.storedOffset;
    try {
      assert.deepEqual((await a.poll()).map((m) => m.offset), [0n, 1n, 2n, 3n, 4n]);
      await client.leaveGroup(f.stream, topic, 'rejoin'); // what the server does to a member whose connection dropped
      assert.deepEqual([...await b.poll(), ...await b.poll()].map((m) => Number(m.offset)), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      await b.close(); // the partition comes back to a, which has not re-synced since
      const after: ConsumedMessage[] = [];
      for (let round = 0; round < 5 && after.length === 0; round++) after.push(...await a.poll());
      assert.deepEqual(after.map((m) => Number(m.offset)), [15, 16, 17, 18, 19], 'from the stored offset + 1: nothing b had is handed out again');
      assert.equal(await stored(), 19n, 'the stored offset never went back');
    } finally {
      await a.close();
      await other.close();
    }
  });

  it('a member whose partition moved to another member and back between two of its syncs goes on from the group\'s stored offset', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('away'), partitionsCount: 2 })).id;
    await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'partition', partition: 1 }, messages: Array.from({ length: 30 }, (_, i) => ({ payload: `w-${i}` })) });
    const other = await IggyClient.connect({ address: f.s.address, username: 'iggy', password: 'iggy' });
    const a = new Consumer(client, { stream: f.stream, topic, group: 'away', batchSize: 5, pollIntervalMs: 0, resyncMs: 600_000 });
    const group = { kind: 'group' as const, id: 'away' };
    const stored = async () => (await f.c.getOffset({ consumer: group, stream: f.stream, topic, partition: 1 }))?.storedOffset;
    try {
      assert.deepEqual([...await a.poll(), ...await a.poll()].map((m) => Number(m.offset)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await other.joinGroup(f.stream, topic, 'away'); // partition 1 goes to `other` ...
      assert.deepEqual((await other.syncGroup(f.stream, topic, 'away'))?.partitions, [1]);
      const taken = await other.pollMessages({ consumer: group, stream: f.stream, topic, partition: 1, strategy: { kind: 'next' }, count: 10, autoCommit: true });
      assert.equal(taken.count, 10);
      await other.leaveGroup(f.stream, topic, 'away'); // ... and comes back to a, which has not re-synced since
      assert.equal(await stored(), 19n);
      const after: ConsumedMessage[] = [];
      for (let round = 0; round < 5 && after.length === 0; round++) {
        after.push(...await a.poll());
        assert.ok((await stored())! >= 19n, 'the stored offset never goes back below what the other member committed');
      }
      assert.deepEqual(after.map((m) => Number(m.offset)), [20, 21, 22, 23, 24], 'from the stored offset + 1');
      assert.equal(await stored(), 24n);
    } finally {
      await a.close();
      await other.close();
    }
  });

  it('auto-commit after each poll resumes a new consumer at the next message; manual commit only when told', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('resume'), partitionsCount: 1 })).id;
    await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: 30 }, (_, i) => ({ payload: `r-${i}` })) });
    const first = new Consumer(client, { stream: f.stream, topic, partition: 0, consumerId: 7, batchSize: 4 });
    assert.deepEqual((await take(first, 10)).map((m) => m.offset), Array.from({ length: 10 }, (_, i) => BigInt(i)));
    await first.close();
    assert.equal((await f.c.getOffset({ consumer: { kind: 'consumer', id: 7 }, stream: f.stream, topic, partition: 0 }))?.storedOffset, 9n, 'close() stores the last message handed out');
    const second = new Consumer(client, { stream: f.stream, topic, partition: 0, consumerId: 7, batchSize: 4 });
    assert.deepEqual((await take(second, 20)).map((m) => m.offset), Array.from({ length: 20 }, (_, i) => BigInt(10 + i)), 'resumes at 10, no gap, no repeat');
    await second.close();

    const manual = new Consumer(client, { stream: f.stream, topic, partition: 0, consumerId: 8, autoCommit: { kind: 'manual' } });
    await take(manual, 5);
    await manual.close();
    assert.equal(await f.c.getOffset({ consumer: { kind: 'consumer', id: 8 }, stream: f.stream, topic, partition: 0 }), null, 'manual: nothing stored without commit()');
    const again = new Consumer(client, { stream: f.stream, topic, partition: 0, consumerId: 8, autoCommit: { kind: 'manual' } });
    assert.equal((await take(again, 3))[0].offset, 0n);
    await again.commit();
    assert.equal((await f.c.getOffset({ consumer: { kind: 'consumer', id: 8 }, stream: f.stream, topic, partition: 0 }))?.storedOffset, 2n);
    await again.close();
    assert.throws(() => new Consumer(client, { stream: f.stream, topic, group: 'g', partition: 1 }), /group consumer takes its partitions from the group/);
    assert.throws(() => new Consumer(client, { stream: f.stream, topic, batchSize: 0 }), /batchSize must be an integer >= 1/);
  });

  it('bad credentials are refused at connect with the server\'s eviction, also with reconnect on (not retried)', async () => {
    await assert.rejects(IggyClient.connect({ address: f.s.address, username: 'iggy', password: 'wrong', reconnect: true }),
      (e: unknown) => e instanceof EvictionError && e.message.includes('InvalidCredentials'));
    await assert.rejects(IggyClient.connect({ address: f.s.address, token: 'no-such-token', reconnect: true }),
      (e: unknown) => e instanceof EvictionError && e.message.includes('InvalidToken'));
  });

  it('examples/producer-consumer.mjs (the README\'s runnable example) runs against the server', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'examples', 'producer-consumer.mjs'), f.s.address], { cwd: repoRoot, timeout: 30_000 });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 30);
    const customers = new Map<number, Set<string>>();
    for (const line of lines) {
      const [, partition, json] = /^partition (\d+) offset \d+: (.*)$/.exec(line)!;
      const { customer } = JSON.parse(json);
      customers.set(customer, (customers.get(customer) ?? new Set()).add(partition));
    }
    assert.deepEqual([...customers.values()].map((p) => p.size), [1, 1, 1, 1, 1], 'each customer\'s orders on one partition');
  });
});
