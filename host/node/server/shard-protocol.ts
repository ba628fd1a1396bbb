// Payloads of the messages shards exchange for client work (carried by the mailbox over the rings). The ring
// frame's kind picks the lane and the handler; the first payload byte picks the method.
//   METADATA_SUBMIT     home -> shard 0    Register / Propose            reply: RegisterReply / ProposeReply
//   METADATA_COMMIT_TICK shard 0 -> all    Committed op / Snapshot       (no reply)
//   CONSENSUS/PARTITION home -> owner      Send / StoreOffset / DeleteOffset   reply: PartitionReply
//   PARTITION_READ      home -> owner      Poll / GetOffset / PartitionAdmin    reply: PartitionReply
//   FORWARD_CLIENT_SEND reply lane         replies (correlation != 0), partition stats notices (correlation 0)
import { Reader, Writer } from '../../shared/wire/buffer.js';
import type { CommittedOp, PartitionStats } from '../metadata/types.js';

export const Method = {
  register: 1,
  propose: 2,
  committed: 3,
  snapshot: 4,
  send: 5,
  storeOffset: 6,
  deleteOffset: 7,
  poll: 8,
  getOffset: 9,
  stats: 10,
  clientList: 11,
  sendShared: 12, // a send whose batch lies in the shared memory (the home shard's frame arena): address, length
  appliedBarrier: 13, // answered once the receiving shard has applied a metadata op, its data actions included
  booted: 14, // a shard has opened its partitions from the hand-off and published their stats (to shard 0)
  loginThrottle: 15, // a serving shard asks the node's failed-login throttle on shard 0 (login-gate.ts)
} as const;

export function methodOf(payload: Uint8Array): number {
  return payload[0];
}

// --- metadata ---------------------------------------------------------------------------------------------

export interface ProposeRequest {
  client: bigint;
  session: bigint;
  request: bigint;
  operation: number;
  userId: number;
  body: Uint8Array;
}

export function encodeRegister(client: bigint): Uint8Array {
  return new Writer(17).u8(Method.register).u128(client).finish();
}

export function decodeRegister(r: Reader): bigint {
  return r.u128('client');
}

export function encodeRegisterReply(status: number, session: bigint): Uint8Array {
  return new Writer(12).u32(status).u64(session).finish();
}

export function decodeRegisterReply(bytes: Uint8Array): { status: number; session: bigint } {
  const r = new Reader(bytes);
  return { status: r.u32('status'), session: r.u64('session') };
}

export function encodePropose(p: ProposeRequest): Uint8Array {
  return new Writer(48 + p.body.length).u8(Method.propose).u128(p.client).u64(p.session).u64(p.request)
    .u8(p.operation).u32(p.userId).bytes(p.body).finish();
}

export function decodePropose(r: Reader): ProposeRequest {
  return {
    client: r.u128('client'), session: r.u64('session'), request: r.u64('request'), operation: r.u8('operation'),
    userId: r.u32('user id'), body: r.rest(),
  };
}

// status: the consensus verdict (0 = committed); result/payload: the state machine's answer when committed.
export interface ProposeReply {
  status: number;
  op: number;
  result: number;
  payload: Uint8Array;
}

// A propose reply's status that is not a core ReplyStatus: this replica is not the metadata group's primary (a
// backup of a cluster), so nothing was proposed. The client is answered TransientNotAccepted.
export const PROPOSE_NOT_PRIMARY = 0xffff_ffff;
// The proposal was prepared, then this replica stopped being the primary before it committed: the new view may
// still commit it (outcome unknown). The client is answered TransientNotCommitted and retries.
export const PROPOSE_NOT_COMMITTED = 0xffff_fffe;

export function encodeProposeReply(p: ProposeReply): Uint8Array {
  return new Writer(20 + p.payload.length).u32(p.status).u64(p.op).u32(p.result).bytes(p.payload).finish();
}

export function decodeProposeReply(bytes: Uint8Array): ProposeReply {
  const r = new Reader(bytes);
  return { status: r.u32('status'), op: Number(r.u64('op')), result: r.u32('result'), payload: r.rest() };
}

