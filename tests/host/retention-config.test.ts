// --retention-interval-ms: default, flag, environment, config file key, --help, and a bad value as a named error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { helpText, parseConfig } from '../../host/node/config.js';
import { tempDir } from './helpers.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.kind, 'run');
  return parsed.kind === 'run' ? parsed.config : null!;
};

test('--retention-interval-ms: 60000 by default; flag > env > file', () => {
  assert.equal(run([]).retentionIntervalMs, 60_000);
  const file = path.join(tempDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify({ storage: { retention_interval_ms: 5000 } }));
  assert.equal(run(['--config', file]).retentionIntervalMs, 5000);
  assert.equal(run(['--config', file], { SHARDLOG_RETENTION_INTERVAL_MS: '700' }).retentionIntervalMs, 700);
  assert.equal(run(['--config', file, '--retention-interval-ms', '250'], { SHARDLOG_RETENTION_INTERVAL_MS: '700' }).retentionIntervalMs, 250);
  assert.match(helpText(), /--retention-interval-ms <value>\s+how often each shard removes[\s\S]*env SHARDLOG_RETENTION_INTERVAL_MS, file storage.retention_interval_ms/);
});

test('--retention-interval-ms refuses what is not a whole number of ms from 10 to a day, naming the flag', () => {
  for (const bad of ['0', '9', '86400001', '1.5', 'soon', '-100']) {
    assert.throws(() => parseConfig(['--retention-interval-ms', bad], {}), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('--retention-interval-ms'), bad);
  }
  assert.throws(() => parseConfig([], { SHARDLOG_RETENTION_INTERVAL_MS: '5' }), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('SHARDLOG_RETENTION_INTERVAL_MS'));
});
