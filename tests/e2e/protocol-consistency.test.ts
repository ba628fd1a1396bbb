// Read-your-writes across clients and shards: once one client is told a metadata op committed, a request another
// client starts afterwards sees it, also on the shard that owns the partition it names (each shard applies
// committed ops from its own ring; a forwarded request waits until its owner has applied what its home had).
// Partitions 0..2 of each topic spread over both shards; two new streams at a time also race their directories.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

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

  it('a stream, topic and partitions one client created are at once usable by another, on every shard', async () => {
    const [writer, reader] = [await s.connect(), await s.connect()];
    clients.push(writer, reader);
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
