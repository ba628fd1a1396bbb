// Retention's counters in the shard's metrics block of shared memory (the main thread's /metrics reads them):
// segments and bytes removed, by reason, and timer passes. One writer per counter: the shard that owns the
// partitions.
import type { CoreExports } from '../../shared/core.js';
import { METRIC } from '../../shared/layout.js';
import type { RemovedSegment } from '../io/partition.js';
import { ShardMetrics } from './shard-metrics.js';

export class RetentionCounters {
  private readonly metrics: ShardMetrics;

  constructor(core: CoreExports, memory: WebAssembly.Memory, shard: number) {
    this.metrics = new ShardMetrics(core, memory, shard);
  }

  removed(segment: RemovedSegment): void {
    const expiry = segment.reason === 'expiry';
    this.metrics.add(expiry ? METRIC.retentionSegmentsExpiry : METRIC.retentionSegmentsSize);
    this.metrics.add(expiry ? METRIC.retentionBytesExpiry : METRIC.retentionBytesSize, segment.bytes);
  }

  pass(): void {
    this.metrics.add(METRIC.retentionPasses);
  }
}
