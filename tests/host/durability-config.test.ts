// --durability (a cluster's partition writes): persisted by default, replicated named weaker; from flag,
// environment and config key; anything else is InvalidConfigValue naming where it came from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText, parseConfig } from '../../host/node/config.js';

const durability = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = parseConfig(argv, env);
  assert.equal(run.kind, 'run');
  return run.kind === 'run' ? run.config.durability : '';
};

test('--durability: default persisted, flag over environment', () => {
  assert.equal(durability([]), 'persisted');
  assert.equal(durability(['--durability', 'replicated']), 'replicated');
  assert.equal(durability([], { SHARDLOG_DURABILITY: 'replicated' }), 'replicated');
  assert.equal(durability(['--durability=persisted'], { SHARDLOG_DURABILITY: 'replicated' }), 'persisted');
});

test('--durability other than persisted or replicated is InvalidConfigValue naming the flag or variable', () => {
  for (const bad of ['fsync', 'PERSISTED', '']) {
    assert.throws(() => parseConfig(['--durability', bad], {}), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('--durability'));
  }
  assert.throws(() => parseConfig([], { SHARDLOG_DURABILITY: 'memory' }), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('SHARDLOG_DURABILITY'));
});

test('--help lists --durability and names replicated as weaker', () => {
  assert.match(helpText(), /--durability <value>\s+when a backup acknowledges a partition write[\s\S]*WEAKER/);
});
