// --metadata-journal-slots: parsed from flag, environment and config key, bounded (a checkpoint needs room for a
// group of 32 prepares, so fewer than 64 slots is refused), listed in --help.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText, parseConfig } from '../../host/node/config.js';

const slots = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = parseConfig(argv, env);
  assert.equal(run.kind, 'run');
  return run.kind === 'run' ? run.config.metadataJournalSlots : -1;
};

test('--metadata-journal-slots: default 1024, flag over environment', () => {
  assert.equal(slots([]), 1024);
  assert.equal(slots(['--metadata-journal-slots', '64']), 64);
  assert.equal(slots([], { SHARDLOG_METADATA_JOURNAL_SLOTS: '128' }), 128);
  assert.equal(slots(['--metadata-journal-slots=256'], { SHARDLOG_METADATA_JOURNAL_SLOTS: '128' }), 256);
});

test('--metadata-journal-slots outside 64..16384 or not a number is InvalidConfigValue naming the flag', () => {
  for (const bad of ['63', '16385', 'many']) {
    assert.throws(() => parseConfig(['--metadata-journal-slots', bad], {}), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('--metadata-journal-slots'));
  }
  assert.throws(() => parseConfig([], { SHARDLOG_METADATA_JOURNAL_SLOTS: '8' }), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('SHARDLOG_METADATA_JOURNAL_SLOTS'));
});

test('--help lists --metadata-journal-slots', () => {
  assert.match(helpText(), /--metadata-journal-slots <value>\s+slots of the metadata journal/);
});
