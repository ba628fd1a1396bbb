// The pre-consensus check of a streams op on the home shard: the body must decode completely (so every shard's
// apply sees a well-formed body), static limits hold, and the caller has the permission. Whether the target
// exists is the state machine's business (a committed rejection), not checked here.
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { streamsRequestAction, streamsRequestAllowed } from './access.js';
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
  const action = streamsRequestAction(request);
  if (!streamsRequestAllowed(state, session.userId, request)) {
    return { ok: false, status: ErrorCode.unauthorized, message: `user ${session.userId} lacks ${action}` };
  }
  return { ok: true, body };
}
