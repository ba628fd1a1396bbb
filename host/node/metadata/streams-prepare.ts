// The pre-consensus check of a streams op on the home shard: the body must decode completely (so every shard's
// apply sees a well-formed body), static limits hold, and the caller has the permission. Whether the target
// exists is the state machine's business (a committed rejection), not checked here.
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import type { Identifier } from '../../shared/wire/primitives.js';
import { allowed, type PermissionAction } from './permissions.js';
import type { MetadataState } from './state.js';
import { decodeStreamsRequest, type StreamsRequest } from './stream-requests.js';
import { topicOf } from './streams.js';
import { InternalOperation, type Prepared, type Session } from './types.js';

export function prepareStreamsOp(state: MetadataState, session: Session, operation: number, body: Uint8Array): Prepared {
  if (operation === InternalOperation.removeConsumerGroupMember) {
    return { ok: false, status: ErrorCode.invalidCommand, message: 'internal operation 66 cannot be requested by a client' };
  }
  let request: StreamsRequest;
  try {
    request = decodeStreamsRequest(operation, body);
  } catch (e) {
    if (e instanceof WireError) return { ok: false, status: e.code, message: e.message };
    throw e;
  }
  const action = actionOf(request);
  const { streamId, topicId } = targetIds(state, request);
  if (!allowed(state.users, session.userId, action, streamId, topicId)) {
    return { ok: false, status: ErrorCode.unauthorized, message: `user ${session.userId} lacks ${action}` };
  }
  return { ok: true, body };
}

function actionOf(req: StreamsRequest): PermissionAction {
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

// The numeric ids of the target as far as they exist now, for per-stream / per-topic permissions. A target
// that does not exist yet is checked against the global permission only.
function targetIds(state: MetadataState, req: StreamsRequest): { streamId?: number; topicId?: number } {
  if (!('stream' in req)) return {};
  const stream = state.streams.stream(req.stream);
  const streamId = stream?.id ?? numericOnly(req.stream);
  if (!('topic' in req)) return { streamId };
  const topicId = (stream && topicOf(stream, req.topic)?.id) ?? numericOnly(req.topic);
  return { streamId, topicId };
}

const numericOnly = (id: Identifier): number | undefined => (id.kind === 'numeric' ? id.id : undefined);
