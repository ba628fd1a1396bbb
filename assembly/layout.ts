// The memory map of one process's shared memory. layoutPlan (below) places every region and writes this
// descriptor; the host sizes the memory from it and reads addresses back through the exported accessors, so the
// arithmetic lives in one place.
import { R_DATA as R_DATA_BYTES } from "./ring";
import { OWNERS_BYTES as OWNERS_TABLE_BYTES } from "./owners";
import { DROP_REASONS, DROP_VARIANTS } from "./frame";

export const DESCRIPTOR_MAGIC: u32 = 0x31474c53; // "SLG1"
export const DESCRIPTOR_VERSION: u32 = 1;

export const D_MAGIC: u32 = 0;
export const D_VERSION: u32 = 4;
export const D_SHARDS: u32 = 8;
export const D_INBOX_CAPACITY: u32 = 12;
export const D_REPLY_CAPACITY: u32 = 16;
export const D_SLOT_SIZE: u32 = 20;
export const D_RINGS_BASE: u32 = 24;
export const D_INBOX_STRIDE: u32 = 28;
export const D_REPLY_STRIDE: u32 = 32;
export const D_METRICS_BASE: u32 = 36;
export const D_METRICS_STRIDE: u32 = 40;
export const D_OWNERS_BASE: u32 = 44;
export const D_SHARD_CTL_BASE: u32 = 48;
export const D_ARENA_BASE: u32 = 52;
export const D_ARENA_SIZE: u32 = 56;
export const D_SCRATCH_BASE: u32 = 60;
export const D_SCRATCH_SIZE: u32 = 64;
export const D_TOTAL_BYTES: u32 = 68;
export const D_STORAGE_BASE: u32 = 72;
export const D_STORAGE_SIZE: u32 = 76;

// Process-wide control words, each on its own 64-byte line.
export const C_SHUTDOWN: u32 = 128; // 0 = running, otherwise a ShutdownReason
export const C_BOOT_INSTANTIATED: u32 = 192; // shards that instantiated the core
export const C_BOOT_GO: u32 = 256; // set by the main thread once every shard instantiated: traffic may start
export const C_BOOT_READY: u32 = 320; // shards that passed the mesh check
export const C_METADATA_APPLIED: u32 = 384; // u64: the last metadata op shard 0 applied (others catch up to it)
export const CONTROL_BLOCK_SIZE: u32 = 1024;
// Selectors of controlAddress(which): hosts name control words by these, never by offset.
export const CONTROL_SHUTDOWN: u32 = 0;
export const CONTROL_INSTANTIATED: u32 = 1;
export const CONTROL_GO: u32 = 2;
export const CONTROL_READY: u32 = 3;
export const CONTROL_METADATA_APPLIED: u32 = 4;

// Per-shard control line (64 bytes each) at D_SHARD_CTL_BASE + shard * SHARD_CTL_SIZE.
export const SHARD_CTL_SIZE: u32 = 64;
export const S_DOORBELL: u32 = 0; // bumped by every producer that publishes into one of this shard's rings
export const S_SLEEPING: u32 = 4; // 1 while the shard announced it is about to wait on its doorbell
export const S_HEARTBEAT: u32 = 8; // bumped once per loop turn; the supervisor's watchdog reads it
export const S_STATE: u32 = 12; // ShardState
export const S_CPU: u32 = 16; // pinned cpu, or -1
export const S_TID: u32 = 20; // OS thread id
export const S_MESH_OK: u32 = 24; // peers (self included) whose reply to the boot ping arrived
export const S_CANARY: u32 = 28; // scratch word for waitCanary
export const S_LOOPS: u32 = 32; // loop turns that found work

