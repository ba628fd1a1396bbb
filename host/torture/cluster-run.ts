// One torture run of a 3-replica cluster (--cluster 3): three server processes (2 shards each), each in a network
// namespace of its own on a bridge of the run's (replica-net.ts: link cuts; loopback where none can be made), with
// its data directory on a tmpfs of its own (disk-full; a plain directory where none can be mounted) and a log file;
// the single-node run's workload through the SDK (each worker connects to one replica and follows the leader,
// moving on after an answer that says "not here"); the cluster nemesis (cluster-nemesis.ts) on a schedule drawn
// from the seed; then healing (every link healed, every replica up and unpaused, the workload stopped, every
// consensus group normal and at one commit on every replica), the final read of every partition through EACH
// replica's client port, and the checker once per replica with that replica's read as the final one: every replica
// must serve every acknowledged message (one that caught up from a peer or was wiped included).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IggyClient } from '../client/client.js';
import { freePort } from '../node/free-port.js';
import { checkFile, formatVerdict, type Verdict } from './checker.js';
import { CLUSTER_FAULTS, inflictOnCluster, type ClusterFaultKind, newClusterCounts, reviveCrashed, waitSettled, type ClusterCounts, type ClusterNemesisContext } from './cluster-nemesis.js';
import { mountTmpfs, unmount } from './full-device.js';
import { HistoryWriter } from './history.js';
import { runNemesis } from './nemesis.js';
import { NodeProcess } from './node-process.js';
import { ReplicaNet } from './replica-net.js';
import { prng, type TortureOptions } from './run.js';
import { connectClient, describe, Gate, groupMember, producer, readAll, singleConsumer, type Target, type Worker } from './workload.js';

export interface ClusterTortureResult {
  seed: number;
  replicas: number;
  verdicts: Verdict[]; // per replica: the checker with that replica's final read
  faults: ClusterCounts;
  leftOut: string[]; // fault kinds not run, each with why (no network namespaces, no tmpfs)
  healing: string | null; // null, or where the cluster stood when the healing bound passed
  stuckWorkers: string[]; // workers whose operation did not end within the bound once the cluster healed
  finalReadCounts: number[]; // messages each replica served in the final read
  finalReadErrors: string[];
  historyFile: string;
  logs: string[]; // each replica's output, every start appended
  ok: boolean;
}

const REPLICAS = 3;
const PRODUCERS = 3;
const PARTITIONS = 4; // with 2 shards, partitions land on both
const GROUP_MEMBERS = 2;
const SETUP_BOUND_MS = 60_000;
const HEAL_BOUND_MS = 120_000;
const WORKERS_BOUND_MS = 30_000;
// Room for a run's writes on each replica's tmpfs (memory is used only as written): a 3-minute run here grew a
// partition's segment to ~11 MB (4 partitions: ~15 MB a minute per replica), so 64 MB a minute leaves room to spare.
const tmpfsSize = (seconds: number) => `${256 + 64 * Math.ceil(seconds / 60)}m`;

