// The one rule for every command that names a stream (and a topic): a caller who may not perform the command's
// action there is answered 41 whether or not the target exists. Asking for "not found" first would answer a
// missing name differently from an existing one the caller may not touch, and so tell an unprivileged caller
// which names exist. Permissions on a missing target are asked as far as its ids are known: a numeric id is
// (a per-stream grant on id 7 may learn that 7 is gone), the name of a missing object is not (only the global
// grants speak for it).
import type { Identifier } from '../../shared/wire/primitives.js';
import { allowed, type PermissionAction } from './permissions.js';
import type { MetadataState } from './state.js';
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
