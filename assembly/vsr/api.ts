// The VSR part of core.wasm's ABI (re-exported from assembly/index.ts). A handle names one replica of one
// consensus group inside this instance; the server creates one per partition plus the metadata group, the
// simulator one per instance. Creation allocates from the instance's arena; nothing else does.
// Ops and commit numbers are returned as f64 (exact below 2^53) so hot host loops avoid BigInt.
import { Replica, setQuorumOverride } from "./replica";
import { followLeader, leadsWith } from "./leader";
import { onJournalRead } from "./repair";
import { formationCut, recoverLost, setBase, setTail, stateInstalled, stranded } from "./state_sync";
import { recoverBegin, recoverEnd, recoverFrom, recoverPrepare } from "./recovery";
import { checksum, checksumInit } from "./checksum";
import { seal, sealPrepareFrame, sealPrepareIdentity, verify } from "./header";
import { MESSAGE_MAX } from "./constants";
import { Outbox } from "./outbox";

const GROUPS_MAX: u32 = 4096;
let registry: StaticArray<Replica | null> | null = null;
let released: StaticArray<bool> | null = null; // handles given back with vsrRelease, reused by vsrCreate
let created: u32 = 0;
// One outbox and one inbox per instance, shared by its replicas: the host drains the outbox after every call.
let sharedOutbox: Outbox | null = null;
let sharedInbox: usize = 0;

function replicaOf(handle: u32): Replica {
  const all = registry;
  assert(all != null && handle < created, "vsr: unknown handle");
  assert(!unchecked(released![handle]), "vsr: released handle");
  return changetype<Replica>(unchecked(all![handle]));
}

// A fresh replica in view 0, normal status (cluster formation). slots: log window size (prepares held in
// memory, 512 B each), power of two >= 64; clientsMax: client table capacity (sessions; 288 B each). Arena cost
// per replica: slots * 512 B + clientsMax * 288 B + ~50 KiB (request queue, scratch) + ~150 KiB (DVC store),
// the last two only when replicaCount > 1 (a single replica: ~5 KiB); plus ~530 KiB once per instance (outbox,
// inbox).
// A released replica of the same shape is reused (Replica.reuse) before anything new is allocated.
export function vsrCreate(cluster: u64, group: u64, replica: u32, replicaCount: u32, slots: u32, clientsMax: u32): u32 {
  if (registry != null) {
    for (let handle: u32 = 0; handle < created; handle++) {
      if (!unchecked(released![handle])) continue;
      const r = changetype<Replica>(unchecked(registry![handle]));
      if (r.count != replicaCount || r.window.slots != slots || r.clients.capacity != clientsMax) continue;
      r.reuse(cluster, group, replica);
      unchecked(released![handle] = false);
      return handle;
    }
  }
  if (registry == null) {
    // The registry last: an arena too small traps in here (the host reports ArenaFull), and a later call starts
    // the instance's setup again instead of finding it half done.
    sharedOutbox = new Outbox();
    sharedInbox = heap.alloc(MESSAGE_MAX);
    checksumInit();
    released = new StaticArray<bool>(GROUPS_MAX);
    registry = new StaticArray<Replica | null>(GROUPS_MAX);
  }
  assert(created < GROUPS_MAX, "vsr: too many groups in one instance");
  unchecked(registry![created] = new Replica(cluster, group, replica, replicaCount, slots, clientsMax, sharedOutbox, sharedInbox));
  return created++;
}

// The group is gone (its partition was deleted): the handle must not be used again; vsrCreate may hand its replica
// out for a new group of the same shape.
export function vsrRelease(handle: u32): void {
  replicaOf(handle); // asserts a live handle
  unchecked(released![handle] = true);
}

export function vsrInboxPtr(handle: u32): usize { return replicaOf(handle).inbox; }
export function vsrOnMessage(handle: u32, ptr: usize, length: u32): void { replicaOf(handle).onMessage(ptr, length); }
export function vsrOnTick(handle: u32): void { replicaOf(handle).onTick(); }
// A partition group of a cluster follows the metadata group's primary (assembly/vsr/leader.ts): the host passes the
// metadata group's view and status on this replica. Returns whether a view change started.
export function vsrFollowLeader(handle: u32, leaderView: u32, leaderStatus: u32): bool {
  const r = replicaOf(handle);
  const started = followLeader(r, leaderView, leaderStatus);
  r.afterEvent();
  return started;
}
// Whether a partition group's replica may take writes: its primary, normal, and the metadata group's too.
export function vsrLeadsWith(handle: u32, leaderView: u32, leaderStatus: u32): bool { return leadsWith(replicaOf(handle), leaderView, leaderStatus); }
export function vsrOnJournalWriteDone(handle: u32, op: u64, checksum: u64): void {
  replicaOf(handle).onJournalWriteDone(op, checksum);
}

