// The protocol server of one shard: its copy of the committed metadata, the partitions it owns, the client
// connections the kernel handed it, and the messages it exchanges with the other shards. Shard 0 also runs the
// metadata group. The shard loop (shard-worker.ts) feeds it ring frames and calls turn() every loop turn.
import net from 'node:net';
import tls from 'node:tls';
import { type CoreExports } from '../../shared/core.js';
import { Lifecycle, Variant } from '../../shared/frames.js';
import { CONTROL, CTL, MeshView } from '../../shared/layout.js';
import { CoreVsrReplicaFrame } from '../../shared/core-abi.generated.js';
import { Router } from '../../shared/router.js';
import { Reader } from '../../shared/wire/buffer.js';
import { logger } from '../../shared/log.js';
import { StorageCore } from '../io/storage-core.js';
import type { FsyncPolicy } from '../io/fsync-policy.js';
import { applyOp, clearAllMembers, decodeSnapshot } from '../metadata/machine.js';
import { createMetadataState, type MetadataState } from '../metadata/state.js';
import type { ApplyResult, CommittedOp } from '../metadata/types.js';
import { ClientConnection } from '../net/client-connection.js';
import { ConnectionGuard } from '../net/connection-guard.js';
import type { ConnectionLimits } from '../net/connection-limits.js';
import { FrameArena, frameArenaBytes } from '../net/frame-arena.js';
import { ClientRequests } from './client-requests.js';
import { ShardMetrics } from './shard-metrics.js';
import type { ConnectedClient, ServerSettings, ShardContext } from './context.js';
import { dataTargetsOf } from './data-ops.js';
import { LoginThrottle, type LoginThrottleSettings } from './login-throttle.js';
import { answerLoginGate } from './login-gate.js';
import { Mailbox, type BacklogBound, type Producer, type ShardMessage } from './mailbox.js';
import { MetadataOwner } from './metadata-owner.js';
import { PartitionOwner } from './partition-owner.js';
import { Method, decodeAppliedBarrier, decodeCommitted, decodeStats, encodeAppliedBarrier, encodePartitionReply, methodOf, type VersionedStats } from './shard-protocol.js';
import { ShardRpc } from './shard-rpc.js';
import { StorageHealth, type StorageHealthReport } from './storage-health.js';
import { encodeClientList } from './system-reads.js';
import { ReplicaCounters } from '../cluster/replica-counters.js';
import type { ClusterView } from '../cluster/cluster-metadata.js';
import { ReplicaPlane, splitFrame } from '../cluster/replica-plane.js';
import type { Durability } from './partition-replication.js';
import type { ClusterSettings } from '../cluster/roster.js';
import { RestApi, type RestReply, type RestRequest } from '../rest/rest-api.js';
import type { JwtSettings } from '../rest/jwt-issuer.js';
import { tlsServerOptions, type TlsMaterial } from '../tls-material.js';
import { LogLimiter } from '../../shared/log-limiter.js';
import { DEFAULT_CONFIG } from '../config.js';
import { ListenerShare, ShareState, adoptSharedListener } from '../net/listener-share.js';

export interface ShardServerOptions {
  shard: number;
  shards: number;
  settings: ServerSettings;
  fsync: FsyncPolicy;
  rootUsername: string;
  rootPassword: string;
  segmentBytes?: number;
  verifyReadPayloads: boolean;
  directIo?: boolean; // --direct-io
  clientHeartbeatMs: number;
  retentionIntervalMs: number; // how often the owned partitions' retention is applied (--retention-interval-ms)
  loginThrottle: LoginThrottleSettings;
  backlog?: Partial<BacklogBound>; // of each target's queue in the mailbox (--shard-backlog-bytes/-messages)
  limits: Omit<ConnectionLimits, 'maxFrameBytes'>;
  netCounters: SharedArrayBuffer;
  listenerShare?: SharedArrayBuffer; // shard 0's listening descriptor, for the other shards' copies (../net/listener-share.ts)
  report?: (report: StorageHealthReport) => void; // where the storage conditions go (the main thread)
  bootDelayMs?: number; // SHARDLOG_FAULT slow-boot: block this long before opening the partitions of the hand-off
  metadataJournalSlots?: number; // [1024]
  cluster?: ClusterSettings | null; // a replica of a cluster (--cluster): the replica plane runs on every shard
  durability?: Durability; // a cluster's partition writes: when a backup votes (--durability) [persisted]
  replicaCounters?: SharedArrayBuffer; // its state and counters, read by /health and /metrics
  tls?: TlsMaterial | null; // the client listener speaks TLS only
  jwt?: Omit<JwtSettings, 'dataDir'>; // the REST API's tokens (served where the client listener is)
}

