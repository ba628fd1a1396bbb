// What the replica plane may let in from a peer, and where it goes. A frame on a replica link is one VSR message
// (256-byte header, size at H_SIZE). Whether it is acceptable is a protocol question, so it is answered here, not
// by the host: the header first (before the body is read: a size out of bounds must not make the host wait for or
// buffer megabytes), then the checksums over the whole message. Any refusal closes that link only.
import {
  CMD_COMMIT, CMD_DO_VIEW_CHANGE, CMD_PING, CMD_PONG, CMD_PREPARE, CMD_PREPARE_OK, CMD_REPAIR_PREPARE, CMD_REPLY, CMD_REQUEST,
  CMD_REQUEST_PREPARES, CMD_REQUEST_START_VIEW, CMD_RECOVERY, CMD_RECOVERY_RESPONSE, CMD_STATE_CHUNK, CMD_STATE_REQUEST, CMD_START_VIEW, CMD_START_VIEW_CHANGE, HEADER_SIZE, MESSAGE_MAX, SLOT_SIZE,
} from "./constants";
import {
  C_GROUP, D_GROUP, H_ATTACH_CHECKSUM, H_ATTACH_SIZE, H_CLUSTER, H_COMMAND, H_REPLICA, H_SIZE, K_GROUP, P_GROUP, Q_GROUP, R_GROUP, S_GROUP, V_GROUP,
  Y_GROUP, attachmentValid, command, isPrepareLike, messageSize, seal, sealPrepareAttachment, verify,
} from "./header";
import { checksum } from "./checksum";
import {
  INVALID_NAMESPACE, METADATA_GROUP, PACKED_NAMESPACE_MAX, STREAM_SHIFT, TOPIC_SHIFT, routeConsensusControl, routeMetadata,
  routePartition,
} from "../router";

// Verdicts of replicaFrameHeader (negative) and replicaFrameBody; names in host/node/cluster/replica-counters.ts.
export const FRAME_OK: i32 = 0;
export const FRAME_SIZE: i32 = -1; //     size below a header or above MESSAGE_MAX, an attachment above REPLICA_ATTACHMENT_MAX or on a message other than a prepare or a state chunk
export const FRAME_CLUSTER: i32 = -2; //  another cluster's message
export const FRAME_REPLICA: i32 = -3; //  the header names another sender than the authenticated peer
export const FRAME_COMMAND: i32 = -4; //  not a command replicas exchange
export const FRAME_GROUP: i32 = -5; //    a group no shard can hold (neither a packed namespace nor METADATA_GROUP)
export const FRAME_CHECKSUM: i32 = -6; // header or body checksum (or a prepare's frame seal) does not verify

// The largest attachment a prepare's frame may carry: the real body its descriptor binds (a metadata body is at
// most 1 MiB; a partition batch travels the same way). A StateChunk of a partition's segments carries its batches
// the same way (assembly/journal/tail_match.ts).
export const REPLICA_ATTACHMENT_MAX: u32 = 1 << 20;

// The largest frame replicas exchange: a prepare (at most a slot) with the largest attachment, or a DoViewChange /
// StartView with its suffix of headers.
export const REPLICA_FRAME_MAX: u32 = MESSAGE_MAX > SLOT_SIZE + REPLICA_ATTACHMENT_MAX ? MESSAGE_MAX : SLOT_SIZE + REPLICA_ATTACHMENT_MAX;

// The consensus group a message belongs to (its offset differs per command), or INVALID_NAMESPACE for a command
// without one.
export function consensusGroupOf(header: usize): u64 {
  const c = command(header);
  if (c == CMD_PREPARE || c == CMD_REPAIR_PREPARE) return load<u64>(header + P_GROUP);
  if (c == CMD_PREPARE_OK) return load<u64>(header + K_GROUP);
  if (c == CMD_COMMIT) return load<u64>(header + C_GROUP);
  if (c == CMD_START_VIEW_CHANGE || c == CMD_REQUEST_START_VIEW || c == CMD_RECOVERY || c == CMD_RECOVERY_RESPONSE
    || c == CMD_STATE_REQUEST || c == CMD_STATE_CHUNK) {
    return load<u64>(header + S_GROUP); // RecoveryResponse's B_GROUP is the same offset
  }
  if (c == CMD_DO_VIEW_CHANGE) return load<u64>(header + D_GROUP);
  if (c == CMD_START_VIEW) return load<u64>(header + V_GROUP);
  if (c == CMD_REQUEST_PREPARES) return load<u64>(header + Q_GROUP);
  if (c == CMD_REQUEST) return load<u64>(header + R_GROUP);
  if (c == CMD_REPLY) return load<u64>(header + Y_GROUP);
  return INVALID_NAMESPACE;
}

// Ping and pong belong to the link, not to a group: the plane answers a ping itself (any frame is a sign of life);
// they are never routed or given to a replica. replicaFrameLinkLocal says which, or LINK_NONE for a group's message.
export const LINK_NONE: u32 = 0;
export const LINK_PING: u32 = 1;
export const LINK_PONG: u32 = 2;

export function replicaFrameLinkLocal(header: usize): u32 {
  const c = command(header);
  if (c == CMD_PING) return LINK_PING;
  if (c == CMD_PONG) return LINK_PONG;
  return LINK_NONE;
}

