// The shared memory of one process: planned by the core (layoutPlan), sized and created here, then initialised
// once by the main thread (layoutInit) before any shard starts. Addresses are read back from the core.
import { type CoreExports, WASM_PAGE, instantiateCore, sharedMemory } from './core.js';
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

// Word indices inside a shard's 64-byte control line (assembly/layout.ts S_*, divided by 4).
export const CTL = {
  doorbell: 0,
  sleeping: 1,
  heartbeat: 2,
  state: 3,
  cpu: 4,
  tid: 5,
  meshOk: 6,
  canary: 7,
  loops: 8,
} as const;

export const ShardState = { init: 0, instantiated: 1, running: 2, stopping: 3, stopped: 4, failed: 5 } as const;
export const SHARD_STATE_NAMES = ['init', 'instantiated', 'running', 'stopping', 'stopped', 'failed'];

// Per-shard u64 metrics (index for CoreExports.metricsAddress).
export const METRIC = {
  framesSent: 0, framesReceived: 1, clientsOpen: 2, clientsTotal: 3, requests: 4, requestErrors: 5, evictions: 6,
  retentionSegmentsExpiry: 7, retentionSegmentsSize: 8, retentionBytesExpiry: 9, retentionBytesSize: 10, retentionPasses: 11,
  loginFailures: 12, loginsThrottled: 13, sessionsRevoked: 14,
} as const;

// Per-shard, per-target counters of the host mailbox (index for CoreExports.mailboxMetricAddress).
export const MAILBOX_METRIC = { backlogBytes: 0, backlogMessages: 1, waits: 2, waitMicros: 3 } as const;

// Control words (index for CoreExports.controlAddress).
export const CONTROL = { shutdown: 0, instantiated: 1, go: 2, ready: 3, metadataApplied: 4 } as const;

// Shutdown reasons stored in the shutdown word (first one wins).
export const ShutdownReason = { signal: 1, shardFailed: 2, spawnFailed: 3, watchdog: 4, bootFailed: 5 } as const;
export const SHUTDOWN_REASON_NAMES: Record<number, string> = {
  1: 'signal', 2: 'shard failed', 3: 'worker spawn failed', 4: 'watchdog: shard stalled', 5: 'boot failed',
};

// Builds the memory for `options`: a throwaway instance over two pages computes the plan, then the real memory
// is created at exactly that size (never grown: views over a grown SharedArrayBuffer keep the old length).
export async function createMeshMemory(module: WebAssembly.Module, wasmFile: string, options: LayoutOptions): Promise<{ memory: WebAssembly.Memory; core: CoreExports; totalBytes: number }> {
  const probe = await instantiateCore(module, sharedMemory(2 * WASM_PAGE), wasmFile);
  if (probe.staticDataEnd() > DESCRIPTOR_BASE) {
    throw new Error(`core.wasm static data ends at ${probe.staticDataEnd()}, above the descriptor at ${DESCRIPTOR_BASE}`);
  }
  const totalBytes = plan(probe, options);
  const memory = sharedMemory(totalBytes);
  const core = await instantiateCore(module, memory, wasmFile);
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

// Typed views over the shared memory for the main thread (metrics, health, supervisor).
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
}
