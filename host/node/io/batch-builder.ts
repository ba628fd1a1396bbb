// Builds wire-format batches (iggy-client-wire.md §8.2) the way a client sends them: offsets, base timestamp and
// partition zero; frame and batch checksums computed by the core. Used by tests, the bench and the crash writer.
import type { StorageCore } from './storage-core.js';
import { CoreJournalBatch as B } from '../../shared/core-abi.generated.js';

const { BATCH_HEADER, FRAME_HEADER } = B;

export interface MessageSpec {
  payload: Uint8Array;
  id?: bigint;
}

let region = 0;
let regionLen = 0;

export function buildBatch(sc: StorageCore, messages: MessageSpec[], originTimestamp = 0): Buffer {
  const length = BATCH_HEADER + messages.reduce((sum, m) => sum + FRAME_HEADER + m.payload.length, 0);
  if (length > regionLen) {
    regionLen = Math.max(length, 1 << 20);
    region = sc.alloc(regionLen);
  }
  const out = Buffer.alloc(length);
  out.writeBigUInt64LE(BigInt(originTimestamp), B.B_ORIGIN_TIMESTAMP);
  out.writeBigUInt64LE(BigInt(length), B.B_LENGTH);
  out.writeUInt32LE(messages.length, B.B_COUNT);
  let at = BATCH_HEADER;
  messages.forEach((m, i) => {
    const id = m.id ?? BigInt(i + 1);
    out.writeBigUInt64LE(id & 0xffff_ffff_ffff_ffffn, at + 8);
    out.writeBigUInt64LE(id >> 64n, at + 16);
    out.writeUInt32LE(i, at + B.F_OFFSET_DELTA);
    out.writeUInt32LE(m.payload.length, at + B.F_PAYLOAD_LEN);
    out.set(m.payload, at + FRAME_HEADER);
    at += FRAME_HEADER + m.payload.length;
  });
  sc.u8.set(out, region);
  const verdict = sc.batchSeal(region, length);
  if (verdict !== B.BATCH_OK) throw new Error(`batchSeal verdict ${verdict}`);
  out.set(sc.u8.subarray(region, region + length));
  return out;
}

// Payloads of one stored batch, in order (the batch was verified by the core when it was read).
export function batchPayloads(batch: Uint8Array): Buffer[] {
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const count = buf.readUInt32LE(B.B_COUNT);
  const out: Buffer[] = [];
  let at = BATCH_HEADER;
  for (let i = 0; i < count; i++) {
    const payloadLen = buf.readUInt32LE(at + B.F_PAYLOAD_LEN);
    const headersLen = buf.readUInt32LE(at + B.F_USER_HEADERS_LEN);
    out.push(buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + payloadLen));
    at += FRAME_HEADER + payloadLen + headersLen;
  }
  return out;
}