// Partition groups' ticks. A single node's groups have one replica: their timeouts do nothing, so a slow tick.
// A cluster's count heartbeats and retransmissions in these ticks (NORMAL_HEARTBEAT_TICKS = 60: 0.6 s without
// word from the primary starts a view change; a lost prepare is sent again after 80 ms), on a timer of their own,
// as the metadata group's (the shard loop sleeps up to 100 ms between turns).
const TICK_MS = 100;
const CLUSTER_TICK_MS = 10;
const PUBLISH_EVERY_TICKS = 10; // partition groups' state for /health and /metrics: every 100 ms
const SHARE_RETIRE_MS = 5_000; // bound on shard 0's wait for a shard inside ListenerShare.borrow (one spawn)
const DEFAULT_JWT = { secret: DEFAULT_CONFIG.jwtSecret, accessExpirySeconds: DEFAULT_CONFIG.jwtAccessExpirySeconds, refreshExpirySeconds: DEFAULT_CONFIG.jwtRefreshExpirySeconds };

export class ShardServer implements ShardContext {
  readonly shard: number;
  readonly shards: number;
  readonly rpc: ShardRpc;
  readonly storage: StorageCore;
  readonly settings: ServerSettings;
  readonly health: StorageHealth;
  state: MetadataState = createMetadataState();
  private readonly mailbox: Mailbox;
  private readonly requests: ClientRequests;
  private readonly partitions: PartitionOwner;
  private readonly metadata: MetadataOwner | null;
  // The message bus to the other replicas, and the registry of the consensus groups this shard holds (null: a
  // single node).
  readonly replicas: ReplicaPlane | null;
  readonly clusterView: ClusterView | null;
  private readonly waiters: { op: number; resolve: () => void }[] = [];
  private readonly connections = new Map<number, ClientConnection>();
  private listener: net.Server | null = null;
  private readonly share: ListenerShare | null;
  private readonly loginThrottle: LoginThrottle | null; // shard 0: the node's failed-login throttle (login-gate.ts)
  private stopped = false;
  private clientsOpen = false;
  private readonly early: net.Socket[] = []; // accepted before openToClients()
  private arena: FrameArena | null = null;
  private guard: ConnectionGuard | null = null; // limits of the client connections (the serving shard)
  private rest: RestApi | null = null; // the REST API, beside the client listener

  get frameArena(): FrameArena | null {
    return this.arena;
  }
  private connectionSeq = 0;
  private handedOff!: () => void;
  private readonly handOff = new Promise<void>((resolve) => { this.handedOff = resolve; });
  private readonly statsVersions = new Map<bigint, number>(); // the newest stats version taken per partition
  private othersBooted = 0; // shard 0: shards that sent Method.booted
  private everyShardBooted!: () => void;
  private readonly othersBootedNow = new Promise<void>((resolve) => { this.everyShardBooted = resolve; });
  private lastTick = 0;
  private partitionTicker: NodeJS.Timeout | null = null; // a cluster's: CLUSTER_TICK_MS
  private lastRetention = 0;
  private readonly u64: BigUint64Array;
  private readonly metadataAppliedIndex: number;
  private readonly router: Router;
  private replaying = false; // shard 0 replays its metadata log at boot
  private readonly log;

