// The pre-consensus check of a streams op on the home shard: the body must decode completely (so every shard's
// apply sees a well-formed body), static limits hold, and the caller has the permission. Whether the target
// exists is the state machine's business (a committed rejection), not checked here.
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import { accessStream, accessTopic } from './access.js';
import { allowed, type PermissionAction } from './permissions.js';
import type { MetadataState } from './state.js';
import { decodeStreamsRequest, type StreamsRequest } from './stream-requests.js';
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
  if (!mayRequest(state, session.userId, action, request)) {
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

// The permission is asked of the target as it exists now (access.ts): a caller who may not act there is refused
// whether or not it exists; one who may learns "not found" from the committed op.
function mayRequest(state: MetadataState, userId: number, action: PermissionAction, req: StreamsRequest): boolean {
  if (!('stream' in req)) return allowed(state.users, userId, action);
  const access = 'topic' in req ? accessTopic(state, userId, action, req.stream, req.topic) : accessStream(state, userId, action, req.stream);
  return access.ok || access.missing !== null;
}
