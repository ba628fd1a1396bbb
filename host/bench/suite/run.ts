// One bench run: start the target, create its streams, prefill (untimed) what consumers read, run the actors,
// stop the target. The result holds everything the table, --json and --report print.
import { actorThroughput, latencyOf, mergedLatency, throughputOf, timelineOf, type ActorStats, type Latency, type Throughput, type TimelinePoint } from './accounting.js';
import { prefill, runActors } from './actors.js';
import { cpuByThread, cpuDelta, machine, type CpuByThread, type Machine } from './machine.js';
import type { BenchOptions } from './options.js';
import { planOf, type Plan } from './plan.js';
import { Progress } from './progress.js';
import { makeTarget } from './targets/index.js';

export interface GroupResult extends Throughput, Latency { role: 'producers' | 'consumers' | 'producing-consumers' }
export interface ActorResult extends Throughput, Latency { role: string; index: number }

export interface RunResult {
  target: string;
  version: string;
  kind: string;
  durability: string;
  durability_detail: string;
  settings: BenchOptions & { streams: number; partitions: number; batches_per_actor: number };
  machine: Machine;
  groups: GroupResult[];
  actors: ActorResult[];
  timeline: TimelinePoint[];
  server_cpu: CpuByThread; // per thread name over the measured phase
  client_cpu: { user_s: number; sys_s: number };
}

// Time buckets for the report's charts: about 60 points over the run, at least 200 ms each (shorter ones mostly
// show which bucket a 1 MB batch happened to land in).
const bucketMs = (seconds: number): number => Math.max(200, Math.ceil((seconds * 1000) / 60 / 100) * 100);

export async function runBench(o: BenchOptions): Promise<RunResult> {
  const plan = planOf(o);
  const target = makeTarget(o.target, { messageSize: o.messageSize, messagesPerBatch: o.messagesPerBatch, durability: o.durability, shards: o.shards, transport: o.transport, pollsInFlight: o.pollsInFlight });
  await target.start();
  try {
    await target.createStreams(plan.streams, plan.partitions, plan.withGroup);
    await prefill(target, plan);
    const progress = new Progress(`${o.target} ${o.kind}`, expectedBytes(plan));
    const serverBefore = cpuByThread(target.serverPid);
    const clientBefore = process.cpuUsage();
    let actors: ActorStats[];
    try {
      actors = await runActors(target, plan, o.messagesPerBatch, o.rateLimit, { onBytes: (b) => progress.add(b) });
    } finally {
      progress.end();
    }
    const client = process.cpuUsage(clientBefore);
    const serverCpu = cpuDelta(serverBefore, cpuByThread(target.serverPid));
    return {
      target: o.target, version: target.version, kind: o.kind, durability: o.durability, durability_detail: target.durability,
      settings: { ...o, streams: plan.streams, partitions: plan.partitions, batches_per_actor: plan.batchesPerActor },
      machine: machine(), groups: groupsOf(actors, plan), actors: actors.map((a) => ({ role: a.role, index: a.index, ...actorThroughput(a), ...latencyOf(a.histogram) })),
      timeline: timelineOf(actors, bucketMs(Math.max(...actors.map((a) => a.seconds)))),
      server_cpu: serverCpu, client_cpu: { user_s: client.user / 1e6, sys_s: client.system / 1e6 },
    };
  } finally {
    await target.stop();
  }
}

function expectedBytes(plan: Plan): number {
  if (plan.withGroup) return plan.groupMessagesPerStream * plan.streams * plan.messageSize;
  return plan.actors.length * plan.batchesPerActor * plan.batchBytes;
}

function groupsOf(actors: ActorStats[], plan: Plan): GroupResult[] {
  const roles = plan.kind === 'end-to-end-producing-consumer' ? [['producing-consumers', 'producer'] as const] : [['producers', 'producer'] as const, ['consumers', 'consumer'] as const];
  return roles
    .map(([role, actorRole]) => ({ role, members: actors.filter((a) => a.role === actorRole) }))
    .filter((g) => g.members.length > 0)
    .map((g) => ({ role: g.role, ...throughputOf(g.members), ...mergedLatency(g.members) }));
}
