// The nemesis of a 3-replica torture run (--cluster 3), every choice drawn from the seed's PRNG, one fault at a
// time (so at most one replica is down, paused, cut off or damaged, and a majority stays):
// * kill: SIGKILL one replica, leave it down 0.2-3 s while the others go on, restart it on the same data directory
//   (it catches its partition segments up from a peer: nothing acknowledged may be lost or served twice);
// * pause: SIGSTOP one replica for 0.2-4 s (past the 0.3 s a backup waits before a view change: a paused leader is
//   replaced), then SIGCONT;
// * link-cut: cut one replica link, or both of one replica's (isolated from its peers, still reached by clients),
//   for 0.2-4 s, then heal it (replica-net.ts: the replicas in network namespaces; left out where none can be made);
// * wipe, disk-full, bitflip: a replica's disk (cluster-disk-faults.ts).
// Before each fault the nemesis waits (bounded) until every replica's consensus groups are normal again: a replica
// still catching up is not a vote, and a second fault then would take the quorum away.
import { diskFull, flipBits, newFlipVerdicts, wipe, type ClusterFlipVerdict } from './cluster-disk-faults.js';
import type { HistoryWriter } from './history.js';
import type { NodeHealth, NodeProcess } from './node-process.js';
import type { ReplicaNet } from './replica-net.js';
import type { Target } from './workload.js';

export const CLUSTER_FAULTS = ['kill', 'pause', 'link-cut', 'wipe', 'disk-full', 'bitflip'] as const;
export type ClusterFaultKind = typeof CLUSTER_FAULTS[number];

export interface ClusterCounts {
  faults: Record<ClusterFaultKind, number>;
  restarts: number;
  byReplica: Record<ClusterFaultKind, number>[];
  flipVerdicts: Record<ClusterFlipVerdict, number>;
  unsettled: number; // faults that began while some replica's groups were still not normal (the bound passed)
  crashes: string[]; // replicas that exited on their own (each restarted): which, when, and their first ERROR line
  unrecovered: string[]; // replicas that did not recover by themselves from a disk-full or a bit flip (restarted, wiped)
}

export interface ClusterNemesisContext {
  nodes: NodeProcess[];
  history: HistoryWriter;
  random: () => number;
  partitionGroups: number; // the partition groups every replica must show (besides the metadata group)
  net: ReplicaNet | null; // null: no link cuts
  diskFull: boolean; // each replica's data directory is on a tmpfs of its own (the directory's parent)
  scratch: string; // where a replica's files are copied before a bit flip
  target: Target; // the stream and topic (a flipped replica's audit read)
  log: (line: string) => void;
}

const SETTLE_BOUND_MS = 20_000;

const zeros = () => Object.fromEntries(CLUSTER_FAULTS.map((k) => [k, 0])) as Record<ClusterFaultKind, number>;

export function newClusterCounts(replicas: number): ClusterCounts {
  return { faults: zeros(), restarts: 0, byReplica: Array.from({ length: replicas }, zeros), flipVerdicts: newFlipVerdicts(), unsettled: 0, crashes: [], unrecovered: [] };
}

export async function inflictOnCluster(kind: ClusterFaultKind, ctx: ClusterNemesisContext, counts: ClusterCounts): Promise<string> {
  await reviveCrashed(ctx, counts);
  const unsettled = await waitSettled(ctx.nodes, ctx.partitionGroups, SETTLE_BOUND_MS, false);
  if (unsettled !== null) {
    counts.unsettled += 1;
    ctx.log(`  not settled (bound ${SETTLE_BOUND_MS} ms), going on: ${unsettled}`);
  }
  await reviveCrashed(ctx, counts);
  const replica = Math.floor(ctx.random() * ctx.nodes.length);
  counts.faults[kind] += 1;
  counts.byReplica[replica][kind] += 1;
  if (kind === 'kill') return kill(ctx, replica, counts);
  if (kind === 'pause') return pause(ctx, replica);
  if (kind === 'link-cut') return linkCut(ctx, replica);
  if (kind === 'wipe') return wipe(ctx, replica, counts);
  if (kind === 'disk-full') return diskFull(ctx, replica, counts);
  const { line, verdict } = await flipBits(ctx, replica, counts);
  counts.flipVerdicts[verdict] += 1;
  return line;
}

async function kill(ctx: ClusterNemesisContext, replica: number, counts: ClusterCounts): Promise<string> {
  const node = ctx.nodes[replica];
  const downMs = 200 + Math.floor(ctx.random() * 2_800);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'kill', detail: `SIGKILL replica ${replica} (pid ${node.pid}), down ${downMs} ms` });
  await node.kill();
  await hold(downMs);
  await restart(ctx, replica, counts, 'a SIGKILL');
  return `kill replica ${replica} (down ${downMs} ms)`;
}

async function pause(ctx: ClusterNemesisContext, replica: number): Promise<string> {
  const node = ctx.nodes[replica];
  const ms = 200 + Math.floor(ctx.random() * 3_800);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'pause', detail: `SIGSTOP replica ${replica} (pid ${node.pid}) for ${ms} ms` });
  node.pause();
  await hold(ms);
  node.resume();
  return `pause replica ${replica} (${ms} ms)`;
}

