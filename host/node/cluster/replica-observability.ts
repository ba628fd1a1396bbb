// What /health and /metrics say about the replica plane: this replica's id, each peer link's state (from the
// counters its shard writes), its owner shard (from the core's ReplicaOwnerTable: the table itself, not a copy), and
// the refusals at the replica port.
import client from 'prom-client';
import { Status } from '../../shared/vsr-abi.js';

// The core's replica status, by value (Status's keys, snake case).
const STATUS_NAMES: Record<number, string> = { [Status.Normal]: 'normal', [Status.ViewChange]: 'view_change', [Status.Recovering]: 'recovering' };
import type { GroupSummary, ReplicaCounters } from './replica-counters.js';
import { idsOfNamespace } from '../metadata/namespace.js';
import { formatHostPort, type ClusterSettings } from './roster.js';

export interface ReplicaView {
  settings: ClusterSettings;
  counters: ReplicaCounters;
  ownerOf(replica: number): number; // the owner shard, -1 for none (CoreExports.replicaOwner)
}

const peersOf = (v: ReplicaView) => v.settings.roster.entries.filter((e) => e.id !== v.settings.self);

export function replicaHealth(v: ReplicaView) {
  const { settings, counters } = v;
  return {
    replica_id: settings.self,
    cluster_id: String(settings.clusterId),
    peers: peersOf(v).map((e) => {
      const p = counters.peer(e.id);
      const owner = v.ownerOf(e.id);
      return {
        id: e.id, address: formatHostPort(e.host, e.replicaPort), state: p.state, owner_shard: owner < 0 ? null : owner,
        reconnects: p.reconnects, downs: p.downs, dial_attempts: p.dialAttempts, frames_in: p.framesIn, frames_out: p.framesOut,
      };
    }),
    handshake_refusals: Object.fromEntries(counters.refusals().map((r) => [r.reason, r.count])),
    frames_refused: Object.fromEntries(counters.framesRefused().map((r) => [r.reason, r.count])),
    groups: groupsHealth(v),
  };
}

// The consensus groups of this replica, as their shards last published them: the metadata group, then each
// partition's (named `partition S/T/P` by its ids; beyond PARTITION_GROUPS_SHOWN per shard only counted).
function groupsHealth(v: ReplicaView) {
  return publishedGroups(v.counters).map(({ name, g }) => ({
    group: name, role: g.primary ? 'primary' : 'backup', status: STATUS_NAMES[g.status] ?? String(g.status),
    view: g.view, op: g.op, commit: g.commit, view_changes: g.viewChanges,
  }));
}

function publishedGroups(counters: ReplicaCounters): { name: string; g: GroupSummary }[] {
  const metadata = counters.group();
  const all = metadata ? [{ name: 'metadata', g: metadata }] : [];
  for (const g of counters.partitionGroups()) {
    const ids = idsOfNamespace(g.namespace);
    all.push({ name: `partition ${ids.stream}/${ids.topic}/${ids.partition}`, g });
  }
  return all;
}

export function registerReplicaMetrics(registry: client.Registry, v: ReplicaView): void {
  const { counters } = v;
  const peers = peersOf(v);
  new client.Gauge({
    name: 'replica_link_up', help: '1 while the link to a peer replica is up (handshake done, owner slot claimed)',
    labelNames: ['peer'], registers: [registry],
    collect() {
      for (const e of peers) this.set({ peer: String(e.id) }, counters.state(e.id) === 'up' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'replica_link_owner_shard', help: 'The shard that owns the link to a peer replica (ReplicaOwnerTable), -1 for none',
    labelNames: ['peer'], registers: [registry],
    collect() {
      for (const e of peers) this.set({ peer: String(e.id) }, v.ownerOf(e.id));
    },
  });
  const perPeer = (name: string, help: string, value: (peer: number) => number) => new client.Counter({
    name, help, labelNames: ['peer'], registers: [registry],
    collect() {
      this.reset();
      for (const e of peers) this.inc({ peer: String(e.id) }, value(e.id));
    },
  });
  const perGroup = (name: string, help: string, value: (g: GroupSummary) => number) => new client.Gauge({
    name, help, labelNames: ['group'], registers: [registry],
    collect() {
      this.reset(); // a deleted partition's group leaves the series
      for (const { name, g } of publishedGroups(counters)) this.set({ group: name }, value(g));
    },
  });
  perGroup('consensus_group_view', 'The view the consensus group is in', (g) => g.view);
  perGroup('consensus_group_op', 'The highest op in the consensus group\'s log on this replica', (g) => g.op);
  perGroup('consensus_group_commit', 'The highest op this replica of the consensus group committed', (g) => g.commit);
  perGroup('consensus_group_primary', '1 while this replica is the consensus group\'s primary', (g) => (g.primary ? 1 : 0));
  perGroup('consensus_group_view_changes', 'View changes this replica of the consensus group took part in since it started', (g) => g.viewChanges);
  perPeer('replica_link_reconnects_total', 'Times the link to a peer replica came up again after it had been up', (p) => counters.reconnects(p));
  perPeer('replica_link_downs_total', 'Times the link to a peer replica went down', (p) => counters.peer(p).downs);
  perPeer('replica_frames_received_total', 'VSR messages received from a peer replica that passed the core\'s checks', (p) => counters.peer(p).framesIn);
  perPeer('replica_frames_sent_total', 'VSR messages written to a peer replica\'s link', (p) => counters.peer(p).framesOut);
  new client.Counter({
    name: 'replica_handshake_refusals_total', help: 'Connections on the replica plane refused during the handshake, by reason',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const r of counters.refusals()) this.inc({ reason: r.reason }, r.count);
    },
  });
  new client.Counter({
    name: 'replica_frames_refused_total', help: 'Frames from an authenticated peer the core refused (the link was closed), by reason',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const r of counters.framesRefused()) this.inc({ reason: r.reason }, r.count);
    },
  });
}
