// A topic's retention settings as one partition enforces them (Iggy's message_expiry and max_topic_size), with the
// wire's sentinels, and the INFO line a removal is logged with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRemoval, hasLimit, retentionPolicyOf } from '../../../host/node/data/retention.js';
import { U64_MAX, topicSettings } from '../../../host/node/metadata/options.js';
import { u64Option } from '../../../host/client/options.js';

describe('retentionPolicyOf', () => {
  it('a topic created without the keys (or with 0, the server default, or u64::MAX) has no limit', () => {
    for (const entries of [[], [u64Option('message_expiry', 0n), u64Option('max_topic_size', 0n)], [u64Option('message_expiry', U64_MAX), u64Option('max_topic_size', U64_MAX)]]) {
      const policy = retentionPolicyOf(topicSettings(entries), 3);
      assert.deepEqual(policy, { maxAgeMicros: 0, maxBytes: 0 });
      assert.equal(hasLimit(policy), false);
    }
    // A 0 that reached the state without the parser (which stores it as u64::MAX) still means no limit.
    assert.deepEqual(retentionPolicyOf({ messageExpiry: 0n, maxTopicSize: 0n }, 1), { maxAgeMicros: 0, maxBytes: 0 });
  });

  it('message_expiry applies to each partition as it is; max_topic_size is split over the partitions', () => {
    const settings = topicSettings([u64Option('message_expiry', 2_000_000n), u64Option('segment_size', 65536n), u64Option('max_topic_size', 1_000_000n)]);
    assert.deepEqual(retentionPolicyOf(settings, 1), { maxAgeMicros: 2_000_000, maxBytes: 1_000_000 });
    assert.deepEqual(retentionPolicyOf(settings, 3), { maxAgeMicros: 2_000_000, maxBytes: 333_333 });
    assert.deepEqual(retentionPolicyOf(settings, 0), { maxAgeMicros: 2_000_000, maxBytes: 1_000_000 }, 'no partitions: no division by 0');
    assert.equal(hasLimit({ maxAgeMicros: 0, maxBytes: 1 }), true);
    assert.equal(retentionPolicyOf({ messageExpiry: U64_MAX, maxTopicSize: 2n }, 5).maxBytes, 1, 'a share never rounds down to "no limit"');
  });
});

describe('describeRemoval', () => {
  it('names the partition, the file, the offset range, the bytes and the reason', () => {
    const removed = { logPath: '/d/00000000000000000000.log', firstOffset: 0, lastOffset: 99, bytes: 65600, lastTimestamp: 1_765_000_000_000_000 };
    assert.equal(describeRemoval('1/0/0', { ...removed, reason: 'expiry' }, { maxAgeMicros: 2_000_000 }),
      'partition 1/0/0: retention removed /d/00000000000000000000.log, offsets 0-99, 65600 bytes (expiry: newest message 2025-12-06T05:46:40.000Z, message_expiry 2000000 µs)');
    assert.match(describeRemoval('1/0/0', { ...removed, reason: 'size' }, { maxBytes: 131072 }), /offsets 0-99, 65600 bytes \(size: over 131072 bytes per partition/);
  });
});
