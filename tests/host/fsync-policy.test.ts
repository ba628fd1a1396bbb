// The fsync policy: parsing, the config key, and --help naming interval as the weaker one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText, parseConfig } from '../../host/node/config.js';
import { parseFsyncPolicy } from '../../host/node/io/fsync-policy.js';

test('every-batch and interval:<ms> parse; anything else is a named error', () => {
  assert.deepEqual(parseFsyncPolicy('every-batch'), { kind: 'every-batch' });
  assert.deepEqual(parseFsyncPolicy('interval:250'), { kind: 'interval', ms: 250 });
  for (const bad of ['interval:0', 'interval:', 'always', 'interval:1e3']) {
    assert.throws(() => parseFsyncPolicy(bad), { name: 'InvalidFsyncPolicy' }, bad);
  }
});

test('--fsync defaults to every-batch, is validated, and --help calls interval weaker', () => {
  const run = parseConfig([], {});
  assert.equal(run.kind === 'run' && run.config.fsync, 'every-batch');
  const set = parseConfig(['--fsync', 'interval:5'], {});
  assert.equal(set.kind === 'run' && set.config.fsync, 'interval:5');
  assert.throws(() => parseConfig(['--fsync', 'sometimes'], {}), { name: 'InvalidConfigValue' });
  assert.match(helpText(), /--fsync[\s\S]*every-batch \(default: acknowledged = fsynced\) \| interval:<ms> \(WEAKER/);
});
