// Sizes, command numbers and enums of the VSR core. Command numbers follow Iggy's `command.rs` so a wire dump
// reads the same; only the subset this core speaks is listed.

export const HEADER_SIZE: u32 = 256;
// A prepare's body (the client's payload) is capped so a prepare fits one fixed log-window slot.
export const BODY_MAX: u32 = 256;
export const SLOT_SIZE: u32 = HEADER_SIZE + BODY_MAX;
// DVC and SV carry at most this many headers (high to low from the head). Must exceed PIPELINE_MAX so that every
// op that may still be uncommitted is inside the suffix (the merge relies on it).
export const SUFFIX_HEADERS_MAX: u32 = 64;
export const MESSAGE_MAX: u32 = HEADER_SIZE + SUFFIX_HEADERS_MAX * HEADER_SIZE;
// Prepares in flight at the primary (power of two: indexed op & (PIPELINE_MAX-1)).
export const PIPELINE_MAX: u32 = 32;
// Client requests waiting for a pipeline slot.
export const REQUEST_QUEUE_MAX: u32 = 64;
// A single replica's queue: its host flushes journal writes before the pipeline fills, so it barely queues.
export const REQUEST_QUEUE_SINGLE: u32 = 8;
// Bitsets of replicas are u32; 8 keeps the DVC store small.
export const REPLICAS_MAX: u32 = 8;
// Default client table capacity (the simulator's and the specs'); vsrCreate takes it per replica.
export const CLIENTS_MAX: u32 = 64;
// Ops asked for in one request_prepares.
export const REPAIR_BATCH: u32 = 32;
export const OUTBOX_BYTES: u32 = 512 * 1024;

// Link liveness between replicas (the replica plane answers a ping with a pong; never given to a group).
export const CMD_PING: u8 = 1;
export const CMD_PONG: u8 = 2;
export const CMD_REQUEST: u8 = 5;
export const CMD_PREPARE: u8 = 6;
export const CMD_PREPARE_OK: u8 = 7;
export const CMD_REPLY: u8 = 8;
export const CMD_COMMIT: u8 = 9;
export const CMD_START_VIEW_CHANGE: u8 = 10;
export const CMD_DO_VIEW_CHANGE: u8 = 11;
export const CMD_START_VIEW: u8 = 12;
export const CMD_REQUEST_START_VIEW: u8 = 17;
export const CMD_REQUEST_PREPARES: u8 = 18;
export const CMD_REPAIR_PREPARE: u8 = 19;
// Recovery of a replica that lost its state (state_sync.ts): a nonce-stamped probe and the answers to it.
export const CMD_RECOVERY: u8 = 20;
export const CMD_RECOVERY_RESPONSE: u8 = 21;
// State transfer between hosts (the core never handles them: a host asks its peer for the state machine's snapshot
// after ACTION_STATE_REQUEST, the peer answers with chunks of it, each a checksummed message with a body).
export const CMD_STATE_REQUEST: u8 = 22;
export const CMD_STATE_CHUNK: u8 = 23;

export const STATUS_NORMAL: u32 = 0;
export const STATUS_VIEW_CHANGE: u32 = 1;
export const STATUS_RECOVERING: u32 = 2;

// Outbox action kinds (host/shared/vsr-abi.ts mirrors these).
export const ACTION_SEND: u32 = 1; //          target = replica index, payload = message
export const ACTION_REPLY: u32 = 2; //         target = 0, payload = reply message (client id inside)
export const ACTION_JOURNAL_WRITE: u32 = 3; // target = 0, payload = prepare. The host writes it to the op's slot,
//                                             then its first 256 bytes to the op's redundant header entry, then
//                                             calls onJournalWriteDone(op, checksum)
export const ACTION_COMMIT: u32 = 4; //        target = 0, payload = prepare to apply to the state machine
export const ACTION_PERSIST: u32 = 5; //       payload = 40 bytes: view u32, log_view u32, commit u64,
//                                             commit_checksum u64, log_head u64, log_head_checksum u64
//                                             (the superblock; written atomically)
export const ACTION_JOURNAL_WRITE_HEADER: u32 = 7; // target = 0, payload = 256-byte header: rewrite only the op's
//                                             redundant header entry (the prepare is already in its slot), then
//                                             call onJournalWriteDone(op, checksum). Never rewrites a prepare.
export const ACTION_JOURNAL_READ: u32 = 6; //  target = replica to repair, payload = op u64; host answers with
//                                             onJournalRead(op, target, bytes) (repair beyond the log window)
export const ACTION_STATE_REQUEST: u32 = 8; // target = replica to fetch the state from, payload = op u64 (the
//                                             commit that peer reported). The host transfers the peer's
//                                             state-machine snapshot, installs it durably and calls
//                                             vsrStateInstalled(op, checksum) (state_sync.ts). Repeated until then.

// Operations. Register opens a client session; the rest are opaque to consensus.
export const OP_RESERVED: u8 = 0;
export const OP_REGISTER: u8 = 1;

// Reply status: why a request was not applied. Names in host/shared/vsr-abi.ts.
export const REPLY_OK: u32 = 0;
export const REPLY_NO_SESSION: u32 = 1; //        unknown client (never registered, or evicted)
export const REPLY_SESSION_MISMATCH: u32 = 2; //  request carries another session (epoch) than the table
export const REPLY_REQUEST_TOO_OLD: u32 = 3; //   request number below the last committed one
export const REPLY_BODY_TOO_LARGE: u32 = 4;

// A single replica's recovery verdict (vsrRecoverEnd; names in host/shared/vsr-abi.ts). On a refusal the replica
// stays recovering (it serves nothing) and vsrRecoveryLostFrom/To name the ops it cannot give back.
export const RECOVERY_OK: u32 = 0;
export const RECOVERY_LOST: u32 = 1; //     ops it may have acknowledged are missing or corrupt in its journal
export const RECOVERY_DIVERGED: u32 = 2; // the journal's op at the superblock's commit is another prepare
