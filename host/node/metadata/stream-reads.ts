// The NonReplicated reads of streams, topics and consumer groups (iggy-client-wire.md §7.1 DescribeOptions,
// §7.4, §7.5, §7.7), answered from this shard's committed state. "Not found" takes the shape each command's
// row names: an empty body for single-object reads, a status where the spec says so. A caller without the
// permission is answered 41 first, whether the target exists or not (access.ts).
import { Reader, WireError, Writer } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { readIdentifier } from '../../shared/wire/primitives.js';
import { accessStream, accessTopic } from './access.js';
import { partitionsOfMember } from './groups.js';
import { describeOptions } from './options.js';
import { allowed, type PermissionAction } from './permissions.js';
import type { MetadataState } from './state.js';
import {
  encodeGroupDetails, encodeStreamDetails, encodeSync, encodeTopicDetails, writeGroupResponse, writeStreamResponse,
  writeTopicHeader,
} from './stream-encoders.js';
import { byId, groupOf, type Topic } from './streams.js';
import type { ReadResult, Session } from './types.js';

export const StreamsReadCode = {
  describeOptions: 13,
  getStream: 200,
  getStreams: 201,
  getTopic: 300,
  getTopics: 301,
  getConsumerGroup: 600,
  getConsumerGroups: 601,
  syncConsumerGroup: 606,
} as const;

const STREAMS_READ_CODES: ReadonlySet<number> = new Set(Object.values(StreamsReadCode));

export function isStreamsReadCode(code: number): boolean {
  return STREAMS_READ_CODES.has(code);
}

const body = (bytes: Uint8Array): ReadResult => ({ ok: true, body: bytes });
const EMPTY = body(new Uint8Array(0));
const fail = (status: number, message: string): ReadResult => ({ ok: false, status, message });

export function readStreamsCommand(state: MetadataState, session: Session, code: number, request: Uint8Array): ReadResult {
  try {
    return read(state, session, code, new Reader(request));
  } catch (e) {
    if (e instanceof WireError) return fail(e.code, e.message);
    throw e;
  }
}

function read(state: MetadataState, session: Session, code: number, r: Reader): ReadResult {
  const may = (action: PermissionAction, streamId?: number, topicId?: number): boolean =>
    allowed(state.users, session.userId, action, streamId, topicId);
  const denied = (action: PermissionAction): ReadResult => fail(ErrorCode.unauthorized, `user ${session.userId} lacks ${action}`);
  const stats = state.partitionStats;
  switch (code) {
    case StreamsReadCode.describeOptions:
      return body(describeOptions(r.u8('options scope')));
    case StreamsReadCode.getStream: {
      const access = accessStream(state, session.userId, 'read_streams', readIdentifier(r, 'stream id'));
      if (!access.ok) return access.missing ? EMPTY : denied('read_streams');
      return body(encodeStreamDetails(access.stream, stats));
    }
    case StreamsReadCode.getStreams: {
      if (!may('read_streams')) return denied('read_streams');
      const w = new Writer();
      for (const stream of state.streams.sortedStreams()) writeStreamResponse(w, stream, stats);
      return body(w.finish());
    }
    case StreamsReadCode.getTopic: {
      const streamId = readIdentifier(r, 'stream id');
      const access = accessTopic(state, session.userId, 'read_topics', streamId, readIdentifier(r, 'topic id'));
      if (!access.ok) return access.missing ? EMPTY : denied('read_topics');
      return body(encodeTopicDetails(access.stream.id, access.topic, stats));
    }
    case StreamsReadCode.getTopics: {
      const access = accessStream(state, session.userId, 'read_topics', readIdentifier(r, 'stream id'));
      if (!access.ok && !access.missing) return denied('read_topics');
      const w = new Writer();
      if (!access.ok) return body(w.u32(0).finish()); // a missing stream lists no topics
      const topics = byId([...access.stream.topics.values()]);
      w.u32(topics.length);
      for (const topic of topics) writeTopicHeader(w, access.stream.id, topic, stats);
      return body(w.finish());
    }
    case StreamsReadCode.getConsumerGroup:
    case StreamsReadCode.getConsumerGroups:
    case StreamsReadCode.syncConsumerGroup:
      return readGroups(state, session, code, r, denied);
    default:
      return fail(ErrorCode.invalidCommand, `command ${code} is not a streams read`);
  }
}

// Group reads name a stream and a topic that must exist (status 1009 / 2010); a missing group is an empty body.
function readGroups(
  state: MetadataState, session: Session, code: number, r: Reader,
  denied: (action: PermissionAction) => ReadResult,
): ReadResult {
  const streamId = readIdentifier(r, 'stream id');
  const topicId = readIdentifier(r, 'topic id');
  const groupId = code === StreamsReadCode.getConsumerGroups ? null : readIdentifier(r, 'group id');
  const access = accessTopic(state, session.userId, 'read_topics', streamId, topicId);
  if (!access.ok && access.missing === null) return denied('read_topics');
  if (!access.ok) return access.missing === 'stream' ? fail(ErrorCode.streamIdNotFound, 'stream not found') : fail(ErrorCode.topicIdNotFound, 'topic not found');
  const { topic } = access;
  if (groupId === null) return body(listGroups(topic));
  const group = groupOf(topic, groupId);
  if (!group) return EMPTY;
  if (code === StreamsReadCode.getConsumerGroup) return body(encodeGroupDetails(topic, group));
  const owned = partitionsOfMember(topic, group, session.client);
  if (!owned) return EMPTY;
  // The member's view from now on: its polls and commits are fenced against it (groups.ts).
  session.views?.set(group, group.generation);
  return body(encodeSync(group.generation, owned));
}

function listGroups(topic: Topic): Uint8Array {
  const w = new Writer();
  for (const group of byId([...topic.groups.values()])) writeGroupResponse(w, topic, group);
  return w.finish();
}

