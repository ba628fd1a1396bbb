// Retention's counters in the shard's metrics block of shared memory (the main thread's /metrics reads them):
// segments and bytes removed, by reason, and timer passes. One writer per counter: the shard that owns the
// partitions.
import type { CoreExports } from '../../shared/core.js';
import { METRIC } from '../../shared/layout.js';
import type { RemovedSegment } from '../io/partition.js';

export class RetentionCounters {
  private readonly u64: BigUint64Array;
  private readonly at: (which: number) => number;

  constructor(core: CoreExports, memory: WebAssembly.Memory, shard: number) {
    this.u64 = new BigUint64Array(memory.buffer);
    this.at = (which) => core.metricsAddress(shard, which) >> 3;
  }

  removed(segment: RemovedSegment): void {
    const expiry = segment.reason === 'expiry';
    Atomics.add(this.u64, this.at(expiry ? METRIC.retentionSegmentsExpiry : METRIC.retentionSegmentsSize), 1n);
    Atomics.add(this.u64, this.at(expiry ? METRIC.retentionBytesExpiry : METRIC.retentionBytesSize), BigInt(segment.bytes));
  }

  pass(): void {
    Atomics.add(this.u64, this.at(METRIC.retentionPasses), 1n);
  }
}
