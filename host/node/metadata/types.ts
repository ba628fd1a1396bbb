// Types shared by the metadata state machine (this folder), the data path (host/node/data) and the connection
// layer (host/node/net). The state machine is deterministic: every shard holds a copy and applies the same
// committed ops in the same order (shard 0 commits them through the metadata VSR group and broadcasts them), so
// `apply*` functions may use only their arguments: no clock, no random, no I/O.

import type { AssignmentViews } from './groups.js';

// The caller of a command, as the connection layer knows it after Register.
export interface Session {
  userId: number; // the logged-in user
  client: bigint; // the VSR client id (u128 from the request header @128): consumer group members are these
  connectionId: number; // per-connection u32 (ClientResponse.client_id)
  views?: AssignmentViews; // what its Syncs told it of its groups (groups.ts); absent for sessions that cannot Sync
}

// A metadata op as committed by the metadata group and applied on every shard.
export interface CommittedOp {
  op: number; // metadata commit number (the VSR op), > 0, strictly increasing
  operation: number; // Operation value 128..149, or an internal one (InternalOperation below)
  body: Uint8Array; // the prepared body (prepare* output: secrets already hashed)
  timestampMicros: number; // stamped by shard 0 when it proposed the op; use it for created_at / expiry
  client: bigint; // requester's VSR client id (0n for internal ops)
  userId: number; // requester's user id (PAT ownership, ...)
}

// Result of applying a committed op: result 0 = success with `payload` (the reply payload after the result
// section), otherwise an Iggy error code (the committed business rejection, iggy-client-wire.md §5.4).
export interface ApplyResult {
  result: number;
  payload: Uint8Array;
}

// Pre-consensus step on the home shard: decode and validate the request body, check permissions against the
// local committed state, and rewrite secrets (passwords -> salted scrypt hash, PAT -> hash). Either the body to
// propose, or a status for the Reply header (status channel, empty body). `reply`, when set, replaces the
// payload of a successful commit (CreatePersonalAccessToken: the raw token is known only to the home shard).
export type Prepared =
  | { ok: true; body: Uint8Array; reply?: Uint8Array }
  | { ok: false; status: number; message: string };

// A read (NonReplicated) command answered from the local committed state: a body (possibly empty = "not found"
// for single-object reads) or a status.
export type ReadResult = { ok: true; body: Uint8Array } | { ok: false; status: number; message: string };

// Server-internal metadata operations (never sent by clients; iggy-client-wire.md §3.1 64..68).
export const InternalOperation = {
  // body: u128 client id. Removes that client from every consumer group (disconnect / logout / eviction).
  removeConsumerGroupMember: 66,
  // body: WireName username, u8 len + scrypt hash string. Creates the root user (id 0) on an empty log.
  bootstrapRoot: 68,
} as const;

// Stats of one partition, kept by its owner shard and pushed to the others (GetStream/GetTopic/GetStats).
export interface PartitionStats {
  currentOffset: number; // highest committed offset, 0 when empty
  messagesCount: number;
  sizeBytes: number;
  segmentsCount: number;
}
