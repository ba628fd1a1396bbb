// Retention of a topic's partitions (Iggy's message_expiry and max_topic_size): the policy one partition enforces,
// derived from its topic's committed settings, and the INFO line each removal is logged with. The owner shard
// applies it on a timer and after appends (server/partition-owner.ts); which segments go is the core's choice
// (Partition.applyRetention → retentionPick).
import type { RemovedSegment, RetentionPolicy } from '../io/partition.js';
import { U64_MAX, type TopicSettings } from '../metadata/options.js';

// The wire's sentinels (iggy-client-wire.md §6.8): 0 is the server default and u64::MAX is never / unlimited. The
// options parser stores 0 as u64::MAX already (this server's defaults are never and unlimited); both mean no limit
// here too, so a 0 that reached the state some other way can never mean "keep nothing".
const unlimited = (v: bigint): boolean => v === 0n || v === U64_MAX;

// As Iggy's segment cleaner: the expiry applies to each partition as it is; max_topic_size is split evenly over the
// topic's partitions (no shard holds a topic-wide total that it could trim against; each partition keeps its share).
export function retentionPolicyOf(settings: Pick<TopicSettings, 'messageExpiry' | 'maxTopicSize'>, partitions: number): RetentionPolicy {
  return {
    maxAgeMicros: unlimited(settings.messageExpiry) ? 0 : Number(settings.messageExpiry),
    maxBytes: unlimited(settings.maxTopicSize) ? 0 : Math.max(1, Math.floor(Number(settings.maxTopicSize) / Math.max(1, partitions))),
  };
}

export function hasLimit(policy: RetentionPolicy): boolean {
  return (policy.maxAgeMicros ?? 0) > 0 || (policy.maxBytes ?? 0) > 0;
}

// "partition 1/0/0: retention removed /data/…/00000000000000000000.log, offsets 0-99, 65600 bytes (expiry: newest
// message 2026-12-06T21:00:00.000Z, message_expiry 2000000 µs)".
export function describeRemoval(partition: string, removed: RemovedSegment, policy: RetentionPolicy): string {
  const why = removed.reason === 'expiry'
    ? `expiry: newest message ${new Date(removed.lastTimestamp / 1000).toISOString()}, message_expiry ${policy.maxAgeMicros} µs`
    : `size: over ${policy.maxBytes} bytes per partition (max_topic_size split over the topic's partitions)`;
  return `partition ${partition}: retention removed ${removed.logPath}, offsets ${removed.firstOffset}-${removed.lastOffset}, ${removed.bytes} bytes (${why})`;
}
