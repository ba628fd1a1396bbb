// The auth matrix's replica-port row (issue 19): who may speak at a replica port. One 3-replica cluster; each cell
// plays a peer at replica 2's port (replica 1's for the direction cell) and expects the node to close without a
// WELCOME, counting the refusal under its name in /health and replica_handshake_refusals_total, logging it, and
// nothing else: the real links stay up (no reconnect), and the committed metadata (the group's view, op and commit,
// the streams every replica reads) is what it was before the first cell.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answerChallenge, type Refusal } from '../../host/node/cluster/handshake.js';
import { CLUSTER_SECRET, ReplicaClients, TestCluster, metricValue } from './helpers/cluster.js';
import { RawPeer, identity } from './helpers/raw-peer.js';
import { waitFor } from './helpers/server.js';

const BOUND_MS = 20_000;
const WRONG_SECRET = 'not-the-Cluster-Secret-0451-not-the';
const OTHER_CLUSTER = 9n;

type Deltas = Partial<Record<Refusal, number>>;
interface Cell {
  name: string;
  at: number; // the replica whose port is attacked
  play: (port: number, roster: string) => Promise<boolean>; // true when the node welcomed the peer
}

// A HELLO from replica 0 that holds the secret but belongs to another cluster: its MAC is right for that cluster,
// so only the cluster id can refuse it (the test's own dialer check would refuse the node's challenge first).
async function otherCluster(port: number, roster: string): Promise<boolean> {
  const peer = new RawPeer(port);
  const challenge = await peer.challenge();
  assert.ok(challenge);
  const ours = Buffer.from(challenge);
  ours.writeBigUInt64LE(OTHER_CLUSTER, 8);
  const answer = answerChallenge(identity(roster, 0, CLUSTER_SECRET, OTHER_CLUSTER), 2, ours);
  assert.ok(!('refusal' in answer));
  peer.write(answer.hello);
  return peer.welcomed(answer.expectWelcome);
}

// A HELLO recorded on one connection and replayed on another: the MAC binds the first connection's nonce. The first
// connection is then dropped mid-handshake (counted as `closed`).
async function replayed(port: number, roster: string): Promise<boolean> {
  const recorded = new RawPeer(port);
  const first = await recorded.challenge();
  assert.ok(first);
  const answer = answerChallenge(identity(roster, 0, CLUSTER_SECRET), 2, first);
  assert.ok(!('refusal' in answer));
  const replay = new RawPeer(port);
  assert.ok(await replay.challenge());
  replay.write(answer.hello);
  const welcomed = await replay.welcomed(answer.expectWelcome);
  recorded.close();
  return welcomed;
}

const CELLS: [Cell, Deltas][] = [
  [{ name: 'garbage instead of a HELLO', at: 2, play: async (port) => {
    const peer = new RawPeer(port);
    peer.write(Buffer.alloc(112, 0x41));
    await peer.closed;
    return false;
  } }, { garbage: 1 }],
  [{ name: 'no handshake at all (connects, then silence)', at: 2, play: async (port) => {
    const peer = new RawPeer(port);
    await peer.closed;
    return false;
  } }, { timeout: 1 }],
  [{ name: 'wrong secret', at: 2, play: (port, roster) => new RawPeer(port).handshake(identity(roster, 0, WRONG_SECRET), 2) }, { bad_mac: 1 }],
  [{ name: 'right secret, unknown replica id', at: 2, play: (port, roster) => new RawPeer(port).handshake(identity(roster, 7, CLUSTER_SECRET), 2) }, { unknown_replica: 1 }],
  [{ name: 'right secret, other cluster id', at: 2, play: otherCluster }, { cluster_mismatch: 1 }],
  [{ name: 'a recorded HELLO replayed', at: 2, play: replayed }, { bad_mac: 1, closed: 1 }],
  [{ name: 'right secret, dialling a lower id', at: 1, play: (port, roster) => new RawPeer(port).handshake(identity(roster, 2, CLUSTER_SECRET), 1) }, { wrong_direction: 1 }],
  [{ name: 'right secret, a replica whose link is up', at: 2, play: (port, roster) => new RawPeer(port).handshake(identity(roster, 0, CLUSTER_SECRET), 2) }, { duplicate_replica: 1 }],
];

