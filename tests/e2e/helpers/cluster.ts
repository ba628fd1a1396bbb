// A cluster of real server processes on loopback: a roster on free ports, one process per replica (2 shards each, so
// that links land on a non-zero shard), each with its own data directory that survives a restart. Tests form one
// with TestCluster.form (fresh ports when a picked one was taken before a replica bound it).
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { IggyClient } from '../../../host/client/client.js';
import type { HealthReason } from './health.js';
import { ROOT } from './protocol.js';
import { freePort, onFreshPorts, serverLoggedReady, startServer, stopServer, tempDir, waitFor, waitReady, type RunningServer } from './server.js';

const LEADER_ROLE = 0; // GetClusterMetadata's node role: Leader
const BOOT_BOUND_MS = 30_000; // three 2-shard processes booting at once on 2 cores

export const CLUSTER_SECRET = 'e2e-Secret-7f3a-e2e-Secret-7f3a-e2e';

export interface ReplicaPeerHealth {
  id: number;
  address: string;
  state: string;
  owner_shard: number | null;
  reconnects: number;
  downs: number;
}

export interface ReplicaHealth {
  replica_id: number;
  reasons: HealthReason[]; // why it is degraded (storage conditions), as on a single node
  replicas: {
    peers: ReplicaPeerHealth[];
    handshake_refusals: Record<string, number>;
    frames_refused: Record<string, number>;
  };
}

export interface NodePorts {
  tcp: number;
  replica: number;
  http: number;
}

export class TestCluster {
  readonly nodes: (RunningServer | null)[];
  readonly dataDirs: string[];

  private constructor(readonly ports: NodePorts[], readonly roster: string, private readonly extra: string[]) {
    this.nodes = ports.map(() => null);
    this.dataDirs = ports.map(() => tempDir('cluster'));
  }

  // A roster on ports from `ports` [freePort]; nothing started.
  static async create(replicas: number, extra: string[] = [], ports: () => Promise<number> = freePort): Promise<TestCluster> {
    const picked: NodePorts[] = [];
    const taken = new Set<number>();
    // A port is free when picked, and closed again at once: the next pick may return it (seen: one port named as
    // two replicas' ports, ClusterDuplicatePort). Every port of the roster is a different one.
    const unique = async (): Promise<number> => {
      for (let tries = 0; tries < 100; tries++) {
        const port = await ports();
        if (!taken.has(port)) { taken.add(port); return port; }
      }
      throw new Error(`no port apart from ${[...taken].join(', ')} in 100 picks`);
    };
    for (let i = 0; i < replicas; i++) picked.push({ tcp: await unique(), replica: await unique(), http: await unique() });
    const roster = picked.map((p, i) => `${i}=127.0.0.1:${p.tcp}/${p.replica}/${p.http}`).join(',');
    return new TestCluster(picked, roster, extra);
  }

  // A cluster of `replicas` with replicas `ids` [all] started and listening. A replica that exits because one of
  // its ports was taken before it bound it (another process got it from the same ephemeral range: seen in CI)
  // forms the whole cluster again on a fresh roster and fresh data directories: the roster is in every replica's
  // arguments, so one replica cannot move alone (onFreshPorts: bounded; any other failure is thrown).
  static form(replicas: number, extra: string[] = [], ids?: number[], ports?: () => Promise<number>): Promise<TestCluster> {
    return onFreshPorts(async () => {
      const cluster = await TestCluster.create(replicas, extra, ports);
      try {
        await Promise.all((ids ?? cluster.ports.map((_, id) => id)).map((id) => cluster.start(id)));
        return cluster;
      } catch (error) {
        await cluster.stop();
        throw error;
      }
    });
  }

  // Starts replica `id` (its HTTP and client addresses come from its roster entry) and waits until it listens on
  // them; one that exits first throws ServerExited. A restarted replica keeps its roster entry, so a port taken
  // meanwhile fails the test by that name (only form() can move ports).
  async start(id: number, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
    const p = this.ports[id];
    const node = await startServer([
      '--replica-id', String(id), '--cluster', this.roster, '--shards', '2', '--pin-cores', 'false',
      '--data-dir', this.dataDirs[id], '--http-address', `127.0.0.1:${p.http}`, '--tcp-address', `127.0.0.1:${p.tcp}`, ...this.extra,
    ], { SHARDLOG_CLUSTER_SECRET: CLUSTER_SECRET, ...env });
    this.nodes[id] = node;
    await waitReady(node, serverLoggedReady, BOOT_BOUND_MS);
    return node;
  }

