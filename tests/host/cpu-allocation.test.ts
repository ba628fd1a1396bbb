import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpuList, resolveShardCpus } from '../../host/node/cpu.js';
import { ShardlogError } from '../../host/shared/errors.js';

const allowed = [0, 1, 2, 3];
const code = (fn: () => unknown) => {
  try { fn(); } catch (error) { return (error as ShardlogError).code; }
  return 'no error';
};

describe('sharding.cpu_allocation', () => {
  it('parses the kernel CPU list format', () => {
    assert.deepEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  });

  it('"all" is one shard per allowed CPU', () => {
    assert.deepEqual(resolveShardCpus('all', allowed, 'x'), allowed);
  });

  it('a count takes the first N allowed CPUs', () => {
    assert.deepEqual(resolveShardCpus('2', [3, 5, 9], 'x'), [3, 5]);
  });

  it('a range a..b is one shard per CPU a to b-1', () => {
    assert.deepEqual(resolveShardCpus('1..3', allowed, 'x'), [1, 2]);
  });

  it('names every bad allocation', () => {
    assert.equal(code(() => resolveShardCpus('0', allowed, '--shards')), 'ShardsCountZero');
    assert.equal(code(() => resolveShardCpus('2..2', allowed, 'x')), 'ShardsCountZero');
    assert.equal(code(() => resolveShardCpus('5', allowed, 'x')), 'ShardsCountOverflow');
    assert.equal(code(() => resolveShardCpus('65535', allowed, 'x')), 'ShardsCountOverflow');
    assert.equal(code(() => resolveShardCpus('3..1', allowed, 'x')), 'InvalidRange');
    assert.equal(code(() => resolveShardCpus('2..5', allowed, 'x')), 'CpuNotAllowed');
    assert.match((() => { try { resolveShardCpus('0', allowed, '--shards'); } catch (e) { return (e as Error).message; } return ''; })(), /^--shards: /);
  });
});
