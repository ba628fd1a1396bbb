// A sender's next GetTopic counts the messages it was just told were appended, on whichever shard the partition
// lives: the owner's reply to a send carries the partition's stats (numbered, so a late notice cannot set them
// back), and the shard serving the connection takes them before it answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { ROOT, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const PARTITIONS = 8; // on both shards (murmur3 of the namespace)
const ROUNDS = 60;

describe('protocol: stats right after a send', () => {
  let server: ProtocolServer;
  let c: IggyClient;
  before(async () => {
    server = await startProtocolServer(['--shards', '2']);
    c = await server.connect(ROOT);
  });
  after(async () => {
    await c.close();
    await server.stop();
  });

  it(`${ROUNDS} rounds of a send to each of ${PARTITIONS} partitions, each followed by GetTopic`, async () => {
    const stream = await c.createStream('stats');
    const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: PARTITIONS });
    const wrong: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: `r${round}` }, { payload: `r${round}b` }] });
        const details = await c.getTopic(stream.id, topic.id);
        const reported = details!.partitions[partition];
        if (reported.messagesCount !== BigInt(2 * round) || reported.currentOffset !== BigInt(2 * round - 1)) {
          wrong.push(`round ${round}, partition ${partition}: messagesCount ${reported.messagesCount}, currentOffset ${reported.currentOffset}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
});
