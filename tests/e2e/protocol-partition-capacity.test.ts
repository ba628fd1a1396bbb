// More partitions than a shard's storage memory can hold open (each takes an index region): the server keeps
// serving the ones it opened and answers the others 3003 CannotOpenPartitionLogFile, and it boots again on the same
// data directory (the CreateTopic is committed; a shard that failed on it would fail every boot after it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { withTimeout } from './helpers/server.js';
import { startProtocolServer, serverSeries } from './helpers/protocol.js';

const SMALL_STORAGE = ['--storage-bytes', String(64 << 20)]; // room for about 600 partitions per shard

describe('protocol: partitions beyond a shard\'s storage memory', () => {
  const series = serverSeries('capacity');

  async function sendTo(c: IggyClient, stream: number, topic: number, partition: number): Promise<number> {
    try {
      await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages: [{ payload: 'x' }] });
      return 0;
    } catch (error) {
      if (error instanceof IggyError) return error.code;
      throw error;
    }
  }

  it('a topic with more partitions than fit is created; unopened partitions answer 3003; the server restarts', async () => {
    const first = await series.start([...SMALL_STORAGE]);
    const c = await first.connect();
    const stream = await c.createStream('big');
    const topic = await c.createTopic({ stream: stream.id, name: 'wide', partitionsCount: 1000 });
    const wider = await c.createTopic({ stream: stream.id, name: 'wider', partitionsCount: 1000 });
    assert.equal(wider.partitionsCount, 1000);
    const statuses = [await sendTo(c, stream.id, topic.id, 0), await sendTo(c, stream.id, wider.id, 999)];
    assert.deepEqual(statuses, [0, 3003], 'the first partition opened; the last of 2000 did not fit (3003 CannotOpenPartitionLogFile)');
    await c.close();
    assert.equal(first.server.child.exitCode, null, first.server.output());

    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM')).code, 0, first.server.output());
    const second = await series.start([...SMALL_STORAGE]);
    const r = await second.connect();
    try {
      assert.equal(await sendTo(r, stream.id, topic.id, 0), 0);
    } finally {
      await r.close();
    }
  });

  it('deleted partitions give their consensus replicas back: a 2 MiB arena serves 60 topics created and deleted in turn', async () => {
    // 60 partition groups (≈ 40 KiB of arena each) do not fit next to the metadata group in 2 MiB: without reuse the
    // later topics' partitions could not be opened and their sends would be answered 3003.
    const server = await startProtocolServer(['--arena-bytes', String(2 << 20)]);
    series.started.push(server); // its own temp data directory; killed with the others
    const c = await server.connect();
    try {
      const stream = await c.createStream('churn');
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) {
        const topic = await c.createTopic({ stream: stream.id, name: `t${i}`, partitionsCount: 2 });
        statuses.push(await sendTo(c, stream.id, topic.id, 0), await sendTo(c, stream.id, topic.id, 1));
        await c.deleteTopic(stream.id, topic.id);
      }
      assert.deepEqual(statuses, new Array(120).fill(0));
    } finally {
      await c.close();
    }
    assert.equal(server.server.child.exitCode, null, server.server.output());
  });
});
