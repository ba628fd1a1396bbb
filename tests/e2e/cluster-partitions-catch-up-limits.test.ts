// A replica catching a partition up where it used to stay out of its group for good (3 processes, 2 shards each,
// --segment-bytes 65536 so that a few batches seal segments, --direct-io):
//   * its batches that never committed begin in a sealed segment (a former primary's ops a view change replaced,
//     forged here on a stopped backup's files): the cut goes there, the later segments go, and it catches up;
//   * wiped, while its peers' retention (max_topic_size) has removed offset 0: nothing of its log can match, so it
//     starts the partition's log again at the peer's first offset and pulls from there;
//   * restarted while a producer keeps writing: the catch-up ends at the peer's committed end while writes go on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { u64Option } from '../../host/client/options.js';
import { buildBatch } from '../../host/node/io/batch-builder.js';
import { Partition } from '../../host/node/io/partition.js';
import { listSegments, segmentName } from '../../host/node/io/segment-file.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { CoreJournalBatch } from '../../host/shared/core-abi.generated.js';
import { ReplicaClients, TestCluster, agreedLeader, partitionDirs } from './helpers/cluster.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 30_000;
const REPLICAS = [0, 1, 2];
const SEGMENT = 65536;
const PER_BATCH = 16; // messages of PAYLOAD bytes: 4 batches fill a segment (the 4th crosses it)
const PAYLOAD = 1000;

const payloadOf = (tag: string, b: number, i: number): string => `${tag}${b}-${i}`.padEnd(PAYLOAD, '.');
const batchesOf = (tag: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, k) => Array.from({ length: PER_BATCH }, (__, i) => payloadOf(tag, from + k, i))).flat();

describe('replicated partitions: catch-up past a sealed segment and past the peers\' retention', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  const leaderOf = (live: number[]): Promise<number> => agreedLeader((id) => clients.get(id), live, BOUND_MS);

  // Batches `from`..`to` - 1 of `tag` to partition 0 of r/`topic` through the leader, one at a time, each retried
  // while a partition group is taken over.
  const send = async (live: number[], topic: string, tag: string, from: number, to: number): Promise<void> => {
    for (let b = from; b < to; b++) {
      await waitFor(`batch ${tag}${b} acknowledged`, BOUND_MS, async () => {
        const lead = await clients.get(await leaderOf(live));
        try {
          await lead.sendMessages({ stream: 'r', topic, partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: PER_BATCH }, (_, i) => ({ payload: payloadOf(tag, b, i) })) });
          return true;
        } catch (error) {
          if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined;
          throw error;
        }
      }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(live)}`); });
    }
  };

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000', '--segment-bytes', String(SEGMENT), '--direct-io', '--retention-interval-ms', '100']);
    clients = new ReplicaClients(cluster, BOUND_MS);
    const lead = await clients.get(await leaderOf(REPLICAS));
    await lead.createStream('r');
    await lead.createTopic({ stream: 'r', name: 't', partitionsCount: 1 });
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of REPLICAS) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('a backup whose uncommitted batches begin in a sealed segment cuts there and catches up', async () => {
    await send(REPLICAS, 't', 'a', 0, 6);
    const leader = await leaderOf(REPLICAS);
    const backup = REPLICAS.find((id) => id !== leader)!;
    await waitFor(`replica ${backup} holds the first batches`, BOUND_MS, async () => ((await payloadsOn(await clients.get(backup), 't')).length === 6 * PER_BATCH ? true : undefined));
    await clients.drop(backup);
    await cluster.kill(backup);
    await send(REPLICAS.filter((id) => id !== backup), 't', 'b', 0, 4);
    // Its log from batch a2 (offset 32, in its first segment, sealed) replaced by batches no other replica has.
    const dir = partitionDirs(cluster.dataDirs[backup])[0];
    await forgeTail(dir, 2 * PER_BATCH, 6);
    assert.ok(listSegments(dir).length >= 2 && listSegments(dir)[0] === 0, 'the forged batches from offset 32 on run into a later segment');
    await cluster.start(backup);
    const expected = [...batchesOf('a', 0, 6), ...batchesOf('b', 0, 4)];
    const read = await waitFor(`replica ${backup} serves what the others committed`, BOUND_MS, async () => {
      const payloads = await payloadsOn(await clients.get(backup), 't').catch(() => []);
      return payloads.length >= expected.length && /caught up from replica \d/.test(cluster.output(backup)) ? payloads : undefined;
    }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
    assert.deepEqual(read, expected, 'every committed message once, in order; none of the forged ones');
    assert.match(cluster.output(backup), /cut back to offset 32, in sealed segment/);
  });

  it('a wiped backup whose peers\' retention removed offset 0 starts the log again at their first offset and catches up', async () => {
    const live = cluster.live();
    const lead = await clients.get(await leaderOf(live));
    await lead.createTopic({ stream: 'r', name: 'capped', partitionsCount: 1, options: [u64Option('segment_size', BigInt(SEGMENT)), u64Option('max_topic_size', 3n * BigInt(SEGMENT))] });
    const leader = await leaderOf(live);
    const backup = REPLICAS.find((id) => id !== leader)!;
    await clients.drop(backup);
    await cluster.kill(backup);
    for (const f of fs.readdirSync(cluster.dataDirs[backup])) fs.rmSync(path.join(cluster.dataDirs[backup], f), { recursive: true, force: true });
    const others = REPLICAS.filter((id) => id !== backup);
    await send(others, 'capped', 'e', 0, 24);
    for (const id of others) {
      await waitFor(`replica ${id}'s retention to remove offset 0 of the capped topic`, BOUND_MS, async () =>
        ((await payloadsOn(await clients.get(id), 'capped', 1))[0] ?? payloadOf('e', 0, 0)) !== payloadOf('e', 0, 0) || undefined);
    }
    await cluster.start(backup);
    const polled = await waitFor(`replica ${backup} serves the capped topic up to its last message`, BOUND_MS, async () => {
      const first = await firstOffsetOn(await clients.get(backup), 'capped').catch(() => -1);
      if (first < 0) return undefined;
      const payloads = await payloadsOn(await clients.get(backup), 'capped', 10_000, first).catch(() => []);
      return first + payloads.length === 24 * PER_BATCH ? { first, payloads } : undefined;
    }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
    assert.ok(polled.first > 0, 'it starts above offset 0, which no replica keeps');
    const all = batchesOf('e', 0, 24);
    assert.deepEqual(polled.payloads, all.slice(polled.first), 'every retained message from its first offset on, once, in order');
    assert.match(cluster.output(backup), /it starts its log again at \d+/);
    assert.deepEqual(await payloadsOn(await clients.get(backup), 't'), [...batchesOf('a', 0, 6), ...batchesOf('b', 0, 4)], 'and the other topic whole');
  });

  it('a backup restarted while a producer keeps writing catches up while the writes go on', async () => {
    const live = cluster.live();
    const leader = await leaderOf(live);
    const backup = REPLICAS.find((id) => id !== leader)!;
    await clients.drop(backup);
    await cluster.kill(backup);
    await send(REPLICAS.filter((id) => id !== backup), 't', 'f', 0, 10);
    await cluster.start(backup);
    const lead = await clients.get(leader);
    const name = `${(await lead.getStream('r'))!.id}/${(await lead.getTopic('r', 't'))!.id}/0`;
    const caughtUp = () => cluster.output(backup).includes(`partition ${name}: caught up from replica`);
    let sent = 10;
    while (!caughtUp()) { // bounded: send() fails after BOUND_MS without an acknowledgement, and so does the wait below
      await send(live, 't', 'f', sent, sent + 1);
      sent++;
      assert.ok(sent < 5000, `replica ${backup} did not catch up while ${sent - 10} batches were written\n${await cluster.diagnosis(REPLICAS)}`);
    }
    const expected = [...batchesOf('a', 0, 6), ...batchesOf('b', 0, 4), ...batchesOf('f', 0, sent)];
    const read = await waitFor(`replica ${backup} serves every batch`, BOUND_MS, async () => {
      const payloads = await payloadsOn(await clients.get(backup), 't').catch(() => []);
      return payloads.length >= expected.length ? payloads : undefined;
    });
    assert.deepEqual(read, expected, 'every acknowledged message once, in order');
  });
});

