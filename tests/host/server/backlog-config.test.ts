// The backlog bound between shards as a user sets it: defaults from the mailbox, flag / env / config file, and a
// named error for a value out of range (a bound of 0 could never queue anything).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { helpText, parseConfig } from '../../../host/node/config.js';
import { DEFAULT_BACKLOG_BOUND } from '../../../host/node/server/mailbox.js';

const configOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.kind, 'run');
  return parsed.kind === 'run' ? parsed.config : null!;
};

test('--shard-backlog-bytes and --shard-backlog-messages default to the mailbox bound and are read from flag, env and file', () => {
  const defaults = configOf([]);
  assert.deepEqual([defaults.backlogBytes, defaults.backlogMessages], [DEFAULT_BACKLOG_BOUND.bytes, DEFAULT_BACKLOG_BOUND.messages]);
  const flags = configOf(['--shard-backlog-bytes', '65536', '--shard-backlog-messages', '8']);
  assert.deepEqual([flags.backlogBytes, flags.backlogMessages], [65536, 8]);
  const env = configOf([], { SHARDLOG_SHARD_BACKLOG_BYTES: '8192', SHARDLOG_SHARD_BACKLOG_MESSAGES: '3' });
  assert.deepEqual([env.backlogBytes, env.backlogMessages], [8192, 3]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-backlog-'));
  try {
    const file = path.join(dir, 'shardlog.json');
    fs.writeFileSync(file, JSON.stringify({ sharding: { backlog_bytes: 1 << 20, backlog_messages: 64 } }));
    const fromFile = configOf(['--config', file]);
    assert.deepEqual([fromFile.backlogBytes, fromFile.backlogMessages], [1 << 20, 64]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.match(helpText(), /--shard-backlog-bytes[\s\S]*SHARDLOG_SHARD_BACKLOG_BYTES, file sharding\.backlog_bytes/);
});

test('a backlog bound of 0, or bytes below 4096, is InvalidConfigValue naming the flag', () => {
  assert.throws(() => parseConfig(['--shard-backlog-messages', '0'], {}), { name: 'InvalidConfigValue', message: /--shard-backlog-messages: "0" is not between 1 and/ });
  assert.throws(() => parseConfig(['--shard-backlog-bytes', '100'], {}), { name: 'InvalidConfigValue', message: /--shard-backlog-bytes: "100" is not between 4096 and/ });
  assert.throws(() => parseConfig([], { SHARDLOG_SHARD_BACKLOG_BYTES: 'lots' }), { name: 'InvalidConfigValue', message: /SHARDLOG_SHARD_BACKLOG_BYTES/ });
});
