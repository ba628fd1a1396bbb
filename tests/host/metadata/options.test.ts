// Topic option values: humantime durations and sizes, defaults, and the derived block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../../../host/shared/wire/buffer.js';
import { ErrorCode } from '../../../host/shared/wire/codes.js';
import { DEFAULT_TOPIC_SETTINGS, U64_MAX, parseDuration, parseSize, topicSettings } from '../../../host/node/metadata/options.js';
import { tlvString, tlvU64 } from './streams-helpers.js';

test('durations and sizes parse to µs and bytes; unlimited words are u64::MAX', () => {
  assert.equal(parseDuration('1h 30m'), 5_400_000_000n);
  assert.equal(parseDuration('7days'), 604_800_000_000n);
  assert.equal(parseDuration('500ms'), 500_000n);
  assert.equal(parseDuration('never'), U64_MAX);
  assert.equal(parseSize('10 MiB'), 10_485_760n);
  assert.equal(parseSize('2GB'), 2_000_000_000n);
  assert.equal(parseSize('unlimited'), U64_MAX);
  for (const bad of ['', '10', '5 parsecs', '1h garbage']) {
    assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof WireError && e.code === ErrorCode.invalidOptionValue, bad);
  }
  assert.throws(() => parseSize('99999999999999999999 TiB'), (e: unknown) => e instanceof WireError && e.code === ErrorCode.invalidOptionValue);
});

test('settings: defaults, 0 means the server default, explicit values win', () => {
  assert.deepEqual(topicSettings([]), DEFAULT_TOPIC_SETTINGS);
  assert.deepEqual(topicSettings([tlvU64('message_expiry', 0n), tlvU64('max_topic_size', 0n)]), DEFAULT_TOPIC_SETTINGS);
  const s = topicSettings([tlvU64('segment_size', 1024n), tlvString('max_topic_size', '4 KiB'), tlvString('compression_algorithm', 'GZIP')]);
  assert.equal(s.segmentSize, 1024n);
  assert.equal(s.maxTopicSize, 4096n);
  assert.equal(s.compression, 2);
});
