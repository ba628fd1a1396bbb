// ShardFrame: what one shard hands another through a ring. 32-byte header, then the payload.
//   0 u8  variant        VARIANT_CONSENSUS | VARIANT_LIFECYCLE
//   1 u8  kind           lifecycle kind, or CONSENSUS_CONTROL / CONSENSUS_PARTITION
//   2 u16 target shard   the shard this frame was routed to; checked on arrival
//   4 u16 source shard
//   6 u16 flags          reserved, 0
//   8 u32 payload length
//  12 u32 correlation    request/reply pairing chosen by the sender
//  16 u64 group          consensus group (namespace or METADATA_GROUP), 0 for lifecycle frames without one
//  24 u64 aux            kind-specific (client id low bits, op number, ...)

export const F_VARIANT: u32 = 0;
export const F_KIND: u32 = 1;
export const F_TARGET: u32 = 2;
export const F_SOURCE: u32 = 4;
export const F_FLAGS: u32 = 6;
export const F_PAYLOAD_LEN: u32 = 8;
export const F_CORRELATION: u32 = 12;
export const F_GROUP: u32 = 16;
export const F_AUX: u32 = 24;
export const FRAME_HEADER: u32 = 32;

export const VARIANT_CONSENSUS: u8 = 1;
export const VARIANT_LIFECYCLE: u8 = 2;

export const CONSENSUS_CONTROL: u8 = 0;
export const CONSENSUS_PARTITION: u8 = 1;

export const LIFECYCLE_PING: u8 = 1;
export const LIFECYCLE_PONG: u8 = 2;
export const LIFECYCLE_CLIENT_CONNECTION_SETUP: u8 = 3;
export const LIFECYCLE_FORWARD_CLIENT_SEND: u8 = 4;
export const LIFECYCLE_FORWARD_REPLICA_SEND: u8 = 5;
export const LIFECYCLE_METADATA_SUBMIT: u8 = 6;
export const LIFECYCLE_METADATA_COMMIT_TICK: u8 = 7;
export const LIFECYCLE_PARTITION_READ: u8 = 8;
export const LIFECYCLE_PARTITION_READ_REPLY: u8 = 9;
export const LIFECYCLE_REPLICA_HANDSHAKE_ACK: u8 = 10;
export const LIFECYCLE_KIND_MAX: u8 = 10;

// Metric label `variant` of frame_drops_total (Iggy's set plus `lifecycle` for the rest).
export const DROP_VARIANT_CONSENSUS: u32 = 0;
export const DROP_VARIANT_PARTITION: u32 = 1;
export const DROP_VARIANT_FD_TRANSFER: u32 = 2;
export const DROP_VARIANT_FORWARD_CLIENT_SEND: u32 = 3;
export const DROP_VARIANT_FORWARD_REPLICA_SEND: u32 = 4;
export const DROP_VARIANT_METADATA_COMMIT_TICK: u32 = 5;
export const DROP_VARIANT_REPLICA_HANDSHAKE_ACK: u32 = 6;
export const DROP_VARIANT_LIFECYCLE: u32 = 7;
export const DROP_VARIANTS: u32 = 8;

// Metric label `reason`.
export const DROP_REASON_FULL: u32 = 0;
export const DROP_REASON_DISCONNECTED: u32 = 1;
export const DROP_REASON_UNROUTABLE: u32 = 2;
export const DROP_REASON_DELIVERY_FAILED: u32 = 3;
export const DROP_REASON_MISROUTED: u32 = 4;
export const DROP_REASON_PARK_OVERFLOW: u32 = 5;
export const DROP_REASON_PARK_DROPPED: u32 = 6;
export const DROP_REASON_OVERSIZE: u32 = 7;
// A consensus frame reached its group's shard, and no group by that id is registered there (not created yet,
// deleted, or this replica does not hold it). VSR retransmission recovers it once the group exists.
export const DROP_REASON_NAMESPACE_MISS: u32 = 8;
export const DROP_REASONS: u32 = 9;

export function frameIsValidKind(variant: u32, kind: u32): bool {
  if (variant == VARIANT_CONSENSUS) return kind == CONSENSUS_CONTROL || kind == CONSENSUS_PARTITION;
  if (variant == VARIANT_LIFECYCLE) return kind >= 1 && kind <= LIFECYCLE_KIND_MAX;
  return false;
}

export function dropVariantOf(variant: u32, kind: u32): u32 {
  if (variant == VARIANT_CONSENSUS) return kind == CONSENSUS_PARTITION ? DROP_VARIANT_PARTITION : DROP_VARIANT_CONSENSUS;
  if (kind == LIFECYCLE_CLIENT_CONNECTION_SETUP) return DROP_VARIANT_FD_TRANSFER;
  if (kind == LIFECYCLE_FORWARD_CLIENT_SEND) return DROP_VARIANT_FORWARD_CLIENT_SEND;
  if (kind == LIFECYCLE_FORWARD_REPLICA_SEND) return DROP_VARIANT_FORWARD_REPLICA_SEND;
  if (kind == LIFECYCLE_METADATA_COMMIT_TICK) return DROP_VARIANT_METADATA_COMMIT_TICK;
  if (kind == LIFECYCLE_REPLICA_HANDSHAKE_ACK) return DROP_VARIANT_REPLICA_HANDSHAKE_ACK;
  return DROP_VARIANT_LIFECYCLE;
}

// Replies travel on the reply lane so a shard flooded with requests still drains the answers it is waiting
// for (Iggy #3915 moved ForwardClientSend onto its own lane for the same reason).
export function laneOf(variant: u32, kind: u32): u32 {
  if (variant != VARIANT_LIFECYCLE) return 0;
  return kind == LIFECYCLE_PONG || kind == LIFECYCLE_FORWARD_CLIENT_SEND || kind == LIFECYCLE_PARTITION_READ_REPLY ? 1 : 0;
}
