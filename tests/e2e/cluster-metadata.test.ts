// The metadata group replicated over the replica plane (3 replicas on loopback, 2 shards each): a stream created
// through the leader is read back through every replica's client port; GetClusterMetadata names one Leader, the
// same on every node; a backup answers a mutating request TransientNotAccepted; SIGKILL the leader and another one
// leads and accepts writes; the killed replica restarts and catches up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { IggyError } from '../../host/client/errors.js';
import { ReplicaClients, TestCluster, agreedLeader as agreedLeaderOf } from './helpers/cluster.js';
import { ROOT } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const TRANSIENT_NOT_ACCEPTED = 58;
const HEALTHY = 0;
const BOUND_MS = 20_000;

describe('replicated metadata: three processes', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;
  const client = (id: number) => clients.get(id);
  const drop = (id: number) => clients.drop(id);

  const agreedLeader = (live: number[], not = -1): Promise<number> => agreedLeaderOf(client, live, BOUND_MS, not);

  const streamOn = (id: number, name: string) => clients.streamOn(id, name);

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('GetClusterMetadata names one Leader (the same on every node) and every node Healthy, with its roster ports', async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const meta = await (await client(leader)).getClusterMetadata();
    assert.equal(meta.nodes.length, 3);
    assert.deepEqual(meta.nodes.map((n) => n.tcpPort), cluster.ports.map((p) => p.tcp));
    await waitFor('every node healthy', BOUND_MS, async () =>
      (await (await client(leader)).getClusterMetadata()).nodes.every((n) => n.status === HEALTHY) ? true : undefined);
  });

  it('a stream created through the leader is read through every replica; a backup refuses a write by the wire\'s status', async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const created = await (await client(leader)).createStream('replicated-1');
    for (const id of [0, 1, 2]) {
      const s = await streamOn(id, 'replicated-1');
      assert.equal(s.id, created.id, `replica ${id} has the same stream id`);
    }
    const backup = [0, 1, 2].find((id) => id !== leader)!;
    await assert.rejects((await client(backup)).createStream('refused-on-backup'),
      (e: unknown) => e instanceof IggyError && e.code === TRANSIENT_NOT_ACCEPTED);
    assert.equal(await (await client(leader)).getStream('refused-on-backup'), null, 'nothing was proposed');
  });

  it('the SDK connected to a backup moves to the leader, and its writes are accepted there', async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const backup = [0, 1, 2].find((id) => id !== leader)!;
    const sdk = await IggyClient.connect({ address: `127.0.0.1:${cluster.ports[backup].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs: 5_000 });
    try {
      assert.equal(sdk.address, `127.0.0.1:${cluster.ports[leader].tcp}`, 'moved to the leader');
      const created = await sdk.createStream('through-a-follower');
      assert.equal((await streamOn(backup, 'through-a-follower')).id, created.id);
    } finally {
      await sdk.close();
    }
  });

  it('SIGKILL the leader: another replica leads and accepts writes; the killed one restarts and catches up', async () => {
    const killed = await agreedLeader([0, 1, 2]);
    await drop(killed);
    await cluster.kill(killed);
    const live = [0, 1, 2].filter((id) => id !== killed);
    const leader = await agreedLeader(live, killed);
    await drop(leader); // logged in there while it was a backup: a session for reads only
    // A login during the view change gets a read-only session too: evicted by the new leader's client table on
    // its first write, the client logs in again, as an SDK does.
    const created = await waitFor('a write accepted by the new leader', BOUND_MS, async () => {
      try {
        return await (await client(leader)).createStream('after-failover');
      } catch (error) {
        await drop(leader);
        throw error;
      }
    });
    for (const id of live) assert.equal((await streamOn(id, 'after-failover')).id, created.id);

    await cluster.start(killed);
    for (const name of ['replicated-1', 'after-failover']) await streamOn(killed, name);
    // All three agree on one leader again (the restarted replica may have started a view change of its own: a
    // replica that restarts as its persisted view's primary does), and it accepts writes.
    const now = await agreedLeader([0, 1, 2]);
    await drop(now);
    const last = await waitFor('a write accepted with the restarted replica back', BOUND_MS, async () => {
      try {
        return await (await client(now)).createStream('after-restart');
      } catch (error) {
        await drop(now);
        throw error;
      }
    });
    for (const id of [0, 1, 2]) assert.equal((await streamOn(id, 'after-restart')).id, last.id);
  });
});
