// Consensus frames between shards are try-send-or-drop (issue 15): with rings of a few frames' room (the
// --inbox-capacity and --ring-slot-size settings) a burst of partition writes fills a ring between a replica's shards,
// a prepare (or its forward to the links' shard) is refused, counted in frame_drops_total{variant,reason="full"}
// in a real /metrics scrape, and VSR's retransmission still commits every write: each is acknowledged and read
// back identically (payloads, offsets, checksums, order) through every replica's client port.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import type { Message } from '../../host/client/batch.js';
import { ReplicaClients, TestCluster, agreedLeader, metricValue } from './helpers/cluster.js';
import { ROOT } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 30_000;
const PARTITIONS = 4; // two per shard, or near it (routePartition hashes): prepares cross the rings both ways
const PRODUCERS_PER_PARTITION = 4; // requests that arrive together: prepares proposed and forwarded in one turn
const BATCHES_PER_ROUND = 3; // per producer
const MAX_ROUNDS = 8; // bursts until a full ring is counted (one or two suffice here)
const PER_BATCH = 28;
const PAYLOAD = 2_000;
// 16 slots of 4 KiB: 64 KiB per ring between two shards, against the default 4 MiB. A batch of ~57 KiB: its
// prepare fits an empty ring (an oversize one could never cross) and nothing of its size beside it, so two
// prepares forwarded to the links' shard in one turn, or one behind a client's batch crossing to its partition's
// shard, find the ring full.
const SMALL_RINGS = ['--inbox-capacity', '16', '--ring-slot-size', '4096'];
// The drops a full ring causes on the consensus path: a frame routed to its group's shard (metadata or partition)
// and a message forwarded to the shard that owns the replica's link.
const CONSENSUS_VARIANTS = ['consensus', 'partition', 'forward_replica_send'];

async function fullRingDrops(cluster: TestCluster): Promise<number> {
  let total = 0;
  for (const id of [0, 1, 2]) {
    const text = await cluster.metrics(id);
    for (const shard of ['0', '1']) for (const variant of CONSENSUS_VARIANTS) total += metricValue(text, 'frame_drops_total', { shard, variant, reason: 'full' });
  }
  return total;
}

describe('replicated partitions: a full ring between shards drops consensus frames, and the writes still commit', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  const producers: IggyClient[] = [];

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000', ...SMALL_RINGS]);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    for (const p of producers) await p.close().catch(() => undefined);
    await clients?.dropAll();
    await cluster?.stop();
  });

  // A send through the leader, again while the partition's group still elects its first primary (58).
  const sendAccepted = (c: IggyClient, partition: number, payloads: string[]) =>
    waitFor(`a send to partition ${partition} accepted`, BOUND_MS, async () => {
      try {
        await c.sendMessages({ stream: 'ring', topic: 't', partitioning: { kind: 'partition', partition }, messages: payloads.map((payload) => ({ payload })) });
        return true;
      } catch (error) {
        if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined;
        throw error;
      }
    });

  const messagesOn = async (id: number, partition: number, expected: number): Promise<Message[]> => {
    const c = await clients.get(id);
    return waitFor(`${expected} messages of partition ${partition} on replica ${id}`, BOUND_MS, async () => {
      const polled = await c.pollMessages({ stream: 'ring', topic: 't', partition, strategy: { kind: 'offset', value: 0n }, count: expected + 10 });
      assert.ok(polled.messages.length <= expected, `replica ${id} shows ${polled.messages.length} > ${expected} messages of partition ${partition}`);
      return polled.messages.length === expected ? polled.messages : undefined;
    });
  };

  it('counts full-ring drops in /metrics, acknowledges every write and serves the same messages on every replica', async () => {
    const leader = await agreedLeader((id) => clients.get(id), [0, 1, 2], BOUND_MS);
    const lead = await clients.get(leader);
    await lead.createStream('ring');
    await lead.createTopic({ stream: 'ring', name: 't', partitionsCount: PARTITIONS });
    // One small message per partition first: each group has its primary before the burst.
    for (let partition = 0; partition < PARTITIONS; partition++) await sendAccepted(lead, partition, [`first-${partition}`]);
    const dropsBefore = await fullRingDrops(cluster);

    // Several connections at once (the server spreads them over both shards), each writing its batches in order,
    // in bursts until a full ring was counted (bounded).
    for (let i = 0; i < PARTITIONS * PRODUCERS_PER_PARTITION; i++) {
      producers.push(await IggyClient.connect({ address: `127.0.0.1:${cluster.ports[leader].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs: BOUND_MS, followLeader: false }));
    }
    const acknowledged: string[][] = producers.map(() => []);
    let dropsAfter = dropsBefore;
    for (let round = 0; round < MAX_ROUNDS && dropsAfter === dropsBefore; round++) {
      await Promise.all(producers.map(async (c, p) => {
        const partition = p % PARTITIONS;
        for (let b = 0; b < BATCHES_PER_ROUND; b++) {
          const tag = `p${p}-r${round}-b${b}`;
          const payloads = Array.from({ length: PER_BATCH }, (_, i) => `${tag}-m${i}-`.padEnd(PAYLOAD, String.fromCharCode(97 + ((p + b + i) % 26))));
          await sendAccepted(c, partition, payloads);
          acknowledged[p].push(...payloads);
        }
      }));
      dropsAfter = await fullRingDrops(cluster);
    }
    assert.ok(dropsAfter > dropsBefore,
      `a ring between shards was full and a consensus frame was dropped and counted within ${MAX_ROUNDS} bursts (${dropsBefore} → ${dropsAfter})\n${await cluster.diagnosis([0, 1, 2])}`);

    const decoder = new TextDecoder();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const mine = acknowledged.filter((_, p) => p % PARTITIONS === partition);
      const expected = 1 + mine.reduce((n, a) => n + a.length, 0);
      const onLeader = await messagesOn(leader, partition, expected);
      const payloads = onLeader.map((m) => decoder.decode(m.payload));
      assert.equal(payloads[0], `first-${partition}`);
      for (const sent of mine) {
        assert.deepEqual(payloads.filter((text) => sent.includes(text)), sent, `partition ${partition}: each producer's acknowledged messages, once, in order`);
      }
      for (const id of [0, 1, 2].filter((r) => r !== leader)) {
        const onBackup = await messagesOn(id, partition, expected);
        assert.deepEqual(onBackup.map((m) => [m.offset, m.checksum, decoder.decode(m.payload)]), onLeader.map((m) => [m.offset, m.checksum, decoder.decode(m.payload)]),
          `partition ${partition}: replica ${id} serves the leader's messages`);
      }
    }
  });
});
