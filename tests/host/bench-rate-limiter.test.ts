// The bench's rate limiter: batch i is due at start + i × interval whatever happened before, so latency counted
// from that time includes the wait a stall imposed on the batches after it (no coordinated omission).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter, perActorRate } from '../../host/bench/suite/rate-limiter.js';

describe('bench rate limiter', () => {
  it('spaces batches by batch bytes / rate and never moves a late batch', () => {
    const limiter = new RateLimiter(1000, 10e6, 1e6); // 10 MB/s of 1 MB batches: one every 100 ms
    assert.equal(limiter.intervalMs, 100);
    assert.equal(limiter.intendedTime(0), 1000);
    assert.equal(limiter.intendedTime(3), 1300);
    assert.equal(limiter.delayBefore(3, 1250), 50, 'early: wait for the slot');
    assert.equal(limiter.delayBefore(3, 1700), 0, 'late (a stall held it): send at once');
    assert.equal(limiter.intendedTime(3), 1300, 'and its latency still counts from the slot it missed');
    assert.equal(limiter.intendedTime(4), 1400, 'the schedule does not slide after a stall');
  });

  it('gives each producer an equal share and refuses a rate that is not positive', () => {
    assert.equal(perActorRate(100e6, 4), 25e6);
    assert.throws(() => new RateLimiter(0, 0, 1000), RangeError);
    assert.throws(() => new RateLimiter(0, Number.NaN, 1000), RangeError);
  });
});