  constructor(readonly core: CoreExports, memory: WebAssembly.Memory, private readonly options: ShardServerOptions) {
    this.shard = options.shard;
    this.shards = options.shards;
    this.settings = options.settings;
    this.health = new StorageHealth(this.shard, options.report ?? null);
    this.log = logger(`shard-${this.shard}`);
    this.share = options.listenerShare ? new ListenerShare(options.listenerShare) : null;
    this.loginThrottle = this.shard === 0 ? new LoginThrottle(options.loginThrottle) : null;
    const mesh = new MeshView(memory, core);
    this.router = new Router(core, this.shards);
    const region = mesh.storageRegion(this.shard);
    this.storage = StorageCore.attach(core, memory, region.base, region.size);
    const i32 = new Int32Array(memory.buffer);
    this.u64 = new BigUint64Array(memory.buffer);
    this.metadataAppliedIndex = mesh.controlIndex64(CONTROL.metadataApplied);
    const doorbell = mesh.ctlIndex(this.shard, CTL.doorbell);
    this.mailbox = new Mailbox(core, memory, this.shard, this.shards, {
      wake: () => {
        Atomics.add(i32, doorbell, 1);
        Atomics.notify(i32, doorbell);
      },
      bound: options.backlog,
    });
    this.rpc = new ShardRpc(this.mailbox, this.shard);
    this.requests = new ClientRequests(this, options.clientHeartbeatMs, new ShardMetrics(core, memory, this.shard), options.loginThrottle);
    const counters = options.cluster ? new ReplicaCounters(options.cluster.roster.entries.length, this.shards, options.replicaCounters) : null;
    this.replicas = options.cluster && counters ? new ReplicaPlane({
      core, memory, shard: this.shard, shards: this.shards, cluster: options.cluster, counters,
      checkRegion: () => this.storage.alloc(CoreVsrReplicaFrame.REPLICA_FRAME_MAX),
    }) : null;
    const plane = this.replicas;
    // Each owned partition's group has the roster's replicas: registered on this shard (its owner), sending
    // through the plane with its batch attached.
    const partitionPeers = options.cluster && plane ? {
      replica: options.cluster.self, replicaCount: options.cluster.roster.entries.length, cluster: options.cluster.clusterId,
      durability: options.durability ?? 'persisted', attachmentMax: CoreVsrReplicaFrame.REPLICA_ATTACHMENT_MAX,
      send: (replica: number, message: Uint8Array, attachment: Uint8Array) => plane.sendAttached(replica, message, attachment),
      register: (group: bigint, onMessage: (frame: Uint8Array) => void) => plane.registry.register(group, onMessage),
      split: splitFrame,
      leader: () => counters!.group(),
    } : null;
    this.partitions = new PartitionOwner(this, this.storage, { dataDir: this.settings.dataDir, fsync: options.fsync, segmentBytes: options.segmentBytes, verifyReadPayloads: options.verifyReadPayloads, directIo: options.directIo, peers: partitionPeers });
    this.clusterView = options.cluster && counters ? { settings: options.cluster, counters } : null;
    this.metadata = this.shard === 0 ? new MetadataOwner(this, {
      dataDir: this.settings.dataDir, rootUsername: options.rootUsername, rootPassword: options.rootPassword,
      journalSlots: options.metadataJournalSlots,
      apply: (op) => this.applyCommitted(op),
      replaceState: (bytes) => { this.state = decodeSnapshot(bytes); },
      cluster: options.cluster && plane && counters ? {
        id: options.cluster.clusterId,
        peers: {
          replica: options.cluster.self, replicaCount: options.cluster.roster.entries.length,
          send: (replica, message, attachment) => plane.sendAttached(replica, message, attachment),
        },
        published: (summary) => counters.publishGroup(summary),
      } : undefined,
    }) : null;
    this.registerHandlers();
  }

  private registerHandlers(): void {
    const { rpc } = this;
    rpc.on(Variant.lifecycle, Lifecycle.metadataSubmit, (m) => {
      if (!this.metadata) throw new Error(`shard ${this.shard} got a metadata submit: only shard 0 runs the metadata group`);
      return this.metadata.handle(m.payload);
    });
    rpc.on(Variant.lifecycle, Lifecycle.metadataCommitTick, (m) => this.onCommitTick(m));
    rpc.on(Variant.consensus, 1, (m) => this.partitions.handle(m.payload));
    rpc.on(Variant.lifecycle, Lifecycle.partitionRead, async (m) => {
      if (methodOf(m.payload) === Method.clientList) return encodePartitionReply(0, encodeClientList(this.localClients()));
      if (methodOf(m.payload) === Method.loginThrottle) {
        if (!this.loginThrottle) throw new Error(`shard ${this.shard} got a login throttle question: only shard 0 holds the throttle`);
        return answerLoginGate(this.loginThrottle, m.payload);
      }
      if (methodOf(m.payload) === Method.appliedBarrier) {
        await this.applied(decodeAppliedBarrier(m.payload));
        return encodePartitionReply(0);
      }
      return this.partitions.handle(m.payload);
    });
    rpc.on(Variant.lifecycle, Lifecycle.forwardClientSend, (m) => {
      if (methodOf(m.payload) === Method.booted) {
        if (++this.othersBooted === this.shards - 1) this.everyShardBooted();
        return null;
      }
      const r = new Reader(m.payload, 1);
      if (methodOf(m.payload) !== Method.stats) throw new Error(`unexpected notice ${methodOf(m.payload)} from shard ${m.source}`);
      const { namespace, ...versioned } = decodeStats(r);
      this.acceptStats(namespace, versioned);
      return null;
    });
  }