export function encodeCommitted(op: CommittedOp): Uint8Array {
  return new Writer(48 + op.body.length).u8(Method.committed).u64(op.op).u8(op.operation).u64(op.timestampMicros)
    .u128(op.client).u32(op.userId).bytes(op.body).finish();
}

export function decodeCommitted(r: Reader): CommittedOp {
  return {
    op: Number(r.u64('op')), operation: r.u8('operation'), timestampMicros: Number(r.u64('timestamp')),
    client: r.u128('client'), userId: r.u32('user id'), body: r.rest(),
  };
}

export function encodeSnapshotMessage(snapshot: Uint8Array): Uint8Array {
  return new Writer(1 + snapshot.length).u8(Method.snapshot).bytes(snapshot).finish();
}

// --- partitions -------------------------------------------------------------------------------------------

// Every partition request names the metadata op its home shard had applied: the owner handles it only after it
// has applied that op too (the partition may have been created by it).
export interface PartitionTarget {
  appliedOp: number;
  streamId: number;
  topicId: number;
  partitionId: number;
}

export interface ConsumerRef {
  kind: 1 | 2; // single consumer, consumer group
  id: number;
}

export type PartitionRequest =
  | { method: typeof Method.send; target: PartitionTarget; batch: Uint8Array }
  | { method: typeof Method.storeOffset; target: PartitionTarget; consumer: ConsumerRef; offset: number }
  | { method: typeof Method.deleteOffset; target: PartitionTarget; consumer: ConsumerRef }
  | { method: typeof Method.poll; target: PartitionTarget; consumer: ConsumerRef; strategy: number; value: bigint; count: number; autoCommit: boolean }
  | { method: typeof Method.getOffset; target: PartitionTarget; consumer: ConsumerRef };

// method u8, applied op u64, stream, topic, partition u32: what precedes the batch of a send request.
const SEND_HEAD_BYTES = 21;

// A send request written into the `SEND_HEAD_BYTES` in front of `batch` when its buffer has them, instead of
// copying a batch of up to 16 MiB behind a new header: the caller's batch is a view into a client frame that was
// decoded and is not read again, so the bytes before the batch are free. Without that headroom it is copied.
export function encodeSendRequestInPlace(target: PartitionTarget, batch: Uint8Array): Uint8Array {
  if (batch.byteOffset < SEND_HEAD_BYTES) return encodePartitionRequest({ method: Method.send, target, batch });
  const out = new Uint8Array(batch.buffer, batch.byteOffset - SEND_HEAD_BYTES, SEND_HEAD_BYTES + batch.length);
  const head = new Writer(SEND_HEAD_BYTES).u8(Method.send).u64(target.appliedOp).u32(target.streamId).u32(target.topicId).u32(target.partitionId).finish();
  out.set(head);
  return out;
}

// A send whose batch the owner reads where it lies in the shared memory (a frame in the home shard's arena, held
// until the reply): 29 bytes cross the ring instead of the batch.
export function encodeSharedSendRequest(target: PartitionTarget, memory: Uint8Array, batch: Uint8Array): Uint8Array {
  if (batch.buffer !== memory.buffer) throw new Error('encodeSharedSendRequest: the batch is not in the shared memory');
  return new Writer(SEND_HEAD_BYTES + 8).u8(Method.sendShared).u64(target.appliedOp).u32(target.streamId).u32(target.topicId)
    .u32(target.partitionId).u32(batch.byteOffset - memory.byteOffset).u32(batch.length).finish();
}

export function encodePartitionRequest(q: PartitionRequest): Uint8Array {
  const w = new Writer(64 + (q.method === Method.send ? q.batch.length : 0));
  w.u8(q.method).u64(q.target.appliedOp).u32(q.target.streamId).u32(q.target.topicId).u32(q.target.partitionId);
  if (q.method === Method.send) return w.bytes(q.batch).finish();
  w.u8(q.consumer.kind).u32(q.consumer.id);
  if (q.method === Method.storeOffset) w.u64(q.offset);
  if (q.method === Method.poll) w.u8(q.strategy).u64(q.value).u32(q.count).u8(q.autoCommit ? 1 : 0);
  return w.finish();
}

