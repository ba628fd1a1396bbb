// The bench's accounting: total throughput is all bytes over the slowest actor's wall time, latency percentiles
// come from an HDR histogram in µs, and the timeline buckets bytes by completion time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActorStats, latencyOf, mergedLatency, throughputOf, timelineOf } from '../../host/bench/suite/accounting.js';
import { rotated, spread } from '../../host/bench/suite/stats.js';

function actor(index: number, startMs: number, endMs: number, batches: number, bytesPerBatch: number): ActorStats {
  const a = new ActorStats('producer', index);
  a.begin(startMs);
  for (let b = 0; b < batches; b++) a.record(bytesPerBatch, 1000, 1 + b, startMs + b, 0);
  a.finish(endMs);
  return a;
}

describe('bench accounting', () => {
  it('divides every actor\'s bytes by the slowest actor\'s wall time, not by the mean or the first to finish', () => {
    const fast = actor(0, 0, 1000, 10, 1e6); // 10 MB in 1 s
    const slow = actor(1, 0, 4000, 10, 1e6); // 10 MB in 4 s
    const total = throughputOf([fast, slow]);
    assert.equal(total.bytes, 20e6);
    assert.equal(total.seconds, 4);
    assert.equal(total.mb_per_s, 5);
    assert.equal(total.msg_per_s, 20_000 / 4);
    assert.equal(throughputOf([fast]).mb_per_s, 10, 'per actor: its own bytes over its own time');
    assert.equal(throughputOf([]).mb_per_s, 0, 'no actors: zero, not NaN');
  });

  it('reads percentiles within the histogram\'s 3 significant digits and never above the largest value', () => {
    const a = new ActorStats('consumer', 0);
    a.begin(0);
    for (let ms = 1; ms <= 1000; ms++) a.record(1, 1, ms, ms, 0); // 1..1000 ms, one each
    a.finish(1000);
    const l = latencyOf(a.histogram);
    const near = (got: number, want: number): void => assert.ok(Math.abs(got - want) <= want * 0.001 + 0.001, `${got} ≈ ${want}`);
    near(l.p50_ms, 500);
    near(l.p90_ms, 900);
    near(l.p99_ms, 990);
    near(l.p999_ms, 999);
    near(l.max_ms, 1000);
    assert.ok(l.p9999_ms <= l.max_ms, 'a percentile is capped at the maximum recorded');
    const merged = mergedLatency([actor(0, 0, 10, 3, 1), actor(1, 0, 10, 3, 1)]);
    near(merged.max_ms, 3);
    near(merged.p50_ms, 2);
  });

  it('puts each batch\'s bytes in the time bucket it completed in', () => {
    const a = new ActorStats('producer', 0);
    a.record(1e6, 1, 5, 50, 0);
    a.record(1e6, 1, 7, 80, 0);
    a.record(2e6, 1, 9, 250, 0);
    const points = timelineOf([a], 100);
    assert.deepEqual(points.map((p) => p.mb_per_s), [20, 0, 20], '2 MB in the first 100 ms, none in the second');
    assert.deepEqual(points.map((p) => p.max_ms), [7, Number.NaN, 9]);
  });

  it('summarises rounds by median, min and max, and rotates the target order per round', () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
    assert.equal(spread([4, 1, 2, 3]).median, 2.5);
    assert.equal(spread([]).n, 0);
    assert.deepEqual(rotated(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
    assert.deepEqual(rotated(['a', 'b', 'c'], 3), ['a', 'b', 'c']);
  });
});