// Writes the sealed 256-byte ping (or pong) of `replica` in `cluster` at `out`.
export function replicaPingWrite(out: usize, cluster: u64, replica: u32, pong: bool): void {
  memory.fill(out, 0, HEADER_SIZE);
  store<u32>(out + H_SIZE, HEADER_SIZE);
  store<u8>(out + H_COMMAND, pong ? CMD_PONG : CMD_PING);
  store<u8>(out + H_REPLICA, <u8>replica);
  store<u64>(out + H_CLUSTER, cluster);
  seal(out);
}

function isReplicaCommand(c: u8): bool {
  return c == CMD_PREPARE || c == CMD_PREPARE_OK || c == CMD_COMMIT || c == CMD_START_VIEW_CHANGE || c == CMD_DO_VIEW_CHANGE
    || c == CMD_START_VIEW || c == CMD_REQUEST_START_VIEW || c == CMD_REQUEST_PREPARES || c == CMD_REPAIR_PREPARE
    || c == CMD_RECOVERY || c == CMD_RECOVERY_RESPONSE || c == CMD_STATE_REQUEST || c == CMD_STATE_CHUNK;
}

// The shard that holds the group of this message, by the named routers: the metadata group by its sentinel (shard
// 0, whatever its hash says), a partition's prepare and prepare_ok by its namespace's components, every other
// (control) message by its raw group. Negative (ROUTE_ERR_*) when no shard can hold it.
export function routeConsensusFrame(header: usize, shards: u32): i32 {
  const group = consensusGroupOf(header);
  if (group == METADATA_GROUP) return routeMetadata();
  const c = command(header);
  if (group <= PACKED_NAMESPACE_MAX && (c == CMD_PREPARE || c == CMD_REPAIR_PREPARE || c == CMD_PREPARE_OK)) {
    const stream = <u32>(group >> STREAM_SHIFT);
    const topic = <u32>((group >> TOPIC_SHIFT) & 0xfff);
    const partition = <u32>(group & 0xfffff);
    return routePartition(stream, topic, partition, shards);
  }
  return routeConsensusControl(group, shards);
}

// The 256-byte header of a frame from `peer` (authenticated by the handshake): the frame's size to read (≥ 256: the
// message, and a prepare's attachment after it) if the header may be followed, else a FRAME_* verdict. Cluster ids
// are 64-bit in the low half of the u128 field.
export function replicaFrameHeader(header: usize, cluster: u64, peer: u32): i32 {
  const size = messageSize(header);
  if (size < HEADER_SIZE || size > MESSAGE_MAX) return FRAME_SIZE;
  const attachment = load<u32>(header + H_ATTACH_SIZE);
  if (attachment > 0 && (!carriesAttachment(header) || attachment > REPLICA_ATTACHMENT_MAX)) return FRAME_SIZE;
  if (load<u64>(header + H_CLUSTER) != cluster || load<u64>(header + H_CLUSTER + 8) != 0) return FRAME_CLUSTER;
  if (<u32>load<u8>(header + H_REPLICA) != peer) return FRAME_REPLICA;
  if (replicaFrameLinkLocal(header) != LINK_NONE) return size == HEADER_SIZE ? <i32>size : FRAME_SIZE;
  if (!isReplicaCommand(command(header))) return FRAME_COMMAND;
  if (routeConsensusFrame(header, 1) < 0) return FRAME_GROUP;
  return <i32>(size + attachment);
}

// The whole frame (`length` bytes: the message, then a prepare's attachment), after replicaFrameHeader let its
// header through: FRAME_OK or FRAME_CHECKSUM. An attachment's length and checksum are inside the prepare's frame
// seal, so neither can be altered without the seal failing.
export function replicaFrameBody(frame: usize, length: u32): i32 {
  const size = messageSize(frame);
  if (length < HEADER_SIZE || size > length) return FRAME_CHECKSUM;
  const attached = isPrepareLike(frame) || command(frame) == CMD_STATE_CHUNK;
  const attachment = attached ? length - size : 0;
  if (!verify(frame, length - attachment)) return FRAME_CHECKSUM;
  if (attached && !attachmentValid(frame, frame + size, attachment)) return FRAME_CHECKSUM;
  return FRAME_OK;
}

// A prepare of at most a slot, or a header-only StateChunk (its attachment: a partition's batches), may be followed
// by an attachment; nothing else.
function carriesAttachment(header: usize): bool {
  const size = messageSize(header);
  if (isPrepareLike(header)) return size <= SLOT_SIZE;
  return command(header) == CMD_STATE_CHUNK && size == HEADER_SIZE;
}

// The sender's side: `message` is a sealed prepare (or a header-only StateChunk); its frame carries the `length`
// bytes at `attachment` right after it (they need not follow it in memory: the sender hashes a batch where it lies
// and writes both with one writev); stamps the attachment's length and checksum into the prepare's frame seal (a
// chunk's header checksum covers them). The frame is then size + length bytes long. Returns false (nothing stamped)
// for any other message, or an attachment above REPLICA_ATTACHMENT_MAX.
export function replicaFrameAttach(message: usize, attachment: usize, length: u32): bool {
  const size = messageSize(message);
  if (size < HEADER_SIZE || !carriesAttachment(message) || length > REPLICA_ATTACHMENT_MAX) return false;
  if (isPrepareLike(message)) {
    sealPrepareAttachment(message, attachment, length);
    return true;
  }
  store<u32>(message + H_ATTACH_SIZE, length);
  store<u64>(message + H_ATTACH_CHECKSUM, length == 0 ? 0 : checksum(attachment, length));
  seal(message);
  return true;
}
