// Consumer group membership (iggy-client-wire.md §9.2). Members are VSR client ids in join order; partitions
// are dealt round-robin over them (partition i -> members[i mod n]), and every change of membership bumps the
// generation so a member's Sync can tell that its assignment moved.
//
// Fencing a stale member: a member reads and commits by its own view of its assignment, the one its last Sync
// returned. A partition it holds now but got after that view (it moved to another member and back, or the
// member left and joined again, in between) is not the partition it has been reading: its position there may be
// behind what the other holder committed, and a commit from it would move the group's offset back. So the
// serving shard remembers, per session, the generation each Sync told it (`AssignmentViews`), every group
// records since which generation each partition has its holder (`held`), and a poll or offset write on a
// partition held since after the session's view is refused (targets.ts) until the member syncs again. Kafka
// fences with a generation id in the commit; Iggy's StoreConsumerOffset carries none, so the server keeps it.
import { lowestFreeId, type ConsumerGroup, type StreamsState, type Topic } from './streams.js';

export function memberIndex(group: ConsumerGroup, client: bigint): number {
  return group.members.findIndex((m) => m.client === client);
}

// Idempotent: a member that joins again keeps its place (and the generation stays).
export function joinGroup(topic: Topic, group: ConsumerGroup, client: bigint): void {
  if (memberIndex(group, client) >= 0) return;
  const memberId = lowestFreeId(new Set(group.members.map((m) => m.memberId)));
  group.members.push({ client, memberId });
  group.generation++;
  redeal(topic, group);
}

// False when `client` is not a member.
export function leaveGroup(topic: Topic, group: ConsumerGroup, client: bigint): boolean {
  const index = memberIndex(group, client);
  if (index < 0) return false;
  group.members.splice(index, 1);
  group.generation++;
  redeal(topic, group);
  return true;
}

export function removeClientFromAllGroups(state: StreamsState, client: bigint): void {
  for (const stream of state.streams.values()) {
    for (const topic of stream.topics.values()) {
      for (const group of topic.groups.values()) leaveGroup(topic, group, client);
    }
  }
}

// Round-robin deal: partition i belongs to member i mod n (members in join order).
export function assignedPartitions(partitionsCount: number, membersCount: number, memberIndex: number): number[] {
  const owned: number[] = [];
  for (let p = memberIndex; p < partitionsCount; p += membersCount) owned.push(p);
  return owned;
}

// The partitions `client` owns in `group`, or null when it is not a member.
export function partitionsOfMember(topic: Topic, group: ConsumerGroup, client: bigint): number[] | null {
  const index = memberIndex(group, client);
  if (index < 0) return null;
  return assignedPartitions(topic.partitions.length, group.members.length, index);
}

// The deal changes with the partition count: members must re-sync.
export function partitionsChanged(topic: Topic): void {
  for (const group of topic.groups.values()) {
    if (group.members.length > 0) group.generation++;
    redeal(topic, group);
  }
}

// After every change of members, partitions or generation: each partition's holder under the deal, stamped with
// the current generation when the holder is not the one it had.
export function redeal(topic: Topic, group: ConsumerGroup): void {
  const n = group.members.length;
  const count = topic.partitions.length;
  group.held.length = Math.min(group.held.length, count);
  for (let p = 0; p < count; p++) {
    const client = n === 0 ? null : group.members[p % n].client;
    if (group.held[p]?.client !== client) group.held[p] = { client, since: group.generation };
  }
}

// Per session: the generation of each group whose assignment a Sync last told it. Keyed by the group object, so a
// deleted and re-created group (a new object) is not seen through an old view; a state replaced wholesale by a
// snapshot (new objects) leaves its sessions unfenced until their next Sync, as if they had never synced.
export type AssignmentViews = WeakMap<ConsumerGroup, number>;

// Whether a member whose view is `view` may act on `partition` (which it holds now). A session that never synced
// has no view to be stale (a client that takes its partitions from GetConsumerGroup, or lets the server pick).
export function heldSinceView(group: ConsumerGroup, partition: number, view: number | undefined): boolean {
  if (view === undefined) return true;
  const since = group.held[partition]?.since;
  return since !== undefined && since <= view;
}
