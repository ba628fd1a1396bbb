// Durability across a clean restart: everything created over the protocol is there after SIGTERM and a new start
// on the same --data-dir, and the restarted server continues ids and offsets where the first one stopped. The
// first start also sets the root credentials (username by flag, password by environment), which must survive a
// restart without either.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { EvictionError } from '../../host/client/errors.js';
import { stringHeader, u64Option } from '../../host/client/options.js';
import { globalPermissions } from '../../host/shared/wire/permissions.js';
import type { Message } from '../../host/client/batch.js';
import { withTimeout } from './helpers/server.js';
import { serverSeries } from './helpers/protocol.js';

const BOSS = { username: 'boss', password: 'b0ss-pw' };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const summary = (m: Message) => ({ offset: m.offset, id: m.id, payload: text(m.payload), headers: m.headers.map((h) => text(h.value)) });

describe('protocol: restart', () => {
  const series = serverSeries('restart');

  it('streams, topics, partitions, messages, offsets, users, tokens and groups survive SIGTERM + start', async () => {
    const first = await series.start(['--root-username', BOSS.username], { SHARDLOG_ROOT_PASSWORD: BOSS.password });
    const c = await first.connect(BOSS);
    const stream = await c.createStream('keep');
    const gone = await c.createStream('gone');
    const topic = await c.createTopic({ stream: stream.id, name: 'events', partitionsCount: 2, options: [u64Option('message_expiry', 86_400_000_000n)] });
    await c.createPartitions(stream.id, topic.id, 1);
    await c.deleteStream(gone.id);
    for (const ids of [[1n, 2n, 3n, 4n, 5n, 6n], [7n, 8n, 9n, 10n]]) {
      await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 0 }, messages: ids.map((id) => ({ id, payload: `p0-${id}` })) });
    }
    await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 1 }, messages: [1, 2, 3, 4, 5].map((i) => ({ id: BigInt(100 + i), payload: `p1-${i}`, headers: [stringHeader('i', String(i))] })) });
    const offsetTarget = { consumer: { kind: 'consumer' as const, id: 7 }, stream: stream.id, topic: topic.id, partition: 1 };
    await c.storeOffset(offsetTarget, 3n);
    const alicePermissions = globalPermissions(false, { readStreams: true, pollMessages: true });
    const alice = await c.createUser({ username: 'alice', password: 'alice-pw', permissions: alicePermissions });
    const token = await c.createToken('restart-token', 2n ** 64n - 1n);
    const group = await c.createGroup(stream.id, topic.id, 'workers');
    const beforeTopic = await c.getTopic(stream.id, topic.id);
    const beforeP0 = (await c.pollMessages({ stream: stream.id, topic: topic.id, partition: 0, strategy: { kind: 'first' }, count: 100 })).messages;
    const beforeP1 = (await c.pollMessages({ stream: stream.id, topic: topic.id, partition: 1, strategy: { kind: 'first' }, count: 100 })).messages;
    await c.close();

    first.server.child.kill('SIGTERM');
    const exit = await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM');
    assert.equal(exit.code, 0, first.server.output());

    const second = await series.start();
    const r = await second.connect(BOSS);
    try {
      assert.equal(r.userId, 0, 'root from the first start, though this start has no root flag or variable');
      await assert.rejects(second.connect(), (e: unknown) => e instanceof EvictionError && e.reason === 9, 'no iggy/iggy appeared');
      assert.deepEqual((await r.getStreams()).map((x) => [x.id, x.name]), [[stream.id, 'keep']]);
      const afterTopic = await r.getTopic(stream.id, topic.id);
      assert.deepEqual(afterTopic?.partitions.map((p) => [p.id, p.currentOffset, p.messagesCount]), [[0, 9n, 10n], [1, 4n, 5n], [2, 0n, 0n]]);
      assert.deepEqual({ ...afterTopic, partitions: undefined }, { ...beforeTopic, partitions: undefined }, 'topic header and options unchanged');
      assert.equal(afterTopic?.messageExpiry, 86_400_000_000n);

      const p0 = (await r.pollMessages({ stream: stream.id, topic: topic.id, partition: 0, strategy: { kind: 'first' }, count: 100, verifyChecksums: true })).messages;
      const p1 = (await r.pollMessages({ stream: stream.id, topic: topic.id, partition: 1, strategy: { kind: 'first' }, count: 100, verifyChecksums: true })).messages;
      assert.deepEqual(p0.map(summary), beforeP0.map(summary));
      assert.deepEqual(p1.map(summary), beforeP1.map(summary));
      assert.deepEqual(p0.map((m) => m.timestamp), beforeP0.map((m) => m.timestamp), 'broker timestamps are stored, not re-stamped');

      assert.deepEqual(await r.getOffset(offsetTarget), { partitionId: 1, currentOffset: 4n, storedOffset: 3n });
      const next = await r.pollMessages({ ...offsetTarget, strategy: { kind: 'next' }, count: 10 });
      assert.deepEqual(next.messages.map((m) => m.offset), [4n]);

      assert.deepEqual((await r.getUser('alice'))?.permissions, alicePermissions);
      const a = await IggyClient.connect({ address: second.address, username: 'alice', password: 'alice-pw' });
      assert.equal(a.userId, alice.id);
      await a.close();
      const viaToken = await IggyClient.connect({ address: second.address, token });
      assert.equal(viaToken.userId, 0);
      await viaToken.close();
      assert.deepEqual(await r.getGroup(stream.id, topic.id, 'workers'), { ...group, membersCount: 0, members: [] });

      const [confirmation] = await r.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'after' }] });
      assert.equal(confirmation.baseOffset, 10n, 'offsets continue');
      const fresh = await r.createStream('fresh');
      assert.notEqual(fresh.id, stream.id, 'the kept stream still holds its id');
      const freshUser = await r.createUser({ username: 'bob', password: 'pw-1' });
      assert.ok(freshUser.id !== alice.id && freshUser.id !== 0);
    } finally {
      await r.close();
    }
  });
});