// Per-shard metrics block at D_METRICS_BASE + shard * D_METRICS_STRIDE; u64 counters.
export const M_FRAMES_SENT: u32 = 0;
export const M_FRAMES_RECEIVED: u32 = 8;
// Client protocol counters, written by the host of the shard that serves connections (u64 each).
export const M_CLIENTS_OPEN: u32 = 16;
export const M_CLIENTS_TOTAL: u32 = 24;
export const M_REQUESTS: u32 = 32;
export const M_REQUEST_ERRORS: u32 = 40;
export const M_EVICTIONS: u32 = 48;
// 64..576 is unused (the drop table's old place: it outgrew it).
// Login and session counters, after the drop table (u64 each).
export const M_LOGIN_FAILURES: u32 = 576;
export const M_LOGINS_THROTTLED: u32 = 584;
export const M_SESSIONS_REVOKED: u32 = 592;
// Ops the shard's partition groups committed (sends, offset changes): a refused request must not move it.
export const M_PARTITION_OPS: u32 = 600;
// Retention (the host of the shard that owns the partitions): segments and bytes removed, by reason, and passes.
export const M_RETENTION_SEGMENTS_EXPIRY: u32 = 640;
export const M_RETENTION_SEGMENTS_SIZE: u32 = 648;
export const M_RETENTION_BYTES_EXPIRY: u32 = 656;
export const M_RETENTION_BYTES_SIZE: u32 = 664;
export const M_RETENTION_PASSES: u32 = 672;
export const M_DROPS: u32 = 704; // [variant][reason] u64 table, DROP_VARIANTS * DROP_REASONS * 8 bytes
export const METRICS_STRIDE: u32 = M_DROPS + DROP_VARIANTS * DROP_REASONS * 8; // the fixed part; the per-target table below follows it
// Then, per target shard, the host mailbox's backlog towards it (host/node/server/mailbox.ts), u64 each: bytes and
// messages queued (gauges), producers that waited for it to drain and the microseconds they waited (counters).
export const MAILBOX_METRICS: u32 = 4;
export const MAILBOX_METRICS_BYTES: u32 = MAILBOX_METRICS * 8;
// Selectors of mailboxMetricAddress(shard, target, which), in table order.
export const MAILBOX_BACKLOG_BYTES: u32 = 0;
export const MAILBOX_BACKLOG_MESSAGES: u32 = 1;
export const MAILBOX_WAITS: u32 = 2;
export const MAILBOX_WAIT_MICROS: u32 = 3;

// Selectors of metricsAddress(shard, which): hosts name metrics by these, never by offset (metricOffset maps them).
export const METRIC_FRAMES_SENT: u32 = 0;
export const METRIC_FRAMES_RECEIVED: u32 = 1;
export const METRIC_CLIENTS_OPEN: u32 = 2;
export const METRIC_CLIENTS_TOTAL: u32 = 3;
export const METRIC_REQUESTS: u32 = 4;
export const METRIC_REQUEST_ERRORS: u32 = 5;
export const METRIC_EVICTIONS: u32 = 6;
export const METRIC_RETENTION_SEGMENTS_EXPIRY: u32 = 7;
export const METRIC_RETENTION_SEGMENTS_SIZE: u32 = 8;
export const METRIC_RETENTION_BYTES_EXPIRY: u32 = 9;
export const METRIC_RETENTION_BYTES_SIZE: u32 = 10;
export const METRIC_RETENTION_PASSES: u32 = 11;
export const METRIC_LOGIN_FAILURES: u32 = 12;
export const METRIC_LOGINS_THROTTLED: u32 = 13;
export const METRIC_SESSIONS_REVOKED: u32 = 14;
export const METRIC_PARTITION_OPS: u32 = 15;