// `faults`: the kinds to run [all that this machine can]; one asked for that cannot be made here is left out, saying
// why, as when it is not asked for by name.
export async function runClusterTorture(options: Omit<TortureOptions, 'faults'> & { faults?: readonly ClusterFaultKind[] }): Promise<ClusterTortureResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const random = prng(options.seed);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-torture-cluster-'));
  const historyFile = options.historyFile ?? path.join(scratch, 'history.jsonl');
  const history = new HistoryWriter(historyFile);
  const net = ReplicaNet.create(REPLICAS);
  const devices = mountDevices(scratch, tmpfsSize(options.seconds));
  const leftOut = [...(typeof net === 'string' ? [`link-cut: ${net}`] : []), ...(typeof devices.why === 'string' ? [`disk-full: ${devices.why}`] : [])];
  const available = (options.faults ?? CLUSTER_FAULTS).filter((f) => !leftOut.some((l) => l.startsWith(`${f}:`)));
  const nodes = await cluster(scratch, devices.dataDirs, typeof net === 'string' ? null : net);
  const addresses = nodes.map((n) => n.addresses.tcp);
  const counts = newClusterCounts(REPLICAS);
  const workers: Worker[] = [];
  let running = true;
  let ok = false;
  try {
    log(`torture: seed ${options.seed}, ${options.seconds} s, ${REPLICAS} replicas (2 shards each), faults ${available.join(', ')}${leftOut.length > 0 ? ` (left out: ${leftOut.join('; ')})` : ''}`);
    log(`torture: history in ${historyFile}; replica logs in ${scratch}`);
    const boots = await Promise.all(nodes.map((n) => n.start()));
    for (const [replica, boot] of boots.entries()) if (!boot.ok) throw new Error(`replica ${replica} did not start (exit ${boot.code}):\n${boot.output}`);
    const target: Target = { ...(await setUp(addresses)), replicas: addresses };
    await Promise.all(addresses.map((address) => servesStream(address, target.stream)));
    const gate = new Gate(); // never closed here: no cluster fault needs the workload quiesced
    const isRunning = () => running;
    const at = (i: number): Target => ({ ...target, address: addresses[i % REPLICAS] });
    for (let i = 0; i < PRODUCERS; i++) workers.push(producer(`p${i}`, at(i), history, gate, prng(options.seed + 1 + i), isRunning));
    for (let p = 0; p < PARTITIONS; p++) workers.push(singleConsumer(`c${p}`, 1 + p, p, at(p + 1), history, gate, isRunning));
    for (let i = 0; i < GROUP_MEMBERS; i++) workers.push(groupMember(`g${i}`, at(i + 2), history, gate, isRunning));

    const ctx: ClusterNemesisContext = {
      nodes, history, random, partitionGroups: PARTITIONS, net: typeof net === 'string' ? null : net, diskFull: devices.why === null, scratch, target, log,
    };
    await runNemesis(options, random, available, (kind) => inflictOnCluster(kind, ctx, counts), log);

    // Heal: every link up, every replica runs unpaused; the workload stops; the cluster settles; each replica is
    // read back.
    ctx.net?.healAll();
    for (const node of nodes) node.resume();
    await reviveCrashed(ctx, counts);
    for (const [replica, node] of nodes.entries()) {
      if (node.running) continue;
      const boot = await node.start();
      if (!boot.ok) throw new Error(`replica ${replica} did not start for healing (exit ${boot.code}):\n${boot.output}`);
    }
    running = false;
    const stuck = await stopWorkers(workers, log);
    const healing = await heal(ctx, counts);
    if (healing !== null) log(`  healing: the cluster did not settle within ${HEAL_BOUND_MS} ms: ${healing}`);
    const finalReadCounts: number[] = [];
    const finalReadErrors: string[] = [];
    for (const [replica, address] of addresses.entries()) {
      const read = await finalRead(address, target, history, replica);
      finalReadCounts.push(read.messages);
      finalReadErrors.push(...read.errors.map((e) => `replica ${replica}: ${e}`));
    }
    history.close();
    const verdicts: Verdict[] = [];
    for (let replica = 0; replica < REPLICAS; replica++) verdicts.push(await checkFile(historyFile, `final-r${replica}`));
    await reviveCrashed(ctx, counts); // one that exited while the cluster settled (it served no final read)
    ok = verdicts.every((v) => v.valid) && finalReadErrors.length === 0 && healing === null && counts.crashes.length === 0 && counts.unrecovered.length === 0 && stuck.length === 0;
    return { seed: options.seed, replicas: REPLICAS, verdicts, faults: counts, leftOut, healing, stuckWorkers: stuck, finalReadCounts, finalReadErrors, historyFile, logs: nodes.map((n) => n.logFile!), ok };
  } finally {
    running = false;
    for (const node of nodes) node.resume();
    await Promise.all(nodes.map((n) => n.kill()));
    if (typeof net !== 'string') net.close();
    // The logs and the history stay; the data directories stay only when the run failed (for a look at the files:
    // copied off their tmpfs first).
    for (const [replica, dataDir] of devices.dataDirs.entries()) {
      if (!ok && devices.why === null && fs.existsSync(dataDir)) fs.cpSync(dataDir, path.join(scratch, `data-r${replica}`), { recursive: true });
      if (devices.why === null) unmount(path.dirname(dataDir));
      if (ok || devices.why === null) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  }
}

