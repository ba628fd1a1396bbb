// Log lines a remote peer can cause are rate-limited per kind: a burst per window, then one summary line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogLimiter } from '../../host/shared/log-limiter.js';

describe('log limiter', () => {
  it('writes the first lines of a window, counts the rest, and sums them up when the next window starts', () => {
    const lines: string[] = [];
    let now = 0;
    const limiter = new LogLimiter({ info: (m) => lines.push(`I ${m}`), warn: (m) => lines.push(`W ${m}`) }, 2, 1000, () => now);
    for (let i = 0; i < 5; i++) limiter.log('junk', `junk ${i}`);
    limiter.log('other', 'other 0', 'warn');
    assert.deepEqual(lines, ['I junk 0', 'I junk 1', 'W other 0'], 'two per kind, kinds apart');
    now = 1000;
    limiter.log('junk', 'junk 5');
    assert.deepEqual(lines.slice(3), ['I junk: 3 more like this in 1 s not logged (rate limit)', 'I junk 5']);
    limiter.flushAll();
    assert.equal(lines.length, 5, 'nothing suppressed since: no summary');
  });
});