// One link of `replica` (to a peer drawn from the seed), or both of them (isolated), cut for 0.2-4 s and healed.
async function linkCut(ctx: ClusterNemesisContext, replica: number): Promise<string> {
  const net = ctx.net!;
  const ms = 200 + Math.floor(ctx.random() * 3_800);
  const peers = ctx.nodes.map((_, i) => i).filter((i) => i !== replica);
  const isolate = ctx.random() < 0.5;
  const cut = isolate ? peers : [peers[Math.floor(ctx.random() * peers.length)]];
  const what = isolate ? `replica ${replica} isolated from its peers` : `link ${replica}-${cut[0]} cut`;
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'link-cut', detail: `${what} for ${ms} ms` });
  for (const peer of cut) {
    for (const end of [replica, peer]) ctx.nodes[end].note(`link-cut ${what} (${ms} ms)`);
    net.cut(replica, peer);
  }
  try {
    await hold(ms);
  } finally {
    for (const peer of cut) {
      net.heal(replica, peer);
      for (const end of [replica, peer]) ctx.nodes[end].note(`link-heal ${replica}-${peer}`);
    }
  }
  return `${what} (${ms} ms)`;
}

export async function restart(ctx: ClusterNemesisContext, replica: number, counts: ClusterCounts, why: string): Promise<void> {
  const boot = await ctx.nodes[replica].start();
  if (!boot.ok) throw new Error(`replica ${replica} did not come back after ${why} (exit ${boot.code ?? boot.signal}):\n${boot.output}`);
  counts.restarts += 1;
}

// A replica that exited on its own is a finding (counted, its first ERROR line kept; the run fails); it is
// restarted so that the run goes on with a majority.
export async function reviveCrashed(ctx: ClusterNemesisContext, counts: ClusterCounts): Promise<void> {
  for (const [replica, node] of ctx.nodes.entries()) {
    const crash = node.crash;
    if (crash === null) continue;
    const what = `replica ${replica} exited on its own (${crash}), seen at ${new Date().toISOString()}`;
    counts.crashes.push(what);
    ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'crash', detail: what });
    ctx.log(`  CRASH: ${what}; restarting it`);
    const boot = await node.start();
    if (!boot.ok) throw new Error(`replica ${replica} did not come back after exiting on its own (exit ${boot.code ?? boot.signal}):\n${boot.output}`);
  }
}

export const hold = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)); // the fault's duration

// Waits (bounded) until every replica shows the metadata group and `partitionGroups` partition groups, each
// normal; `quiet` (healing, the workload stopped): also each group at one view and one commit number on every
// replica, the primary's op committed. Null when it is so; otherwise where the replicas stand, for the report.
export async function waitSettled(nodes: NodeProcess[], partitionGroups: number, boundMs: number, quiet: boolean): Promise<string | null> {
  const deadline = Date.now() + boundMs;
  let last = '';
  for (;;) {
    const crashed = nodes.findIndex((n) => n.crash !== null);
    if (crashed >= 0) return `replica ${crashed} exited on its own`;
    const healths = await Promise.all(nodes.map((n) => (n.running && !n.paused ? n.health().catch(() => null) : Promise.resolve(null))));
    const why = unsettledBecause(healths, partitionGroups, quiet);
    if (why === null) return null;
    last = why;
    if (Date.now() >= deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// Why the replicas' /health do not show a whole, quiet cluster yet (null: they do).
export function unsettledBecause(healths: (NodeHealth | null)[], partitionGroups: number, quiet: boolean): string | null {
  const byGroup = new Map<string, { replica: number; status: string; view: number; op: number; commit: number; role: string }[]>();
  for (const [replica, h] of healths.entries()) {
    if (h === null) return `replica ${replica}: no /health`;
    const groups = h.replicas?.groups ?? [];
    if (groups.length < 1 + partitionGroups) return `replica ${replica}: ${groups.length} of ${1 + partitionGroups} consensus groups`;
    for (const g of groups) {
      if (g.status !== 'normal') return `replica ${replica}: ${g.group} is ${g.status} (view ${g.view}, op ${g.op}, commit ${g.commit})`;
      let list = byGroup.get(g.group);
      if (!list) { list = []; byGroup.set(g.group, list); }
      list.push({ replica, ...g });
    }
  }
  if (!quiet) return null;
  for (const [group, list] of byGroup) {
    const at = list.map((g) => `r${g.replica} ${g.role} view ${g.view} op ${g.op} commit ${g.commit}`).join(', ');
    if (list.length !== healths.length) return `${group}: on ${list.length} replicas only`;
    if (new Set(list.map((g) => g.view)).size > 1 || new Set(list.map((g) => g.commit)).size > 1) return `${group}: ${at}`;
    const primary = list.find((g) => g.role === 'primary');
    if (!primary || primary.op !== primary.commit) return `${group}: ${at}`;
  }
  return null;
}
