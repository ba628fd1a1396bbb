// Streams, topics, partitions and consumer groups: the replicated half of the metadata state that the streams
// ops (iggy-client-wire.md §7.4–7.7) change. Plain data plus lookups; the ops live in streams-apply.ts.
//
// Ids are 0-based and reuse the lowest free id (like Iggy's slab ids, and so a churn of creates and deletes
// never runs into the namespace packing limits while the live count stays below them). Partitions are always
// 0..n-1: creates append, deletes remove the highest. Every entity records the commit that created it
// (`createdOp`), so a reader can tell a re-created id from the one it replaced.
import type { Identifier, TlvEntry } from '../../shared/wire/primitives.js';
import type { TopicSettings } from './options.js';
import { CoreRouter } from '../../shared/core-abi.generated.js';

export interface Partition {
  createdAt: number; // µs
  createdOp: number;
}

export interface GroupMember {
  client: bigint; // the VSR client id of the member's session (u128)
  memberId: number;
}

// Who holds a partition of a group, and since which generation (groups.ts: a member's commits are fenced with it).
export interface Holding {
  client: bigint | null; // null: the group has no members
  since: number;
}

export interface ConsumerGroup {
  id: number;
  name: string;
  generation: number; // bumped on every change of membership or of the topic's partitions
  members: GroupMember[]; // in join order: partition i belongs to members[i mod n]
  // Per partition, derived from the deal on every change (groups.ts `redeal`). Not in snapshots: a restored group
  // counts every partition as held since the restored generation, which at worst has a member re-sync once.
  held: Holding[];
}

export interface Topic {
  id: number;
  createdAt: number;
  createdOp: number;
  name: string;
  explicitOptions: TlvEntry[]; // the keys the client set, as sent
  settings: TopicSettings; // explicit keys over the server defaults
  partitions: Partition[];
  groups: Map<number, ConsumerGroup>;
  groupIdsByName: Map<string, number>;
}

export interface Stream {
  id: number;
  createdAt: number;
  createdOp: number;
  name: string;
  options: TlvEntry[];
  topics: Map<number, Topic>;
  topicIdsByName: Map<string, number>;
}

// Namespace packing limits of the core's router: ids at or above these cannot be routed.
export const MAX_STREAMS = CoreRouter.MAX_STREAMS;
export const MAX_TOPICS = CoreRouter.MAX_TOPICS;
export const MAX_PARTITIONS = CoreRouter.MAX_PARTITIONS;
export const MAX_PARTITIONS_PER_REQUEST = 1000;

export class StreamsState {
  readonly streams = new Map<number, Stream>();
  readonly streamIdsByName = new Map<string, number>();

  stream(id: Identifier): Stream | undefined {
    const key = id.kind === 'numeric' ? id.id : this.streamIdsByName.get(id.name);
    return key === undefined ? undefined : this.streams.get(key);
  }

  // Streams in id order (maps keep insertion order, which id reuse scrambles).
  sortedStreams(): Stream[] {
    return byId([...this.streams.values()]);
  }
}

export function topicOf(stream: Stream, id: Identifier): Topic | undefined {
  const key = id.kind === 'numeric' ? id.id : stream.topicIdsByName.get(id.name);
  return key === undefined ? undefined : stream.topics.get(key);
}

export function groupOf(topic: Topic, id: Identifier): ConsumerGroup | undefined {
  const key = id.kind === 'numeric' ? id.id : topic.groupIdsByName.get(id.name);
  return key === undefined ? undefined : topic.groups.get(key);
}

export function byId<T extends { id: number }>(items: T[]): T[] {
  return items.sort((a, b) => a.id - b.id);
}

// The lowest id not in `taken`.
export function lowestFreeId(taken: { has(id: number): boolean }): number {
  let id = 0;
  while (taken.has(id)) id++;
  return id;
}
