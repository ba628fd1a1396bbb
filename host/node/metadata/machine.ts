// The metadata state machine's entry points, by operation and command code: which half (streams or users)
// prepares, applies and reads what. The connection layer and shard 0's metadata log call only these.
import { Reader, Writer } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { applyStreamsOp, prepareStreamsOp, readStreamsCommand, encodeStreamsSnapshot, decodeStreamsSnapshot, clearAllMembers } from './streams-api.js';
import { applyUsersOp, prepareUsersOp, readUsersCommand, encodeUsersSnapshot, decodeUsersSnapshot } from './users-api.js';
import { createMetadataState, type MetadataState } from './state.js';
import { InternalOperation, type ApplyResult, type CommittedOp, type Prepared, type ReadResult, type Session } from './types.js';

const USER_OPERATIONS = new Set([141, 142, 143, 144, 145, 146, 147, InternalOperation.bootstrapRoot]);
const USER_READS = new Set([31, 32, 41]);
const STREAM_READS = new Set([13, 200, 201, 300, 301, 600, 601, 606]);
const SNAPSHOT_VERSION = 1;

export function applyOp(state: MetadataState, op: CommittedOp): ApplyResult {
  if (op.op <= state.appliedOp) throw new Error(`metadata: op ${op.op} applied twice (applied up to ${state.appliedOp})`);
  const result = USER_OPERATIONS.has(op.operation) ? applyUsersOp(state, op) : applyStreamsOp(state, op);
  state.appliedOp = op.op;
  return result;
}

export async function prepareOp(state: MetadataState, session: Session, operation: number, body: Uint8Array): Promise<Prepared> {
  if (USER_OPERATIONS.has(operation)) return prepareUsersOp(state, session, operation, body);
  return prepareStreamsOp(state, session, operation, body);
}

export function readCommand(state: MetadataState, session: Session, code: number, body: Uint8Array): ReadResult | null {
  if (USER_READS.has(code)) return readUsersCommand(state, session, code, body);
  if (STREAM_READS.has(code)) return readStreamsCommand(state, session, code, body);
  return null;
}

// The replicated part of the state (partition stats are not: owners push them).
export function encodeSnapshot(state: MetadataState): Uint8Array {
  const streams = encodeStreamsSnapshot(state.streams);
  const users = encodeUsersSnapshot(state.users);
  return new Writer(32 + streams.length + users.length)
    .u32(SNAPSHOT_VERSION).u64(state.appliedOp).lenBytes32(streams).lenBytes32(users).finish();
}

export function decodeSnapshot(bytes: Uint8Array): MetadataState {
  const r = new Reader(bytes);
  const version = r.u32('snapshot version');
  if (version !== SNAPSHOT_VERSION) throw new Error(`metadata snapshot version ${version}, expected ${SNAPSHOT_VERSION}`);
  const state = createMetadataState();
  state.appliedOp = Number(r.u64('applied op'));
  state.streams = decodeStreamsSnapshot(r.bytes(r.u32('streams length'), 'streams'));
  state.users = decodeUsersSnapshot(r.bytes(r.u32('users length'), 'users'));
  r.done('metadata snapshot');
  return state;
}

export { clearAllMembers, ErrorCode };
