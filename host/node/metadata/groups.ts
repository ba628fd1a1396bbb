// Consumer group membership (iggy-client-wire.md §9.2). Members are VSR client ids in join order; partitions
// are dealt round-robin over them (partition i -> members[i mod n]), and every change of membership bumps the
// generation so a member's Sync can tell that its assignment moved.
import { lowestFreeId, type ConsumerGroup, type StreamsState, type Topic } from './streams.js';

export function memberIndex(group: ConsumerGroup, client: bigint): number {
  return group.members.findIndex((m) => m.client === client);
}

// Idempotent: a member that joins again keeps its place (and the generation stays).
export function joinGroup(group: ConsumerGroup, client: bigint): void {
  if (memberIndex(group, client) >= 0) return;
  const memberId = lowestFreeId(new Set(group.members.map((m) => m.memberId)));
  group.members.push({ client, memberId });
  group.generation++;
}

// False when `client` is not a member.
export function leaveGroup(group: ConsumerGroup, client: bigint): boolean {
  const index = memberIndex(group, client);
  if (index < 0) return false;
  group.members.splice(index, 1);
  group.generation++;
  return true;
}

export function removeClientFromAllGroups(state: StreamsState, client: bigint): void {
  for (const stream of state.streams.values()) {
    for (const topic of stream.topics.values()) {
      for (const group of topic.groups.values()) leaveGroup(group, client);
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
  for (const group of topic.groups.values()) if (group.members.length > 0) group.generation++;
}
