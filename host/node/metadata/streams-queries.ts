// Questions the server asks of the streams state outside the ops: which partitions exist (so each shard opens
// and closes its own), which groups a client is in (GetMe/GetClient), the counts of GetStats, and the boot-time
// reset of group membership (sessions do not survive a restart).
import { memberIndex, redeal } from './groups.js';
import { namespaceOf } from './namespace.js';
import type { MetadataState } from './state.js';
import { byId } from './streams.js';

export interface PartitionRef {
  streamId: number;
  topicId: number;
  partitionId: number;
  namespace: bigint;
  createdOp: number; // tells a partition apart from an earlier one deleted under the same ids
}

export function partitionsOf(state: MetadataState): PartitionRef[] {
  const out: PartitionRef[] = [];
  for (const stream of state.streams.sortedStreams()) {
    for (const topic of byId([...stream.topics.values()])) {
      topic.partitions.forEach((p, partitionId) => {
        out.push({ streamId: stream.id, topicId: topic.id, partitionId, namespace: namespaceOf(stream.id, topic.id, partitionId), createdOp: p.createdOp });
      });
    }
  }
  return out;
}

export function groupsOfClient(state: MetadataState, client: bigint): { streamId: number; topicId: number; groupId: number }[] {
  const out: { streamId: number; topicId: number; groupId: number }[] = [];
  for (const stream of state.streams.sortedStreams()) {
    for (const topic of byId([...stream.topics.values()])) {
      for (const group of byId([...topic.groups.values()])) {
        if (memberIndex(group, client) >= 0) out.push({ streamId: stream.id, topicId: topic.id, groupId: group.id });
      }
    }
  }
  return out;
}

export function streamsCounts(state: MetadataState): { streams: number; topics: number; partitions: number; consumerGroups: number } {
  let topics = 0;
  let partitions = 0;
  let consumerGroups = 0;
  for (const stream of state.streams.streams.values()) {
    topics += stream.topics.size;
    for (const topic of stream.topics.values()) {
      partitions += topic.partitions.length;
      consumerGroups += topic.groups.size;
    }
  }
  return { streams: state.streams.streams.size, topics, partitions, consumerGroups };
}

// Every shard calls this at boot, before applying anything new, so all of them agree: no member survives.
// Groups that had members get a new generation.
export function clearAllMembers(state: MetadataState): void {
  for (const stream of state.streams.streams.values()) {
    for (const topic of stream.topics.values()) {
      for (const group of topic.groups.values()) {
        if (group.members.length === 0) continue;
        group.members = [];
        group.generation++;
        redeal(topic, group);
      }
    }
  }
}
