// The deterministic state machine of the streams ops: every shard applies the same committed ops in the same
// order and must end in the same state, so nothing here reads a clock or a random source: timestamps come from
// the op. Business rejections are exactly the per-op codes of iggy-client-wire.md §5.4, plus 41 from the in-apply
// permission gate (access.ts).
import { WireError, Writer } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import type { Identifier } from '../../shared/wire/primitives.js';
import { streamsRequestAllowed } from './access.js';
import { joinGroup, leaveGroup, partitionsChanged, redeal, removeClientFromAllGroups } from './groups.js';
import { namespaceOf } from './namespace.js';
import type { MetadataState } from './state.js';
import { NO_STATS, encodeGroupDetails, encodeTopicDetails, writeStreamResponse } from './stream-encoders.js';
import { decodeStreamsRequest, type StreamsRequest } from './stream-requests.js';
import {
  MAX_PARTITIONS, MAX_STREAMS, MAX_TOPICS, groupOf, lowestFreeId, topicOf, type ConsumerGroup, type Stream, type Topic,
} from './streams.js';
import { InternalOperation, type ApplyResult, type CommittedOp } from './types.js';

const EMPTY = new Uint8Array(0);
const ok = (payload: Uint8Array = EMPTY): ApplyResult => ({ result: 0, payload });
const reject = (code: number): ApplyResult => ({ result: code, payload: EMPTY });

type Lookup<T> = { ok: true; value: T } | { ok: false; result: ApplyResult };

export function applyStreamsOp(state: MetadataState, op: CommittedOp): ApplyResult {
  let request: StreamsRequest;
  try {
    request = decodeStreamsRequest(op.operation, op.body);
  } catch (e) {
    // prepareStreamsOp decoded this body before it was proposed; a committed body that fails now is rejected
    // the same way on every shard.
    if (e instanceof WireError) return reject(e.code);
    throw e;
  }
  // The in-apply permission gate, as for the users ops (users-apply.ts): the op was allowed when its home shard
  // prepared it, but a grant revoked or a user deleted since must not let it through.
  if (!streamsRequestAllowed(state, op.userId, request)) return reject(ErrorCode.unauthorized);
  return applyRequest(state, op, request);
}

function applyRequest(state: MetadataState, op: CommittedOp, req: StreamsRequest): ApplyResult {
  const at = Math.trunc(op.timestampMicros);
  switch (req.operation) {
    case Operation.createStream: return createStream(state, op.op, at, req);
    case Operation.updateStream: return updateStream(state, req);
    case Operation.deleteStream: return deleteStream(state, req.stream);
    case Operation.purgeStream: return withStream(state, req.stream, () => ok());
    case Operation.createTopic: return createTopic(state, op.op, at, req);
    case Operation.updateTopic: return updateTopic(state, req);
    case Operation.deleteTopic: return deleteTopic(state, req.stream, req.topic);
    case Operation.purgeTopic: return withTopic(state, req.stream, req.topic, () => ok());
    case Operation.createPartitions: return withTopic(state, req.stream, req.topic, (_s, t) => addPartitions(t, req.count, op.op, at));
    case Operation.deletePartitions: return withTopic(state, req.stream, req.topic, (s, t) => deletePartitions(state, s, t, req.count));
    case Operation.deleteSegments:
      return withTopic(state, req.stream, req.topic, (_s, t) => (req.partition < t.partitions.length ? ok() : reject(ErrorCode.partitionNotFound)));
    case Operation.createConsumerGroup: return withTopic(state, req.stream, req.topic, (_s, t) => createGroup(t, req.name));
    case Operation.deleteConsumerGroup:
      return withGroup(state, req.stream, req.topic, req.group, (t, g) => {
        t.groups.delete(g.id);
        t.groupIdsByName.delete(g.name);
        return ok();
      });
    case Operation.joinConsumerGroup:
      return withGroup(state, req.stream, req.topic, req.group, (t, g) => (joinGroup(t, g, op.client), ok()));
    case Operation.leaveConsumerGroup:
      return withGroup(state, req.stream, req.topic, req.group, (t, g) => (leaveGroup(t, g, op.client) ? ok() : reject(ErrorCode.consumerGroupMemberNotFound)));
    case InternalOperation.removeConsumerGroupMember:
      removeClientFromAllGroups(state.streams, req.client);
      return ok();
  }
}

function findStream(state: MetadataState, id: Identifier): Lookup<Stream> {
  const stream = state.streams.stream(id);
  return stream ? { ok: true, value: stream } : { ok: false, result: reject(ErrorCode.streamIdNotFound) };
}

function withStream(state: MetadataState, id: Identifier, then: (s: Stream) => ApplyResult): ApplyResult {
  const s = findStream(state, id);
  return s.ok ? then(s.value) : s.result;
}

function withTopic(state: MetadataState, streamId: Identifier, topicId: Identifier, then: (s: Stream, t: Topic) => ApplyResult): ApplyResult {
  return withStream(state, streamId, (stream) => {
    const topic = topicOf(stream, topicId);
    return topic ? then(stream, topic) : reject(ErrorCode.topicIdNotFound);
  });
}

function withGroup(
  state: MetadataState, streamId: Identifier, topicId: Identifier, groupId: Identifier,
  then: (t: Topic, g: ConsumerGroup) => ApplyResult,
): ApplyResult {
  return withTopic(state, streamId, topicId, (_stream, topic) => {
    const group = groupOf(topic, groupId);
    return group ? then(topic, group) : reject(ErrorCode.consumerGroupIdNotFound);
  });
}