// The offset in a shard's metrics block of selector `which`, or -1 for an unknown selector.
export function metricOffset(which: u32): i32 {
  switch (which) {
    case METRIC_FRAMES_SENT: return <i32>M_FRAMES_SENT;
    case METRIC_FRAMES_RECEIVED: return <i32>M_FRAMES_RECEIVED;
    case METRIC_CLIENTS_OPEN: return <i32>M_CLIENTS_OPEN;
    case METRIC_CLIENTS_TOTAL: return <i32>M_CLIENTS_TOTAL;
    case METRIC_REQUESTS: return <i32>M_REQUESTS;
    case METRIC_REQUEST_ERRORS: return <i32>M_REQUEST_ERRORS;
    case METRIC_EVICTIONS: return <i32>M_EVICTIONS;
    case METRIC_RETENTION_SEGMENTS_EXPIRY: return <i32>M_RETENTION_SEGMENTS_EXPIRY;
    case METRIC_RETENTION_SEGMENTS_SIZE: return <i32>M_RETENTION_SEGMENTS_SIZE;
    case METRIC_RETENTION_BYTES_EXPIRY: return <i32>M_RETENTION_BYTES_EXPIRY;
    case METRIC_RETENTION_BYTES_SIZE: return <i32>M_RETENTION_BYTES_SIZE;
    case METRIC_RETENTION_PASSES: return <i32>M_RETENTION_PASSES;
    case METRIC_LOGIN_FAILURES: return <i32>M_LOGIN_FAILURES;
    case METRIC_LOGINS_THROTTLED: return <i32>M_LOGINS_THROTTLED;
    case METRIC_SESSIONS_REVOKED: return <i32>M_SESSIONS_REVOKED;
    case METRIC_PARTITION_OPS: return <i32>M_PARTITION_OPS;
    default: return -1;
  }
}

// The address of control word `which` (a CONTROL_* selector), or 0 for an unknown selector.
export function controlOffset(which: u32): u32 {
  switch (which) {
    case CONTROL_SHUTDOWN: return C_SHUTDOWN;
    case CONTROL_INSTANTIATED: return C_BOOT_INSTANTIATED;
    case CONTROL_GO: return C_BOOT_GO;
    case CONTROL_READY: return C_BOOT_READY;
    case CONTROL_METADATA_APPLIED: return C_METADATA_APPLIED;
    default: return 0;
  }
}

let descriptor: usize = 0;

export function useDescriptor(base: usize): void {
  // In every build: the wrong base would make every address below garbage.
  if (load<u32>(base + D_MAGIC) != DESCRIPTOR_MAGIC || load<u32>(base + D_VERSION) != DESCRIPTOR_VERSION) unreachable();
  descriptor = base;
}

// @ts-ignore: decorator
@inline export function field(offset: u32): u32 {
  return load<u32>(descriptor + offset);
}

// @ts-ignore: decorator
@inline export function control(offset: u32): usize {
  return descriptor + offset;
}

// @ts-ignore: decorator
@inline export function shardCount(): u32 {
  return field(D_SHARDS);
}

// @ts-ignore: decorator
@inline export function shardCtl(shard: u32): usize {
  return <usize>field(D_SHARD_CTL_BASE) + <usize>shard * SHARD_CTL_SIZE;
}

// @ts-ignore: decorator
@inline export function shardMetrics(shard: u32): usize {
  return <usize>field(D_METRICS_BASE) + <usize>shard * <usize>field(D_METRICS_STRIDE);
}

export const LANE_INBOX: u32 = 0;
export const LANE_REPLY: u32 = 1;

// The ring carrying frames from `src` to `dst` on `lane`. All inbox rings first, then all reply rings.
export function ringAddress(src: u32, dst: u32, lane: u32): usize {
  const n = <usize>shardCount();
  const index = <usize>dst * n + <usize>src;
  const rings = <usize>field(D_RINGS_BASE);
  if (lane == LANE_INBOX) return rings + index * <usize>field(D_INBOX_STRIDE);
  return rings + n * n * <usize>field(D_INBOX_STRIDE) + index * <usize>field(D_REPLY_STRIDE);
}

// @ts-ignore: decorator
@inline function align64(x: u64): u64 {
  return (x + 63) & ~(<u64>63);
}