  // --- boot -----------------------------------------------------------------------------------------------

  // Shard 0 recovers the metadata log and hands the state to the others; every shard then opens its partitions.
  async start(): Promise<void> {
    if (this.metadata) {
      this.replaying = true;
      try {
        await this.metadata.open();
      } finally {
        this.replaying = false;
      }
      clearAllMembers(this.state); // sessions do not survive a restart, neither does group membership
      this.partitions.reconcile(null);
      this.metadata.handOff();
      // Its peers' messages: registered once the log is open (earlier ones are dropped and counted; VSR resends).
      this.replicas?.registry.register(this.metadata.groupId, (frame) => {
        const { message, attachment } = splitFrame(frame);
        this.metadata!.onMessage(message, attachment);
      });
      // Clients are served once every shard has opened its partitions: their stats (message counts, offsets in
      // GetTopic and GetStats) travel ahead of each shard's booted notice, so none reads as empty after a restart.
      if (this.shards > 1) await this.othersBootedNow;
    } else {
      await this.handOff;
    }
    this.partitions.startRetention();
    if (this.options.cluster) {
      let ticks = 0;
      this.partitionTicker = setInterval(() => {
        this.partitions.tick();
        if (++ticks % PUBLISH_EVERY_TICKS === 0) this.clusterView?.counters.publishPartitionGroups(this.shard, this.partitions.groupSummaries());
      }, CLUSTER_TICK_MS);
    }
    this.lastRetention = Date.now();
    this.log.debug(`serving ${this.partitions.count} partition(s), metadata at op ${this.state.appliedOp}`);
  }