// The host's journal lost the writes of ops from `op` on (replica.ts onJournalCut).
export function vsrJournalCut(handle: u32, op: u64): void {
  replicaOf(handle).onJournalCut(op);
}

export function vsrOnJournalRead(handle: u32, op: u64, to: u32, ptr: usize, length: u32): void {
  onJournalRead(replicaOf(handle), op, to, ptr, length);
}

export function vsrOutboxPtr(handle: u32): usize { return replicaOf(handle).outbox.buffer; }
export function vsrOutboxLen(handle: u32): u32 { return replicaOf(handle).outbox.length; }
export function vsrOutboxClear(handle: u32): void { replicaOf(handle).outbox.clear(); }

// Restart: superblock first, then every journal entry in ascending op order, then end.
export function vsrRecoverBegin(
  handle: u32, view: u32, logView: u32, commit: u64, commitChecksum: u64, logHead: u64, logHeadChecksum: u64,
): void {
  recoverBegin(replicaOf(handle), view, logView, commit, commitChecksum, logHead, logHeadChecksum);
}
// `ptr` = the journal slot, `headerPtr` = the redundant header ring entry for op (0/0 if none).
export function vsrRecoverPrepare(handle: u32, op: u64, ptr: usize, length: u32, headerPtr: usize, headerLength: u32): void {
  recoverPrepare(replicaOf(handle), op, ptr, length, headerPtr, headerLength);
}
// Optional, right after vsrRecoverBegin: the host's state already holds ops <= op (a checkpoint); replay after it.
export function vsrRecoverFrom(handle: u32, op: u64, checksum: u64): void { recoverFrom(replicaOf(handle), op, checksum); }
// Returns RECOVERY_OK, or a single replica's refusal to start (constants.ts RECOVERY_*): it stays recovering and
// vsrRecoveryLostFrom..vsrRecoveryLostTo name the ops it may have acknowledged and cannot give back.
export function vsrRecoverEnd(handle: u32): u32 { return recoverEnd(replicaOf(handle)); }
export function vsrRecoveryLostFrom(handle: u32): f64 { return <f64>replicaOf(handle).recoveryLostFrom; }
export function vsrRecoveryLostTo(handle: u32): f64 { return <f64>replicaOf(handle).recoveryLostTo; }

// Instead of vsrRecoverBegin..End: nothing of this replica is on disk (state_sync.ts). It stays recovering, votes
// and acks nothing, until a quorum answered, the host installed the state it asks for (ACTION_STATE_REQUEST) and a
// StartView arrived. `nonce`: random per process start.
export function vsrRecoverLost(handle: u32, nonce: u64, barred: bool): void { recoverLost(replicaOf(handle), nonce, barred); }
// The host installed, durably, a peer's snapshot covering ops up to `op` (its prepare checksum `checksum`).
export function vsrSetBase(handle: u32, base: u64): void { setBase(replicaOf(handle), base); }
// A lost replica's files, for a whole cluster forming again from differing files (journal/formation.ts): its last
// `n` batches as tail_match.ts entries at `list`, and one past its last message. Again after a formation cut.
export function vsrSetTail(handle: u32, list: usize, n: u32, end: u64): void { setTail(replicaOf(handle), list, n, end); }
// The end the host should cut this replica's files back to before the group forms, or u64 max (none).
export function vsrFormationCut(handle: u32): u64 { return formationCut(replicaOf(handle)); }
export function vsrStateInstalled(handle: u32, op: u64, checksum: u64): void { stateInstalled(replicaOf(handle), op, checksum); }
// The host's journal no longer holds ops up to `op` (a checkpoint drained them): the primary tells its backups,
// and a backup whose commit is below the primary's checkpoint requests a state transfer instead of repairing.
export function vsrSetCheckpoint(handle: u32, op: u64): void { const r = replicaOf(handle); if (op > r.checkpoint) r.checkpoint = op; }
export function vsrStateLost(handle: u32): bool { return replicaOf(handle).stateLost; }
// Changing views while too many peers lost their state for any quorum to finish it (state_sync.ts stranded()): a
// group whose state is its files starts again from them, as after a restart.
export function vsrStranded(handle: u32): bool { return stranded(replicaOf(handle)); }
export function vsrStateRequests(handle: u32): f64 { return <f64>replicaOf(handle).stateRequests; }