// Plans the memory map for `shards` shards: writes the descriptor at `descriptor` and places every region from
// `base` upwards (each 64-byte aligned). Returns the first byte past the map, or 0 if it does not fit in 4 GiB
// (or the arguments are impossible).
// The host sizes its shared memory from the result; the core is the single source of the layout arithmetic.
export function layoutPlan(
  descriptor: usize, base: usize, shards: u32, inboxCapacity: u32, replyCapacity: u32, slotSize: u32,
  arenaSize: u32, scratchSize: u32, storageSize: u32,
): usize {
  if (shards < 1 || shards > 0xffff || base < descriptor + CONTROL_BLOCK_SIZE) return 0;
  const n = <u64>shards;
  const inboxStride = align64(<u64>R_DATA_BYTES + <u64>inboxCapacity * <u64>slotSize);
  const replyStride = align64(<u64>R_DATA_BYTES + <u64>replyCapacity * <u64>slotSize);
  let at = align64(<u64>base);
  const shardCtlBase = at;
  at = align64(at + n * SHARD_CTL_SIZE);
  const metricsStride = align64(<u64>METRICS_STRIDE + n * <u64>MAILBOX_METRICS_BYTES);
  const metricsBase = at;
  at = align64(at + n * metricsStride);
  const ownersBase = at;
  at = align64(at + OWNERS_TABLE_BYTES);
  const ringsBase = at;
  at = align64(at + n * n * (inboxStride + replyStride));
  const scratchBase = at;
  at = align64(at + n * <u64>scratchSize);
  const arenaBase = at;
  at = align64(at + n * <u64>arenaSize);
  const storageBase = at;
  at = align64(at + n * align64(<u64>storageSize));
  if (at > 0xffff0000) return 0;
  memory.fill(descriptor, 0, CONTROL_BLOCK_SIZE);
  store<u32>(descriptor + D_MAGIC, DESCRIPTOR_MAGIC);
  store<u32>(descriptor + D_VERSION, DESCRIPTOR_VERSION);
  store<u32>(descriptor + D_SHARDS, shards);
  store<u32>(descriptor + D_INBOX_CAPACITY, inboxCapacity);
  store<u32>(descriptor + D_REPLY_CAPACITY, replyCapacity);
  store<u32>(descriptor + D_SLOT_SIZE, slotSize);
  store<u32>(descriptor + D_RINGS_BASE, <u32>ringsBase);
  store<u32>(descriptor + D_INBOX_STRIDE, <u32>inboxStride);
  store<u32>(descriptor + D_REPLY_STRIDE, <u32>replyStride);
  store<u32>(descriptor + D_METRICS_BASE, <u32>metricsBase);
  store<u32>(descriptor + D_METRICS_STRIDE, <u32>metricsStride);
  store<u32>(descriptor + D_OWNERS_BASE, <u32>ownersBase);
  store<u32>(descriptor + D_SHARD_CTL_BASE, <u32>shardCtlBase);
  store<u32>(descriptor + D_ARENA_BASE, <u32>arenaBase);
  store<u32>(descriptor + D_ARENA_SIZE, arenaSize);
  store<u32>(descriptor + D_SCRATCH_BASE, <u32>scratchBase);
  store<u32>(descriptor + D_SCRATCH_SIZE, scratchSize);
  store<u32>(descriptor + D_STORAGE_BASE, <u32>storageBase);
  store<u32>(descriptor + D_STORAGE_SIZE, <u32>align64(<u64>storageSize));
  store<u32>(descriptor + D_TOTAL_BYTES, <u32>at);
  return <usize>at;
}

// @ts-ignore: decorator
@inline export function shardArena(shard: u32): usize {
  return <usize>field(D_ARENA_BASE) + <usize>shard * <usize>field(D_ARENA_SIZE);
}

// Region the host's storage layer manages for the shard (batch staging, read window, index regions).
// @ts-ignore: decorator
@inline export function shardStorage(shard: u32): usize {
  return <usize>field(D_STORAGE_BASE) + <usize>shard * <usize>field(D_STORAGE_SIZE);
}

// @ts-ignore: decorator
@inline export function shardScratch(shard: u32): usize {
  return <usize>field(D_SCRATCH_BASE) + <usize>shard * <usize>field(D_SCRATCH_SIZE);
}
