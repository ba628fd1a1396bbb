// SendMessages (iggy-client-wire.md §8.1, §8.2): the layout checks of the request body, then the checksums through
// the core. Layout is checked here in TypeScript so every malformed body gets its own message and Iggy code; the
// checksums (§2.5) are the core's (assembly/journal/batch.ts), the same code that verifies batches on disk.
import { Reader, WireError } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { readIdentifier, readPartitioning, type Identifier, type Partitioning } from '../../shared/wire/primitives.js';
import { MAX_BATCH_BYTES } from '../io/storage-core.js';
import { CoreJournalBatch as B } from '../../shared/core-abi.generated.js';

export const BATCH_HEADER_BYTES = B.BATCH_HEADER;
export const FRAME_HEADER_BYTES = B.FRAME_HEADER;

// Iggy codes for send limits that codes.ts does not list (core/common/src/error/iggy_error.rs).
export const SendErrorCode = {
  tooManyMessages: 4023, // TooManyMessages: more frames than one batch may hold
  invalidMessagesSize: 4036, // InvalidMessagesSize: the batch is larger than MAX_BATCH_BYTES
} as const;

// The core's batch checksum hashes 44 header bytes plus 8 bytes per frame in the 1 MiB scratch of StorageCore
// (batchVerify refuses more as BATCH_TOO_MANY_MESSAGES); a batch the core cannot hash is refused at the door.
export const MAX_BATCH_MESSAGES = Math.floor(((1 << 20) - 44) / 8);

export interface SendMessagesRequest {
  stream: Identifier;
  topic: Identifier;
  partitioning: Partitioning;
  messagesCount: number;
  batch: Uint8Array; // a view into `body`: the whole batch, header included
}

export function decodeSendMessages(body: Uint8Array): SendMessagesRequest {
  const r = new Reader(body);
  const metadataLength = r.u32('metadata_length');
  const metadataStart = r.offset;
  const stream = readIdentifier(r, 'stream_id');
  const topic = readIdentifier(r, 'topic_id');
  const partitioning = readPartitioning(r);
  const messagesCount = r.u32('messages_count');
  if (r.offset - metadataStart !== metadataLength) {
    throw new WireError(`SendMessages: metadata_length ${metadataLength} but its four fields take ${r.offset - metadataStart} byte(s)`);
  }
  const batch = r.rest();
  checkBatchLayout(batch, messagesCount);
  return { stream, topic, partitioning, messagesCount, batch };
}

// Everything about the batch that is not a checksum, in the order a reader meets it.
function checkBatchLayout(batch: Uint8Array, messagesCount: number): void {
  if (batch.length > MAX_BATCH_BYTES) {
    throw new WireError(`SendMessages: batch of ${batch.length} bytes exceeds the ${MAX_BATCH_BYTES}-byte limit`, SendErrorCode.invalidMessagesSize);
  }
  if (batch.length < BATCH_HEADER_BYTES) {
    throw new WireError(`SendMessages: ${batch.length} byte(s) after the metadata, a batch header alone is ${BATCH_HEADER_BYTES}`);
  }
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const batchLength = view.getBigUint64(B.B_LENGTH, true);
  if (batchLength !== BigInt(batch.length)) {
    throw new WireError(`SendMessages: batch_length ${batchLength} but ${batch.length} byte(s) remain in the body`);
  }
  const count = view.getUint32(B.B_COUNT, true);
  if (count === 0 || messagesCount === 0) {
    throw new WireError(`SendMessages: message_count ${count}, messages_count ${messagesCount}: at least one message is required`, ErrorCode.invalidMessagesCount);
  }
  if (count !== messagesCount) {
    throw new WireError(`SendMessages: batch message_count ${count} differs from messages_count ${messagesCount}`, ErrorCode.invalidMessagesCount);
  }
  if (count > MAX_BATCH_MESSAGES) {
    throw new WireError(`SendMessages: ${count} messages in one batch, at most ${MAX_BATCH_MESSAGES}`, SendErrorCode.tooManyMessages);
  }
  for (let at = B.B_RESERVED; at < BATCH_HEADER_BYTES; at += 4) {
    if (view.getUint32(at, true) !== 0) throw new WireError(`SendMessages: batch header reserved bytes ${B.B_RESERVED}..${BATCH_HEADER_BYTES - 1} are not zero (byte ${at}..${at + 3})`);
  }
  checkFrames(view, count);
}

// Frames must tile the batch exactly: `count` frames, each inside the batch, the last ending at its end.
function checkFrames(view: DataView, count: number): void {
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (view.byteLength - at < FRAME_HEADER_BYTES) {
      throw new WireError(`SendMessages: frame ${i} of ${count} at batch byte ${at}: ${view.byteLength - at} byte(s) left, a frame header is ${FRAME_HEADER_BYTES}`);
    }
    const offsetDelta = view.getUint32(at + B.F_OFFSET_DELTA, true);
    const headersLength = view.getUint32(at + B.F_USER_HEADERS_LEN, true);
    const payloadLength = view.getUint32(at + B.F_PAYLOAD_LEN, true);
    // The server numbers messages by their place in the batch (offset = base_offset + index); a frame claiming
    // another offset_delta would be served under an offset it was not stored at.
    if (offsetDelta !== i) throw new WireError(`SendMessages: frame ${i} at batch byte ${at} has offset_delta ${offsetDelta}, expected ${i}`);
    if (view.getBigUint64(at + B.F_RESERVED, true) !== 0n) throw new WireError(`SendMessages: frame ${i} at batch byte ${at}: reserved bytes ${B.F_RESERVED}..${FRAME_HEADER_BYTES - 1} are not zero`);
    if (payloadLength === 0) throw new WireError(`SendMessages: frame ${i} at batch byte ${at} has an empty payload`, ErrorCode.emptyMessagePayload);
    const frameLength = FRAME_HEADER_BYTES + payloadLength + headersLength;
    if (frameLength > view.byteLength - at) {
      throw new WireError(`SendMessages: frame ${i} at batch byte ${at} is ${frameLength} bytes, only ${view.byteLength - at} left in the batch`);
    }
    at += frameLength;
  }
  if (at !== view.byteLength) {
    throw new WireError(`SendMessages: ${count} frame(s) end at batch byte ${at}, the batch has ${view.byteLength - at} more byte(s)`);
  }
}

const { BATCH_OK, BATCH_FRAME_CHECKSUM, BATCH_CHECKSUM } = B;

// A batch's verdict from the core's checksum verification (PartitionHome.verify, or AppendResult.refused of an
// unverified append) as the wire status: 0, 4027 (a frame) or 4039 (the batch). The batch passed
// decodeSendMessages, so no other verdict can reach here.
export function checksumStatus(verdict: number): 0 | 4027 | 4039 {
  if (verdict === BATCH_OK) return 0;
  if (verdict === BATCH_FRAME_CHECKSUM) return ErrorCode.invalidMessageChecksum;
  if (verdict === BATCH_CHECKSUM) return ErrorCode.invalidBatchChecksum;
  throw new Error(`batch verdict ${verdict} is not a checksum verdict`);
}
