// The main thread of a running server: lays out shared memory, spawns and pins one worker per shard, runs the
// boot barrier, watches every shard, and shuts everything down on a signal or on the first failure.
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkWaitCanary } from '../shared/core.js';
import { CoreVsrConstants } from '../shared/core-abi.generated.js';
import { compileCore, coreInstantiator } from './core-file.js';
import { userError } from '../shared/errors.js';
import { CONTROL, CTL, MeshView, SHUTDOWN_REASON_NAMES, ShardState, ShutdownReason, createMeshMemory } from '../shared/layout.js';
import { logger } from '../shared/log.js';
import { waitWord } from '../shared/wait.js';
import { ringSlotSizeFor, type ServerConfig } from './config.js';
import type { Faults } from './faults.js';
import { parseFsyncPolicy } from './io/fsync-policy.js';
import { NetCounters } from './net/net-counters.js';
import { ListenerShare } from './net/listener-share.js';
import { ReplicaCounters } from './cluster/replica-counters.js';
import type { ReplicaView } from './cluster/replica-observability.js';
import type { ListenerMessage, RestReplyMessage, RestRequestMessage, ShardWorkerData } from './shard-worker.js';
import type { RestReply, RestRequest } from './rest/rest-api.js';
import type { TlsMaterial } from './tls-material.js';
import { HttpError } from './rest/rest-errors.js';
import { ErrorCode } from '../shared/wire/codes.js';
import type { StorageHealthReport } from './server/storage-health.js';

const log = logger('main');
const WATCHDOG_PERIOD_MS = 250;
const STALE_HEARTBEAT_MS = 1_000;

export interface ShardHandle {
  id: number;
  cpu: number;
  worker: Worker | null;
  exited: Promise<number>;
  exitCode: number | null;
  failure: string | null;
}

export interface BootOptions {
  config: ServerConfig;
  cpus: number[];
  wasmFile: string;
  faults: Faults;
  version: string;
  maxConnections: number; // --max-connections, lowered to fit the descriptor limit (main.ts)
  tls: TlsMaterial | null; // of the client listeners (tls-material.ts)
}

export class Supervisor {
  readonly shards: ShardHandle[] = [];
  readonly startedAt = Date.now();
  readonly netCounters = new NetCounters(); // written by the serving shards, read by /metrics
  private readonly listenerShare = new ListenerShare(); // shard 0's listening descriptor, copied by the other shards
  replicaCounters: ReplicaCounters | null = null; // a cluster node's links: written by their shards, read by /health and /metrics
  mesh!: MeshView;
  booted = false;
  private beats: { beat: number; at: number }[] = [];
  private reason = 0;
  private stopRequested!: Promise<void>;
  private signalStop!: () => void;
  private watchdog: NodeJS.Timeout | null = null;
  tcpAddress: string | null = null; // as bound by shard 0
  private listened!: () => void;
  private readonly listening = new Promise<void>((resolve) => { this.listened = resolve; });
  private listenerFailure: string | null = null;
  private dataDirFailure: string | null = null;
  // The last storage report of each shard (conditions and counters, for /health and /metrics).
  readonly storage = new Map<number, StorageHealthReport>();
  // REST requests forwarded to shard 0 and not answered yet, by id.
  private readonly restPending = new Map<number, (reply: RestReply) => void>();
  private restSeq = 0;

  constructor(private readonly options: BootOptions) {
    this.stopRequested = new Promise((resolve) => { this.signalStop = resolve; });
  }

  // The replica plane as /health and /metrics show it (null: a single node, or before the memory exists).
  get replicaView(): ReplicaView | null {
    const settings = this.options.config.clusterSettings;
    if (!settings || !this.replicaCounters || !this.mesh) return null;
    const mesh = this.mesh;
    return { settings, counters: this.replicaCounters, ownerOf: (replica) => mesh.replicaOwner(replica) };
  }

  get shutdownReason(): number {
    return this.reason;
  }

  get failures(): string[] {
    return this.shards.map((s) => s.failure).filter((f): f is string => f !== null);
  }

  // Sets the shutdown word (first reason wins) and wakes every shard.
  requestShutdown(reason: number, why?: string): void {
    if (why) log.info(`shutdown requested: ${why}`);
    if (this.mesh) this.reason = this.mesh.requestShutdown(reason);
    else this.reason ||= reason;
    this.signalStop();
  }