  async kill(id: number): Promise<void> {
    const node = this.nodes[id];
    this.nodes[id] = null;
    if (node) await stopServer(node);
  }

  async health(id: number): Promise<ReplicaHealth> {
    const res = await request(`http://127.0.0.1:${this.ports[id].http}/health`);
    return (await res.body.json()) as ReplicaHealth;
  }

  async metrics(id: number): Promise<string> {
    const res = await request(`http://127.0.0.1:${this.ports[id].http}/metrics`);
    return res.body.text();
  }

  // Waits until `check` holds for replica `id`'s /health (bounded), and returns that /health.
  async waitHealth(id: number, what: string, check: (h: ReplicaHealth) => boolean, timeoutMs = 20_000): Promise<ReplicaHealth> {
    return waitFor(`replica ${id}: ${what}`, timeoutMs, async () => {
      const h = await this.health(id);
      return check(h) ? h : undefined;
    });
  }

  output(id: number): string {
    return this.nodes[id]?.output() ?? '';
  }

  // The replicas running now.
  live(): number[] {
    return this.nodes.flatMap((node, id) => (node ? [id] : []));
  }

  // For a test's error when a wait on the cluster times out (mute otherwise): where each replica's consensus groups
  // stand (/health) and what it said last (failed logins left out).
  async diagnosis(ids: number[]): Promise<string> {
    const parts = await Promise.all(ids.map(async (id) => {
      const groups = await this.health(id).then((h) => JSON.stringify((h.replicas as unknown as { groups?: unknown }).groups), () => 'no /health');
      const tail = this.output(id).split('\n').filter((l) => !l.includes('failed login')).slice(-25).join('\n');
      return `--- replica ${id}: ${groups}\n${tail}`;
    }));
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((_, id) => this.kill(id)));
    for (const dir of this.dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The value of one series of a metric (labels as written, e.g. `{shard="0",variant="consensus",reason="full"}`), 0
// when absent.
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const pairs = Object.fromEntries(body.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 2, -1)];
    }));
    if (Object.entries(labels).every(([k, v]) => pairs[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

// A logged-in root client per replica that stays on it (followLeader: false: the SDK's default would move it to
// the leader), made on first use (waiting, bounded, until that replica accepts the login) and kept while open.
export class ReplicaClients {
  private readonly open = new Map<number, IggyClient>();

  constructor(private readonly cluster: TestCluster, private readonly boundMs: number) {}

  async get(id: number): Promise<IggyClient> {
    const existing = this.open.get(id);
    if (existing && !existing.connection.isClosed) return existing;
    const fresh = await waitFor(`a login on replica ${id}`, this.boundMs, async () =>
      IggyClient.connect({ address: `127.0.0.1:${this.cluster.ports[id].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs: 5_000, followLeader: false }))
      .catch(async (error: Error) => { throw new Error(`${error.message}\n${await this.cluster.diagnosis(this.cluster.live())}`); });
    this.open.set(id, fresh);
    return fresh;
  }

  // Stream `name` once replica `id` serves it (a backup learns of a commit from the primary's next message).
  streamOn(id: number, name: string) {
    return waitFor(`stream ${name} on replica ${id}`, this.boundMs, async () => (await (await this.get(id)).getStream(name)) ?? undefined);
  }

  async drop(id: number): Promise<void> {
    await this.open.get(id)?.close().catch(() => undefined);
    this.open.delete(id);
  }

  async dropAll(): Promise<void> {
    for (const id of [...this.open.keys()]) await this.drop(id);
  }
}

// The leader every live replica names (one, the same everywhere, not `not`), once they agree (bounded).
export function agreedLeader(clientOf: (id: number) => Promise<IggyClient>, live: number[], boundMs: number, not = -1): Promise<number> {
  return waitFor(`replicas ${live} to agree on one leader`, boundMs, async () => {
    const leaders = new Set<number>();
    for (const id of live) {
      const meta = await (await clientOf(id)).getClusterMetadata();
      const named = meta.nodes.filter((n) => n.role === LEADER_ROLE);
      if (named.length !== 1) return undefined;
      leaders.add(meta.nodes.indexOf(named[0]));
    }
    const [leader] = [...leaders];
    return leaders.size === 1 && leader !== not && live.includes(leader) ? leader : undefined;
  });
}

// The partition directories under a replica's data directory (streams/*/topics/*/partitions/*).
export function partitionDirs(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (path.basename(dir) === 'partitions') out.push(full);
      else walk(full);
    }
  };
  walk(path.join(dataDir, 'streams'));
  return out;
}
