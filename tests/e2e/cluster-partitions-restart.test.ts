// Replicas restarted with their partition data (a partition group's VSR state is not persisted):
//   * one backup restarted while the others go on cannot tell which ops its segments hold: it catches its segments
//     up from a peer (partition-catch-up.ts) instead of taking ops it has from a peer's repair again: afterwards it
//     shows each message once, holds the same segment bytes as the others, and votes again (the cluster commits with
//     it while another replica is down);
//     the committed consumer offsets, those stored while it was down too, are the others' (replicaFingerprint);
//   * a whole cluster restarted forms again from every replica's files: the same messages on every replica, and
//     sends go on through the new leader.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { OFFSETS_FILE } from '../../host/node/data/offsets.js';
import { ReplicaClients, TestCluster, agreedLeader } from './helpers/cluster.js';
import { agreedFingerprint } from './helpers/replica-state.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 20_000;
const REPLICAS = [0, 1, 2];
const CONSUMERS = [7, 8]; // the single consumers whose offsets the fingerprint compares

// The cluster's leader as every live replica names it, a batch of `tag`-0..9 sent through it (retried while a
// partition group is taken over), and a replica's messages of partition 0.
function helpers(clientsOf: () => ReplicaClients, clusterOf: () => TestCluster) {
  const leaderOf = (live: number[]): Promise<number> => agreedLeader((id) => clientsOf().get(id), live, BOUND_MS);

  // Sends one batch of `tag`-0..9 through the leader, retrying while a partition group is taken over.
  const sendBatch = async (live: number[], tag: string): Promise<void> => {
    await sendOnce(live, tag).catch(async (error: Error) => { throw new Error(`${error.message}\n${await clusterOf().diagnosis(live)}`); });
  };
  const sendOnce = async (live: number[], tag: string): Promise<void> => {
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

  // Stores consumer `consumer`'s offset of partition 0 through the leader, retrying while a group is taken over.
  const storeOffset = (live: number[], consumer: number, offset: bigint): Promise<true> =>
    waitFor(`offset ${offset} of consumer ${consumer} stored`, BOUND_MS, async () => {
      const lead = await clientsOf().get(await leaderOf(live));
      try {
        await lead.storeOffset({ consumer: { kind: 'consumer', id: consumer }, stream: 'r', topic: 't', partition: 0 }, offset);
        return true;
      } catch (error) {
        if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined;
        throw error;
      }
    });

  const payloadsOn = async (client: IggyClient): Promise<string[]> => {
    const polled = await client.pollMessages({ stream: 'r', topic: 't', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 10_000 });
    return polled.messages.map((m) => new TextDecoder().decode(m.payload));
  };

  return { leaderOf, sendBatch, storeOffset, payloadsOn };
}

const batches = (tag: string, n: number): string[] => Array.from({ length: n }, (_, b) => Array.from({ length: 10 }, (__, i) => `${tag}${b}-${i}`)).flat();

describe('replicated partitions: restarts with data', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  let restarted = -1;
  const { leaderOf, sendBatch, storeOffset, payloadsOn } = helpers(() => clients, () => cluster);

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000'], REPLICAS);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of REPLICAS) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('a backup restarted with its data catches up from a peer: each message once, the same bytes, and it votes again', async () => {
    const leader = await leaderOf(REPLICAS);
    const lead = await clients.get(leader);
    await lead.createStream('r');
    await lead.createTopic({ stream: 'r', name: 't', partitionsCount: 1 });
    for (let b = 0; b < 5; b++) await sendBatch(REPLICAS, `a${b}`);
    const backup = REPLICAS.find((id) => id !== leader)!;
    restarted = backup;
    await storeOffset(REPLICAS, 7, 20n);
    await waitFor(`replica ${backup} holds the first batches`, BOUND_MS, async () => ((await payloadsOn(await clients.get(backup))).length === 50 ? true : undefined));
    await clients.drop(backup);
    await cluster.kill(backup);
    const withoutBackup = REPLICAS.filter((id) => id !== backup);
    for (let b = 0; b < 5; b++) await sendBatch(withoutBackup, `b${b}`);
    await storeOffset(withoutBackup, 7, 45n);
    await storeOffset(withoutBackup, 8, 30n);
    await cluster.start(backup);
    await waitFor(`replica ${backup} says it caught up`, BOUND_MS, async () => (/caught up from replica \d/.test(cluster.output(backup)) ? true : undefined));
    const expected = [...batches('a', 5), ...batches('b', 5)];
    const read = await waitFor(`replica ${backup} serves what the others committed`, BOUND_MS, async () => {
      const payloads = await payloadsOn(await clients.get(backup));
      return payloads.length >= expected.length ? payloads : undefined;
    });
    assert.deepEqual(read, expected, 'the restarted backup: every acknowledged message, once, in order');
    // It votes again: with the other backup down, the leader commits only with it.
    const other = REPLICAS.find((id) => id !== leader && id !== backup)!;
    await clients.drop(other);
    await cluster.kill(other);
    for (let b = 0; b < 3; b++) await sendBatch(REPLICAS.filter((id) => id !== other), `c${b}`);
    await cluster.start(other);
    const all = [...expected, ...batches('c', 3)];
    for (const id of REPLICAS) {
      const payloads = await waitFor(`replica ${id} holds every batch`, BOUND_MS, async () => {
        const p = await payloadsOn(await clients.get(id));
        return p.length >= all.length ? p : undefined;
      });
      assert.deepEqual(payloads, all, `replica ${id}: every acknowledged message, once, in order`);
    }
    assert.deepEqual(segmentBytes(cluster, backup), segmentBytes(cluster, leader), 'the caught-up replica holds the leader\'s segment bytes');
    const clientOf = (id: number) => clients.get(id);
    const dataDirOf = (id: number) => cluster.dataDirs[id]; // a backup's offsets: from its files (58 on its port)
    const agreed = await agreedFingerprint(clientOf, REPLICAS, CONSUMERS, BOUND_MS, dataDirOf);
    assert.deepEqual(agreed['r/t/0'].offsets, { 'consumer 7': '45', 'consumer 8': '30' }, 'every replica: the offsets committed, those stored while the backup was down too');
    // The offsets are part of what is compared: one more stored moves every replica's fingerprint.
    await storeOffset(REPLICAS, 8, 31n);
    const moved = await agreedFingerprint(clientOf, REPLICAS, CONSUMERS, BOUND_MS, dataDirOf);
    assert.equal(moved['r/t/0'].offsets['consumer 8'], '31');
    assert.notDeepEqual(moved, agreed);
  });

  it('the whole cluster restarted: every replica forms from its files (the caught-up one too) and holds every message', async () => {
    await clients.dropAll();
    await Promise.all(REPLICAS.map((id) => cluster.kill(id)));
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
    await sendBatch(REPLICAS, 'd0');
    const expected = [...batches('a', 5), ...batches('b', 5), ...batches('c', 3), ...batches('d', 1)];
    for (const id of REPLICAS) {
      const read = await waitFor(`replica ${id} serves the partition again`, BOUND_MS, async () => {
        const payloads = await payloadsOn(await clients.get(id)).catch(() => null);
        return payloads && payloads.length >= expected.length ? payloads : undefined;
      });
      assert.deepEqual(read, expected, `replica ${id}`);
    }
    assert.ok(restarted >= 0);
  });

  it('a backup paused while more ops commit than its peers keep for repair catches up when it resumes', async () => {
    const leader = await leaderOf(REPLICAS);
    const backup = REPLICAS.find((id) => id !== leader)!;
    await clients.drop(backup);
    const child = cluster.nodes[backup]!.child;
    const lead = await clients.get(leader);
    child.kill('SIGSTOP');
    try {
      // 400 ops of 100 KB: far more than the link's 8 MiB queue and the socket buffers take, so most of the backup's
      // prepares are dropped; and more ops than the peers keep prepares of for repair (128).
      const big = 'x'.repeat(10_000);
      for (let b = 0; b < 400; b++) {
        await lead.sendMessages({ stream: 'r', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: 10 }, (_, i) => ({ payload: `p${b}-${i}-${big}` })) });
      }
    } finally {
      child.kill('SIGCONT');
    }
    const want = await digestOn(lead);
    const got = await waitFor(`replica ${backup} serves every message after it resumed`, BOUND_MS, async () => {
      const d = await digestOn(await clients.get(backup)).catch(() => null);
      return d && d.count >= want.count ? d : undefined;
    }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
    assert.deepEqual(got, want, 'the same messages as the leader, once, in order');
    assert.match(cluster.output(backup), /caught up from replica \d/);
  });
});

