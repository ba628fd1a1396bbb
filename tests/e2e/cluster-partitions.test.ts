// Partition groups replicated over the replica plane (3 replicas on loopback, 2 shards each, so partitions land
// on both shards and prepares cross the rings to the links' shard): messages sent through the leader are read
// back identically (payloads, offsets, append times, checksums, order) through every replica's client port; a
// backup answers a send 58 TransientNotAccepted and its polls show only committed messages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import type { Message } from '../../host/client/batch.js';
import { TestCluster } from './helpers/cluster.js';
import { ROOT } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const LEADER = 0;
const BOUND_MS = 20_000;
const PARTITIONS = 4; // two per shard, or near it (routePartition hashes)
const BATCHES = 5;
const PER_BATCH = 20;

describe('replicated partitions: three processes', () => {
  let cluster: TestCluster;
  const clients: (IggyClient | null)[] = [null, null, null];

  const client = async (id: number): Promise<IggyClient> => {
    const existing = clients[id];
    if (existing && !existing.connection.isClosed) return existing;
    const fresh = await waitFor(`a login on replica ${id}`, BOUND_MS, async () =>
      IggyClient.connect({ address: `127.0.0.1:${cluster.ports[id].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs: 5_000, followLeader: false }));
    clients[id] = fresh;
    return fresh;
  };

  const agreedLeader = (live: number[]): Promise<number> => waitFor(`replicas ${live} to agree on one leader`, BOUND_MS, async () => {
    const leaders = new Set<number>();
    for (const id of live) {
      const meta = await (await client(id)).getClusterMetadata();
      const named = meta.nodes.filter((n) => n.role === LEADER);
      if (named.length !== 1) return undefined;
      leaders.add(meta.nodes.indexOf(named[0]));
    }
    return leaders.size === 1 ? [...leaders][0] : undefined;
  });

  // Every message of `partition` on replica `id`, once it has `expected` of them (a backup learns that an op
  // committed from the primary's next message: bounded wait).
  const messagesOn = (id: number, stream: string, partition: number, expected: number): Promise<Message[]> =>
    waitFor(`${expected} messages of partition ${partition} on replica ${id}`, BOUND_MS, async () => {
      const polled = await (await client(id)).pollMessages({ stream, topic: 't', partition, strategy: { kind: 'offset', value: 0n }, count: expected + 10 });
      assert.ok(polled.messages.length <= expected, `replica ${id} shows ${polled.messages.length} > ${expected} messages of partition ${partition}`);
      return polled.messages.length === expected ? polled.messages : undefined;
    });

  before(async () => {
    cluster = await TestCluster.create(3, ['--cluster-handshake-timeout-ms', '2000']);
    await Promise.all([0, 1, 2].map((id) => cluster.start(id)));
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of [0, 1, 2]) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    for (const c of clients) await c?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it('messages sent through the leader are read back identically through every replica', async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const lead = await client(leader);
    await lead.createStream('rep');
    await lead.createTopic({ stream: 'rep', name: 't', partitionsCount: PARTITIONS });
    const sent: string[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let b = 0; b < BATCHES; b++) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const payloads = Array.from({ length: PER_BATCH }, (_, i) => `p${partition}-b${b}-m${i}-${'x'.repeat((b * 37 + i) % 200)}`);
        await waitFor(`send to partition ${partition} accepted`, BOUND_MS, async () => {
          try {
            await lead.sendMessages({ stream: 'rep', topic: 't', partitioning: { kind: 'partition', partition }, messages: payloads.map((payload) => ({ payload })) });
            return true;
          } catch (error) {
            // The partition's group may still be electing its first primary right after the topic was created.
            if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined;
            throw error;
          }
        });
        sent[partition].push(...payloads);
      }
    }
    const decoder = new TextDecoder();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const expected = sent[partition].length;
      const onLeader = await messagesOn(leader, 'rep', partition, expected);
      assert.deepEqual(onLeader.map((m) => decoder.decode(m.payload)), sent[partition], `partition ${partition}: the leader holds what was sent, in order`);
      assert.deepEqual(onLeader.map((m) => m.offset), sent[partition].map((_, i) => BigInt(i)));
      for (const id of [0, 1, 2].filter((r) => r !== leader)) {
        const onBackup = await messagesOn(id, 'rep', partition, expected);
        // Same payloads, offsets, ids, append times and checksums: the same stamped bytes.
        assert.deepEqual(onBackup.map((m) => ({ ...m, payload: decoder.decode(m.payload) })), onLeader.map((m) => ({ ...m, payload: decoder.decode(m.payload) })),
          `partition ${partition}: replica ${id} holds the same messages as the leader`);
      }
    }
  });

  it('a backup answers a send 58 TransientNotAccepted, and nothing of it is stored', async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const backup = [0, 1, 2].find((id) => id !== leader)!;
    const before = (await messagesOn(leader, 'rep', 0, BATCHES * PER_BATCH)).length;
    await assert.rejects((await client(backup)).sendMessages({ stream: 'rep', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'refused' }] }),
      (e: unknown) => e instanceof IggyError && e.code === TRANSIENT_NOT_ACCEPTED);
    // One more send through the leader: once every replica shows it, the refused one would be before it.
    await (await client(leader)).sendMessages({ stream: 'rep', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'after' }] });
    for (const id of [0, 1, 2]) {
      const all = await messagesOn(id, 'rep', 0, before + 1);
      assert.equal(new TextDecoder().decode(all.at(-1)!.payload), 'after');
    }
  });
});
