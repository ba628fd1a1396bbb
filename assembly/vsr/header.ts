// The 256-byte message header, laid out as Iggy's (reference §3.2). u128 checksum and client fields hold a
// 64-bit value in their low half (upper half zero) until the xxh3 switch; cluster ids likewise.
import { HEADER_SIZE, CMD_PREPARE, CMD_REPAIR_PREPARE } from "./constants";
import { checksum, checksumJoined } from "./checksum";

// Common prefix.
export const H_CHECKSUM: usize = 0;
export const H_CHECKSUM_BODY: usize = 16;
export const H_CLUSTER: usize = 32;
export const H_SIZE: usize = 48;
export const H_VIEW: usize = 52;
export const H_RELEASE: usize = 56;
export const H_COMMAND: usize = 60;
export const H_REPLICA: usize = 61;
// Inside reserved_frame (62..128): transport metadata of prepares, outside their identity checksum.
export const H_REPAIR_COMMITTED: usize = 64; // u8: RepairPrepare says "committed at the sender"
export const H_REPAIR_NONCE: usize = 72; //     u64
// A prepare's frame on a replica link may be followed by an attachment (the real body its descriptor binds: a
// metadata body, a partition batch): its length and checksum, set by the sender's host for that one send
// (replicaFrameAttach), zero everywhere else (sealPrepareFrame clears them: a stored or journaled prepare has none).
export const H_ATTACH_SIZE: usize = 80; //      u32
export const H_ATTACH_CHECKSUM: usize = 88; //  u64
export const H_FRAME_SEAL: usize = 120; //      u64: prepares' seal of bytes 48..120

// Request (client wire, routed form: group at 248).
export const R_CLIENT: usize = 128;
export const R_REQUEST_CHECKSUM: usize = 144;
export const R_TIMESTAMP: usize = 160;
export const R_REQUEST: usize = 168;
export const R_OPERATION: usize = 176;
export const R_SESSION: usize = 184;
export const R_GROUP: usize = 248;

// Prepare / RepairPrepare.
export const P_CLIENT: usize = 128;
export const P_PARENT: usize = 144;
export const P_REQUEST_CHECKSUM: usize = 160;
export const P_OP: usize = 176;
export const P_COMMIT: usize = 184;
export const P_TIMESTAMP: usize = 192;
export const P_REQUEST: usize = 200;
export const P_OPERATION: usize = 208;
export const P_GROUP: usize = 216;
export const P_SESSION: usize = 232; // in Iggy's reserved tail: the client session the request named

// PrepareOk.
export const K_PARENT: usize = 128;
export const K_PREPARE_CHECKSUM: usize = 144;
export const K_OP: usize = 160;
export const K_COMMIT: usize = 168;
export const K_GROUP: usize = 200;

// Reply. context = checksum of the prepare the reply is for (lets a client prove which op it was told about).
export const Y_REQUEST_CHECKSUM: usize = 128;
export const Y_CONTEXT: usize = 144;
export const Y_CLIENT: usize = 160;
export const Y_OP: usize = 176;
export const Y_COMMIT: usize = 184;
export const Y_TIMESTAMP: usize = 192;
export const Y_REQUEST: usize = 200;
export const Y_OPERATION: usize = 208;
export const Y_STATUS: usize = 216;
export const Y_SESSION: usize = 224;
export const Y_GROUP: usize = 232;

// Commit (heartbeat). op = the primary's head, so a backup learns about prepares it never saw.
export const C_COMMIT_CHECKSUM: usize = 128;
export const C_TIMESTAMP: usize = 144;
export const C_COMMIT: usize = 152;
export const C_CHECKPOINT: usize = 160;
export const C_GROUP: usize = 168;
export const C_OP: usize = 176;

