// The cluster roster: `--cluster "0=HOST:CLIENT_TCP_PORT/REPLICA_PORT[/HTTP_PORT],1=..."` with `--replica-id` and
// `--cluster-secret`. Parsed and checked once at startup; every refusal is one line naming the setting that holds
// the mistake (a ShardlogError: exit 2 before anything starts).
import crypto from 'node:crypto';
import { userError } from '../../shared/errors.js';

export interface RosterEntry {
  id: number; // the VSR replica index: ids are 0..N-1, each once (primary = view mod N)
  host: string;
  tcpPort: number; // Iggy binary protocol (clients)
  replicaPort: number; // the replica plane (replica-to-replica TCP)
  httpPort: number | null;
}

export interface Roster {
  entries: RosterEntry[]; // by id
  hash: Buffer; // SHA-256 of the canonical form: two nodes with different rosters refuse each other's handshake
}

export interface ClusterSettings {
  roster: Roster;
  self: number;
  clusterId: bigint;
  secret: string;
  handshakeTimeoutMs: number;
  source: string; // where the roster came from (--cluster, SHARDLOG_CLUSTER, cluster.nodes in FILE)
}

// Why 3 and odd (README, --help): VSR needs a majority. With 2 replicas the majority is both, so either failing
// stops the cluster: twice the ways to fail of one node, no tolerance gained. 4 tolerate one failure, as 3 do, and
// add a fourth node that can fail.
export const CLUSTER_SIZE_RULE = 'a cluster has an odd number of replicas, at least 3: VSR commits with a majority, so 2 replicas stop when either fails and 4 tolerate no more failures than 3';

const ENTRY = /^(\d{1,3})=(\[[0-9a-fA-F:.]+\]|[^:\s/,=[\]]+):(\d{1,5})\/(\d{1,5})(?:\/(\d{1,5}))?$/;
const FORMAT = 'ID=HOST:CLIENT_TCP_PORT/REPLICA_PORT[/HTTP_PORT], comma-separated';

function port(text: string | undefined, source: string, entry: string): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  if (n < 1 || n > 65535) throw userError('ClusterRosterInvalid', `${source}: port ${text} in ${JSON.stringify(entry)} is not 1..65535`);
  return n;
}

export function parseRoster(raw: string, source: string): Roster {
  const parts = raw.split(',').map((p) => p.trim());
  const entries: RosterEntry[] = [];
  for (const part of parts) {
    const m = part.match(ENTRY);
    if (!m) throw userError('ClusterRosterInvalid', `${source}: ${JSON.stringify(part)} is not ${FORMAT}`);
    entries.push({
      id: Number(m[1]), host: m[2].replace(/^\[|\]$/g, ''), tcpPort: port(m[3], source, part)!, replicaPort: port(m[4], source, part)!,
      httpPort: port(m[5], source, part),
    });
  }
  const ids = new Set<number>();
  for (const e of entries) {
    if (ids.has(e.id)) throw userError('ClusterDuplicateReplica', `${source}: replica id ${e.id} appears twice`);
    ids.add(e.id);
  }
  if (entries.length < 3 || entries.length % 2 === 0) {
    throw userError('ClusterSizeRefused', `${source}: ${entries.length} replica(s) refused: ${CLUSTER_SIZE_RULE}`);
  }
  for (let id = 0; id < entries.length; id++) {
    if (!ids.has(id)) throw userError('ClusterRosterInvalid', `${source}: replica ids must be 0..${entries.length - 1} (VSR numbers its replicas), ${id} is missing`);
  }
  const used = new Map<string, string>();
  for (const e of entries) {
    for (const [what, p] of [['client', e.tcpPort], ['replica', e.replicaPort], ['http', e.httpPort]] as const) {
      if (p === null) continue;
      const key = `${e.host}:${p}`;
      const other = used.get(key);
      if (other) throw userError('ClusterDuplicatePort', `${source}: ${key} is both ${other} and replica ${e.id}'s ${what} port`);
      used.set(key, `replica ${e.id}'s ${what} port`);
    }
  }
  entries.sort((a, b) => a.id - b.id);
  const canonical = entries.map((e) => `${e.id}=${e.host}:${e.tcpPort}/${e.replicaPort}${e.httpPort === null ? '' : `/${e.httpPort}`}`).join(',');
  return { entries, hash: crypto.createHash('sha256').update(canonical).digest() };
}

export interface ClusterInputs {
  cluster: string | null;
  replicaId: number | null;
  clusterSecret: string | null;
  clusterId: number;
  clusterHandshakeTimeoutMs: number;
  sources: Partial<Record<'cluster' | 'replicaId' | 'clusterSecret', string>>;
}

// null: no --cluster, the single node of old. Otherwise the checked settings of this replica.
export function clusterSettings(c: ClusterInputs): ClusterSettings | null {
  const rosterSource = c.sources.cluster ?? '--cluster';
  if (c.cluster === null) {
    if (c.replicaId !== null) throw userError('ClusterMissing', `${c.sources.replicaId}: a replica id needs a roster (--cluster / cluster.nodes / SHARDLOG_CLUSTER)`);
    if (c.clusterSecret !== null) throw userError('ClusterMissing', `${c.sources.clusterSecret}: a cluster secret needs a roster (--cluster / cluster.nodes / SHARDLOG_CLUSTER)`);
    return null;
  }
  const roster = parseRoster(c.cluster, rosterSource);
  if (c.replicaId === null) throw userError('ClusterReplicaIdMissing', `--replica-id: ${rosterSource} is set, so this node must say which of its replicas it is`);
  if (!roster.entries.some((e) => e.id === c.replicaId)) {
    throw userError('ClusterReplicaIdMissing', `${c.sources.replicaId ?? '--replica-id'}: replica ${c.replicaId} is not in the roster (${rosterSource} names ${roster.entries.map((e) => e.id).join(', ')})`);
  }
  if (c.clusterSecret === null) throw userError('ClusterSecretMissing', `--cluster-secret: ${rosterSource} is set, and replicas authenticate each other with a shared secret (prefer SHARDLOG_CLUSTER_SECRET: flags show in ps)`);
  return { roster, self: c.replicaId, clusterId: BigInt(c.clusterId), secret: c.clusterSecret, handshakeTimeoutMs: c.clusterHandshakeTimeoutMs, source: rosterSource };
}

export function formatHostPort(host: string, p: number): string {
  return host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
}
