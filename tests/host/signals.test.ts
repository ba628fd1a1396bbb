import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignalPolicy } from '../../host/node/signals.js';

describe('SignalPolicy', () => {
  it('first signal stops, a repeat inside the window is the same keypress, a later one aborts', () => {
    const policy = new SignalPolicy(150);
    assert.equal(policy.next(1000), 'shutdown');
    assert.equal(policy.next(1001), 'duplicate');
    assert.equal(policy.next(1149), 'duplicate');
    assert.equal(policy.next(1150), 'abort');
    assert.equal(policy.next(5000), 'abort');
  });
});
