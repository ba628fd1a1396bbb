// Read-your-writes across shards: once one client is told a metadata op committed, a request another client
// starts afterwards sees it, even when the two connections are served by different shards (each shard applies
// committed ops from its own ring; a request first catches up with what shard 0 applied).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const SHARDS = 2;

describe('protocol: metadata consistency across shards', () => {
  let s: ProtocolServer;
  const clients: IggyClient[] = [];
  before(async () => {
    s = await startProtocolServer();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await s?.stop();
  });

  // Connection ids are seq * shards + shard (system-reads.ts), so getMe tells which shard serves a connection.
  async function onShard(shard: number): Promise<IggyClient> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const c = await s.connect();
      clients.push(c);
      if ((await c.getMe()).clientId % SHARDS === shard) return c;
    }
    throw new Error(`no connection landed on shard ${shard} in 40 attempts`);
  }

  it('a stream, topic and partitions created through one shard are at once visible through the other', async () => {
    const [writer, reader] = [await onShard(1), await onShard(0)];
    for (const [from, to] of [[writer, reader], [reader, writer]]) {
      for (let i = 0; i < 40; i++) {
        const name = unique('seen');
        const stream = await from.createStream(name);
        assert.equal((await to.getStream(name))?.id, stream.id, `stream ${name} right after its creation`);
        const topic = await from.createTopic({ stream: stream.id, name: 't', partitionsCount: 1 });
        await from.createPartitions(stream.id, topic.id, 2);
        const [confirmation] = await to.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 2 }, messages: [{ payload: 'x' }] });
        assert.equal(confirmation.partitionId, 2);
      }
    }
  });
});