  async boot(): Promise<void> {
    const { config, cpus, wasmFile } = this.options;
    const module = await compileCore(wasmFile);
    const { memory, core, totalBytes } = await createMeshMemory(module, coreInstantiator(wasmFile), {
      shards: cpus.length,
      inboxCapacity: config.inboxCapacity,
      replyCapacity: config.replyInboxCapacity,
      slotSize: config.ringSlotSize || ringSlotSizeFor(cpus.length),
      arenaSize: config.arenaSize,
      scratchSize: 64 * 1024,
      storageSize: config.storageBytes,
    });
    const mesh = new MeshView(memory, core);
    this.mesh = mesh;
    const cluster = config.clusterSettings;
    if (cluster && cluster.roster.entries.length > CoreVsrConstants.REPLICAS_MAX) {
      throw userError('ClusterSizeRefused', `${cluster.source}: ${cluster.roster.entries.length} replicas refused: a consensus group has at most ${CoreVsrConstants.REPLICAS_MAX} (the core's REPLICAS_MAX)`);
    }
    checkWaitCanary(core, mesh.scratchAddress(0)); // before any shard can use the scratch region
    // A signal that arrived while the memory was being laid out is only in this.reason: publish it, and do not
    // start shards for a server that is already stopping.
    if (this.reason !== 0) mesh.requestShutdown(this.reason);
    this.checkInterrupted();
    log.info(`shared memory: ${(totalBytes / (1 << 20)).toFixed(1)} MiB for ${cpus.length} shard(s) on CPU(s) ${cpus.join(',')}`);

    this.replicaCounters = cluster ? new ReplicaCounters(cluster.roster.entries.length, cpus.length) : null;
    for (const [id, cpu] of cpus.entries()) this.shards.push(this.spawn(id, cpu, module, memory));
    await this.waitForCount(CONTROL.instantiated, 'instantiate the core');
    Atomics.store(this.mesh.i32, this.mesh.controlIndex(CONTROL.go), 1);
    Atomics.notify(this.mesh.i32, this.mesh.controlIndex(CONTROL.go));
    await this.waitForCount(CONTROL.ready, 'pass the mesh check');
    // Shard 0 reports its bound address by message, which may still be on its way when the ready count is in.
    await Promise.race([this.listening, this.stopRequested]);
    this.checkInterrupted();
    this.booted = true;
    this.startWatchdog();
  }

  private checkInterrupted(): void {
    if (this.reason === 0) return;
    if (this.reason === ShutdownReason.signal) throw userError('BootInterrupted', 'boot interrupted by a signal; stopping');
    if (this.listenerFailure) throw userError('TcpListenFailed', this.listenerFailure);
    if (this.dataDirFailure) throw userError('DataDirUnusable', this.dataDirFailure);
    throw userError('BootFailed', this.failures[0] ?? `boot stopped (${SHUTDOWN_REASON_NAMES[this.reason]})`);
  }

