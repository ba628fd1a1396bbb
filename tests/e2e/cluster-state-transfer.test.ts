// A replica whose data directory is wiped rejoins by state transfer (3 processes on loopback, 2 shards each): it
// says it is recovering (log, /health), votes and acks nothing until a peer's metadata snapshot is installed, then
// serves the same streams and topics through its client port, and catches each partition's segments up from a peer
// (the messages sent before the wipe and during its recovery) with their committed consumer offsets; the cluster
// accepts writes throughout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReplicaClients, TestCluster } from './helpers/cluster.js';
import { agreedFingerprint } from './helpers/replica-state.js';
import { waitFor } from './helpers/server.js';

const LEADER = 0;
const BOUND_MS = 30_000;
const CONSUMERS = [7, 8]; // the single consumers whose offsets the replicas' fingerprints compare

describe('state transfer: a replica with a wiped data directory', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  const client = (id: number) => clients.get(id);
  const drop = (id: number) => clients.drop(id);
  const leaderOf = (id: number): Promise<number> => waitFor(`replica ${id} to name a leader`, BOUND_MS, async () => {
    const meta = await (await client(id)).getClusterMetadata();
    const named = meta.nodes.findIndex((n) => n.role === LEADER);
    return named >= 0 ? named : undefined;
  });
  // A write through the leader, retried while a view change or a reconnect is in progress.
  const createStream = (leader: number, name: string) => waitFor(`stream ${name} created`, BOUND_MS, async () => {
    try {
      return await (await client(leader)).createStream(name);
    } catch (error) {
      await drop(leader);
      throw error;
    }
  });
  const streamOn = (id: number, name: string) => clients.streamOn(id, name);
  // `n` batches of one message `tag`0..n-1 to partition 0 through the leader, each retried while a view change runs.
  const send = async (leader: number, stream: number, tag: string, n: number): Promise<void> => {
    for (let b = 0; b < n; b++) {
      await waitFor(`message ${tag}${b} acknowledged`, BOUND_MS, async () => {
        await (await client(leader)).sendMessages({ stream, topic: 'events', partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: `${tag}${b}` }] });
        return true;
      });
    }
  };

  // Consumer `consumer`'s offset of partition 0 stored through the leader, retried like a send.
  const storeOffset = (leader: number, stream: number, consumer: number, offset: bigint) => waitFor(`offset ${offset} of consumer ${consumer} stored`, BOUND_MS, async () => {
    await (await client(leader)).storeOffset({ consumer: { kind: 'consumer', id: consumer }, stream, topic: 'events', partition: 0 }, offset);
    return true;
  });

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('recovers the metadata from a peer, then serves the same streams and topics; writes go on meanwhile', async () => {
    const leader = await leaderOf(0);
    const stream = await createStream(leader, 'before-wipe');
    await (await client(leader)).createTopic({ stream: stream.id, name: 'events', partitionsCount: 2 });
    const backup = [0, 1, 2].find((id) => id !== leader)!;
    await streamOn(backup, 'before-wipe');
    await send(leader, stream.id, 'before', 3);
    await storeOffset(leader, stream.id, 7, 2n);

    await drop(backup);
    await cluster.kill(backup);
    const dir = cluster.dataDirs[backup];
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    await cluster.start(backup);
    const during = await createStream(leader, 'during-recovery'); // the other two keep committing
    await send(leader, stream.id, 'during', 2);
    await storeOffset(leader, stream.id, 8, 4n);

    await waitFor('the wiped replica to say it is recovering', BOUND_MS, async () =>
      /no state on disk .*recovering it from the cluster by state transfer/.test(cluster.output(backup)) || undefined);
    await waitFor('the wiped replica to recover by transfer', BOUND_MS, async () =>
      /state recovered from the cluster \(commit op \d+, view \d+, [1-9]\d* transfer\(s\) installed\)/.test(cluster.output(backup)) || undefined)
      .catch(async (error: Error) => {
        // What the wiped replica and the leader said, and where the wiped one's metadata group stands: a failure here
        // (seen once in CI) is otherwise mute.
        const health = await cluster.health(backup).catch(() => null);
        const tail = (id: number) => cluster.output(id).split('\n').filter((l) => !l.includes('failed login')).slice(-20).join('\n');
        throw new Error(`${error.message}\n/health groups: ${JSON.stringify((health?.replicas as unknown as { groups?: unknown })?.groups)}\n--- wiped replica ${backup}\n${tail(backup)}\n--- leader ${leader}\n${tail(leader)}`);
      });
    const health = await cluster.waitHealth(backup, 'the metadata group in normal status', (h) =>
      (h.replicas as unknown as { groups: { status: string }[] }).groups[0]?.status === 'normal');
    assert.ok(health);
    assert.equal(fs.existsSync(path.join(dir, 'metadata', 'state-lost')), false, 'the lost mark is cleared');

    assert.equal((await streamOn(backup, 'before-wipe')).id, stream.id);
    assert.equal((await streamOn(backup, 'during-recovery')).id, during.id);
    const topic = await waitFor('the topic on the recovered replica', BOUND_MS, async () =>
      (await (await client(backup)).getTopic(stream.id, 'events')) ?? undefined);
    assert.equal(topic.partitionsCount, 2);
    const after = await createStream(leader, 'after-recovery'); // and it acks again: the commit reaches it
    assert.equal((await streamOn(backup, 'after-recovery')).id, after.id);
    await send(leader, stream.id, 'after', 1);
    const expected = ['before', 'during', 'after'].flatMap((tag) => Array.from({ length: tag === 'before' ? 3 : tag === 'during' ? 2 : 1 }, (_, b) => `${tag}${b}`));
    for (const id of [leader, backup]) {
      const payloads = await waitFor(`replica ${id} serves every message of partition 0`, BOUND_MS, async () => {
        const polled = await (await client(id)).pollMessages({ stream: stream.id, topic: 'events', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 1000 });
        const read = polled.messages.map((m) => new TextDecoder().decode(m.payload));
        return read.length >= expected.length ? read : undefined;
      });
      assert.deepEqual(payloads, expected, `replica ${id}: every acknowledged message, once, in order`);
    }
    assert.match(cluster.output(backup), /partition \d+\/\d+\/\d+: caught up from replica \d: [1-9]\d* batch\(es\)/, 'the wiped replica caught its segments up');
    const agreed = await agreedFingerprint(client, [0, 1, 2], CONSUMERS, BOUND_MS, (id) => cluster.dataDirs[id]); // a backup's offsets: from its files
    assert.deepEqual(agreed['before-wipe/events/0'].offsets, { 'consumer 7': '2', 'consumer 8': '4' }, 'the committed offsets, on the wiped replica too');
  });
});
