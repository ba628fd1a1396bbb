// A cluster replica's damaged partition files are repaired from its peers (a single node keeps them read-only or
// offline: storage-health.test.ts), and stored consumer offsets are answered only where they are current:
//   * a backup answers GetConsumerOffset 58 TransientNotAccepted (its offsets lag the primary's commits); the
//     leader, and a client given the backup's address that follows the leader, read the stored offset;
//   * a backup stopped, a bit of its segment flipped, restarted: it cuts its log at the damage, catches up from a
//     peer and serves every acknowledged message, with the committed consumer offsets in its files;
//   * the same with a bit of its offsets.log flipped: the log is set aside and the committed offsets come from a peer;
//   * the whole cluster restarted with one replica's segment flipped: the other two form, it repairs from them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { ConsumerOffsets, OFFSETS_FILE } from '../../host/node/data/offsets.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { STALE_MARKER } from '../../host/node/server/partition-group.js';
import { CoreJournalBatch } from '../../host/shared/core-abi.generated.js';
import { ReplicaClients, TestCluster, agreedLeader, partitionDirs } from './helpers/cluster.js';
import { ROOT } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 20_000;
const REPLICAS = [0, 1, 2];
const CONSUMER = { kind: 'consumer' as const, id: 7 };
const target = { consumer: CONSUMER, stream: 'd', topic: 't', partition: 0 };