  private onCommitTick(m: ShardMessage): null {
    if (methodOf(m.payload) === Method.snapshot) {
      // Partition stats are not in the snapshot: shard 0 published its own before handing off (they arrived first).
      const stats = this.state.partitionStats;
      const delay = this.options.bootDelayMs ?? 0;
      if (delay > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
      this.state = decodeSnapshot(m.payload.subarray(1));
      for (const [namespace, s] of stats) this.state.partitionStats.set(namespace, s);
      this.partitions.reconcile(null);
      this.resolveWaiters();
      this.handedOff();
      this.rpc.notify(0, Variant.lifecycle, Lifecycle.forwardClientSend, Uint8Array.of(Method.booted));
      return null;
    }
    this.applyCommitted(decodeCommitted(new Reader(m.payload, 1)));
    return null;
  }

  // Ops replayed from the metadata log at boot acted on partition data when they were first committed (purge,
  // segment deletion, a deleted group's offsets); acting again would destroy what was written and acknowledged
  // since (a purge replayed after a restart emptied shard 0's partitions). Nor are partitions opened or closed
  // while replaying: the disk holds the files of the newest incarnations, and a state the replay passes through
  // can name an earlier partition at the same ids (ids are reused). Shard 0 reconciles once with the replayed
  // state, as the other shards do with the snapshot they are handed, so every shard reaches the same directories
  // a live run did.
  applyCommitted(op: CommittedOp): ApplyResult {
    const dataTargets = this.replaying ? [] : dataTargetsOf(this.state, op);
    const result = applyOp(this.state, op);
    if (!this.replaying) this.partitions.reconcile(op, result.result === 0 ? dataTargets : []);
    // Before any waiting request resumes: none may run on a session this op revoked.
    this.requests.sessionsAfter(op, result);
    this.resolveWaiters();
    return result;
  }

  // Resolves once this shard has applied every metadata op shard 0 had applied when it was called: a request
  // that starts after another client was told of an op (on any shard) sees that op.
  caughtUp(): Promise<void> {
    return this.applied(Number(Atomics.load(this.u64, this.metadataAppliedIndex)));
  }

  async appliedEverywhere(op: number): Promise<void> {
    const others = [];
    for (let shard = 0; shard < this.shards; shard++) {
      if (shard !== this.shard) others.push(this.rpc.call(shard, Variant.lifecycle, Lifecycle.partitionRead, encodeAppliedBarrier(op)));
    }
    await Promise.all([this.applied(op), ...others]);
  }

  acceptStats(namespace: bigint, { version, stats }: VersionedStats): void {
    if (version <= (this.statsVersions.get(namespace) ?? 0)) return;
    this.statsVersions.set(namespace, version); // kept after a deletion too: a late, older message stays out
    if (stats) this.state.partitionStats.set(namespace, stats);
    else this.state.partitionStats.delete(namespace);
  }

  applied(op: number): Promise<void> {
    if (this.state.appliedOp >= op) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ op, resolve }));
  }

  private resolveWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].op <= this.state.appliedOp) {
        this.waiters[i].resolve();
        this.waiters.splice(i, 1);
      }
    }
  }

  metadataRoom(producer: Producer | null = null): Promise<void> | null {
    return this.metadata ? this.mailbox.roomEverywhere(producer) : null;
  }

  ownerOf(streamId: number, topicId: number, partitionId: number): number {
    return this.router.partition(streamId, topicId, partitionId);
  }

  // --- clients --------------------------------------------------------------------------------------------

  // Every shard accepts and serves client connections on the one listening socket: shard 0 binds it, the others
  // take a descriptor of their own for it (adoptListener), and the kernel hands each accepted connection to one of
  // them. A request for a partition another shard owns is forwarded over the rings.
  async bindListener(address: string): Promise<{ address: string }> {
    const at = address.lastIndexOf(':');
    const server = this.createListener();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address.slice(0, at), port: Number(address.slice(at + 1)) }, () => { server.off('error', reject); resolve(); });
      });
    } catch (error) {
      void this.share?.retire(0); // nothing to share: the other shards stop waiting
      throw error;
    }
    const bound = server.address() as net.AddressInfo;
    const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (this.share && typeof fd === 'number' && fd >= 0) this.share.publish(fd, bound.port);
    else void this.share?.retire(0);
    return { address: `${bound.address}:${bound.port}` };
  }

  // Another shard: a listener on a descriptor of its own for shard 0's socket. Null when shard 0 has none to share
  // (a single shard, a failed bind, a stop during boot); a helper that fails leaves this shard without a listener
  // (the other shards still accept) and says so.
  async adoptListener(timeoutMs: number, stopping: () => boolean): Promise<{ address: string } | null> {
    const share = this.share;
    if (!share || await share.whenSettled(timeoutMs, stopping) !== ShareState.open) return null;
    let received: net.Server;
    try {
      received = await adoptSharedListener(share, timeoutMs);
    } catch (error) {
      this.log.warn(`serving no client connections on this shard: ${(error as Error).message}`);
      return null;
    }
    if (this.stopped) {
      received.close();
      return null;
    }
    const server = this.createListener();
    // listen(handle): this shard's server takes the received server's handle (its descriptor, which only this
    // thread holds). The received object is dropped unclosed; closing it too would be a no-op (a handle closes once).
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(received, () => { server.off('error', reject); resolve(); });
    });
    if (this.stopped) {
      // stop() ran while the copy was on its way: it closed what it found, this one is closed here.
      this.listener = null;
      server.close();
      return null;
    }
    const bound = server.address() as net.AddressInfo;
    return { address: `${bound.address}:${bound.port}` };
  }

  private createListener(): net.Server {
    const material = this.options.tls ?? null;
    const server = material
      ? tls.createServer({ ...tlsServerOptions(material), noDelay: true }, (socket) => this.accept(socket))
      : net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (material) {
      // A client that does not speak TLS (or fails the handshake) is closed by node before it is a connection; the
      // listener goes on. One line per 10 s: a port scanner makes many.
      const handshakes = new LogLimiter(this.log, 1, 10_000);
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        const from = socket.remoteAddress ? ` with ${socket.remoteAddress}:${socket.remotePort}` : ''; // gone once destroyed
        handshakes.log('tls handshake', `TLS handshake${from} failed: ${error.message}`, 'warn');
      });
    }
    this.listener = server;
    // The shard that serves connections assembles large send frames where every shard can read them.
    const bytes = frameArenaBytes(this.storage.unallocated);
    if (!this.arena && bytes > 0) this.arena = new FrameArena(this.storage.u8, this.storage.alloc(bytes), bytes);
    const limits: ConnectionLimits = { ...this.options.limits, maxFrameBytes: this.settings.maxFrameBytes };
    const guard = new ConnectionGuard(limits, this.options.netCounters, this.arena, this.log, this.connections);
    this.guard = guard;
    // Errors after listen() are accept() failures: counted and logged, never fatal (before, bindListener reports).
    server.on('listening', () => server.on('error', (error) => guard.acceptFailed(error as NodeJS.ErrnoException)));
    return server;
  }

  // The shard serves the connections it accepted once the node is open to clients (ListenerShare.markServing):
  // those that arrive while the other shards still take their copies of the listener wait, unread, until then.
  openToClients(): void {
    if (this.clientsOpen) return;
    this.clientsOpen = true;
    for (const socket of this.early.splice(0)) {
      if (!socket.destroyed) this.accept(socket);
    }
  }

  get listenerShare(): ListenerShare | null {
    return this.share;
  }

  private accept(socket: net.Socket): void {
    if (!this.clientsOpen) {
      this.early.push(socket);
      return;
    }
    const guard = this.guard!;
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!guard.admit(socket, address)) return;
    const id = ++this.connectionSeq * this.shards + this.shard;
    const connection = new ClientConnection(id, socket, address, {
      request: (c, frame) => this.requests.request(c, frame),
      readOnly: (frame) => this.requests.readOnly(frame),
      closed: (c) => {
        this.connections.delete(c.id);
        this.requests.closed(c);
        guard.closed();
      },
    }, guard.env);
    this.connections.set(id, connection);
    this.requests.attach(connection);
    this.log.debug(`client ${id} connected from ${address}`);
  }

  // The REST API of the serving shard, opened with its listener: the token secret is read, or made on first start,
  // in the data directory.
  openRest(): void {
    this.rest ??= new RestApi(this.requests, () => this.state.users, { ...this.options.jwt ?? DEFAULT_JWT, dataDir: this.settings.dataDir }, (b) => this.storage.xxh3(b));
  }

  // A REST request from the main thread's HTTP listener.
  async restRequest(request: RestRequest): Promise<RestReply> {
    this.openRest();
    await this.caughtUp();
    return this.rest!.handle(request);
  }

  localClients(): ConnectedClient[] {
    return [...this.connections.values()].map((c) => {
      const binding = this.requests.bindingOf(c.id);
      return { connectionId: c.id, address: c.address, userId: binding?.userId ?? 0xffff_ffff, client: binding?.client ?? 0n };
    });
  }

  // --- loop -----------------------------------------------------------------------------------------------

  onFrame(frame: number): void {
    if (this.replicas?.onFrame(frame)) return; // consensus messages between replicas: try-send-or-drop, not the mailbox
    const message = this.mailbox.receive(frame);
    if (message) this.rpc.deliver(message);
  }

  // Once per loop turn: queued messages into the rings, journal writes (one fdatasync per group), ticks.
  turn(): boolean {
    this.mailbox.pump();
    this.metadata?.flush();
    this.partitions.flush();
    const now = Date.now();
    if (!this.options.cluster && now - this.lastTick >= TICK_MS) {
      this.lastTick = now;
      this.partitions.tick();
    }
    if (now - this.lastRetention >= this.options.retentionIntervalMs) {
      this.lastRetention = now;
      this.partitions.applyRetention(); // does nothing until start() is done
    }
    return this.mailbox.pending > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.partitionTicker) clearInterval(this.partitionTicker);
    this.partitionTicker = null;
    this.replicas?.stop();
    this.rest?.close();
    this.requests.stop();
    this.guard?.stop();
    const listener = this.listener;
    this.listener = null;
    for (const connection of this.connections.values()) connection.close();
    for (const socket of this.early.splice(0)) socket.destroy();
    // Shard 0's descriptor is read by a shard taking its copy (at boot): it is closed only once none can be.
    if (this.shard === 0 && this.share && !await this.share.retire(SHARE_RETIRE_MS)) {
      this.log.warn(`a shard still held the listener's descriptor after ${SHARE_RETIRE_MS} ms: closing it anyway`);
    }
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
    await this.partitions.closeAll();
    this.metadata?.close();
  }
}