  private spawn(id: number, cpu: number, module: WebAssembly.Module, memory: WebAssembly.Memory): ShardHandle {
    const { config, wasmFile, faults } = this.options;
    const data: ShardWorkerData = {
      module, memory, wasmFile, shard: id, cpu, pinCores: config.pinCores, bootTimeoutMs: config.bootTimeoutMs,
      logLevel: config.logLevel, faults, tcpAddress: config.tcpAddress,
      server: {
        settings: {
          tcpAddress: config.tcpAddress, httpAddress: config.httpAddress, maxFrameBytes: 64 << 20,
          maxBatchBytes: config.maxBatchBytes, maxPollBytes: 16 << 20, startedAtMicros: this.startedAt * 1000,
          version: this.options.version, dataDir: config.dataDir,
        },
        fsync: parseFsyncPolicy(config.fsync), rootUsername: config.rootUsername, rootPassword: config.rootPassword,
        segmentBytes: config.segmentBytes, verifyReadPayloads: config.verifyReads === 'full', directIo: config.directIo,
        clientHeartbeatMs: config.clientHeartbeatMs, retentionIntervalMs: config.retentionIntervalMs,
        loginThrottle: {
          perConnection: config.loginFailuresPerConnection, lockoutFailures: config.loginLockoutFailures,
          lockoutMs: config.loginLockoutMs, delayMs: config.loginFailureDelayMs,
        },
        backlog: { bytes: config.backlogBytes, messages: config.backlogMessages },
        limits: {
          unauthenticatedFrameBytes: config.maxUnauthenticatedFrameBytes, connectionBufferBytes: config.maxConnectionBufferBytes,
          bufferedBytes: config.maxBufferedBytes, frameTimeoutMs: config.frameTimeoutMs, loginTimeoutMs: config.loginTimeoutMs,
          idleTimeoutMs: config.idleTimeoutMs, maxConnections: this.options.maxConnections,
        },
        netCounters: this.netCounters.buffer,
        listenerShare: this.listenerShare.buffer,
        metadataJournalSlots: config.metadataJournalSlots,
        cluster: config.clusterSettings, replicaCounters: this.replicaCounters?.buffer,
        durability: config.durability === 'replicated' ? 'replicated' : 'persisted',
        tls: this.options.tls,
        jwt: { secret: config.jwtSecret, accessExpirySeconds: config.jwtAccessExpirySeconds, refreshExpirySeconds: config.jwtRefreshExpirySeconds },
      },
    };
    const handle: ShardHandle = { id, cpu, worker: null, exited: Promise.resolve(0), exitCode: null, failure: null };
    const here = path.dirname(fileURLToPath(import.meta.url));
    const entry = faults.spawnFail === id ? path.join(here, `missing-shard-worker-${id}.js`) : path.join(here, 'shard-worker.js');
    let worker: Worker;
    try {
      worker = new Worker(entry, { workerData: data, name: `shard-${id}` });
    } catch (error) {
      this.fail(handle, `worker for shard ${id} failed to spawn: ${(error as Error).message}`, ShutdownReason.spawnFailed);
      return handle;
    }
    handle.worker = worker;
    worker.on('message', (message: ListenerMessage | StorageHealthReport | RestReplyMessage) => {
      if (message.type === 'storage-health') this.storage.set(message.shard, message);
      else if (message.type === 'rest-reply') this.onRestReply(message.reply);
      else this.onListenerMessage(handle, message);
    });
    worker.on('error', (error) => {
      const online = Atomics.load(this.mesh.i32, this.mesh.ctlIndex(id, CTL.state)) !== ShardState.init;
      const what = online ? `shard ${id} failed` : `worker for shard ${id} failed to spawn`;
      this.fail(handle, `${what}: ${error.stack ?? error.message}`, online ? ShutdownReason.shardFailed : ShutdownReason.spawnFailed);
    });
    handle.exited = new Promise((resolve) => worker.once('exit', (code) => {
      handle.exitCode = code;
      // Shard 0 answered the REST requests: what it had not answered is answered here.
      if (id === 0) for (const restId of [...this.restPending.keys()]) this.onRestReply(unavailable(restId));
      if (code !== 0) this.fail(handle, `shard ${id} exited with code ${code}`, ShutdownReason.shardFailed);
      else if (this.reason === 0) this.fail(handle, `shard ${id} stopped without a shutdown request`, ShutdownReason.shardFailed);
      resolve(code);
    }));
    return handle;
  }

  // Shard 0 binds the client listener (or reports why it cannot); any shard reports a data directory it cannot use.
  private onListenerMessage(handle: ShardHandle, message: ListenerMessage): void {
    if (message.type === 'data-dir-failed') {
      // Reported once, by main, as the boot error (DataDirUnusable).
      this.dataDirFailure ??= message.message;
      this.fail(handle, message.message, ShutdownReason.bootFailed, false);
      return;
    }
    if (message.type === 'replica-listen-failed') {
      const own = this.options.config.clusterSettings!;
      const entry = own.roster.entries[own.self];
      this.listenerFailure = `${message.message} on ${entry.host}:${entry.replicaPort} (replica ${own.self}'s entry in ${own.source})`;
      this.fail(handle, this.listenerFailure, ShutdownReason.bootFailed);
      return;
    }
    if (message.type === 'tcp-failed') {
      this.listenerFailure = `${message.message} (tcp.address / --tcp-address)`;
      this.fail(handle, message.message, ShutdownReason.bootFailed);
      return;
    }
    if (message.type !== 'tcp-listening') return;
    this.tcpAddress = message.address;
    this.listened();
  }

  // A REST request, answered by shard 0 (it serves the clients); a shard 0 that is gone answers 503.
  restRequest(request: Omit<RestRequest, 'id'>): Promise<RestReply> {
    const id = ++this.restSeq;
    // Not isAlive(): a heartbeat late under load is no reason to refuse; a shard 0 that exits answers what it had.
    const shard = this.shards[0];
    const worker = shard?.worker;
    if (!worker || shard.failure !== null || shard.exitCode !== null || this.reason !== 0) return Promise.resolve(unavailable(id));
    return new Promise((resolve) => {
      this.restPending.set(id, resolve);
      const body = request.body;
      const transfer = body && !(body.buffer instanceof SharedArrayBuffer) ? [body.buffer as ArrayBuffer] : [];
      worker.postMessage({ type: 'rest-request', request: { ...request, id } } satisfies RestRequestMessage, transfer);
    });
  }

