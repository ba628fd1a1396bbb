// The committed metadata of one shard: streams (with their topics, partitions and consumer groups) and users
// (with their personal access tokens). Every shard holds one and applies the same committed ops in order.
import { StreamsState } from './streams.js';
import { UsersState } from './users.js';
import type { PartitionStats } from './types.js';

export interface MetadataState {
  appliedOp: number; // the last CommittedOp.op applied
  streams: StreamsState;
  users: UsersState;
  // Keyed by packed namespace (assembly/router.ts namespacePack: stream << 32 | topic << 20 | partition).
  // Not part of the replicated state: owners push it, readers show it.
  partitionStats: Map<bigint, PartitionStats>;
}

export function createMetadataState(): MetadataState {
  return { appliedOp: 0, streams: new StreamsState(), users: new UsersState(), partitionStats: new Map() };
}
