// The shared memory of one process: planned by the core (layoutPlan), sized and created here, then initialised
// once by the main thread (layoutInit) before any shard starts. Addresses are read back from the core.
import { type CoreExports, type CoreInstantiate, WASM_PAGE, sharedMemory } from './core.js';
import { CoreLayout as L } from './core-abi.generated.js';
import { userError } from './errors.js';

export const DESCRIPTOR_BASE = WASM_PAGE; // static data of the module stays below 64 KiB (checked at boot)
export const REGIONS_BASE = DESCRIPTOR_BASE + 1024;

export interface LayoutOptions {
  shards: number;
  inboxCapacity: number;
  replyCapacity: number;
  slotSize: number;
  arenaSize: number;
  scratchSize: number;
  storageSize?: number; // per shard, for the storage layer (host/node/io); 0 when the process stores nothing
}

// Word indices inside a shard's 64-byte control line (the core's S_* byte offsets, divided by 4).
export const CTL = {
  doorbell: L.S_DOORBELL >> 2,
  sleeping: L.S_SLEEPING >> 2,
  heartbeat: L.S_HEARTBEAT >> 2,
  state: L.S_STATE >> 2,
  cpu: L.S_CPU >> 2,
  tid: L.S_TID >> 2,
  meshOk: L.S_MESH_OK >> 2,
  canary: L.S_CANARY >> 2,
  loops: L.S_LOOPS >> 2,
} as const;

export const ShardState = { init: 0, instantiated: 1, running: 2, stopping: 3, stopped: 4, failed: 5 } as const;
export const SHARD_STATE_NAMES = ['init', 'instantiated', 'running', 'stopping', 'stopped', 'failed'];

// Per-shard u64 metrics (the core's METRIC_* selectors of CoreExports.metricsAddress).
export const METRIC = {
  framesSent: L.METRIC_FRAMES_SENT, framesReceived: L.METRIC_FRAMES_RECEIVED, clientsOpen: L.METRIC_CLIENTS_OPEN,
  clientsTotal: L.METRIC_CLIENTS_TOTAL, requests: L.METRIC_REQUESTS, requestErrors: L.METRIC_REQUEST_ERRORS, evictions: L.METRIC_EVICTIONS,
  retentionSegmentsExpiry: L.METRIC_RETENTION_SEGMENTS_EXPIRY, retentionSegmentsSize: L.METRIC_RETENTION_SEGMENTS_SIZE,
  retentionBytesExpiry: L.METRIC_RETENTION_BYTES_EXPIRY, retentionBytesSize: L.METRIC_RETENTION_BYTES_SIZE,
  retentionPasses: L.METRIC_RETENTION_PASSES, loginFailures: L.METRIC_LOGIN_FAILURES, loginsThrottled: L.METRIC_LOGINS_THROTTLED,
  sessionsRevoked: L.METRIC_SESSIONS_REVOKED, partitionOps: L.METRIC_PARTITION_OPS,
} as const;

// Per-shard, per-target counters of the host mailbox (the core's MAILBOX_* selectors of CoreExports.mailboxMetricAddress).
export const MAILBOX_METRIC = {
  backlogBytes: L.MAILBOX_BACKLOG_BYTES, backlogMessages: L.MAILBOX_BACKLOG_MESSAGES, waits: L.MAILBOX_WAITS, waitMicros: L.MAILBOX_WAIT_MICROS,
} as const;

// Control words (the core's CONTROL_* selectors of CoreExports.controlAddress).
export const CONTROL = {
  shutdown: L.CONTROL_SHUTDOWN, instantiated: L.CONTROL_INSTANTIATED, go: L.CONTROL_GO, ready: L.CONTROL_READY,
  metadataApplied: L.CONTROL_METADATA_APPLIED,
} as const;

// Shutdown reasons stored in the shutdown word (first one wins).
export const ShutdownReason = { signal: 1, shardFailed: 2, spawnFailed: 3, watchdog: 4, bootFailed: 5 } as const;
export const SHUTDOWN_REASON_NAMES: Record<number, string> = {
  1: 'signal', 2: 'shard failed', 3: 'worker spawn failed', 4: 'watchdog: shard stalled', 5: 'boot failed',
};

// Builds the memory for `options`: a throwaway instance over two pages computes the plan, then the real memory
// is created at exactly that size (never grown: views over a grown SharedArrayBuffer keep the old length).
// `instantiate` comes from the host (host/node/core-file.ts coreInstantiator for a file).
export async function createMeshMemory(module: WebAssembly.Module, instantiate: CoreInstantiate, options: LayoutOptions): Promise<{ memory: WebAssembly.Memory; core: CoreExports; totalBytes: number }> {
  const probe = await instantiate(module, sharedMemory(2 * WASM_PAGE));
  if (probe.staticDataEnd() > DESCRIPTOR_BASE) {
    throw new Error(`core.wasm static data ends at ${probe.staticDataEnd()}, above the descriptor at ${DESCRIPTOR_BASE}`);
  }
  const totalBytes = plan(probe, options);
  const memory = sharedMemory(totalBytes);
  const core = await instantiate(module, memory);
  plan(core, options);
  core.layoutInit(DESCRIPTOR_BASE);
  return { memory, core, totalBytes };
}