  private onRestReply(reply: RestReply): void {
    const resolve = this.restPending.get(reply.id);
    this.restPending.delete(reply.id);
    resolve?.(reply);
  }

  private fail(handle: ShardHandle, message: string, reason: number, logIt = true): void {
    if (handle.failure === null) {
      handle.failure = message;
      if (logIt) log.error(message);
    }
    Atomics.store(this.mesh.i32, this.mesh.ctlIndex(handle.id, CTL.state), ShardState.failed);
    this.requestShutdown(reason);
  }

  // Waits until the control word counts every shard, a failure stops the boot, or the boot deadline passes.
  private async waitForCount(which: number, what: string): Promise<void> {
    const index = this.mesh.controlIndex(which);
    const deadline = this.startedAt + this.options.config.bootTimeoutMs;
    for (;;) {
      const count = Atomics.load(this.mesh.i32, index);
      if (count >= this.shards.length) return;
      this.checkInterrupted();
      const left = deadline - Date.now();
      if (left <= 0) {
        this.requestShutdown(ShutdownReason.bootFailed);
        throw userError('BootTimeout', `only ${count} of ${this.shards.length} shards managed to ${what} within ${this.options.config.bootTimeoutMs} ms (sharding.boot_timeout_ms)`);
      }
      await Promise.race([waitWord(this.mesh.i32, index, count, Math.min(left, 50)), this.stopRequested]);
    }
  }

  // A shard whose heartbeat does not move for watchdog_timeout_ms is wedged: stop the server rather than serve
  // with a dead shard.
  private startWatchdog(): void {
    this.beats = this.shards.map((s) => ({ beat: this.mesh.ctl(s.id, CTL.heartbeat), at: Date.now() }));
    this.watchdog = setInterval(() => {
      for (const shard of this.shards) {
        const beat = this.mesh.ctl(shard.id, CTL.heartbeat);
        const seen = this.beats[shard.id];
        if (beat !== seen.beat) {
          seen.beat = beat;
          seen.at = Date.now();
        } else if (Date.now() - seen.at > this.options.config.watchdogTimeoutMs && shard.failure === null && this.reason === 0) {
          this.fail(shard, `watchdog: shard ${shard.id} made no progress for ${Date.now() - seen.at} ms`, ShutdownReason.watchdog);
        }
      }
    }, WATCHDOG_PERIOD_MS);
    this.watchdog.unref();
  }

  // Running, not failed, and its loop moved recently. An idle shard still beats every 100 ms (IDLE_WAIT_MS), so
  // a heartbeat older than STALE_HEARTBEAT_MS means a stuck loop even before the watchdog fires.
  isAlive(id: number): boolean {
    const shard = this.shards[id];
    if (shard.failure !== null || shard.exitCode !== null || this.mesh.ctl(id, CTL.state) !== ShardState.running) return false;
    const seen = this.beats[id];
    if (seen && this.mesh.ctl(id, CTL.heartbeat) === seen.beat && Date.now() - seen.at > STALE_HEARTBEAT_MS) return false;
    return true;
  }

  untilShutdown(): Promise<void> {
    return this.stopRequested;
  }

  // Joins every shard in parallel; a shard still running at the deadline is terminated and counted as failed.
  async join(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    const deadline = this.options.config.shutdownJoinTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), deadline); });
    await Promise.race([Promise.all(this.shards.map((s) => s.exited)), timeout]);
    clearTimeout(timer);
    await Promise.all(this.shards.map(async (shard) => {
      if (shard.exitCode !== null || !shard.worker) return;
      if (shard.failure === null) shard.failure = `shard ${shard.id} did not stop within ${deadline} ms (wedged)`;
      log.error(shard.failure);
      await shard.worker.terminate();
    }));
  }
}

function unavailable(id: number): RestReply {
  const error = new HttpError(503, ErrorCode.transientNotAccepted, 'the server is not serving (starting, stopping or shard 0 is down)');
  return { id, status: 503, contentType: 'application/json', body: JSON.stringify(error.toJSON()) };
}