function createStream(state: MetadataState, opNumber: number, at: number, req: Extract<StreamsRequest, { operation: 128 }>): ApplyResult {
  const { streams } = state;
  const { name } = req;
  if (streams.streamIdsByName.has(name)) return reject(ErrorCode.streamNameAlreadyExists);
  const id = lowestFreeId(streams.streams);
  if (id >= MAX_STREAMS) return reject(ErrorCode.tooManyStreams);
  const stream: Stream = { id, createdAt: at, createdOp: opNumber, name, options: req.options, topics: new Map(), topicIdsByName: new Map() };
  streams.streams.set(id, stream);
  streams.streamIdsByName.set(name, id);
  return ok(writeStreamResponse(new Writer(), stream, NO_STATS).finish());
}

function updateStream(state: MetadataState, req: Extract<StreamsRequest, { operation: 129 }>): ApplyResult {
  const { name } = req;
  return withStream(state, req.stream, (stream) => {
    const holder = state.streams.streamIdsByName.get(name);
    if (holder !== undefined && holder !== stream.id) return reject(ErrorCode.streamNameAlreadyExists);
    state.streams.streamIdsByName.delete(stream.name);
    state.streams.streamIdsByName.set(name, stream.id);
    stream.name = name;
    stream.options = req.options;
    return ok();
  });
}

function deleteStream(state: MetadataState, id: Identifier): ApplyResult {
  return withStream(state, id, (stream) => {
    for (const topic of stream.topics.values()) forgetStats(state, stream.id, topic.id, 0, topic.partitions.length);
    state.streams.streams.delete(stream.id);
    state.streams.streamIdsByName.delete(stream.name);
    return ok();
  });
}

function createTopic(state: MetadataState, opNumber: number, at: number, req: Extract<StreamsRequest, { operation: 132 }>): ApplyResult {
  return withStream(state, req.stream, (stream) => {
    if (stream.topicIdsByName.has(req.name)) return reject(ErrorCode.topicNameAlreadyExists);
    const id = lowestFreeId(stream.topics);
    if (id >= MAX_TOPICS) return reject(ErrorCode.tooManyTopics);
    const topic: Topic = {
      id, createdAt: at, createdOp: opNumber, name: req.name, explicitOptions: req.options, settings: req.settings,
      partitions: [], groups: new Map(), groupIdsByName: new Map(),
    };
    for (let p = 0; p < req.partitionsCount; p++) topic.partitions.push({ createdAt: at, createdOp: opNumber });
    stream.topics.set(id, topic);
    stream.topicIdsByName.set(req.name, id);
    // A new topic has no data yet: the reply shows zeros whatever stats a shard still holds.
    return ok(encodeTopicDetails(stream.id, topic, NO_STATS));
  });
}

function updateTopic(state: MetadataState, req: Extract<StreamsRequest, { operation: 133 }>): ApplyResult {
  return withTopic(state, req.stream, req.topic, (stream, topic) => {
    const holder = stream.topicIdsByName.get(req.name);
    if (holder !== undefined && holder !== topic.id) return reject(ErrorCode.topicNameAlreadyExists);
    stream.topicIdsByName.delete(topic.name);
    stream.topicIdsByName.set(req.name, topic.id);
    topic.name = req.name;
    // The update carries the full set of settings the client wants: keys it leaves out return to defaults.
    topic.explicitOptions = req.options;
    topic.settings = req.settings;
    return ok();
  });
}

function deleteTopic(state: MetadataState, streamId: Identifier, topicId: Identifier): ApplyResult {
  return withTopic(state, streamId, topicId, (stream, topic) => {
    forgetStats(state, stream.id, topic.id, 0, topic.partitions.length);
    stream.topics.delete(topic.id);
    stream.topicIdsByName.delete(topic.name);
    return ok();
  });
}

function addPartitions(topic: Topic, count: number, opNumber: number, at: number): ApplyResult {
  if (topic.partitions.length + count > MAX_PARTITIONS) return reject(ErrorCode.partitionIdSpaceExhausted);
  for (let i = 0; i < count; i++) topic.partitions.push({ createdAt: at, createdOp: opNumber });
  partitionsChanged(topic);
  return ok();
}

function deletePartitions(state: MetadataState, stream: Stream, topic: Topic, count: number): ApplyResult {
  if (count > topic.partitions.length) return reject(ErrorCode.invalidPartitionsCount);
  const keep = topic.partitions.length - count;
  forgetStats(state, stream.id, topic.id, keep, topic.partitions.length);
  topic.partitions.length = keep;
  partitionsChanged(topic);
  return ok();
}

function createGroup(topic: Topic, name: string): ApplyResult {
  if (topic.groupIdsByName.has(name)) return reject(ErrorCode.consumerGroupNameAlreadyExists);
  const id = lowestFreeId(topic.groups);
  const group: ConsumerGroup = { id, name, generation: 0, members: [], held: [] };
  redeal(topic, group);
  topic.groups.set(id, group);
  topic.groupIdsByName.set(name, id);
  return ok(encodeGroupDetails(topic, group));
}

// Stats of deleted partitions must not show up under an id that gets reused.
function forgetStats(state: MetadataState, stream: number, topic: number, from: number, to: number): void {
  for (let p = from; p < to; p++) state.partitionStats.delete(namespaceOf(stream, topic, p));
}
