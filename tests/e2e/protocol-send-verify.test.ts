// A send's batch is verified before it is proposed (issue 15): a batch whose checksums fail is answered 4027 / 4039
// and never becomes an op of its partition's group. It moves no op counter (partition_ops_total, summed over the
// shards), no offset and no stats, and the next good send gets the offset the bad one would have had. Both places a
// batch can lie are covered: the JS heap (a small frame) and the serving shard's frame arena (64 KiB and more).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { IggyClient } from '../../host/client/client.js';
import { buildBatch } from '../../host/client/batch.js';
import * as req from '../../host/client/requests.js';
import { closeStreamFixture, code, openStreamFixture, type ProtocolServer } from './helpers/protocol.js';

const PARTITIONS = 2; // with 2 shards, both own one (namespaces hash apart): the verify runs on either owner

// Ops committed by every shard's partition groups.
async function partitionOps(s: ProtocolServer): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${s.httpPort}/metrics`)).body.text();
  const lines = text.split('\n').filter((l) => l.startsWith('partition_ops_total{'));
  if (lines.length === 0) throw new Error('partition_ops_total is not in /metrics');
  return lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('protocol: a batch is verified before it is proposed', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  let topic: number;
  before(async () => {
    ({ s, c, stream, topic } = await openStreamFixture('verify', 't', PARTITIONS));
  });
  after(() => closeStreamFixture({ s, c }));

  const send = (partition: number, batch: Uint8Array, count: number) =>
    c.rawCommand(101, req.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages: Array.from({ length: count }, () => ({ payload: '' })) }, batch));
  const baseOffsetOf = (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getBigUint64(16, true);

  for (const [where, payloadBytes] of [['on the JS heap', 16], ['in the frame arena', 40_000]] as const) {
    it(`a refused batch ${where} takes no op and no offset: 4027 (a frame), 4039 (the batch); the next good send follows the last good one`, async () => {
      const payload = (tag: string) => new TextEncoder().encode(tag.padEnd(payloadBytes, '.'));
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const first = await send(partition, buildBatch([{ payload: payload('a') }, { payload: payload('b') }]), 2);
        const opsBefore = await partitionOps(s);
        const topicBefore = (await c.getTopic(stream, topic))!;

        const good = buildBatch([{ payload: payload('c') }, { payload: payload('d') }, { payload: payload('e') }]);
        const badFrame = good.slice();
        badFrame[good.length - 1] ^= 0x20; // the last payload byte: its frame checksum fails, the batch one still matches
        await assert.rejects(send(partition, badFrame, 3), code(4027));
        const badBatch = good.slice();
        badBatch[40] ^= 1; // the batch checksum
        await assert.rejects(send(partition, badBatch, 3), code(4039));

        assert.equal(await partitionOps(s), opsBefore, 'no op was proposed for the refused batches');
        const topicAfter = (await c.getTopic(stream, topic))!;
        assert.equal(topicAfter.messagesCount, topicBefore.messagesCount, 'nothing stored');
        assert.equal(topicAfter.sizeBytes, topicBefore.sizeBytes);

        const next = await send(partition, good, 3);
        assert.equal(baseOffsetOf(next), baseOffsetOf(first) + 2n, 'the good batch gets the offset the refused ones would have had');
        assert.equal(await partitionOps(s), opsBefore + 1, 'the good send is one op');
      }
    });
  }
});
