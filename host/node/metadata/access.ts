// The one rule for every command that names a stream (and a topic): a caller who may not perform the command's
// action there is answered 41 whether or not the target exists. Asking for "not found" first would answer a
// missing name differently from an existing one the caller may not touch, and so tell an unprivileged caller
// which names exist. Permissions on a missing target are asked as far as its ids are known: a numeric id is
// (a per-stream grant on id 7 may learn that 7 is gone), the name of a missing object is not (only the global
// grants speak for it).
import { Operation } from '../../shared/wire/codes.js';
import type { Identifier } from '../../shared/wire/primitives.js';
import { allowed, type PermissionAction } from './permissions.js';
import type { MetadataState } from './state.js';
import type { StreamsRequest } from './stream-requests.js';
import { topicOf, type Stream, type Topic } from './streams.js';

export type StreamAccess = { ok: true; stream: Stream } | { ok: false; missing: null | 'stream' };
export type TopicAccess = { ok: true; stream: Stream; topic: Topic } | { ok: false; missing: null | 'stream' | 'topic' };

const numericOnly = (id: Identifier): number | undefined => (id.kind === 'numeric' ? id.id : undefined);

// `missing: null` = refused (41); otherwise the level that does not exist, for a caller who may act there.
export function accessStream(state: MetadataState, userId: number, action: PermissionAction, streamId: Identifier): StreamAccess {
  const stream = state.streams.stream(streamId);
  if (!allowed(state.users, userId, action, stream?.id ?? numericOnly(streamId))) return { ok: false, missing: null };
  return stream ? { ok: true, stream } : { ok: false, missing: 'stream' };
}

export function accessTopic(state: MetadataState, userId: number, action: PermissionAction, streamId: Identifier, topicId: Identifier): TopicAccess {
  const stream = state.streams.stream(streamId);
  const topic = stream && topicOf(stream, topicId);
  const ids = [stream?.id ?? numericOnly(streamId), topic?.id ?? numericOnly(topicId)] as const;
  if (!allowed(state.users, userId, action, ...ids)) return { ok: false, missing: null };
  if (!stream) return { ok: false, missing: 'stream' };
  return topic ? { ok: true, stream, topic } : { ok: false, missing: 'topic' };
}

// The permission a streams op needs (the reference's permissioner rules).
export function streamsRequestAction(req: StreamsRequest): PermissionAction {
  switch (req.operation) {
    case Operation.createStream:
    case Operation.updateStream:
    case Operation.deleteStream:
    case Operation.purgeStream:
      return 'manage_streams';
    // Iggy's permissioner lets anyone who may read the topic join or leave its groups
    // (core/server permissioner_rules/consumer_groups.rs: join/leave -> get_topic).
    case Operation.joinConsumerGroup:
    case Operation.leaveConsumerGroup:
      return 'read_topics';
    default:
      return 'manage_topics';
  }
}

// Whether `userId` may propose `req` as the state stands: asked by the home shard before proposing, and again by
// every shard when the op is applied (a grant revoked, or a user deleted, in between must not let it through). A
// caller who may act on the target learns that it is missing from the committed op's rejection.
export function streamsRequestAllowed(state: MetadataState, userId: number, req: StreamsRequest): boolean {
  const action = streamsRequestAction(req);
  if (!('stream' in req)) return allowed(state.users, userId, action);
  const access = 'topic' in req ? accessTopic(state, userId, action, req.stream, req.topic) : accessStream(state, userId, action, req.stream);
  return access.ok || access.missing !== null;
}