// Each replica's data directory: `data` on a tmpfs of its own (`device-r<i>` under `scratch`), or, where none can be
// mounted, a plain directory there (why: the reason, and disk-full is left out).
function mountDevices(scratch: string, size: string): { dataDirs: string[]; why: string | null } {
  const devices = Array.from({ length: REPLICAS }, (_, i) => path.join(scratch, `device-r${i}`));
  let why: string | null = null;
  for (const device of devices) {
    fs.mkdirSync(device);
    if (why === null) why = mountTmpfs(device, size);
  }
  if (why !== null) for (const device of devices) unmount(device); // all or none
  return { dataDirs: devices.map((d) => path.join(d, 'data')), why };
}

// Waits (bounded) until the cluster is whole and quiet; a replica that exits on its own meanwhile is counted and
// restarted, and the wait goes on. Null when settled, else where the replicas stood.
async function heal(ctx: ClusterNemesisContext, counts: ClusterCounts): Promise<string | null> {
  const deadline = Date.now() + HEAL_BOUND_MS;
  for (;;) {
    await reviveCrashed(ctx, counts);
    const why = await waitSettled(ctx.nodes, PARTITIONS, Math.max(0, deadline - Date.now()), true);
    if (why === null || Date.now() >= deadline || !ctx.nodes.some((n) => n.crash !== null)) return why;
  }
}

// Lets the workers finish their operation in flight (bounded: on a cluster that stopped committing, an SDK call
// reconnects and logs in again and again); the ones still busy are stopped by closing their client. Returns their
// names (a finding: the healed cluster did not answer them).
async function stopWorkers(workers: Worker[], log: (line: string) => void): Promise<string[]> {
  const ended = new Set<string>();
  const all = Promise.all(workers.map((w) => w.done.catch((error) => log(`  worker ${w.name} ended with ${error}`)).then(() => { ended.add(w.name); })));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((resolve) => { timer = setTimeout(resolve, WORKERS_BOUND_MS); })]);
  clearTimeout(timer);
  const stuck = workers.filter((w) => !ended.has(w.name));
  if (stuck.length === 0) return [];
  log(`  workers still in an operation ${WORKERS_BOUND_MS} ms after healing began, stopped: ${stuck.map((w) => w.name).join(', ')}`);
  for (const w of stuck) w.stop();
  await all;
  return stuck.map((w) => w.name);
}

// Three NodeProcesses with one roster and secret: each on its namespace's address (loopback without `net`), ports
// taken once (a restart is the same replica), its data directory, a log file under `scratch`.
async function cluster(scratch: string, dataDirs: string[], net: ReplicaNet | null): Promise<NodeProcess[]> {
  const ports: { host: string; tcp: number; replica: number; http: number }[] = [];
  for (let i = 0; i < REPLICAS; i++) ports.push({ host: net?.addresses[i] ?? '127.0.0.1', tcp: await freePort(), replica: await freePort(), http: await freePort() });
  const roster = ports.map((p, i) => `${i}=${p.host}:${p.tcp}/${p.replica}/${p.http}`).join(',');
  const secret = crypto.randomBytes(32).toString('hex');
  return ports.map((p, i) => new NodeProcess({
    tcp: `${p.host}:${p.tcp}`, http: `${p.host}:${p.http}`, dataDir: dataDirs[i], shards: 2, wrap: net?.exec(i),
    args: ['--replica-id', String(i), '--cluster', roster, '--pin-cores', 'false'],
  }, { SHARDLOG_CLUSTER_SECRET: secret }, path.join(scratch, `replica-${i}.log`)));
}