describe('replicated partitions: damaged files repaired from the peers, offsets answered by the primary', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  let leader = -1;
  let backup = -1;
  let sent = 0; // batches of 10 sent so far

  const payloadsOn = async (id: number): Promise<string[]> => {
    const polled = await (await clients.get(id)).pollMessages({ stream: 'd', topic: 't', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 10_000 });
    return polled.messages.map((m) => new TextDecoder().decode(m.payload));
  };
  const expected = (): string[] => Array.from({ length: sent }, (_, b) => Array.from({ length: 10 }, (__, i) => `m${b}-${i}`)).flat();
  const send = async (batches: number): Promise<void> => {
    const lead = await clients.get(leader);
    for (let b = 0; b < batches; b++, sent++) {
      await lead.sendMessages({ stream: 'd', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: Array.from({ length: 10 }, (_, i) => ({ payload: `m${sent}-${i}` })) });
    }
  };
  const servesEverything = (id: number): Promise<string[]> => waitFor(`replica ${id} serves every acknowledged message`, BOUND_MS, async () => {
    const payloads = await payloadsOn(id).catch(() => null);
    return payloads && payloads.length >= sent * 10 ? payloads : undefined;
  }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
  const partitionDirOf = (id: number): string => findPartitionDir(cluster.dataDirs[id]);
  // The backup stopped, `damage` done to its partition directory, restarted: it says it caught up.
  const damageAndRestart = async (damage: (dir: string) => void): Promise<void> => {
    await clients.drop(backup);
    await cluster.kill(backup);
    damage(partitionDirOf(backup));
    await send(3); // more than the backup holds: the catch-up brings these too
    await (await clients.get(leader)).storeOffset(target, BigInt(sent * 10 - 1));
    await cluster.start(backup);
    await waitFor(`replica ${backup} says it caught up`, BOUND_MS, async () => (/caught up from replica \d/.test(cluster.output(backup)) ? true : undefined))
      .catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
  };
  // The consumer offsets in the backup's files, read once it has stopped (its GetConsumerOffset answers 58).
  const storedOnDisk = async (id: number): Promise<number | null> => {
    await clients.drop(id);
    await cluster.kill(id);
    const offsets = ConsumerOffsets.open(partitionDirOf(id), await storageCore(), { quiet: true });
    try {
      return offsets.get(1, CONSUMER.id); // kind 1: a consumer (offsets.ts)
    } finally {
      offsets.close();
    }
  };

  before(async () => {
    cluster = await TestCluster.create(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
    leader = await agreedLeader((id) => clients.get(id), REPLICAS, BOUND_MS);
    backup = REPLICAS.find((id) => id !== leader)!;
    const lead = await clients.get(leader);
    await lead.createStream('d');
    await lead.createTopic({ stream: 'd', name: 't', partitionsCount: 1 });
    await send(6);
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of REPLICAS) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('a backup answers GetConsumerOffset 58; the leader, and a client that follows it from the backup, read the stored offset', async () => {
    await (await clients.get(leader)).storeOffset(target, 42n);
    assert.equal((await (await clients.get(leader)).getOffset(target))?.storedOffset, 42n);
    await assert.rejects((await clients.get(backup)).getOffset(target), (e: unknown) => e instanceof IggyError && e.code === TRANSIENT_NOT_ACCEPTED);
    await assert.rejects((await clients.get(backup)).pollMessages({ ...target, strategy: { kind: 'next' }, count: 1 }),
      (e: unknown) => e instanceof IggyError && e.code === TRANSIENT_NOT_ACCEPTED, 'a Next poll starts at the stored offset: the primary only');
    const following = await IggyClient.connect({ address: `127.0.0.1:${cluster.ports[backup].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs: 5_000 });
    try {
      assert.equal((await following.getOffset(target))?.storedOffset, 42n, 'moved to the leader, which answers');
    } finally {
      await following.close();
    }
  });

  it('a backup whose segment was flipped cuts its log there, catches up from a peer and serves every message and the committed offsets', async () => {
    await servesEverything(backup);
    await damageAndRestart(flipSecondBatch);
    assert.match(cluster.output(backup), /cut for repair from the peers: .*truncated to \d+ bytes/);
    assert.deepEqual(await servesEverything(backup), expected(), 'every acknowledged message, once, in order');
    assert.deepEqual(await servesEverything(leader), expected());
    const health = JSON.stringify(await cluster.health(backup));
    assert.match(health, /recovery_truncation/, '/health names the cut');
    assert.doesNotMatch(health, /partition_read_only|partition_offline/);
    assert.equal(await storedOnDisk(backup), sent * 10 - 1, 'the committed consumer offset, from the peer');
    assert.equal(fs.existsSync(path.join(partitionDirOf(backup), STALE_MARKER)), false, 'the stale marker went with the catch-up');
    await cluster.start(backup);
  });

  it('a backup whose offsets.log was flipped sets it aside, catches up and holds the committed offsets', async () => {
    await servesEverything(backup);
    await damageAndRestart((dir) => {
      const file = path.join(dir, OFFSETS_FILE);
      const bytes = fs.readFileSync(file);
      assert.ok(bytes.length >= 32, 'offsets were stored');
      bytes[8] ^= 0x01; // the first record's offset: its checksum fails
      fs.writeFileSync(file, bytes);
    });
    assert.match(cluster.output(backup), /consumer offsets log was set aside as .*offsets\.log\.damaged-/);
    assert.deepEqual(await servesEverything(backup), expected());
    assert.doesNotMatch(JSON.stringify(await cluster.health(backup)), /partition_offline/);
    assert.equal(await storedOnDisk(backup), sent * 10 - 1, 'the committed consumer offset, from the peer');
    assert.ok(fs.readdirSync(partitionDirOf(backup)).some((f) => f.startsWith(`${OFFSETS_FILE}.damaged-`)), 'the damaged log is kept aside');
  });

  it('a whole cluster restarted with one replica\'s segment flipped: the others form, it repairs from them', async () => {
    await cluster.start(backup);
    await servesEverything(backup);
    await clients.dropAll();
    await Promise.all(REPLICAS.map((id) => cluster.kill(id)));
    flipSecondBatch(partitionDirOf(backup));
    await Promise.all(REPLICAS.map((id) => cluster.start(id)));
    leader = await agreedLeader((id) => clients.get(id), REPLICAS, BOUND_MS);
    await waitFor('a send acknowledged after the restart', BOUND_MS, async () => send(1).then(() => true, () => undefined))
      .catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
    assert.match(cluster.output(backup), /cut for repair from the peers/);
    for (const id of REPLICAS) assert.deepEqual(await servesEverything(id), expected(), `replica ${id}`);
  });
});

// Flips the last byte of the second batch of a partition's first segment (a payload byte): a frame checksum
// mismatch, not a torn tail.
function flipSecondBatch(dir: string): void {
  const segment = path.join(dir, `${'0'.padStart(20, '0')}.log`);
  const bytes = fs.readFileSync(segment);
  const first = Number(bytes.readBigUInt64LE(CoreJournalBatch.B_LENGTH));
  const second = Number(bytes.readBigUInt64LE(first + CoreJournalBatch.B_LENGTH));
  bytes[first + second - 1] ^= 0x10;
  fs.writeFileSync(segment, bytes);
}

// The one partition directory under a replica's data directory.
function findPartitionDir(dataDir: string): string {
  const found = partitionDirs(dataDir);
  assert.equal(found.length, 1, `one partition directory in ${dataDir}`);
  return found[0];
}
