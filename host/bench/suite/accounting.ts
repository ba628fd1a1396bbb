// What each actor measured and how the run's totals follow from it. Latency per batch goes into an HDR histogram
// (µs, 3 significant digits); every batch is also kept as (end time, bytes, latency) for the report's timeline.
import * as hdr from 'hdr-histogram-js';

export type Role = 'producer' | 'consumer';

// 1 µs .. 1 h at 3 significant digits: a per-batch latency outside that is a bug, not a measurement.
const HIGHEST_US = 3_600_000_000;

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, bitBucketSize: 64, useWebAssembly: false });
}

export class ActorStats {
  readonly histogram = newHistogram();
  bytes = 0;
  messages = 0;
  batches = 0;
  startMs = 0;
  endMs = 0;
  // Per batch: completion time (ms since the run's start), payload bytes, latency (ms).
  readonly samples: { atMs: number; bytes: number; latencyMs: number }[] = [];

  constructor(readonly role: Role, readonly index: number) {}

  begin(nowMs: number): void { this.startMs = nowMs; }

  record(bytes: number, messages: number, latencyMs: number, nowMs: number, runStartMs: number): void {
    this.bytes += bytes;
    this.messages += messages;
    this.batches += 1;
    this.histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(latencyMs * 1000))));
    this.samples.push({ atMs: nowMs - runStartMs, bytes, latencyMs });
  }

  finish(nowMs: number): void { this.endMs = nowMs; }

  get seconds(): number { return (this.endMs - this.startMs) / 1000; }
}

export const PERCENTILES = [50, 90, 99, 99.9, 99.99] as const;

export interface Latency { p50_ms: number; p90_ms: number; p99_ms: number; p999_ms: number; p9999_ms: number; max_ms: number; mean_ms: number }

export function latencyOf(histogram: hdr.Histogram): Latency {
  // HDR answers a bucket's highest equivalent value, which can exceed the largest value recorded: capped at it.
  const at = (p: number): number => Math.min(histogram.getValueAtPercentile(p), histogram.maxValue) / 1000;
  return {
    p50_ms: at(50), p90_ms: at(90), p99_ms: at(99), p999_ms: at(99.9), p9999_ms: at(99.99),
    max_ms: histogram.maxValue / 1000, mean_ms: histogram.mean / 1000,
  };
}

export interface Throughput { mb_per_s: number; msg_per_s: number; bytes: number; messages: number; seconds: number }

// Total throughput = every actor's bytes over the slowest actor's wall time: actors that finish early do not
// inflate the figure (iggy-bench's rule).
export function throughputOf(actors: ActorStats[]): Throughput {
  const bytes = actors.reduce((sum, a) => sum + a.bytes, 0);
  const messages = actors.reduce((sum, a) => sum + a.messages, 0);
  const seconds = Math.max(0, ...actors.map((a) => a.seconds));
  return { bytes, messages, seconds, mb_per_s: seconds > 0 ? bytes / seconds / 1e6 : 0, msg_per_s: seconds > 0 ? messages / seconds : 0 };
}

export function actorThroughput(actor: ActorStats): Throughput {
  return throughputOf([actor]);
}

export function mergedLatency(actors: ActorStats[]): Latency {
  const all = newHistogram();
  for (const a of actors) all.add(a.histogram);
  return latencyOf(all);
}

export interface TimelinePoint { t_s: number; mb_per_s: number; p50_ms: number; max_ms: number }

// Bytes completed per `bucketMs` over all actors, and the median / worst batch latency completed in each bucket.
export function timelineOf(actors: ActorStats[], bucketMs: number): TimelinePoint[] {
  const buckets = new Map<number, { bytes: number; latencies: number[] }>();
  for (const a of actors) {
    for (const s of a.samples) {
      const key = Math.floor(s.atMs / bucketMs);
      const b = buckets.get(key) ?? { bytes: 0, latencies: [] };
      b.bytes += s.bytes;
      b.latencies.push(s.latencyMs);
      buckets.set(key, b);
    }
  }
  const last = Math.max(-1, ...buckets.keys());
  const points: TimelinePoint[] = [];
  for (let k = 0; k <= last; k++) {
    const b = buckets.get(k);
    const sorted = b ? [...b.latencies].sort((x, y) => x - y) : [];
    points.push({
      t_s: ((k + 1) * bucketMs) / 1000,
      mb_per_s: b ? b.bytes / (bucketMs / 1000) / 1e6 : 0,
      p50_ms: sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN,
      max_ms: sorted.length ? sorted[sorted.length - 1] : NaN,
    });
  }
  return points;
}
