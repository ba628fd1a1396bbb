// GetClusterMetadata's nodes in a cluster (cluster-metadata.ts): every roster node with its ports; the Leader is
// the primary of the view shard 0 last published (view mod N), the others Followers; a peer is Healthy while its
// link is up, Unreachable otherwise; this node is Starting until its group runs in a normal view.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeRole, NodeStatus, clusterNodes } from '../../../host/node/cluster/cluster-metadata.js';
import { ReplicaCounters } from '../../../host/node/cluster/replica-counters.js';
import { parseRoster } from '../../../host/node/cluster/roster.js';
import { Status } from '../../../host/shared/vsr-abi.js';

const ROSTER = '0=127.0.0.1:7001/7101/7201,1=127.0.0.1:7002/7102,2=127.0.0.1:7003/7103/7203';

function view(self: number) {
  const settings = { roster: parseRoster(ROSTER, 'test'), self, clusterId: 0n, secret: 's', handshakeTimeoutMs: 1000, source: 'test' };
  const counters = new ReplicaCounters(3, 2);
  return { settings, counters };
}

const summary = (v: number, status: number = Status.Normal) => ({ view: v, op: 3, commit: 3, primary: false, status, viewChanges: v });

test('before the metadata group published anything: no Leader, this node Starting, peers by their links', () => {
  const v = view(1);
  v.counters.setState(0, 'up');
  v.counters.setState(2, 'down');
  const nodes = clusterNodes(v);
  assert.deepEqual(nodes.map((n) => n.role), [NodeRole.follower, NodeRole.follower, NodeRole.follower]);
  assert.deepEqual(nodes.map((n) => n.status), [NodeStatus.healthy, NodeStatus.starting, NodeStatus.unreachable]);
  assert.deepEqual(nodes.map((n) => [n.name, n.host, n.tcpPort, n.httpPort]),
    [['shardlog-0', '127.0.0.1', 7001, 7201], ['shardlog-1', '127.0.0.1', 7002, 0], ['shardlog-2', '127.0.0.1', 7003, 7203]]);
});

test('the Leader is the primary of the published view (view mod N); this node is Healthy in a normal view only', () => {
  const v = view(1);
  v.counters.publishGroup(summary(4));
  let nodes = clusterNodes(v);
  assert.deepEqual(nodes.map((n) => n.role), [NodeRole.follower, NodeRole.leader, NodeRole.follower]);
  assert.equal(nodes[1].status, NodeStatus.healthy);
  v.counters.publishGroup(summary(5, Status.ViewChange));
  nodes = clusterNodes(v);
  assert.deepEqual(nodes.map((n) => n.role), [NodeRole.follower, NodeRole.follower, NodeRole.leader]);
  assert.equal(nodes[1].status, NodeStatus.starting);
  assert.deepEqual(v.counters.group(), summary(5, Status.ViewChange), 'the counters give back what was published');
});
