// The node-wide limits (host/node/net/connection-limits.ts, net-counters.ts): every shard's BufferBudget and
// connection count are words of one shared NetCounters, so what one shard holds counts against the others, and a
// frame waiting on one shard gets in once another shard releases (retried on a timer: that shard cannot call it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferBudget } from '../../../host/node/net/connection-limits.js';
import { NetCounters } from '../../../host/node/net/net-counters.js';

const BOUND_MS = 5_000;

// Two shards' views of the node's counters (each shard makes its own NetCounters over the shared buffer).
function twoShards(): [NetCounters, NetCounters] {
  const node = new NetCounters();
  return [new NetCounters(node.buffer), new NetCounters(node.buffer)];
}

describe('node-wide limits', () => {
  it('bytes one shard holds count against another; a frame alone passes whatever its size', () => {
    const [c0, c1] = twoShards();
    const b0 = new BufferBudget(100, c0);
    const b1 = new BufferBudget(100, c1);
    assert.equal(b0.tryTake(80), true);
    assert.equal(b1.tryTake(30), false, 'shard 0 holds 80 of 100');
    assert.equal(b1.tryTake(20), true);
    assert.equal(b0.bytesInUse, 100);
    b0.release(80);
    b1.release(20);
    assert.equal(b1.tryTake(1000), true, 'nothing else held: a frame larger than the budget passes alone');
    assert.equal(c0.get('bufferedBytes'), 1000);
  });

  it('a frame waiting on one shard gets in once the other shard releases', async () => {
    const [c0, c1] = twoShards();
    const b0 = new BufferBudget(100, c0);
    const b1 = new BufferBudget(100, c1);
    assert.equal(b0.tryTake(90), true);
    assert.equal(b1.tryTake(50), false);
    let timer: NodeJS.Timeout | undefined;
    const admitted = new Promise<boolean>((resolve) => {
      const retry = () => (b1.tryTake(50) ? resolve(true) : b1.wait(retry));
      b1.wait(retry);
      timer = setTimeout(() => resolve(false), BOUND_MS);
    });
    b0.release(90);
    assert.equal(await admitted, true);
    clearTimeout(timer);
    assert.equal(c1.get('bufferedBytes'), 50);
  });

  it('connections: the last place is taken by one shard only, and comes back when a connection closes', () => {
    const [c0, c1] = twoShards();
    assert.equal(c0.addWithin('openConnections', 1, 2), true);
    assert.equal(c1.addWithin('openConnections', 1, 2), true);
    assert.equal(c0.addWithin('openConnections', 1, 2), false);
    assert.equal(c1.addWithin('openConnections', 1, 2), false);
    c0.add('openConnections', -1);
    assert.equal(c1.addWithin('openConnections', 1, 2), true);
    assert.equal(c0.get('openConnections'), 2);
  });
});
