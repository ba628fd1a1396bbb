// After a restart the first request already sees every partition's stats: shard 0 serves clients only once every
// shard has opened its partitions and published their message counts (they are pushed between shards, not read on
// demand), so GetTopic never reports a partition of another shard as empty while that shard is still opening.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTimeout } from './helpers/server.js';
import { ROOT, serverSeries } from './helpers/protocol.js';

const PARTITIONS = 40;

describe('protocol: stats right after a restart', () => {
  const series = serverSeries('restart-stats');

  it(`GetTopic's first answer counts the messages of all ${PARTITIONS} partitions on both shards`, async () => {
    const first = await series.start(['--shards', '2']);
    const c = await first.connect(ROOT);
    const stream = await c.createStream('stats');
    const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: PARTITIONS });
    const sent = [0, 1, 2, 3, 5, 8, 13, PARTITIONS - 2, PARTITIONS - 1];
    for (const partition of sent) {
      await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: `p${partition}` }] });
    }
    await c.close();
    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM')).code, 0, first.server.output());

    // Shard 1 opens its partitions late: clients that came in meanwhile would see its partitions as empty.
    const second = await series.start(['--shards', '2'], { SHARDLOG_FAULT: 'slow-boot:1:1500' });
    const r = await second.connect(ROOT);
    try {
      const details = await r.getTopic(stream.id, topic.id);
      const counted = details!.partitions.filter((p) => p.messagesCount > 0n).map((p) => p.id);
      assert.deepEqual(counted, sent);
    } finally {
      await r.close();
    }
  });
});
