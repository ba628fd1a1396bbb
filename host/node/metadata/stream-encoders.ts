// Reply layouts of the streams reads and creates (iggy-client-wire.md §7.4–7.7). Sizes, message counts and
// offsets come from the partition stats the owner shards push; a partition without an entry shows zeros and one
// segment (a fresh partition has its first segment open).
import { Writer, utf8 } from '../../shared/wire/buffer.js';
import { assignedPartitions } from './groups.js';
import { namespaceOf } from './namespace.js';
import { derivedTopicOptions, encodeOptionsBlock } from './options.js';
import { byId, type ConsumerGroup, type Stream, type Topic } from './streams.js';
import type { PartitionStats } from './types.js';

export type StatsMap = ReadonlyMap<bigint, PartitionStats>;
export const NO_STATS: StatsMap = new Map();

const EMPTY_PARTITION: PartitionStats = { currentOffset: 0, messagesCount: 0, sizeBytes: 0, segmentsCount: 1 };

function partitionStats(stats: StatsMap, stream: number, topic: number, partition: number): PartitionStats {
  return stats.get(namespaceOf(stream, topic, partition)) ?? EMPTY_PARTITION;
}

function topicTotals(stats: StatsMap, streamId: number, topic: Topic): { size: number; messages: number } {
  let size = 0;
  let messages = 0;
  for (let p = 0; p < topic.partitions.length; p++) {
    const s = partitionStats(stats, streamId, topic.id, p);
    size += s.sizeBytes;
    messages += s.messagesCount;
  }
  return { size, messages };
}

const nameBytes = (name: string): Uint8Array => utf8.encode(name);

// StreamResponse: u32 id, u64 created_at, u32 topics_count, u64 size, u64 messages, WireName, u32 len + options.
export function writeStreamResponse(w: Writer, stream: Stream, stats: StatsMap): Writer {
  let size = 0;
  let messages = 0;
  for (const topic of stream.topics.values()) {
    const t = topicTotals(stats, stream.id, topic);
    size += t.size;
    messages += t.messages;
  }
  const name = nameBytes(stream.name);
  return w.u32(stream.id).u64(stream.createdAt).u32(stream.topics.size).u64(size).u64(messages)
    .u8(name.length).bytes(name).lenBytes32(encodeOptionsBlock(stream.options));
}

export function encodeStreamDetails(stream: Stream, stats: StatsMap): Uint8Array {
  const w = writeStreamResponse(new Writer(), stream, stats);
  for (const topic of byId([...stream.topics.values()])) writeTopicHeader(w, stream.id, topic, stats);
  return w.finish();
}

// TopicHeader (§7.5): 49 fixed bytes, WireName, explicit options block, derived options block.
export function writeTopicHeader(w: Writer, streamId: number, topic: Topic, stats: StatsMap): Writer {
  const t = topicTotals(stats, streamId, topic);
  const s = topic.settings;
  const name = nameBytes(topic.name);
  return w.u32(topic.id).u64(topic.createdAt).u32(topic.partitions.length).u64(s.messageExpiry).u8(s.compression)
    .u64(s.maxTopicSize).u64(t.size).u64(t.messages).u8(name.length).bytes(name)
    .lenBytes32(encodeOptionsBlock(topic.explicitOptions)).lenBytes32(encodeOptionsBlock(derivedTopicOptions(s)));
}

// TopicDetails = TopicHeader + one 40-byte PartitionResponse per partition.
export function encodeTopicDetails(streamId: number, topic: Topic, stats: StatsMap): Uint8Array {
  const w = writeTopicHeader(new Writer(), streamId, topic, stats);
  topic.partitions.forEach((partition, id) => {
    const s = partitionStats(stats, streamId, topic.id, id);
    w.u32(id).u64(partition.createdAt).u32(s.segmentsCount).u64(s.currentOffset).u64(s.sizeBytes).u64(s.messagesCount);
  });
  return w.finish();
}

// ConsumerGroupResponse: u32 id, u32 partitions_count, u32 members_count, WireName.
export function writeGroupResponse(w: Writer, topic: Topic, group: ConsumerGroup): Writer {
  const name = nameBytes(group.name);
  return w.u32(group.id).u32(topic.partitions.length).u32(group.members.length).u8(name.length).bytes(name);
}

// ConsumerGroupDetails: the response + per member {u32 member_id, u32 n, n × u32 partition id}.
export function encodeGroupDetails(topic: Topic, group: ConsumerGroup): Uint8Array {
  const w = writeGroupResponse(new Writer(), topic, group);
  group.members.forEach((member, index) => {
    const owned = assignedPartitions(topic.partitions.length, group.members.length, index);
    w.u32(member.memberId).u32(owned.length);
    for (const p of owned) w.u32(p);
  });
  return w.finish();
}

// SyncConsumerGroup: u64 generation, u32 n, n × u32 partition id.
export function encodeSync(generation: number, partitions: number[]): Uint8Array {
  const w = new Writer(12 + 4 * partitions.length).u64(generation).u32(partitions.length);
  for (const p of partitions) w.u32(p);
  return w.finish();
}
