// Message batches (iggy-client-wire.md §8.2) as the client builds them for SendMessages and reads them back from
// PollMessages replies: a 256-byte batch header, then frames of a 48-byte header + payload + user headers.
import { randomUUID } from 'node:crypto';
import { Reader, Writer, utf8 } from '../shared/wire/buffer.js';
import { readTlvBlock, writeTlvBlock, type TlvEntry } from '../shared/wire/primitives.js';
import { ErrorCode } from '../shared/wire/codes.js';
import { IggyError } from './errors.js';
import { xxh3_64 } from './xxh3.js';

export const BATCH_HEADER_SIZE = 256;
export const FRAME_HEADER_SIZE = 48;

export interface MessageInput {
  payload: Uint8Array | string;
  id?: bigint; // absent or 0 → a random UUIDv4, as the Node SDK does
  headers?: TlvEntry[];
  originTimestamp?: bigint; // µs since the epoch; default: now
}

export interface Message {
  offset: bigint;
  id: bigint;
  timestamp: bigint; // broker append time of the batch (µs)
  originTimestamp: bigint;
  checksum: bigint;
  payload: Uint8Array;
  headers: TlvEntry[];
}

export const nowMicros = (): bigint => BigInt(Date.now()) * 1000n;

function randomUuid(): bigint {
  return BigInt(`0x${randomUUID().replaceAll('-', '')}`);
}

// How a batch's checksums are computed: xxh3-64 here in JS, or the server's WebAssembly one when it builds batches
// for its REST API.
export type Hash64 = (bytes: Uint8Array) => bigint;

function frameBytes(m: MessageInput, index: number, timestampDelta: bigint, hash: Hash64): Uint8Array {
  const payload = typeof m.payload === 'string' ? utf8.encode(m.payload) : m.payload;
  const headers = writeTlvBlock(new Writer(), m.headers ?? []).finish();
  const w = new Writer(FRAME_HEADER_SIZE + payload.length + headers.length);
  w.u64(0n).u128(m.id && m.id !== 0n ? m.id : randomUuid()).u32(index).u32(Number(timestampDelta));
  w.u32(headers.length).u32(payload.length).u64(0n).bytes(payload).bytes(headers);
  const frame = w.finish();
  new DataView(frame.buffer).setBigUint64(0, hash(frame.subarray(8)), true);
  return frame;
}

// The batch checksum covers header bytes 0..39, the message count (48..51) and every frame's checksum in order.
export function batchChecksum(batch: Uint8Array, frameChecksums: Uint8Array[], hash: Hash64 = xxh3_64): bigint {
  const w = new Writer(44 + 8 * frameChecksums.length);
  w.bytes(batch.subarray(0, 40)).bytes(batch.subarray(48, 52));
  for (const c of frameChecksums) w.bytes(c);
  return hash(w.finish());
}

export function buildBatch(messages: MessageInput[], now = nowMicros(), hash: Hash64 = xxh3_64): Uint8Array {
  if (messages.length === 0) throw new IggyError(ErrorCode.invalidMessagesCount, 'a batch needs at least one message');
  const origins = messages.map((m) => m.originTimestamp ?? now);
  const origin = origins.reduce((a, b) => (b < a ? b : a));
  const frames = messages.map((m, i) => {
    const delta = origins[i] - origin;
    if (delta > 0xffff_ffffn) throw new IggyError(ErrorCode.invalidFormat, `message ${i}: origin timestamp ${delta} µs after the batch's`);
    return frameBytes(m, i, delta, hash);
  });
  const length = BATCH_HEADER_SIZE + frames.reduce((sum, f) => sum + f.length, 0);
  const w = new Writer(length);
  w.u64(0n).u64(0n).u64(0n).u64(origin).u64(length).u64(0n).u32(messages.length).bytes(new Uint8Array(204));
  for (const f of frames) w.bytes(f);
  const batch = w.finish();
  const checksum = batchChecksum(batch, frames.map((f) => f.subarray(0, 8)), hash);
  new DataView(batch.buffer).setBigUint64(40, checksum, true);
  return batch;
}

// Reads the frames of one record (a stored batch or a slice of one). With `verify`, frame and batch checksums
// are recomputed (4027 / 4039 on a mismatch).
export function readBatch(bytes: Uint8Array, verify: boolean): Message[] {
  const r = new Reader(bytes);
  r.u64('partition id');
  const baseOffset = r.u64('base offset');
  const baseTimestamp = r.u64('base timestamp');
  const originTimestamp = r.u64('origin timestamp');
  const length = r.u64('batch length');
  const checksum = r.u64('batch checksum');
  const count = r.u32('message count');
  if (length !== BigInt(bytes.length)) throw new IggyError(ErrorCode.invalidCommand, `batch length ${length} but the record has ${bytes.length} bytes`);
  r.bytes(204, 'batch reserved');
  const messages: Message[] = [];
  const frameChecksums: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.offset;
    const frameChecksum = r.u64('frame checksum');
    const id = r.u128('message id');
    const offsetDelta = r.u32('offset delta');
    const timestampDelta = r.u32('timestamp delta');
    const headersLength = r.u32('user headers length');
    const payloadLength = r.u32('payload length');
    r.u64('frame reserved');
    const payload = r.bytes(payloadLength, 'payload');
    const headerBytes = r.bytes(headersLength, 'user headers');
    if (verify && xxh3_64(bytes.subarray(start + 8, r.offset)) !== frameChecksum) {
      throw new IggyError(ErrorCode.invalidMessageChecksum, `message at offset ${baseOffset + BigInt(offsetDelta)}`);
    }
    frameChecksums.push(bytes.subarray(start, start + 8));
    const headers = readTlvBlock(new Reader(headerBytes), headerBytes.length, 'user headers');
    messages.push({
      offset: baseOffset + BigInt(offsetDelta), id, timestamp: baseTimestamp,
      originTimestamp: originTimestamp + BigInt(timestampDelta), checksum: frameChecksum, payload, headers,
    });
  }
  r.done('batch');
  if (verify && batchChecksum(bytes, frameChecksums) !== checksum) {
    throw new IggyError(ErrorCode.invalidBatchChecksum, `batch at base offset ${baseOffset}`);
  }
  return messages;
}

export interface PolledMessages {
  partitionId: number;
  currentOffset: bigint;
  count: number;
  messages: Message[];
}

// §8.5: a 16-byte head, then records back to back, each sized by its own batch_length.
export function readPollReply(body: Uint8Array, verify = false): PolledMessages {
  const r = new Reader(body);
  const partitionId = r.u32('partition id');
  const currentOffset = r.u64('current offset');
  const count = r.u32('messages count');
  const messages: Message[] = [];
  while (r.remaining > 0) {
    const start = r.offset;
    r.bytes(32, 'batch header');
    const length = Number(r.u64('batch length'));
    if (length < BATCH_HEADER_SIZE) throw new IggyError(ErrorCode.invalidCommand, `record of ${length} bytes`);
    r.offset = start;
    messages.push(...readBatch(r.bytes(length, 'record'), verify));
  }
  if (messages.length !== count) throw new IggyError(ErrorCode.invalidCommand, `poll reply announces ${count} messages, records hold ${messages.length}`);
  return { partitionId, currentOffset, count, messages };
}
