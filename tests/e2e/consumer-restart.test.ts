// The SDK consumer across a server crash and restart in the middle of a stream: the server is killed (SIGKILL)
// while a group consumer is halfway through, started again on the same port and data directory, and more messages
// arrive. The consumer's client reconnects and logs in again, the consumer re-joins its group and carries on; what
// it yields is every message of both partitions exactly once, in offset order per partition.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { Consumer, IggyClient } from 'shardlog/client';
import { freePort, tempDir, withTimeout } from './helpers/server.js';
import { ROOT, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const PER_PARTITION = 100; // per partition, before and again after the restart

async function fill(s: ProtocolServer, round: number): Promise<void> {
  const c = await s.connect();
  for (const partition of [0, 1]) {
    await c.sendMessages({ stream: 'restart', topic: 'events', partitioning: { kind: 'partition', partition }, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ payload: `${round}-${partition}-${i}` })) });
  }
  await c.close();
}

describe('SDK: a consumer survives a server restart mid-stream', () => {
  const dataDir = tempDir('sdk-restart');
  const servers: ProtocolServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('reconnects, re-joins its group and yields no duplicates and no gaps', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const first = await startProtocolServer(['--data-dir', dataDir], {}, port);
    servers.push(first);
    const setup = await first.connect();
    await setup.createStream('restart');
    await setup.createTopic({ stream: 'restart', name: 'events', partitionsCount: 2 });
    await setup.close();
    await fill(first, 1);

    const client = await IggyClient.connect({ address: first.address, ...ROOT, heartbeatMs: 0, reconnect: { retries: 400, initialDelayMs: 10, maxDelayMs: 100 } });
    const consumer = new Consumer(client, { stream: 'restart', topic: 'events', group: 'survivors', batchSize: 30, pollIntervalMs: 5 });
    const seen: { partition: number; offset: bigint; payload: string }[] = [];
    try {
      for await (const m of consumer) {
        seen.push({ partition: m.partitionId, offset: m.offset, payload: new TextDecoder().decode(m.payload) });
        if (seen.length === PER_PARTITION) {
          first.server.child.kill('SIGKILL'); // mid-batch: the consumer holds polled messages it has not yielded yet
          await withTimeout(first.server.exited, 15_000, 'the killed server exited');
          const second = await startProtocolServer(['--data-dir', dataDir], {}, port);
          servers.push(second);
          await fill(second, 2);
        }
        if (seen.length === 4 * PER_PARTITION) break;
      }
      assert.ok(client.reconnects >= 1, 'the client reconnected');
      const group = await client.getGroup('restart', 'events', 'survivors');
      assert.deepEqual(group?.members.map((m) => m.partitions.sort()), [[0, 1]], 're-joined: the one member owns both partitions');
    } finally {
      await consumer.close();
      await client.close();
    }

    const keys = seen.map((m) => `${m.partition}:${m.offset}`);
    assert.equal(new Set(keys).size, keys.length, 'no message yielded twice');
    for (const partition of [0, 1]) {
      const mine = seen.filter((m) => m.partition === partition);
      assert.deepEqual(mine.map((m) => m.offset), Array.from({ length: 2 * PER_PARTITION }, (_, i) => BigInt(i)), `partition ${partition}: every offset, in order`);
      assert.deepEqual(mine.map((m) => m.payload), Array.from({ length: 2 * PER_PARTITION }, (_, i) => `${i < PER_PARTITION ? 1 : 2}-${partition}-${i % PER_PARTITION}`));
    }
  });
});
