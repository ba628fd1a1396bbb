// Acknowledged messages of a partition whose ids were reused survive a restart. Ids are reused after deletes, so
// the metadata log replayed at boot holds earlier partitions at the same ids as today's; their files must not be
// mistaken for the earlier partitions' (issue: a clean restart wiped partition 1/1/0 after stream id 1 was
// reused, on the shard that replays the log op by op). Checked with one shard (every partition replayed by shard
// 0) and with two (some partitions only handed the final state).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import path from 'node:path';
import { partitionDir } from '../../host/node/data/partition-dir.js';
import { waitFor, withTimeout } from './helpers/server.js';
import { ROOT, type ProtocolServer, serverSeries, type ServerSeries } from './helpers/protocol.js';

const MESSAGES = 100;

async function restart(series: ServerSeries, shards: string): Promise<ProtocolServer> {
  const server = series.started.at(-1)!;
  server.server.child.kill('SIGTERM');
  const exit = await withTimeout(server.server.exited, 15_000, 'the server stopped after SIGTERM');
  assert.equal(exit.code, 0, server.server.output());
  return series.start(['--shards', shards]);
}

for (const shards of ['1', '2']) {
  describe(`protocol: id reuse across a restart (${shards} shard(s))`, () => {
    const series = serverSeries('id-reuse');

    it('a stream created, deleted and created again under the same id keeps the second one\'s messages', async () => {
      const c = await (await series.start(['--shards', shards])).connect(ROOT);
      const earlier: number[] = [];
      let earlierTopic = 0;
      for (let i = 0; i < 8; i++) {
        const s = await c.createStream(`earlier-${i}`);
        const t = await c.createTopic({ stream: s.id, name: 't', partitionsCount: 2 });
        await c.sendMessages({ stream: s.id, topic: t.id, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'old' }] });
        earlier.push(s.id);
        earlierTopic = t.id;
      }
      for (const id of earlier) await c.deleteStream(id);
      // A deleted partition's files go when its deletion is applied (on the owning shard, maybe after the answer).
      const left = () => earlier.flatMap((streamId) => [0, 1].map((partitionId) => partitionDir(series.dataDir, { streamId, topicId: earlierTopic, partitionId })))
        .filter((dir) => fs.existsSync(dir)).map((dir) => path.relative(series.dataDir, dir));
      await waitFor('the deleted partitions\' files to go', 10_000, async () => (left().length === 0 ? true : undefined))
        .catch(() => assert.deepEqual(left(), [], 'files of deleted partitions'));
      const stream = await c.createStream('reused');
      assert.equal(stream.id, earlier[0], 'the new stream got a freed id');
      const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: 2 });
      for (const partition of [0, 1]) {
        await c.sendMessages({
          stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition },
          messages: Array.from({ length: MESSAGES }, (_, i) => ({ payload: `p${partition}-${i}` })),
        });
      }
      await c.close();

      for (let round = 0; round < 2; round++) {
        const next = await restart(series, shards);
        const r = await next.connect(ROOT);
        try {
          assert.deepEqual((await r.getStreams()).map((s) => [s.id, s.name]), [[stream.id, 'reused']]);
          for (const partition of [0, 1]) {
            const polled = await r.pollMessages({ stream: stream.id, topic: topic.id, partition, strategy: { kind: 'first' }, count: MESSAGES * 2 });
            assert.deepEqual(polled.messages.map((m) => new TextDecoder().decode(m.payload)),
              Array.from({ length: MESSAGES }, (_, i) => `p${partition}-${i}`), `partition ${partition} after restart ${round + 1}`);
          }
        } finally {
          await r.close();
        }
        assert.doesNotMatch(next.server.output(), /removed files left by an earlier partition/);
      }
    });
  });
}