// The messages of partition 0 of r/`topic` on a replica from `from` on (up to `count`), as strings.
async function payloadsOn(client: IggyClient, topic: string, count = 10_000, from = 0): Promise<string[]> {
  const out: string[] = [];
  for (let next = from; out.length < count;) {
    const polled = await client.pollMessages({ stream: 'r', topic, partition: 0, strategy: { kind: 'offset', value: BigInt(next) }, count: Math.min(500, count - out.length) });
    if (polled.messages.length === 0) break;
    for (const m of polled.messages) out.push(new TextDecoder().decode(m.payload));
    next = Number(polled.messages.at(-1)!.offset) + 1;
  }
  return out;
}

async function firstOffsetOn(client: IggyClient, topic: string): Promise<number> {
  const polled = await client.pollMessages({ stream: 'r', topic, partition: 0, strategy: { kind: 'offset', value: 0n }, count: 1 });
  return polled.messages.length > 0 ? Number(polled.messages[0].offset) : -1;
}


// What a former primary leaves when a view change replaced its ops from `offset` on: its files cut there by hand
// (later segments removed, the segment holding it truncated at that batch) and `batches` other batches appended.
async function forgeTail(dir: string, offset: number, batches: number): Promise<void> {
  const bases = listSegments(dir);
  const holding = bases.filter((b) => b <= offset).at(-1)!;
  for (const base of bases.filter((b) => b > holding)) {
    for (const ext of ['log', 'index']) fs.rmSync(path.join(dir, `${segmentName(base)}.${ext}`), { force: true });
  }
  const log = path.join(dir, `${segmentName(holding)}.log`);
  const bytes = fs.readFileSync(log);
  let position = 0;
  while (bytes.readBigUInt64LE(position + CoreJournalBatch.B_BASE_OFFSET) !== BigInt(offset)) position += Number(bytes.readBigUInt64LE(position + CoreJournalBatch.B_LENGTH));
  fs.truncateSync(log, position);
  fs.rmSync(path.join(dir, `${segmentName(holding)}.index`), { force: true });
  const sc = await storageCore();
  const p = await Partition.open({ dir, partitionId: Number(path.basename(dir)), segmentBytes: SEGMENT, quiet: true }, sc);
  try {
    for (let b = 0; b < batches; b++) {
      await p.appendAsync([buildBatch(sc, Array.from({ length: PER_BATCH }, (_, i) => ({ payload: new TextEncoder().encode(payloadOf('x', b, i)) })), 1000)]);
    }
  } finally {
    p.close();
  }
}