// StartViewChange / RequestStartView.
export const S_GROUP: usize = 128;
export const S_BASE: usize = 168; //   u64: the asker's base (B_BASE)
export const S_BARRED: usize = 176; // u8: the asker is barred from formation (B_BARRED)
// A lost replica's log, for a whole cluster forming again from differing files (journal/formation.ts), in Recovery
// and a lost RecoveryResponse alike: the body is its last S_TAIL_COUNT batches (tail_match.ts entries).
export const S_TAIL: usize = 177; //       u8: 1 when the body carries the sender's tail
export const S_TAIL_COUNT: usize = 180; // u32: entries in the body
export const S_TAIL_END: usize = 184; //   u64: one past the sender's last message
export const S_NONCE: usize = 240;

// DoViewChange; body = headers from op downwards. Bit i of nack/present is about op - i.
export const D_OP: usize = 128;
export const D_COMMIT: usize = 136;
export const D_GROUP: usize = 144;
export const D_LOG_VIEW: usize = 152;
// Highest op in the sender's journal when part of it could not be loaded into its log window after a restart
// (0 otherwise): up to it, an op beyond the sender's head is unknown to it, not a nack.
export const D_JOURNAL_HEAD: usize = 160;
export const D_COUNT: usize = 156; // headers in the body
export const D_NACK: usize = 224;
export const D_PRESENT: usize = 240;

// StartView; body = headers from op downwards.
// RecoveryResponse (Recovery itself uses the S_ layout: group, nonce).
export const B_GROUP: usize = 128; // the same offset as S_GROUP
export const B_OP: usize = 136;
export const B_COMMIT: usize = 144;
export const B_COMMIT_CHECKSUM: usize = 152;
export const B_LOST: usize = 160; //  u8: the responder itself lost its state (it knows nothing)
export const B_BASE: usize = 168; //  u64: the state the responder started from, as its host fingerprints it (0: none)
export const B_BARRED: usize = 176; // u8: the responder (lost) is barred from formation (state_sync.ts)
export const B_NONCE: usize = 240; // the probe's nonce, echoed

// StateRequest and StateChunk (host to host; the group at S_GROUP). A chunk's body is `length` bytes of the
// transfer image at `offset`; the image is `total` bytes and covers ops up to `op` (prepare checksum `checksum`).
export const T_GROUP: usize = 128; // the same offset as S_GROUP
export const T_TRANSFER: usize = 136; // u64: the requester's id for this transfer (chunks of another are dropped)
export const T_OP: usize = 144;
export const T_CHECKSUM: usize = 152;
export const T_OFFSET: usize = 160; // u64
export const T_TOTAL: usize = 168; //  u64
// A partition's catch-up (the host's, deciding with assembly/journal/tail_match.ts): the request's body is the asker's
// tail entries, T_OFFSET its end and T_FROM_START whether the entries begin at its first offset; the answer is a
// header-only chunk whose attachment is the peer's committed batches from T_KEEP (what the asker keeps, or a
// TAIL_* verdict) on, T_TOTAL the peer's committed end. The last chunk (T_FINAL) brings no batches: its attachment
// is the group's state at that end (client table, consumer offsets), T_OP and T_CHECKSUM the op it belongs to.
export const T_KEEP: usize = 176; //  i64
export const T_FROM_START: usize = 184; // u8
export const T_FINAL: usize = 185; // u8

export const V_OP: usize = 128;
export const V_COMMIT: usize = 136;
export const V_GROUP: usize = 144;
export const V_COUNT: usize = 152;
export const V_NONCE: usize = 240;

// RequestPrepares.
export const Q_NONCE: usize = 128;
export const Q_FROM: usize = 144;
export const Q_TO: usize = 152;
export const Q_GROUP: usize = 160;

// @ts-ignore: decorator
@inline export function u64At(message: usize, offset: usize): u64 {
  return load<u64>(message + offset);
}

// @ts-ignore: decorator
@inline export function messageSize(message: usize): u32 {
  return load<u32>(message + H_SIZE);
}

// @ts-ignore: decorator
@inline export function command(message: usize): u8 {
  return load<u8>(message + H_COMMAND);
}