// The stream, topic and consumer group, made through the leader once the cluster formed (a new cluster answers 58
// until its metadata group is normal; a create whose answer was lost is found on the next try).
async function setUp(addresses: string[]): Promise<Target> {
  const deadline = Date.now() + SETUP_BOUND_MS;
  const groupName = 'torture-group';
  for (let attempt = 0; ; attempt++) {
    let client: IggyClient | undefined;
    try {
      client = await connectClient(addresses[attempt % addresses.length]);
      const stream = (await client.getStream('torture')) ?? (await client.createStream('torture'));
      const topic = (await client.getTopic(stream.id, 'events')) ?? (await client.createTopic({ stream: stream.id, name: 'events', partitionsCount: PARTITIONS }));
      if (!(await client.getGroup(stream.id, topic.id, groupName))) await client.createGroup(stream.id, topic.id, groupName);
      return { address: addresses[0], stream: stream.id, topic: topic.id, partitions: PARTITIONS, groupName };
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`the cluster did not take the stream, topic and group within ${SETUP_BOUND_MS} ms: ${describe(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await client?.close().catch(() => {});
    }
  }
}

// Waits (bounded) until a replica takes a login and serves the stream: a replica learns a commit (the users, the
// stream) from the primary's next message, and a worker's first connect to it must not be refused.
async function servesStream(address: string, stream: number): Promise<void> {
  const deadline = Date.now() + SETUP_BOUND_MS;
  for (;;) {
    let client: IggyClient | undefined;
    try {
      client = await IggyClient.connect({ address, username: 'iggy', password: 'iggy', timeoutMs: 5_000, heartbeatMs: 0, followLeader: false });
      if (await client.getStream(stream)) return;
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`replica ${address} did not serve the stream within ${SETUP_BOUND_MS} ms: ${describe(error)}`);
    } finally {
      await client?.close().catch(() => {});
    }
    if (Date.now() >= deadline) throw new Error(`replica ${address} did not serve the stream within ${SETUP_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Every partition read through one replica's client port (staying there: no leader following), recorded as
// `final-r<replica>`.
async function finalRead(address: string, t: Target, history: HistoryWriter, replica: number): Promise<{ messages: number; errors: string[] }> {
  let client: IggyClient;
  try {
    client = await IggyClient.connect({ address, username: 'iggy', password: 'iggy', timeoutMs: 10_000, heartbeatMs: 0, followLeader: false });
  } catch (error) {
    return { messages: 0, errors: [`no connection for the final read: ${describe(error)}`] };
  }
  try {
    const { failed, messages } = await readAll(client, t, history, true, `final-r${replica}`);
    return { messages, errors: [...failed].map(([p, e]) => `partition ${p}: ${e}`) };
  } finally {
    await client.close().catch(() => {});
  }
}

export function formatClusterResult(r: ClusterTortureResult): string {
  const f = r.faults;
  const [first, ...others] = r.verdicts;
  const acked = first.stats.messagesAcknowledged;
  const kinds = Object.keys(f.faults) as ClusterFaultKind[];
  const byKind = (counts: Record<ClusterFaultKind, number>) => kinds.map((k) => `${counts[k]} ${k}`).join(', ');
  return [
    `faults: ${byKind(f.faults)} (${f.restarts} restarts); ${f.unsettled} faults began before the previous one settled`,
    `  by replica: ${f.byReplica.map((b, i) => `r${i} ${byKind(b)}`).join('; ')}`,
    `  bit flips: ${f.flipVerdicts.refused} refused at boot (files restored), ${f.flipVerdicts.reported} booted and reported in /health, ${f.flipVerdicts.quiet} booted with /health ok, ${f.flipVerdicts.unrepaired} not repaired (wiped)`,
    ...r.leftOut.map((l) => `left out: ${l}`),
    `crashes (replicas that exited on their own, each restarted): ${f.crashes.length}`,
    ...f.crashes.map((c) => `  ${c}`),
    `replicas not recovered by themselves (a disk-full: restarted; a bit flip: wiped): ${f.unrecovered.length}`,
    ...f.unrecovered.map((c) => `  ${c}`),
    ...(r.stuckWorkers.length > 0 ? [`workers stuck after healing began (stopped): ${r.stuckWorkers.join(', ')}`] : []),
    `healing: ${r.healing === null ? 'every consensus group normal, at one view and commit on every replica' : `NOT SETTLED: ${r.healing}`}`,
    `final read: ${r.finalReadCounts.map((n, i) => `replica ${i} ${n} messages`).join(', ')}`,
    ...r.finalReadErrors.map((e) => `final read failed: ${e}`),
    `checker with replica 0's final read:`,
    formatVerdict(first),
    ...others.map((v, i) => v.valid
      ? `checker with replica ${i + 1}'s final read: valid, ${v.stats.messagesVerified} of ${acked} acknowledged messages verified`
      : `checker with replica ${i + 1}'s final read:\n${formatVerdict(v)}`),
    `torture: ${r.ok ? 'PASS' : 'FAIL'} (seed ${r.seed}; history ${r.historyFile}; replica logs ${r.logs.join(' ')})`,
  ].join('\n');
}