// `memory`: the shared memory a sendShared request's batch lies in (decoded as a send whose batch is a view of it).
export function decodePartitionRequest(bytes: Uint8Array, memory?: Uint8Array): PartitionRequest {
  const r = new Reader(bytes);
  const method = r.u8('method');
  const target: PartitionTarget = { appliedOp: Number(r.u64('applied op')), streamId: r.u32('stream'), topicId: r.u32('topic'), partitionId: r.u32('partition') };
  if (method === Method.send) return { method, target, batch: r.rest() };
  if (method === Method.sendShared) {
    const at = r.u32('address');
    const length = r.u32('length');
    if (!memory || at + length > memory.length) throw new Error(`shared send of [${at}, +${length}) outside the shared memory`);
    return { method: Method.send, target, batch: memory.subarray(at, at + length) };
  }
  const kind = r.u8('consumer kind');
  if (kind !== 1 && kind !== 2) throw new Error(`consumer kind ${kind}`);
  const consumer: ConsumerRef = { kind, id: r.u32('consumer id') };
  switch (method) {
    case Method.storeOffset: return { method, target, consumer, offset: Number(r.u64('offset')) };
    case Method.deleteOffset: return { method, target, consumer };
    case Method.getOffset: return { method, target, consumer };
    case Method.poll: return { method, target, consumer, strategy: r.u8('strategy'), value: r.u64('value'), count: r.u32('count'), autoCommit: r.u8('auto commit') === 1 };
    default: throw new Error(`unknown partition method ${method}`);
  }
}

// status 0 + the reply body the client gets (send: base offset; poll: the whole poll body; get offset: 20 B or
// empty), or an Iggy error code and an empty body.
export function encodePartitionReply(status: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, status, true);
  out.set(body, 4);
  return out;
}

export function decodePartitionReply(bytes: Uint8Array): { status: number; body: Uint8Array } {
  return { status: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true), body: bytes.subarray(4) };
}

export function encodeAppliedBarrier(op: number): Uint8Array {
  return new Writer(9).u8(Method.appliedBarrier).u64(op).finish();
}

export function decodeAppliedBarrier(payload: Uint8Array): number {
  return Number(new Reader(payload, 1).u64('op'));
}

// A partition's stats as its owner read them, numbered by the owner (one counter per owner shard, taken when the
// stats are read): a receiver keeps the highest number it saw per partition, since the notices (inbox lane) and
// the stats a send's reply carries (reply lane) can arrive in either order.
// A send's reply from the owner: the client's SendMessages answer (count, stream, topic, partition, base offset),
// then the partition's stats (writeStats).
export const SEND_REPLY_BYTES = 24;

export interface VersionedStats {
  version: number;
  stats: PartitionStats | null; // null: the partition is gone
}

export function encodeStats(namespace: bigint, s: VersionedStats): Uint8Array {
  return writeStats(new Writer(56).u8(Method.stats).u64(namespace), s).finish();
}

export function decodeStats(r: Reader): { namespace: bigint } & VersionedStats {
  const namespace = r.u64('namespace');
  return { namespace, ...readStats(r) };
}

export function writeStats(w: Writer, { version, stats }: VersionedStats): Writer {
  w.u64(version).u8(stats ? 1 : 0);
  if (stats) w.u64(stats.currentOffset).u64(stats.messagesCount).u64(stats.sizeBytes).u32(stats.segmentsCount);
  return w;
}

export function readStats(r: Reader): VersionedStats {
  const version = Number(r.u64('stats version'));
  if (r.u8('present') === 0) return { version, stats: null };
  return { version, stats: { currentOffset: Number(r.u64()), messagesCount: Number(r.u64()), sizeBytes: Number(r.u64()), segmentsCount: r.u32() } };
}
