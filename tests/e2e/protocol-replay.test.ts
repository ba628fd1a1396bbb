// A restart replays the metadata log after its last checkpoint. Ops that act on partition data (purge, segment
// deletion, a deleted group's offsets) acted when they were committed; replaying them must not act again on the
// data written since, which was acknowledged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTimeout } from './helpers/server.js';
import { serverSeries } from './helpers/protocol.js';

describe('protocol: metadata replay at boot', () => {
  const series = serverSeries('replay');

  it('messages sent after a PurgeTopic are still there after a restart, on every partition', async () => {
    const first = await series.start();
    const c = await first.connect();
    const stream = await c.createStream('replayed');
    const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: 8 }); // both shards own some
    const group = await c.createGroup(stream.id, topic.id, 'g');
    for (let partition = 0; partition < 8; partition++) {
      await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: 'before' }] });
    }
    await c.purgeTopic(stream.id, topic.id);
    await c.deleteGroup(stream.id, topic.id, group.id);
    const regrouped = await c.createGroup(stream.id, topic.id, 'g2');
    assert.equal(regrouped.id, group.id, 'the new group reuses the id');
    for (let partition = 0; partition < 8; partition++) {
      await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: 'after-1' }, { payload: 'after-2' }] });
      await c.storeOffset({ consumer: { kind: 'group', id: regrouped.id }, stream: stream.id, topic: topic.id, partition }, 1n).catch(() => undefined);
      await c.storeOffset({ consumer: { kind: 'consumer', id: 9 }, stream: stream.id, topic: topic.id, partition }, 1n);
    }
    await c.close();
    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM')).code, 0, first.server.output());

    const second = await series.start();
    const r = await second.connect();
    try {
      for (let partition = 0; partition < 8; partition++) {
        const polled = await r.pollMessages({ stream: stream.id, topic: topic.id, partition, strategy: { kind: 'first' }, count: 10 });
        assert.deepEqual(polled.messages.map((m) => new TextDecoder().decode(m.payload)), ['after-1', 'after-2'], `partition ${partition}`);
        const offset = await r.getOffset({ consumer: { kind: 'consumer', id: 9 }, stream: stream.id, topic: topic.id, partition });
        assert.equal(offset?.storedOffset, 1n, `consumer offset of partition ${partition}`);
      }
    } finally {
      await r.close();
    }
  });

  it('after a restart every shard reports the partition stats of every shard\'s partitions', async () => {
    const s = series.started.at(-1)!;
    const clients = await Promise.all([1, 2, 3, 4].map(() => s.connect()));
    try {
      const seen = await Promise.all(clients.map(async (x) => ({ shard: (await x.getMe()).clientId % 2, messages: (await x.getTopic(0, 0))!.messagesCount })));
      for (const { shard, messages } of seen) assert.equal(messages, 16n, `topic messages as seen on shard ${shard}`);
    } finally {
      await Promise.all(clients.map((x) => x.close()));
    }
  });
});
