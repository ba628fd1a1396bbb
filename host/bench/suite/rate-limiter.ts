// Paces one actor's batches to its share of --rate-limit. Batch i is *intended* to leave at start + i × interval,
// whatever happened to batch i - 1: latency is measured from that intended time, so a stall that delays the
// following sends shows up in their latency instead of being skipped (no coordinated omission).
export class RateLimiter {
  readonly intervalMs: number;

  constructor(readonly startMs: number, bytesPerSecond: number, batchBytes: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`rate limit must be positive, got ${bytesPerSecond}`);
    this.intervalMs = (batchBytes / bytesPerSecond) * 1000;
  }

  intendedTime(batch: number): number {
    return this.startMs + batch * this.intervalMs;
  }

  // How long to wait before sending `batch` at `nowMs` (0 when late: a late batch leaves at once, never skipped).
  delayBefore(batch: number, nowMs: number): number {
    return Math.max(0, this.intendedTime(batch) - nowMs);
  }
}

// Each producer paces itself to an equal share of the total rate.
export function perActorRate(totalBytesPerSecond: number, actors: number): number {
  return totalBytesPerSecond / actors;
}
