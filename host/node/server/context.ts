// What a shard's request handlers can reach: its committed metadata, the other shards, and the server's
// settings. One per shard (shard-server.ts builds it).
import type { CoreExports } from '../../shared/core.js';
import type { StorageCore } from '../io/storage-core.js';
import type { ClusterView } from '../cluster/cluster-metadata.js';
import type { FrameArena } from '../net/frame-arena.js';
import type { MetadataState } from '../metadata/state.js';
import type { Producer } from './mailbox.js';
import type { ShardRpc } from './shard-rpc.js';
import type { VersionedStats } from './shard-protocol.js';
import type { StorageHealth } from './storage-health.js';

export interface ServerSettings {
  tcpAddress: string; // as bound (host:port)
  httpAddress: string;
  maxFrameBytes: number;
  maxBatchBytes: number;
  maxPollBytes: number;
  startedAtMicros: number;
  version: string;
  dataDir: string;
}

// A client connection as GetClients / GetClient / GetMe report it (any shard's, gathered over the rings).
export interface ConnectedClient {
  connectionId: number;
  userId: number; // 0xFFFFFFFF when not logged in
  address: string;
  client: bigint; // bound VSR client id, 0 when not logged in
}

export interface ShardContext {
  readonly shard: number;
  readonly shards: number;
  readonly core: CoreExports;
  readonly rpc: ShardRpc;
  readonly storage: StorageCore; // this shard's core instance and storage region (checksums, batch checks)
  readonly settings: ServerSettings;
  readonly health: StorageHealth; // conditions and counters for /health and /metrics (posted to the main thread)
  // Shared memory for large client frames and for poll replies read on this shard (null until it serves clients).
  readonly frameArena: FrameArena | null;
  state: MetadataState;
  // Resolves once this shard has applied metadata op `op` (replies to metadata ops wait for it, so that the
  // client's next request on this shard sees its own change).
  applied(op: number): Promise<void>;
  // applied(the last op shard 0 applied): read-your-writes across clients and shards.
  caughtUp(): Promise<void>;
  // Resolves once every shard has applied metadata op `op`, with its data actions (a purge, DeleteSegments, a
  // deleted group's offsets): those are not replayed at boot, so they are acknowledged only once done everywhere.
  appliedEverywhere(op: number): Promise<void>;
  ownerOf(streamId: number, topicId: number, partitionId: number): number;
  // Takes a partition's stats from its owner (a notice, a send's reply, or this shard's own) unless newer ones
  // are already here.
  acceptStats(namespace: bigint, s: VersionedStats): void;
  // On the shard that runs the metadata group: null while every other shard's backlog from it is under its bound,
  // else a promise that resolves once it is (with `producer` paused meanwhile). A proposal waits for it: its
  // commit must reach every shard and is never dropped, so new ones are held at the source instead. Null elsewhere.
  metadataRoom(producer?: Producer | null): Promise<void> | null;
  // This shard's connections (GetClients gathers every shard's).
  localClients(): ConnectedClient[];
  // A cluster's replica: its roster and what shard 0 publishes of the metadata group (null: a single node).
  readonly clusterView: ClusterView | null;
}
