// ShardFrame constants as the host sees them (assembly/frame.ts is the definition).
export const FRAME_HEADER = 32;
export const F = { variant: 0, kind: 1, target: 2, source: 4, flags: 6, payloadLen: 8, correlation: 12, group: 16, aux: 24 } as const;

export const Variant = { consensus: 1, lifecycle: 2 } as const;
export const ConsensusKind = { control: 0, partition: 1 } as const;
export const Lifecycle = {
  ping: 1,
  pong: 2,
  clientConnectionSetup: 3,
  forwardClientSend: 4,
  forwardReplicaSend: 5,
  metadataSubmit: 6,
  metadataCommitTick: 7,
  partitionRead: 8,
  partitionReadReply: 9,
  replicaHandshakeAck: 10,
} as const;

// Label values of frame_drops_total, indexed like assembly/frame.ts DROP_VARIANT_* / DROP_REASON_*.
export const DROP_VARIANTS = ['consensus', 'partition', 'fd_transfer', 'forward_client_send', 'forward_replica_send', 'metadata_commit_tick', 'replica_handshake_ack', 'lifecycle'];
export const DROP_REASONS = ['full', 'disconnected', 'unroutable', 'delivery_failed', 'misrouted', 'park_overflow', 'park_dropped', 'oversize', 'namespace_miss'];
export const DROP_VARIANT = Object.fromEntries(DROP_VARIANTS.map((name, i) => [name, i])) as Record<string, number>;
export const DROP_REASON = Object.fromEntries(DROP_REASONS.map((name, i) => [name, i])) as Record<string, number>;
export const LANES = ['inbox', 'reply'];