export function vsrStatus(handle: u32): u32 { return replicaOf(handle).status; }
export function vsrView(handle: u32): u32 { return replicaOf(handle).view; }
export function vsrLogView(handle: u32): u32 { return replicaOf(handle).logView; }
export function vsrIsPrimary(handle: u32): bool { return replicaOf(handle).isPrimary(); }
export function vsrOp(handle: u32): f64 { return <f64>replicaOf(handle).op; }
export function vsrCommitMin(handle: u32): f64 { return <f64>replicaOf(handle).commitMin; }
// The client table is part of the replicated state: a state transfer or a checkpoint carries it, so that a retried
// request is still recognised after the ops that recorded it are gone from the log. The host reads and writes
// its arrays in place (no copy in the arena): field 0 ids, 1 sessions, 2 requests, 3 last ops (u64 each,
// capacity entries), 4 replies (256 B each); then sets how many entries are live.
export function vsrClientTableField(handle: u32, field: u32): usize {
  const t = replicaOf(handle).clients;
  if (field == 0) return changetype<usize>(t.ids);
  if (field == 1) return changetype<usize>(t.sessions);
  if (field == 2) return changetype<usize>(t.requests);
  if (field == 3) return changetype<usize>(t.lastOps);
  return t.replies;
}
export function vsrClientTableCount(handle: u32): u32 { return replicaOf(handle).clients.count; }
export function vsrClientTableCapacity(handle: u32): u32 { return replicaOf(handle).clients.capacity; }
export function vsrClientTableSetCount(handle: u32, count: u32): void {
  const t = replicaOf(handle).clients;
  assert(count <= t.capacity, "client table: more entries than its capacity");
  t.count = count;
}

// The prepare checksum of op commitMin: what a state-transfer snapshot taken now chains to.
export function vsrCommitChecksum(handle: u32): u64 { return replicaOf(handle).commitChecksum; }
export function vsrCommitMax(handle: u32): f64 { return <f64>replicaOf(handle).commitMax; }
export function vsrViewChanges(handle: u32): f64 { return <f64>replicaOf(handle).viewChanges; }
export function vsrDeadlocks(handle: u32): f64 { return <f64>replicaOf(handle).deadlocks; }
// Last DVC merge at this replica: undecided op * 4 + outcome (0 awaiting, 1 deadlock, 2 ready). For debugging.
export function vsrDebugMerge(handle: u32): f64 {
  const r = replicaOf(handle);
  return <f64>r.merge.undecidedOp * 4 + <f64>r.merge.outcome;
}
export function vsrMessagesRejected(handle: u32): f64 { return <f64>replicaOf(handle).messagesRejected; }

// Debug switch: replication quorum override for every replica in this instance (0 = the real rule).
export function vsrDebugSetQuorumOverride(n: u32): void { setQuorumOverride(n); }

// Clients and tools seal and check messages with the core's own checksum, never a host copy of it.
export function vsrSealMessage(ptr: usize): void { seal(ptr); }
// A prepare built by a host (tests of the replica plane): its identity and frame, as a primary seals them.
export function vsrSealPrepare(ptr: usize): void { sealPrepareIdentity(ptr); sealPrepareFrame(ptr); }
export function vsrVerifyMessage(ptr: usize, length: u32): bool { return verify(ptr, length); }
export function vsrChecksum(ptr: usize, length: u32): u64 { return checksum(ptr, length); }

// Debugging aids for hosts and tests: slot flags of `op` in the log window (F_* bits, 0 = nothing) and the
// view the replica accepted it in.
export function vsrDebugSlot(handle: u32, op: u64): u32 {
  const r = replicaOf(handle);
  const flags = <u32>r.window.has(op);
  return flags == 0 ? 0 : flags | (r.acceptedView(op) << 8);
}
