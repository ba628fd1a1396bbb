// ShardFrame constants as the host sees them, all from the core (assembly/frame.ts via core-abi.generated.ts).
import { namesByValue } from './abi-names.js';
import { CoreFrame as F_, CoreLayout } from './core-abi.generated.js';

export const FRAME_HEADER = F_.FRAME_HEADER;
export const F = {
  variant: F_.F_VARIANT, kind: F_.F_KIND, target: F_.F_TARGET, source: F_.F_SOURCE, flags: F_.F_FLAGS, payloadLen: F_.F_PAYLOAD_LEN,
  correlation: F_.F_CORRELATION, group: F_.F_GROUP, aux: F_.F_AUX,
} as const;

export const Variant = { consensus: F_.VARIANT_CONSENSUS, lifecycle: F_.VARIANT_LIFECYCLE } as const;
export const ConsensusKind = { control: F_.CONSENSUS_CONTROL, partition: F_.CONSENSUS_PARTITION } as const;
export const Lifecycle = {
  ping: F_.LIFECYCLE_PING,
  pong: F_.LIFECYCLE_PONG,
  clientConnectionSetup: F_.LIFECYCLE_CLIENT_CONNECTION_SETUP,
  forwardClientSend: F_.LIFECYCLE_FORWARD_CLIENT_SEND,
  forwardReplicaSend: F_.LIFECYCLE_FORWARD_REPLICA_SEND,
  metadataSubmit: F_.LIFECYCLE_METADATA_SUBMIT,
  metadataCommitTick: F_.LIFECYCLE_METADATA_COMMIT_TICK,
  partitionRead: F_.LIFECYCLE_PARTITION_READ,
  partitionReadReply: F_.LIFECYCLE_PARTITION_READ_REPLY,
  replicaHandshakeAck: F_.LIFECYCLE_REPLICA_HANDSHAKE_ACK,
} as const;

// Label values of frame_drops_total, indexed by the core's DROP_VARIANT_* / DROP_REASON_* values and named after them.
export const DROP_VARIANTS = namesByValue(F_, 'DROP_VARIANT_', 'snake');
export const DROP_REASONS = namesByValue(F_, 'DROP_REASON_', 'snake');
export const LANES = namesByValue(CoreLayout, 'LANE_', 'snake');
export const DROP_VARIANT = Object.fromEntries(DROP_VARIANTS.map((name, i) => [name, i])) as Record<string, number>;
export const DROP_REASON = Object.fromEntries(DROP_REASONS.map((name, i) => [name, i])) as Record<string, number>;