function plan(core: CoreExports, o: LayoutOptions): number {
  const end = core.layoutPlan(DESCRIPTOR_BASE, REGIONS_BASE, o.shards, o.inboxCapacity, o.replyCapacity, o.slotSize, o.arenaSize, o.scratchSize, o.storageSize ?? 0);
  if (end === 0) {
    throw userError('MemoryLayoutTooLarge', `${o.shards} shards with ${o.inboxCapacity}+${o.replyCapacity} ring slots of ${o.slotSize} B need more than 4 GiB of shared memory; lower --inbox-capacity, --reply-inbox-capacity or --ring-slot-size (sharding.* in the config file)`);
  }
  return end;
}

// Typed views over the shared memory, for any thread (the main thread's metrics, health and supervisor; a shard's
// control words, counters and storage region): the one wrapper of the core's layout, control and address exports
// (README "The core contract").
export class MeshView {
  readonly i32: Int32Array;
  readonly u64: BigUint64Array;
  readonly shards: number;

  constructor(readonly memory: WebAssembly.Memory, readonly core: CoreExports) {
    this.i32 = new Int32Array(memory.buffer);
    this.u64 = new BigUint64Array(memory.buffer);
    this.shards = core.layoutShards();
  }

  ctlIndex(shard: number, word: number): number {
    return (this.core.shardCtlAddress(shard) >> 2) + word;
  }

  ctl(shard: number, word: number): number {
    return Atomics.load(this.i32, this.ctlIndex(shard, word));
  }

  controlIndex(which: number): number {
    return this.core.controlAddress(which) >> 2;
  }

  control(which: number): number {
    return Atomics.load(this.i32, this.controlIndex(which));
  }

  counter(address: number): bigint {
    return Atomics.load(this.u64, address >> 3);
  }

  // `shard`'s counter of a METRIC selector.
  metric(shard: number, which: number): bigint {
    return this.counter(this.core.metricsAddress(shard, which));
  }

  // Frames `shard` dropped, of a drop variant for a drop reason (frame_drops_total).
  drops(shard: number, variant: number, reason: number): bigint {
    return this.counter(this.core.dropCounterAddress(shard, variant, reason));
  }

  // `shard`'s mailbox counter (a MAILBOX_METRIC selector) towards `target`.
  mailboxMetric(shard: number, target: number, which: number): bigint {
    return this.counter(this.core.mailboxMetricAddress(shard, target, which));
  }

  // Occupied slots of the ring from `src` into `dst` on `lane`, as last published by both ends.
  ringDepth(src: number, dst: number, lane: number): number {
    return this.core.ringDepth(this.core.ringAddress(src, dst, lane));
  }

  // Slots of every ring on `lane` (all pairs have the same).
  ringCapacity(lane: number): number {
    return this.core.ringCapacity(this.core.ringAddress(0, 0, lane));
  }

  // Largest frame the ring from `src` into `dst` on `lane` takes.
  ringMaxFrame(src: number, dst: number, lane: number): number {
    return this.core.ringMaxFrame(this.core.ringAddress(src, dst, lane));
  }

  ringAddress(src: number, dst: number, lane: number): number {
    return this.core.ringAddress(src, dst, lane);
  }

  // u64 index of `shard`'s counter of a METRIC selector (the shard adds to it, the exporter reads it).
  metricIndex(shard: number, which: number): number {
    return this.core.metricsAddress(shard, which) >> 3;
  }

  // u64 index of `shard`'s mailbox counter (a MAILBOX_METRIC selector) towards `target`.
  mailboxMetricIndex(shard: number, target: number, which: number): number {
    return this.core.mailboxMetricAddress(shard, target, which) >> 3;
  }

  // u64 index of a CONTROL word that holds a u64 (metadataApplied).
  controlIndex64(which: number): number {
    return this.core.controlAddress(which) >> 3;
  }

  // `shard`'s scratch region (words nobody else uses: the atomics self-test, the core benchmark's buffers).
  scratchAddress(shard: number): number {
    return this.core.shardScratchAddress(shard);
  }

  // `shard`'s storage region [base, base + size) of the memory (StorageCore.attach).
  storageRegion(shard: number): { base: number; size: number } {
    return { base: this.core.shardStorageAddress(shard), size: this.core.shardStorageSize() };
  }

  // The shard that owns replica `replica`'s links, -1 for none.
  replicaOwner(replica: number): number {
    return this.core.replicaOwner(replica);
  }

  // Asks every shard to stop for `reason`: the reason that stands (the first one asked for).
  requestShutdown(reason: number): number {
    return this.core.requestShutdown(reason);
  }
}
