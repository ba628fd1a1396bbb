// Data-path target resolution: which partition a send, poll or offset command addresses, checked against this
// shard's committed metadata (iggy-client-wire.md §8.1, §8.4–8.6, §9). Error shapes differ per command: send
// and offset writes answer 20 for any unresolvable target, polls name the missing level, offset reads answer
// an empty body for an unknown stream or topic. A caller without the permission is answered 41 before any of
// them, whether the target exists or not (access.ts).
import { utf8 } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import type { Consumer, Identifier, Partitioning } from '../../shared/wire/primitives.js';
import { xxh32 } from '../../shared/xxh32.js';
import { accessTopic, type TopicAccess } from './access.js';
import { heldSinceView, partitionsOfMember } from './groups.js';
import { namespaceOf } from './namespace.js';
import type { MetadataState } from './state.js';
import { groupOf, type Stream, type StreamsState, type Topic } from './streams.js';
import type { Session } from './types.js';

export { namespaceOf };

export interface Target {
  ok: true;
  streamId: number;
  topicId: number;
  partitionId: number;
  namespace: bigint;
}

export type TargetFailure = { ok: false; status: number; message: string };
export type SendTarget = Target | TargetFailure;

export type PollPurpose = 'poll' | 'get-offset' | 'store-offset' | 'delete-offset';
export type PollTarget =
  | (Target & { consumerKind: 1 | 2; consumerId: number })
  | TargetFailure
  | { ok: false; status: 0; emptyPoll: true };

const failure = (status: number, message: string): TargetFailure => ({ ok: false, status, message });

function refused(access: Extract<TopicAccess, { ok: false }>, session: Session, action: string, codes: { stream: number; topic: number }): TargetFailure {
  if (access.missing === null) return failure(ErrorCode.unauthorized, `user ${session.userId} lacks ${action}`);
  return failure(codes[access.missing], `${access.missing} not found`);
}

// Balanced sends: one round-robin counter per topic on this shard. Not replicated and need not agree between
// shards; keyed by the state object so separate states (tests, a reloaded snapshot) start afresh.
const roundRobin = new WeakMap<StreamsState, Map<string, number>>();

function nextBalanced(streams: StreamsState, stream: Stream, topic: Topic): number {
  let counters = roundRobin.get(streams);
  if (!counters) roundRobin.set(streams, (counters = new Map()));
  const key = `${stream.id}/${topic.id}/${topic.createdOp}`;
  const next = counters.get(key) ?? 0;
  counters.set(key, (next + 1) % topic.partitions.length);
  return next % topic.partitions.length;
}

export function resolveSendTarget(
  state: MetadataState, session: Session, streamId: Identifier, topicId: Identifier, partitioning: Partitioning,
): SendTarget {
  const access = accessTopic(state, session.userId, 'send_messages', streamId, topicId);
  if (!access.ok) return refused(access, session, 'send_messages', { stream: ErrorCode.resourceNotFound, topic: ErrorCode.resourceNotFound });
  const { stream, topic } = access;
  const count = topic.partitions.length;
  if (count === 0) return failure(ErrorCode.resourceNotFound, 'topic has no partitions');
  let partitionId: number;
  if (partitioning.kind === 'partition') partitionId = partitioning.partition;
  else if (partitioning.kind === 'key') partitionId = xxh32(partitioning.key) % count;
  else partitionId = nextBalanced(state.streams, stream, topic);
  if (partitionId >= count) return failure(ErrorCode.resourceNotFound, `partition ${partitionId} not found`);
  return { ok: true, streamId: stream.id, topicId: topic.id, partitionId, namespace: namespaceOf(stream.id, topic.id, partitionId) };
}

export function resolvePollTarget(
  state: MetadataState, session: Session, consumer: Consumer, streamId: Identifier, topicId: Identifier,
  partition: number | null, purpose: PollPurpose,
): PollTarget {
  const codes = MISSING[purpose];
  const access = accessTopic(state, session.userId, 'poll_messages', streamId, topicId);
  if (!access.ok) return refused(access, session, 'poll_messages', codes);
  const { stream, topic } = access;
  const found = (partitionId: number, consumerKind: 1 | 2, consumerId: number): PollTarget => {
    if (partitionId >= topic.partitions.length) return failure(codes.partition, `partition ${partitionId} not found`);
    return { ok: true, streamId: stream.id, topicId: topic.id, partitionId, namespace: namespaceOf(stream.id, topic.id, partitionId), consumerKind, consumerId };
  };
  if (consumer.kind === 'consumer') return found(partition ?? 0, 1, singleConsumerId(consumer.id));

  const group = groupOf(topic, consumer.id);
  if (!group) return failure(codes.group, 'consumer group not found');
  if (partition !== null && partition >= topic.partitions.length) return failure(codes.partition, `partition ${partition} not found`);
  const owned = partitionsOfMember(topic, group, session.client) ?? [];
  // Reading a group's stored offset needs no ownership; everything else acts for the member on its partitions.
  if (purpose === 'get-offset' && partition !== null) return found(partition, 2, group.id);
  const chosen = partition ?? owned[0];
  const ours = chosen !== undefined && owned.includes(chosen);
  // A partition the member got after its last Sync: its position there is stale (groups.ts). Answered as a
  // partition it does not own, which has the SDKs re-sync (polls) or treat the commit as another member's (§9.2).
  if (ours && (purpose === 'get-offset' || heldSinceView(group, chosen, session.views?.get(group)))) return found(chosen, 2, group.id);
  if (purpose === 'poll') return { ok: false, status: 0, emptyPoll: true };
  if (purpose === 'get-offset') return failure(0, 'the member owns no partition');
  if (ours) return failure(ErrorCode.resourceNotFound, `partition ${chosen} came to this member after its last sync`);
  return failure(ErrorCode.resourceNotFound, `partition ${chosen ?? '(none)'} is not assigned to this member`);
}

// Status per missing level; 0 = answer with an empty body (GetConsumerOffset on an unknown stream or topic).
const MISSING: Record<PollPurpose, { stream: number; topic: number; partition: number; group: number }> = {
  poll: { stream: ErrorCode.streamIdNotFound, topic: ErrorCode.topicIdNotFound, partition: ErrorCode.partitionNotFound, group: ErrorCode.consumerGroupIdNotFound },
  'get-offset': { stream: 0, topic: 0, partition: ErrorCode.partitionNotFound, group: ErrorCode.consumerGroupIdNotFound },
  'store-offset': { stream: 20, topic: 20, partition: 20, group: 20 },
  'delete-offset': { stream: 20, topic: 20, partition: 20, group: 20 },
};

// §9.1: a numeric consumer id is used as is, a string id is hashed.
export function singleConsumerId(id: Identifier): number {
  return id.kind === 'numeric' ? id.id : xxh32(utf8.encode(id.name));
}
