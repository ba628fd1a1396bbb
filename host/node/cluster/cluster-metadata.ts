// GetClusterMetadata (code 12, iggy-client-wire.md §7.3) of a cluster's replica: every roster node, its role and
// status. Who leads is the core's answer, as shard 0's metadata group last published it: the primary of its view
// (view mod N, the core's primaryIndex). Leader-aware SDKs (the official Node SDK after login) move to that node.
import { Status } from '../../shared/vsr-abi.js';
import type { ReplicaCounters } from './replica-counters.js';
import type { ClusterSettings } from './roster.js';

// The wire's role and status values (§7.3).
export const NodeRole = { leader: 0, follower: 1 } as const;
export const NodeStatus = { healthy: 0, starting: 1, stopping: 2, unreachable: 3, maintenance: 4 } as const;

export interface ClusterNode {
  name: string;
  host: string;
  tcpPort: number;
  httpPort: number;
  role: number;
  status: number;
}

export interface ClusterView {
  settings: ClusterSettings;
  counters: ReplicaCounters;
}

// This node is Starting until its metadata group runs in a view with a primary (after a restart it recovers first);
// a peer is Healthy while its link is up, Unreachable otherwise.
export function clusterNodes(view: ClusterView): ClusterNode[] {
  const { settings, counters } = view;
  const group = counters.group();
  const count = settings.roster.entries.length;
  const leader = group ? group.view % count : -1;
  return settings.roster.entries.map((e) => {
    const self = e.id === settings.self;
    const up = self ? group !== null && group.status === Status.Normal : counters.state(e.id) === 'up';
    return {
      name: `shardlog-${e.id}`, host: e.host, tcpPort: e.tcpPort, httpPort: e.httpPort ?? 0,
      role: e.id === leader ? NodeRole.leader : NodeRole.follower,
      status: up ? NodeStatus.healthy : self ? NodeStatus.starting : NodeStatus.unreachable,
    };
  });
}
