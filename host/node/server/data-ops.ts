// Committed metadata ops that act on partition data without changing metadata (PurgeStream, PurgeTopic,
// DeleteSegments): which partitions they name, resolved against the committed state.
import { Reader } from '../../shared/wire/buffer.js';
import { Operation } from '../../shared/wire/codes.js';
import { readIdentifier } from '../../shared/wire/primitives.js';
import type { MetadataState } from '../metadata/state.js';
import { groupOf, topicOf } from '../metadata/streams.js';
import type { CommittedOp } from '../metadata/types.js';

export interface DataTarget {
  streamId: number;
  topicId?: number; // undefined: every topic of the stream
  partitionId?: number; // undefined: every partition of the topic
  segments?: number; // DeleteSegments: how many of the oldest; undefined: purge everything
  group?: number; // DeleteConsumerGroup: drop this group's offsets (a new group may get the same id)
}

// The operations that act on partition data. Their data actions run when the op is applied on the owning shard
// and are not replayed at boot.
const DATA_OPERATIONS: readonly number[] = [Operation.purgeStream, Operation.purgeTopic, Operation.deleteSegments, Operation.deleteConsumerGroup];

export function actsOnData(operation: number): boolean {
  return DATA_OPERATIONS.includes(operation);
}

// Resolved before the op is applied: a deleted group cannot be found by name afterwards.
export function dataTargetsOf(state: MetadataState, op: CommittedOp): DataTarget[] {
  if (!actsOnData(op.operation)) return [];
  const r = new Reader(op.body);
  const stream = state.streams.stream(readIdentifier(r, 'stream id'));
  if (!stream) return [];
  if (op.operation === Operation.purgeStream) return [{ streamId: stream.id }];
  const topic = topicOf(stream, readIdentifier(r, 'topic id'));
  if (!topic) return [];
  if (op.operation === Operation.purgeTopic) return [{ streamId: stream.id, topicId: topic.id }];
  if (op.operation === Operation.deleteConsumerGroup) {
    const group = groupOf(topic, readIdentifier(r, 'group id'));
    return group ? [{ streamId: stream.id, topicId: topic.id, group: group.id }] : [];
  }
  return [{ streamId: stream.id, topicId: topic.id, partitionId: r.u32('partition id'), segments: r.u32('segments count') }];
}
