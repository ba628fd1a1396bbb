// Per-shard counters in shared memory. Each counter has one writer (its shard), so a plain load plus an atomic
// store is enough; the exporter on the main thread reads them with Atomics.load, no messages involved.
import { M_DROPS, M_FRAMES_RECEIVED, M_FRAMES_SENT, shardMetrics } from "./layout";
import { DROP_REASONS } from "./frame";

// @ts-ignore: decorator
@inline function bump(at: usize): void {
  atomic.store<u64>(at, load<u64>(at) + 1);
}

export function countSent(shard: u32): void {
  bump(shardMetrics(shard) + M_FRAMES_SENT);
}

export function countReceived(shard: u32): void {
  bump(shardMetrics(shard) + M_FRAMES_RECEIVED);
}

export function countDrop(shard: u32, variant: u32, reason: u32): void {
  bump(shardMetrics(shard) + M_DROPS + ((<usize>variant * DROP_REASONS + reason) << 3));
}

export function dropCount(shard: u32, variant: u32, reason: u32): u64 {
  return atomic.load<u64>(shardMetrics(shard) + M_DROPS + ((<usize>variant * DROP_REASONS + reason) << 3));
}