interface GroupHealth { view: number; op: number; commit: number }
interface Committed { groups: GroupHealth[][]; streams: string[][] }

describe('auth matrix: the replica port', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;

  const refusals = async (id: number) => (await cluster.health(id)).replicas.handshake_refusals as Record<Refusal, number>;
  const groups = async (id: number) => ((await cluster.health(id)).replicas as unknown as { groups: GroupHealth[] }).groups
    .map((g) => ({ view: g.view, op: g.op, commit: g.commit }));
  const streams = async (id: number) => (await (await clients.get(id)).getStreams()).map((s) => s.name).sort();
  const committed = async (): Promise<Committed> => ({
    groups: await Promise.all([0, 1, 2].map(groups)), streams: await Promise.all([0, 1, 2].map(streams)),
  });

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '1000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
    for (const id of [0, 1, 2]) {
      await cluster.waitHealth(id, 'every link up', (h) => h.replicas.peers.every((p) => p.state === 'up'), BOUND_MS);
    }
    // Something committed to keep: a stream, created through whichever replica leads, read on every replica.
    await waitFor('a stream created through the leader', BOUND_MS, async () => {
      for (const id of [0, 1, 2]) {
        const made = await (await clients.get(id)).createStream('kept').then(() => true, () => false);
        if (made) return true;
      }
      return undefined;
    });
    await waitFor('every replica committed the same op and reads the stream', BOUND_MS, async () => {
      const c = await committed();
      const same = c.groups.every((g) => g.length === 1 && g[0].commit === c.groups[0][0].commit && g[0].op === g[0].commit);
      return same && c.streams.every((s) => s.includes('kept')) ? true : undefined;
    });
  });

  after(async () => {
    await clients?.dropAll();
    await cluster?.stop();
  });

  it('refuses every peer without the cluster, the secret, a roster id or a fresh MAC, by name and counter; nothing committed changes', async () => {
    const before = await committed();
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const [cell, deltas] of CELLS) {
      const was = await refusals(cell.at);
      const welcomed = await cell.play(cluster.ports[cell.at].replica, cluster.roster);
      const want = { ...was };
      for (const [reason, n] of Object.entries(deltas)) want[reason as Refusal] += n;
      // The refusal is counted when the node closes; waiting for the expected counts (bounded) and then comparing
      // every reason catches a wrong name and an extra count alike.
      const got = await waitFor(`${cell.name}: counted`, BOUND_MS, async () => {
        const now = await refusals(cell.at);
        return Object.entries(deltas).every(([r, n]) => now[r as Refusal] >= was[r as Refusal] + n) ? now : undefined;
      });
      const describe = (counts: Record<Refusal, number>) => Object.entries(counts).filter(([r, n]) => n !== was[r as Refusal])
        .map(([r, n]) => `${r}+${n - was[r as Refusal]}`).join(' ');
      actual[cell.name] = `${welcomed ? 'welcomed' : 'refused'} ${describe(got)}`;
      expected[cell.name] = `refused ${describe(want)}`;
    }
    assert.deepEqual(actual, expected);

    const text = await cluster.metrics(2);
    const health = await refusals(2);
    for (const reason of ['garbage', 'timeout', 'bad_mac', 'unknown_replica', 'cluster_mismatch', 'closed', 'duplicate_replica'] as Refusal[]) {
      assert.equal(metricValue(text, 'replica_handshake_refusals_total', { reason }), health[reason], `the ${reason} counter`);
      assert.match(cluster.output(2), new RegExp(`replica handshake refused \\(${reason}\\)`), `the ${reason} log line`);
    }
    assert.match(cluster.output(1), /replica handshake refused \(wrong_direction\) .* claiming replica 2/);
    for (const id of [0, 1, 2]) {
      assert.ok(!cluster.output(id).includes(CLUSTER_SECRET) && !cluster.output(id).includes(WRONG_SECRET), 'no secret in a log');
      const h = await cluster.health(id);
      assert.ok(h.replicas.peers.every((p) => p.state === 'up' && p.reconnects === 0), `replica ${id}'s links stayed up: ${JSON.stringify(h.replicas.peers)}`);
    }
    assert.deepEqual(await committed(), before, 'the committed metadata is unchanged');
  });
});