export function isPrepareLike(message: usize): bool {
  const c = command(message);
  return c == CMD_PREPARE || c == CMD_REPAIR_PREPARE;
}

// A prepare's identity: everything except the frame prefix 48..128 (size, view, command, replica, repair flags),
// so a prepare keeps its checksum when re-sent in a later view, by another replica, or inside a repair.
export function prepareChecksum(message: usize): u64 {
  return checksumJoined(message + H_CHECKSUM_BODY, 32, message + 128, <u32>(HEADER_SIZE - 128));
}

function frameSeal(message: usize): u64 {
  return checksum(message + H_SIZE, <u32>(H_FRAME_SEAL - H_SIZE));
}

function bodyChecksum(message: usize): u64 {
  return checksum(message + HEADER_SIZE, messageSize(message) - HEADER_SIZE);
}

// Prepares: body checksum + identity checksum (set once by the primary) + frame seal (set on every send).
export function sealPrepareIdentity(message: usize): void {
  store<u64>(message + H_CHECKSUM_BODY, bodyChecksum(message));
  store<u64>(message + H_CHECKSUM_BODY + 8, 0);
  store<u64>(message + H_CHECKSUM, prepareChecksum(message));
  store<u64>(message + H_CHECKSUM + 8, 0);
}

export function sealPrepareFrame(message: usize): void {
  store<u32>(message + H_ATTACH_SIZE, 0);
  store<u64>(message + H_ATTACH_CHECKSUM, 0);
  store<u64>(message + H_FRAME_SEAL, frameSeal(message));
}

// Stamps an attachment of `length` bytes at `attachment` onto a sealed prepare's frame (its length and checksum
// inside the frame seal, which is recomputed).
export function sealPrepareAttachment(message: usize, attachment: usize, length: u32): void {
  store<u32>(message + H_ATTACH_SIZE, length);
  store<u64>(message + H_ATTACH_CHECKSUM, length == 0 ? 0 : checksum(attachment, length));
  store<u64>(message + H_FRAME_SEAL, frameSeal(message));
}

export function attachmentValid(message: usize, attachment: usize, length: u32): bool {
  return load<u32>(message + H_ATTACH_SIZE) == length && (length == 0 || load<u64>(message + H_ATTACH_CHECKSUM) == checksum(attachment, length));
}

// The frame fields (the accepted view above all) are as sealed: a journal entry's view can be trusted.
export function frameSealed(message: usize): bool {
  return load<u64>(message + H_FRAME_SEAL) == frameSeal(message);
}

// Every other message: checksum covers header bytes 16..256, which include the body checksum.
export function seal(message: usize): void {
  store<u64>(message + H_CHECKSUM_BODY, bodyChecksum(message));
  store<u64>(message + H_CHECKSUM_BODY + 8, 0);
  store<u64>(message + H_CHECKSUM, checksum(message + H_CHECKSUM_BODY, HEADER_SIZE - <u32>H_CHECKSUM_BODY));
  store<u64>(message + H_CHECKSUM + 8, 0);
}

// Only the header and body a prepare's identity covers (what a journal slot must hold).
export function prepareValid(message: usize): bool {
  const size = messageSize(message);
  if (size < HEADER_SIZE) return false;
  if (load<u64>(message + H_CHECKSUM_BODY) != bodyChecksum(message)) return false;
  return load<u64>(message + H_CHECKSUM) == prepareChecksum(message);
}

export function verify(message: usize, len: u32): bool {
  if (len < HEADER_SIZE || messageSize(message) != len) return false;
  if (isPrepareLike(message)) {
    return prepareValid(message) && load<u64>(message + H_FRAME_SEAL) == frameSeal(message);
  }
  if (load<u64>(message + H_CHECKSUM_BODY) != bodyChecksum(message)) return false;
  return load<u64>(message + H_CHECKSUM) == checksum(message + H_CHECKSUM_BODY, HEADER_SIZE - <u32>H_CHECKSUM_BODY);
}