// Every message of partition 0 of r/t on a replica, read page by page: how many, and a digest of them in order.
async function digestOn(client: IggyClient): Promise<{ count: number; sha256: string }> {
  const hash = crypto.createHash('sha256');
  let count = 0;
  for (;;) {
    const polled = await client.pollMessages({ stream: 'r', topic: 't', partition: 0, strategy: { kind: 'offset', value: BigInt(count) }, count: 100 });
    if (polled.messages.length === 0) return { count, sha256: hash.digest('hex') };
    for (const m of polled.messages) hash.update(m.payload);
    count += polled.messages.length;
  }
}

// The segment files of partition 0 of r/t on a replica, by name: the bytes every replica must hold alike. Not the
// consumer offsets' log: each replica groups its records by its own flushes (the offsets are compared through the
// client port: agreedFingerprint).
function segmentBytes(cluster: TestCluster, id: number): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.log') && entry.name !== OFFSETS_FILE && full.includes(`${path.sep}partitions${path.sep}`)) {
        out.set(path.relative(cluster.dataDirs[id], full), crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      }
    }
  };
  walk(cluster.dataDirs[id]);
  assert.ok(out.size > 0, `replica ${id} has segment files`);
  return out;
}

describe('replicated partitions: a whole-cluster restart', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000'], REPLICAS);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('forms again from every replica\'s files: the same messages everywhere, and sends go on', async () => {
    const { leaderOf, sendBatch, payloadsOn } = helpers(() => clients, () => cluster);
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
