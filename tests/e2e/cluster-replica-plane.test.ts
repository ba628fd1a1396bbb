// The replica plane between real processes (3 replicas on loopback, 2 shards each): links come up on a non-zero
// shard's owner slot, bad peers are refused with a named reason (logged once, counted, never with the secret) while
// the good links stay up, a killed replica's links go down and come back after its restart, and a consensus frame
// for the metadata group reaches shard 0 (a group id of 0 would land on shard 1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StorageCore } from '../../host/node/io/storage-core.js';
import { Command, H, HEADER_SIZE } from '../../host/shared/vsr-abi.js';
import { CLUSTER_SECRET, TestCluster, metricValue } from './helpers/cluster.js';
import { RawPeer, identity } from './helpers/raw-peer.js';
import { freePort, startServer, stopServer, waitFor } from './helpers/server.js';

const METADATA_GROUP = 1n << 63n;
const C_GROUP = 168; // checked below against the core's consensusGroupOf

const allUp = (h: { replicas: { peers: { state: string; owner_shard: number | null }[] } }) =>
  h.replicas.peers.every((p) => p.state === 'up' && p.owner_shard === 1);

describe('replica plane: three processes', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000']);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('come up with every link up, each owned by shard 1 (not the client-serving shard 0)', async () => {
    for (const id of [0, 1, 2]) {
      const h = await cluster.waitHealth(id, 'every link up on shard 1', allUp);
      assert.equal(h.replica_id, id);
      assert.deepEqual(h.replicas.peers.map((p) => p.id), [0, 1, 2].filter((p) => p !== id));
    }
    const text = await cluster.metrics(1);
    assert.equal(metricValue(text, 'replica_link_up', { peer: '0' }), 1);
    assert.equal(metricValue(text, 'replica_link_owner_shard', { peer: '2' }), 1);
  });

  it('refuses garbage, a wrong secret, a live id, a stalled handshake and a disagreeing roster by name; the good links stay up', async () => {
    const refusals = async (id: number) => (await cluster.health(id)).replicas.handshake_refusals;

    const garbage = new RawPeer(cluster.ports[1].replica);
    garbage.write(Buffer.alloc(200, 0x41));
    await garbage.closed;
    await cluster.waitHealth(1, 'garbage counted', (h) => h.replicas.handshake_refusals.garbage >= 1);

    const wrongSecret = new RawPeer(cluster.ports[2].replica);
    assert.equal(await wrongSecret.handshake(identity(cluster.roster, 0, 'not-the-Secret-99'), 2), false);
    await cluster.waitHealth(2, 'bad_mac counted', (h) => h.replicas.handshake_refusals.bad_mac >= 1);

    const impostor = new RawPeer(cluster.ports[1].replica); // the right secret, but replica 0 is connected
    assert.equal(await impostor.handshake(identity(cluster.roster, 0, CLUSTER_SECRET), 1), false);
    await cluster.waitHealth(1, 'duplicate_replica counted', (h) => h.replicas.handshake_refusals.duplicate_replica >= 1);

    const stalled = new RawPeer(cluster.ports[2].replica); // sends nothing after the challenge
    await stalled.closed;
    assert.ok((await refusals(2)).timeout >= 1);

    // A fourth process: replica 0 of a roster whose entry 0 has other ports (and the right secret).
    const other = cluster.roster.replace(`/${cluster.ports[0].replica}/`, `/${await freePort()}/`);
    const fourth = await startServer(['--replica-id', '0', '--cluster', other, '--shards', '2', '--pin-cores', 'false',
      '--tcp-address', `127.0.0.1:${await freePort()}`], { SHARDLOG_CLUSTER_SECRET: CLUSTER_SECRET });
    try {
      await cluster.waitHealth(1, 'roster_mismatch counted twice', (h) => h.replicas.handshake_refusals.roster_mismatch >= 2);
    } finally {
      await stopServer(fourth);
    }

    for (const id of [0, 1, 2]) {
      const h = await cluster.health(id);
      assert.ok(allUp(h), `replica ${id}'s links stayed up: ${JSON.stringify(h.replicas.peers)}`);
      assert.ok(h.replicas.peers.every((p) => p.reconnects === 0), `no link of replica ${id} went down`);
    }
    const text = await cluster.metrics(1);
    assert.ok(metricValue(text, 'replica_handshake_refusals_total', { reason: 'roster_mismatch' }) >= 2);
    assert.ok(metricValue(text, 'replica_handshake_refusals_total', { reason: 'garbage' }) >= 1);
    const log1 = cluster.output(1);
    const log2 = cluster.output(2);
    assert.match(log1, /replica handshake refused \(garbage\) from 127\.0\.0\.1:\d+/);
    assert.match(log1, /replica handshake refused \(duplicate_replica\) .* claiming replica 0/);
    assert.match(log2, /replica handshake refused \(bad_mac\) .* claiming replica 0/);
    assert.match(log2, /replica handshake refused \(timeout\)/);
    // Logged once per kind, however often it happens.
    assert.equal(log1.match(/replica handshake refused \(roster_mismatch\)/g)?.length, 1);
    for (const log of [log1, log2, fourth.output()]) {
      assert.ok(!log.includes(CLUSTER_SECRET) && !log.includes('not-the-Secret-99'), 'no secret in any log');
    }
  });

  it('a killed replica\'s links go down (owner slot cleared) and come back after its restart', async () => {
    await cluster.kill(2);
    for (const id of [0, 1]) {
      await cluster.waitHealth(id, 'the link to 2 down', (h) => {
        const p = h.replicas.peers.find((x) => x.id === 2)!;
        return p.state !== 'up' && p.owner_shard === null && p.downs >= 1;
      });
    }
    await cluster.start(2);
    for (const id of [0, 1, 2]) await cluster.waitHealth(id, 'every link up again', allUp);
    for (const id of [0, 1]) {
      const p = (await cluster.health(id)).replicas.peers.find((x) => x.id === 2)!;
      assert.ok(p.reconnects >= 1, `replica ${id} counts the reconnect to 2`);
    }
  });

  it('a replica started with the wrong secret is refused by the others (bad_mac), whose link stays up', async () => {
    await cluster.kill(0);
    await cluster.waitHealth(1, 'the link to 0 down', (h) => h.replicas.peers.find((p) => p.id === 0)!.state !== 'up');
    const before = (await cluster.health(1)).replicas.handshake_refusals.bad_mac;
    const impostor = await cluster.start(0, { SHARDLOG_CLUSTER_SECRET: 'wrong-Secret-0451-wrong-Secret-0451' });
    try {
      await cluster.waitHealth(1, 'bad_mac from the impostor', (h) => h.replicas.handshake_refusals.bad_mac > before);
      await cluster.waitHealth(2, 'bad_mac from the impostor', (h) => h.replicas.handshake_refusals.bad_mac >= 1);
      await waitFor('the impostor logs the refusal from its side', 10_000, async () => (/replica handshake refused \(closed\) dialling replica [12]/.test(impostor.output()) ? true : undefined));
    } finally {
      await cluster.kill(0);
    }
    for (const id of [1, 2]) {
      const h = await cluster.health(id);
      const other = h.replicas.peers.find((p) => p.id === 3 - id)!;
      assert.equal(other.state, 'up', `replica ${id}'s link to ${3 - id} stayed up`);
      assert.equal(h.replicas.peers.find((p) => p.id === 0)!.owner_shard, null, 'the impostor never got an owner slot');
    }
    for (const id of [1, 2]) assert.ok(!cluster.output(id).includes('wrong-Secret-0451-wrong-Secret-0451') && !cluster.output(id).includes(CLUSTER_SECRET));
    assert.ok(!impostor.output().includes('wrong-Secret-0451-wrong-Secret-0451'));
  });

  it('routes an injected metadata-group frame to shard 0 and a group-0 frame to shard 1; a corrupt frame or another cluster\'s closes that link only', async () => {
    // Replica 0 is down (previous test): the test plays it, with the right secret and roster.
    const peer = new RawPeer(cluster.ports[1].replica);
    assert.equal(await peer.handshake(identity(cluster.roster, 0, CLUSTER_SECRET), 1), true);
    await cluster.waitHealth(1, 'the test\'s link installed on shard 1', (h) => h.replicas.peers.find((p) => p.id === 0)!.owner_shard === 1);

    const sc = await StorageCore.load({ memoryBytes: 64 << 20, windowBytes: 1 << 20, stagingBytes: 1 << 20 });
    const at = sc.alloc(HEADER_SIZE);
    const commit = (group: bigint, clusterId = 0n): Buffer => {
      sc.u8.fill(0, at, at + HEADER_SIZE);
      const v = new DataView(sc.u8.buffer);
      v.setBigUint64(at + H.cluster, clusterId, true);
      v.setUint32(at + H.size, HEADER_SIZE, true);
      v.setUint8(at + H.command, Command.Commit);
      v.setUint8(at + H.replica, 0);
      v.setBigUint64(at + C_GROUP, group, true);
      assert.equal(sc.core.consensusGroupOf(at), group, 'the group sits where the core reads it');
      sc.core.vsrSealMessage(at);
      return Buffer.from(sc.u8.subarray(at, at + HEADER_SIZE));
    };
    const drops = async (shard: string) => metricValue(await cluster.metrics(1), 'frame_drops_total', { shard, variant: 'consensus', reason: 'namespace_miss' });
    const before0 = await drops('0');
    const before1 = await drops('1');
    // The metadata group is registered on shard 0 (it replicates through the plane): a frame of group 0 is not
    // (no partition group is), so it is a namespace miss on the shard it reached, shard 1; the metadata frame
    // sent before it reached shard 0's group (no miss anywhere; it arrived first on the same link and rings).
    peer.write(commit(METADATA_GROUP));
    peer.write(commit(0n));
    await waitFor('the group-0 frame at shard 1', 10_000, async () => ((await drops('1')) > before1 ? true : undefined));
    assert.equal(await drops('0'), before0, 'the metadata frame reached its group on shard 0');
    assert.equal(await drops('1'), before1 + 1, 'shard 1 (where 1<<63 hashes) got only the group-0 frame');

    const corrupt = commit(METADATA_GROUP);
    corrupt[HEADER_SIZE - 1] ^= 1; // a header byte the checksum covers
    peer.write(corrupt);
    await peer.closed;
    const h = await cluster.waitHealth(1, 'the checksum refusal counted', (x) => x.replicas.frames_refused.checksum >= 1);
    assert.equal(h.replicas.peers.find((p) => p.id === 2)!.state, 'up', 'the link to replica 2 stayed up');
    assert.equal(await drops('1'), before1 + 1, 'the corrupt frame was not delivered');

    const again = new RawPeer(cluster.ports[1].replica); // the closed link's owner slot was cleared: a new one is let in
    assert.equal(await again.handshake(identity(cluster.roster, 0, CLUSTER_SECRET), 1), true);
    again.write(commit(METADATA_GROUP, 5n));
    await again.closed;
    await cluster.waitHealth(1, 'the other cluster\'s frame refused', (x) => x.replicas.frames_refused.cluster >= 1);
    assert.equal(await drops('1'), before1 + 1, 'nor was the other cluster\'s');
    assert.match(cluster.output(1), /replica 0 \(127\.0\.0\.1:\d+\): frame refused \(checksum\), link closed/);
  });
});
