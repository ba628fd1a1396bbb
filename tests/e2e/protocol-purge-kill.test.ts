// An acknowledged purge holds on every shard: a purge is answered only after every shard owning one of the
// partitions emptied it, so a SIGKILL right after the answer cannot bring purged messages back (replay at boot
// re-applies metadata, not data actions, and the other shards are handed only the final state).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ROOT, serverSeries } from './helpers/protocol.js';

const PARTITIONS = 6; // some on each of the two shards (murmur3 of the namespace)
const ROUNDS = 3;

describe('protocol: a purge survives a SIGKILL right after its answer', () => {
  const series = serverSeries('purge-kill');

  it(`${ROUNDS} rounds of send, purge, SIGKILL, restart: every partition stays empty`, async () => {
    let stream = 0;
    let topic = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await series.start(['--shards', '2']);
      const c = await server.connect(ROOT);
      if (round === 0) {
        stream = (await c.createStream('purged')).id;
        topic = (await c.createTopic({ stream, name: 't', partitionsCount: PARTITIONS })).id;
      }
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'first' }, count: 10 });
        assert.deepEqual(polled.messages.map((m) => new TextDecoder().decode(m.payload)), [], `partition ${partition} is empty after the purge and restart ${round}`);
        await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages: [{ payload: `r${round}-p${partition}` }] });
      }
      if (round % 2 === 0) await c.purgeTopic(stream, topic);
      else await c.purgeStream(stream);
      server.server.child.kill('SIGKILL');
      await server.server.exited;
    }
    const last = await series.start(['--shards', '2']);
    const c = await last.connect(ROOT);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'first' }, count: 10 });
      assert.equal(polled.messages.length, 0, `partition ${partition} after the last purge`);
    }
    await c.close();
  });
});
