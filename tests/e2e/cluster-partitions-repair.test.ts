// A partition op commits while its prepares to one replica are dropped (that replica is down: no link, so the
// sending shard counts frame_drops_total{variant="forward_replica_send",reason="disconnected"}); the replica then
// starts and repairs the ops it missed from a peer (the prepares kept for repair, their batches read back from
// the peer's segments), and serves the same messages through its client port.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { ReplicaClients, TestCluster, agreedLeader } from './helpers/cluster.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const BOUND_MS = 20_000;
const LATE = 2; // started after the writes

// Every series of a counter with these labels, summed over shards.
function sum(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('replicated partitions: dropped prepares are repaired', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  // The replica that leads now: view 0's primary (replica 0) at first, but a formation under load can move the
  // views on (0 -> 1) with no fault, and a backup answers 58 for good.
  const leaderClient = async (): Promise<IggyClient> => clients.get(await agreedLeader((id) => clients.get(id), [0, 1], BOUND_MS));
  // Every forward to the missing replica dropped, on both running replicas (the leader's shards count them).
  const dropsToLate = async (): Promise<number> => {
    let total = 0;
    for (const id of [0, 1]) total += sum(await cluster.metrics(id), 'frame_drops_total', { variant: 'forward_replica_send', reason: 'disconnected' });
    return total;
  };

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000'], [0, 1]);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('ops commit while one replica gets none of their prepares (counted drops); it starts, repairs and serves the same messages', async () => {
    await waitFor('the stream created', BOUND_MS, async () => (await leaderClient()).createStream('late').catch((e) => {
      if (e instanceof IggyError && e.code === TRANSIENT_NOT_ACCEPTED) return undefined;
      throw e;
    }));
    await (await leaderClient()).createTopic({ stream: 'late', name: 't', partitionsCount: 2 });
    const dropsBefore = await dropsToLate();
    const sent: string[][] = [[], []];
    for (let b = 0; b < 6; b++) {
      const partition = b % 2;
      const payloads = Array.from({ length: 25 }, (_, i) => `late-${partition}-${b}-${i}`);
      await waitFor(`batch ${b} committed without replica ${LATE}`, BOUND_MS, async () => {
        try {
          await (await leaderClient()).sendMessages({ stream: 'late', topic: 't', partitioning: { kind: 'partition', partition }, messages: payloads.map((payload) => ({ payload })) });
          return true;
        } catch (error) {
          if (error instanceof IggyError && error.code === TRANSIENT_NOT_ACCEPTED) return undefined; // first primary not settled
          throw error;
        }
      }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(cluster.live())}`); });
      sent[partition].push(...payloads);
    }
    const dropsAfter = await dropsToLate();
    assert.ok(dropsAfter > dropsBefore, `prepares to the missing replica were dropped and counted (${dropsBefore} → ${dropsAfter})`);

    await cluster.start(LATE);
    const late = await clients.get(LATE);
    const decoder = new TextDecoder();
    for (const partition of [0, 1]) {
      const read = await waitFor(`partition ${partition} repaired on replica ${LATE}`, BOUND_MS, async () => {
        const polled = await late.pollMessages({ stream: 'late', topic: 't', partition, strategy: { kind: 'offset', value: 0n }, count: 1000 }).catch(() => null);
        return polled && polled.messages.length >= sent[partition].length ? polled.messages : undefined;
      });
      assert.deepEqual(read.map((m) => decoder.decode(m.payload)), sent[partition], `partition ${partition}: the same messages, once, in order`);
      const onLeader = (await (await leaderClient()).pollMessages({ stream: 'late', topic: 't', partition, strategy: { kind: 'offset', value: 0n }, count: 1000 })).messages;
      assert.deepEqual(read.map((m) => [m.offset, m.timestamp, m.checksum]), onLeader.map((m) => [m.offset, m.timestamp, m.checksum]), 'the same stamped batches');
    }
  });
});
