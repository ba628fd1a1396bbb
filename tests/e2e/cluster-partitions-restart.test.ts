// Replicas restarted with their partition data (a partition group's VSR state is not persisted):
//   * one backup restarted while the others go on keeps out of the partition's group (it cannot tell which ops its
//     segments hold) instead of taking ops it has from a peer's repair again: it shows each message once, the
//     others commit without it, and it says so in its log;
//   * after a whole-cluster restart that replica stays out (its marker): it still shows only what it had;
//   * a whole cluster restarted (none kept out) forms again from every replica's files: the same messages on every
//     replica, and sends go on through the new leader.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { ReplicaClients, TestCluster, agreedLeader } from './helpers/cluster.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 20_000;
const REPLICAS = [0, 1, 2];

// The cluster's leader as every live replica names it, a batch of `tag`-0..9 sent through it (retried while a
// partition group is taken over), and a replica's messages of partition 0.
function helpers(clientsOf: () => ReplicaClients) {
  const leaderOf = (live: number[]): Promise<number> => agreedLeader((id) => clientsOf().get(id), live, BOUND_MS);

  // Sends one batch of `tag`-0..9 through the leader, retrying while a partition group is taken over.
  const sendBatch = async (live: number[], tag: string): Promise<void> => {
    await waitFor(`batch ${tag} acknowledged`, BOUND_MS, async () => {
      const lead = await clientsOf().get(await leaderOf(live));
      try {
        await lead.sendMessages({ stream: 'r', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: 10 }, (_, i) => ({ payload: `${tag}-${i}` })) });
        return true;
      } catch (error) {
        if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined;
        throw error;
      }
    });
  };

  const payloadsOn = async (client: IggyClient): Promise<string[]> => {
    const polled = await client.pollMessages({ stream: 'r', topic: 't', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 10_000 });
    return polled.messages.map((m) => new TextDecoder().decode(m.payload));
  };

  return { leaderOf, sendBatch, payloadsOn };
}

const batches = (tag: string, n: number): string[] => Array.from({ length: n }, (_, b) => Array.from({ length: 10 }, (__, i) => `${tag}${b}-${i}`)).flat();

describe('replicated partitions: restarts with data', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  let keptOut = -1;
  const { leaderOf, sendBatch, payloadsOn } = helpers(() => clients);

  before(async () => {
    cluster = await TestCluster.create(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of REPLICAS) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('a backup restarted with its data keeps out of the group: each message once on it, the others commit on', async () => {
    const leader = await leaderOf(REPLICAS);
    const lead = await clients.get(leader);
    await lead.createStream('r');
    await lead.createTopic({ stream: 'r', name: 't', partitionsCount: 1 });
    for (let b = 0; b < 5; b++) await sendBatch(REPLICAS, `a${b}`);
    const backup = REPLICAS.find((id) => id !== leader)!;
    keptOut = backup;
    await waitFor(`replica ${backup} holds the first batches`, BOUND_MS, async () => ((await payloadsOn(await clients.get(backup))).length === 50 ? true : undefined));
    await clients.drop(backup);
    await cluster.kill(backup);
    for (let b = 0; b < 5; b++) await sendBatch(REPLICAS.filter((id) => id !== backup), `b${b}`);
    await cluster.start(backup);
    await waitFor(`replica ${backup} says it keeps out`, BOUND_MS, async () => (/catching up a partition from a peer .* is not built yet/.test(cluster.output(backup)) ? true : undefined));
    for (let b = 0; b < 5; b++) await sendBatch(REPLICAS.filter((id) => id !== backup), `c${b}`);
    assert.deepEqual(await payloadsOn(await clients.get(backup)), batches('a', 5), 'the restarted backup: what it had, each message once');
    const expected = [...batches('a', 5), ...batches('b', 5), ...batches('c', 5)];
    for (const id of REPLICAS.filter((r) => r !== backup)) {
      const read = await waitFor(`replica ${id} holds every batch`, BOUND_MS, async () => {
        const payloads = await payloadsOn(await clients.get(id));
        return payloads.length >= expected.length ? payloads : undefined;
      });
      assert.deepEqual(read, expected, `replica ${id}: every acknowledged message, once, in order`);
    }
  });

  it('the whole cluster restarted: the replica that kept out stays out (its marker), the others hold every message', async () => {
    await clients.dropAll();
    await Promise.all(REPLICAS.map((id) => cluster.kill(id)));
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
    const expected = [...batches('a', 5), ...batches('b', 5), ...batches('c', 5)];
    for (const id of REPLICAS) {
      const read = await waitFor(`replica ${id} serves the partition again`, BOUND_MS, async () => {
        const payloads = await payloadsOn(await clients.get(id)).catch(() => null);
        return payloads && payloads.length > 0 ? payloads : undefined;
      });
      assert.deepEqual(read, id === keptOut ? batches('a', 5) : expected, `replica ${id}`);
    }
    await waitFor(`replica ${keptOut} keeps out again`, BOUND_MS, async () => (/catching up a partition from a peer .* is not built yet/.test(cluster.output(keptOut)) ? true : undefined));
  });
});

describe('replicated partitions: a whole-cluster restart', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;

  before(async () => {
    cluster = await TestCluster.create(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('forms again from every replica\'s files: the same messages everywhere, and sends go on', async () => {
    const { leaderOf, sendBatch, payloadsOn } = helpers(() => clients);
    const lead = await clients.get(await leaderOf(REPLICAS));
    await lead.createStream('r');
    await lead.createTopic({ stream: 'r', name: 't', partitionsCount: 1 });
    for (let b = 0; b < 3; b++) await sendBatch(REPLICAS, `a${b}`);
    for (const id of REPLICAS) {
      await waitFor(`replica ${id} holds every batch`, BOUND_MS, async () => ((await payloadsOn(await clients.get(id))).length === 30 ? true : undefined));
    }
    await clients.dropAll();
    await Promise.all(REPLICAS.map((id) => cluster.kill(id)));
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
    await sendBatch(REPLICAS, 'b0');
    for (const id of REPLICAS) {
      const read = await waitFor(`replica ${id} holds the new batch`, BOUND_MS, async () => {
        const payloads = await payloadsOn(await clients.get(id));
        return payloads.at(-1) === 'b0-9' ? payloads : undefined;
      });
      assert.deepEqual(read, [...batches('a', 3), ...batches('b', 1)], `replica ${id}: every message once, in order`);
    }
  });
});
