// A replica that cannot trust its own state, and state transfer.
//
// Lost state (VRR's recovery protocol, "Viewstamped Replication Revisited" §4.3; TigerBeetle's recovering status):
// a replica of a cluster that restarts with an empty data directory may have acknowledged prepares and voted in
// view changes before it lost them. Starting as a fresh replica in view 0 would let it nack ops it acked (a
// committed op could be truncated) or vote for a view older than one it helped form. So it enters the recovering
// status with `stateLost` and neither votes, nor acknowledges, nor accepts a StartView until:
//   1. a quorum of OTHER replicas (count/2+1: it intersects every view-change quorum even when that quorum
//      included this replica before the loss) answered its nonce-stamped Recovery, and among them the primary
//      of the newest view they report, in normal status: that primary's log holds every op this replica may have
//      acknowledged;
//   2. the host fetched that primary's state-machine snapshot (ACTION_STATE_REQUEST) and installed it durably
//      (vsrStateInstalled(op, checksum));
//   3. a StartView of a view no older than the one learned in 1 installed the log above the snapshot. Until the
//      log is repaired, ops up to the primary's head at the time of 1 are never nacked (mayNack).
// Formation: a cluster whose replicas all start empty has nothing to lose. When this replica and enough others to
// make a quorum with it all say "lost" (and nobody answered otherwise), nothing can have been committed (a commit
// needs a quorum, and at most f replicas lose their state), so the replica starts in view 0 as formation does; a
// new 3-replica cluster forms as soon as two of its replicas are up, as before.
//
// Lagging (TigerBeetle's state sync): a backup whose commit is below the primary's checkpoint (the primary's
// Commit heartbeats carry it) is behind by more than the primary's journal: repair would ask for prepares the
// primary no longer holds. It requests a state transfer from the primary instead of repairing op by op.
import {
  ACTION_SEND, ACTION_STATE_REQUEST, CMD_COMMIT, CMD_DO_VIEW_CHANGE, CMD_PREPARE, CMD_PREPARE_OK, CMD_RECOVERY,
  CMD_RECOVERY_RESPONSE, CMD_START_VIEW, CMD_START_VIEW_CHANGE, HEADER_SIZE, STATUS_NORMAL, STATUS_RECOVERING,
  STATUS_VIEW_CHANGE,
} from "./constants";
import { B_BARRED, B_BASE, B_COMMIT, B_COMMIT_CHECKSUM, B_LOST, B_NONCE, B_OP, H_SIZE, H_VIEW, messageSize, S_BARRED, S_BASE, S_GROUP, S_NONCE, S_TAIL, S_TAIL_COUNT, S_TAIL_END, seal } from "./header";
import { FORMATION_NONE, FORMATION_TAIL_BYTES, FORMATION_TAIL_MAX, formationAlike, formationHolds, formationPrefix, formationWitness } from "../journal/formation";
import { TAIL_ENTRY_BYTES, tailIsRun } from "../journal/tail_match";
import { Replica } from "./replica";
import { PROBE_ATTEMPTS_MAX } from "./timeouts";
import { requestStartView } from "./view_change";

// The host found nothing of this replica on disk (a wiped or new data directory), or state it cannot account for.
// `nonce`: fresh per process start (random), so that answers to an earlier incarnation's probes are never taken for
// answers to this one. `barred`: the replica is stale (a partition's segments from before it fell behind a running
// cluster, whose VSR state is not persisted): it answers "lost" (the others may form from their own state without
// it) but never forms itself: only a transfer of a normal replica's state brings it back.
export function recoverLost(r: Replica, nonce: u64, barred: bool = false): void {
  assert(r.count > 1, "recoverLost: a single replica has nobody to recover from");
  // Its Recovery carries the tail only while it prepared nothing (attachTail): a tail that could never be sent would
  // keep the whole cluster from forming again from its files (a host that let the replica lead first).
  assert(!r.hasTail || r.op == 0, "recoverLost: a replica whose files give a tail prepared an op before it");
  r.formationBarred = barred;
  r.status = STATUS_RECOVERING;
  r.stateLost = true;
  r.synced = false;
  r.syncTarget = -1;
  r.recoveryNonce = nonce;
  r.recoveryNonceFirst = nonce + 1; // the first round's (broadcastRecovery counts up)
  r.stopAllTimeouts();
  broadcastRecovery(r);
  r.requestStartViewTimeout.start(r.rng);
}

// The state this replica starts from, as the host fingerprints it (a partition: its files at open): a lost replica
// whose base equals the primary's needs no transfer, only the ops since (see decide).
export function setBase(r: Replica, base: u64): void {
  r.base = base;
}

// This replica's files as its host lists them: the last `n` batches (tail_match.ts entries) at `list`, and `end`, one
// past its last message. Only for a lost replica whose files hold every batch it acknowledged (not wiped, not
// catching up): journal/formation.ts forms a whole cluster again from such replicas' differing files. Given again
// after the cut this replica's host was asked for (formationCut): a new round tells the others.
export function setTail(r: Replica, list: usize, n: u32, end: u64): void {
  assert(n <= FORMATION_TAIL_MAX && tailIsRun(list, n, end), "setTail: not a run of batches ending at end");
  assert(!r.formationBarred, "setTail: a barred replica's files are no record of what it acknowledged");
  if (r.formTailsFor < r.count) { // once per replica (and count): a partition group lost at open
    r.formTails = heap.alloc(<usize>r.count * FORMATION_TAIL_BYTES);
    r.formTailsFor = r.count;
  }
  memory.copy(r.formTails + <usize>r.replica * FORMATION_TAIL_BYTES, list, <usize>n * TAIL_ENTRY_BYTES);
  unchecked(r.formCounts[r.replica] = n);
  unchecked(r.formEnds[r.replica] = end);
  r.hasTail = true;
  r.formKnown |= 1 << r.replica;
  if (r.formCut == u64.MAX_VALUE) return;
  r.formCut = u64.MAX_VALUE;
  if (r.stateLost && r.syncTarget < 0) broadcastRecovery(r);
}

// The end this replica's host should cut its files back to (journal/formation.ts), or u64.MAX_VALUE.
export function formationCut(r: Replica): u64 {
  return r.formCut;
}

// A new round: a new nonce, answers of earlier rounds no longer count (they may describe an older view).
function broadcastRecovery(r: Replica): void {
  r.recoveryNonce++;
  r.syncResponders = 0;
  r.syncLostResponders = 0;
  r.syncLostUnlike = 0;
  r.syncLostBarred = 0;
  r.formKnown = r.hasTail ? 1 << r.replica : 0;
  const m = r.headerInScratch(CMD_RECOVERY);
  store<u32>(m + H_VIEW, 0);
  store<u64>(m + S_GROUP, r.group);
  store<u64>(m + S_NONCE, r.recoveryNonce);
  store<u64>(m + S_BASE, r.base);
  store<u8>(m + S_BARRED, r.formationBarred ? 1 : 0);
  attachTail(r, m);
  seal(m);
  r.broadcastHeader(m);
}

// A lost replica's Recovery and lost RecoveryResponse carry its tail (S_TAIL) when it has one, as the body.
function attachTail(r: Replica, m: usize): void {
  if (!r.hasTail || r.formationBarred || r.op != 0) return;
  const n = unchecked(r.formCounts[r.replica]);
  store<u8>(m + S_TAIL, 1);
  store<u32>(m + S_TAIL_COUNT, n);
  store<u64>(m + S_TAIL_END, unchecked(r.formEnds[r.replica]));
  memory.copy(m + HEADER_SIZE, r.formTails + <usize>r.replica * FORMATION_TAIL_BYTES, <usize>n * TAIL_ENTRY_BYTES);
  store<u32>(m + H_SIZE, HEADER_SIZE + n * TAIL_ENTRY_BYTES);
}

// A lost peer's tail, from its Recovery or lost RecoveryResponse (none: its tail is not known this round).
function noteTail(r: Replica, message: usize, from: u32): void {
  const bit: u32 = 1 << from;
  r.formKnown &= ~bit;
  if (!r.hasTail || load<u8>(message + S_TAIL) != 1) return;
  const n = load<u32>(message + S_TAIL_COUNT);
  const end = load<u64>(message + S_TAIL_END);
  if (n > FORMATION_TAIL_MAX || messageSize(message) != HEADER_SIZE + n * TAIL_ENTRY_BYTES) return;
  if (!tailIsRun(message + HEADER_SIZE, n, end)) return;
  memory.copy(r.formTails + <usize>from * FORMATION_TAIL_BYTES, message + HEADER_SIZE, <usize>n * TAIL_ENTRY_BYTES);
  unchecked(r.formCounts[from] = n);
  unchecked(r.formEnds[from] = end);
  r.formKnown |= bit;
}

// Only a replica in normal status describes the cluster (VRR); one that lost its state says only that. One that
// formed (or joined from its base) and holds no op yet answers a lost replica of the same base like a lost one, where
// its own answer would leave that straggler of the formation waiting for ever: while it is not in normal status (one
// replica that formed alone can finish no view change without the stragglers), or when the straggler is its view's
// primary (it would wait for itself). It has nothing a lost replica of that base lacks: no op was ever prepared in
// its log. Only with a base (a partition's files): there, forming takes every other replica's lost answer from the same
// files, and a replica that committed anything has other files; with none (base 0) a quorum of lost answers forms, and
// a blank answer is not a lost one (the replica saw nothing, it lost nothing: a commit quorum without it may exist).
export function onRecovery(r: Replica, message: usize, from: u32): void {
  // Counted only during a view change (enterNormal clears them): a Recovery heard while normal is answered, and
  // its sender may since have caught up from another replica and gone quiet towards this one.
  if (!r.stateLost && r.status == STATUS_VIEW_CHANGE) r.lostPeers |= <u32>1 << from;
  const blank = !r.stateLost && r.base != 0 && r.op == 0 && r.commitMin == 0 && load<u64>(message + S_BASE) == r.base
    && (r.status != STATUS_NORMAL || r.primaryIndex(r.view) == from);
  if (!r.stateLost && !blank && r.status != STATUS_NORMAL) return;
  const m = r.headerInScratch(CMD_RECOVERY_RESPONSE);
  store<u64>(m + S_GROUP, r.group);
  store<u64>(m + B_NONCE, load<u64>(message + S_NONCE));
  if (r.stateLost || blank) {
    store<u32>(m + H_VIEW, 0);
    store<u8>(m + B_LOST, 1);
    store<u64>(m + B_BASE, r.base);
    store<u8>(m + B_BARRED, r.formationBarred ? 1 : 0);
    // A blank answer (formed, no op yet: its files are as they were) carries the tail too: a straggler that counted
    // it in the round that formed the others needs it to form with them.
    attachTail(r, m);
  } else {
    store<u64>(m + B_OP, r.op);
    store<u64>(m + B_COMMIT, r.commitMin);
    store<u64>(m + B_COMMIT_CHECKSUM, r.commitChecksum);
    store<u64>(m + B_BASE, r.base);
  }
  seal(m);
  r.outbox.push(ACTION_SEND, from, m, messageSize(m));
  if (!r.stateLost) return;
  noteTail(r, message, from);
  countLostAsker(r, from, load<u64>(message + S_BASE), load<u8>(message + S_BARRED) != 0);
}

// Only a replica that lost its state sends Recovery: the asker is one more lost replica, as if it had answered this
// replica's own round so. Without this a new cluster could half-form: a replica whose first Recovery went out before
// its links were up answers its peer's Recovery "lost", the peer forms on that answer and becomes normal, and this
// replica's next round hears only "normal, view 0" from it, short of a quorum of others, so it stays recovering and
// the cluster cannot commit until a third replica is up. Counting the asker, both form on the same exchange. Safe as
// the formation itself: a quorum of lost replicas means no state was ever held (at most f lose theirs).
function countLostAsker(r: Replica, from: u32, base: u64, barred: bool): void {
  if (r.syncTarget >= 0) return; // this round already chose a source to take the state from
  countLost(r, 1 << from, base, barred);
  decide(r);
}

// A lost peer (its answer, or its own Recovery): it forms with this replica only from the same base, never barred.
function countLost(r: Replica, bit: u32, base: u64, barred: bool): void {
  r.syncResponders |= bit;
  r.syncLostResponders |= bit;
  if (barred || base != r.base) r.syncLostUnlike |= bit;
  else r.syncLostUnlike &= ~bit;
  if (barred) r.syncLostBarred |= bit;
  else r.syncLostBarred &= ~bit;
}

export function onRecoveryResponse(r: Replica, message: usize, from: u32): void {
  if (!r.stateLost || r.syncTarget >= 0) return;
  if (load<u64>(message + B_NONCE) != r.recoveryNonce && !lateLostAnswer(r, message)) return;
  const bit: u32 = 1 << from;
  r.syncResponders |= bit;
  if (load<u8>(message + B_LOST) != 0) {
    noteTail(r, message, from);
    countLost(r, bit, load<u64>(message + B_BASE), load<u8>(message + B_BARRED) != 0);
  } else {
    r.formKnown &= ~bit;
    r.syncLostResponders &= ~bit;
    r.syncLostUnlike &= ~bit;
    r.syncLostBarred &= ~bit;
    unchecked(r.syncView[from] = load<u32>(message + H_VIEW));
    unchecked(r.syncOp[from] = load<u64>(message + B_OP));
    unchecked(r.syncCommit[from] = load<u64>(message + B_COMMIT));
    unchecked(r.syncBase[from] = load<u64>(message + B_BASE));
  }
  decide(r);
}

// A "lost" answer to an earlier round of this incarnation, with no base (an empty replica: the metadata group). The
// peer that sent it may have formed by counting this replica's Recovery as a lost asker (countLostAsker) and now
// answers "normal" (or, changing views without a quorum, nothing), while this replica's next round began before the
// answer arrived (its round timer is short, the machine loaded): without it, this replica waits for a third replica
// while the other, formed, waits for it. Taking it is as safe as the formation it completes: a quorum of empty
// replicas that each said "lost" during this incarnation means nothing was ever committed (at most f lose their state;
// a replica's "lost" turns only into a formation or a transfer). Not with a base: a partition's tail may have been cut
// since (formation.ts), and a stale one must not count as alike.
function lateLostAnswer(r: Replica, message: usize): bool {
  if (r.base != 0 || load<u8>(message + B_LOST) == 0 || load<u64>(message + B_BASE) != 0) return false;
  const nonce = load<u64>(message + B_NONCE);
  return nonce - r.recoveryNonceFirst < r.recoveryNonce - r.recoveryNonceFirst; // an earlier round's (u64 wraps alike)
}

function decide(r: Replica): void {
  const normal = r.syncResponders & ~r.syncLostResponders;
  const answers = <u32>popcnt(r.syncResponders);
  if (normal == 0 && formationAllowed(r)) {
    // Formation: nobody in the quorum ever held state, so nothing was ever committed; or a quorum holds the same
    // files, which hold every committed op (see formationAllowed).
    r.stateLost = false;
    r.formCut = u64.MAX_VALUE;
    r.enterNormal();
    return;
  }
  if (normal == 0) askFormationCut(r);
  if (answers < r.quorumViewChange()) return;
  let view: u32 = 0;
  for (let i: u32 = 0; i < r.count; i++) if ((normal & (1 << i)) && unchecked(r.syncView[i]) > view) view = unchecked(r.syncView[i]);
  const primary = r.primaryIndex(view);
  if (!(normal & (1 << primary)) || unchecked(r.syncView[primary]) != view) return; // wait for it (or a new round)
  r.view = view;
  r.syncTarget = <i32>primary;
  r.syncHead = unchecked(r.syncOp[primary]);
  r.requestStartViewTimeout.start(r.rng);
  // Nothing to transfer: the primary committed nothing yet, or it started from the very state this replica holds (a
  // whole-cluster restart whose others formed and committed first: its ops come by repair). Never for a stale one.
  const sameBase = r.base != 0 && unchecked(r.syncBase[primary]) == r.base;
  // (A primary with a base of its own formed from files: it holds what it committed before this group's ops began.)
  const nothingCommitted = r.base == 0 && unchecked(r.syncBase[primary]) == 0 && unchecked(r.syncCommit[primary]) == 0;
  if ((nothingCommitted || sameBase) && !r.formationBarred) {
    r.formCut = u64.MAX_VALUE; // it joins from its files as they are
    stateInstalled(r, 0, 0);
    return;
  }
  requestState(r, primary, unchecked(r.syncCommit[primary]));
}

// Whether the lost answers of this round let this replica form with the alike ones (the same base, not barred).
// A replica that lost everything (no base: a wiped or new directory): a quorum of alike with itself, since at most f
// lose their state, a quorum of lost replicas means nothing was ever committed. A replica with a base (a
// partition's files, whose group state is not persisted): every other replica must have answered lost, since every
// restart of such a replica reads as lost, so a quorum of them proves nothing (two restarted while the third ran on
// would form apart from it and take its ops again); a barred one (it kept out: behind) is accounted for, not one to
// form with.
// With every replica's tail known (a whole cluster restarted from files that hold what each acknowledged: see
// journal/formation.ts), a quorum of the same log forms whatever the others hold: a committed op is in the files of
// a majority, which meets that quorum, so the quorum's log holds it; and every other replica answered lost, so no
// view runs without them.
function formationAllowed(r: Replica): bool {
  if (r.formationBarred) return false;
  if (r.base != 0 && allTailsKnown(r)) {
    let alike: u32 = 0;
    for (let i: u32 = 0; i < r.count; i++) {
      if (i != r.replica && formationAlike(r.formTails, changetype<usize>(r.formCounts), changetype<usize>(r.formEnds), r.replica, i)) alike++;
    }
    return alike + 1 >= r.quorumViewChange();
  }
  const alike = <u32>popcnt(r.syncLostResponders & ~r.syncLostUnlike);
  if (alike + 1 < r.quorumViewChange()) return false;
  return r.base == 0 || alike + <u32>popcnt(r.syncLostBarred) >= r.count - 1;
}

// Every replica answered lost this round with its tail (so every other replica is accounted for).
function allTailsKnown(r: Replica): bool {
  return r.hasTail && r.formKnown == (<u32>1 << r.count) - 1;
}

// No quorum holds the same files: the majority's log M (journal/formation.ts) is longer than some, shorter than
// others. A replica whose files begin with M and go on past it asks its host to cut them back to M's end (the batches
// past it never committed); with the cut done (setTail again), a new round finds a quorum holding M.
function askFormationCut(r: Replica): void {
  if (r.base == 0 || r.formationBarred || !allTailsKnown(r) || r.formCut != u64.MAX_VALUE) return;
  const counts = changetype<usize>(r.formCounts);
  const ends = changetype<usize>(r.formEnds);
  const end = formationPrefix(r.formTails, counts, ends, r.count, r.quorumViewChange());
  if (end == FORMATION_NONE || <u64>end >= unchecked(r.formEnds[r.replica])) return; // not proven, or this log is M
  // A log that does not begin with M catches up once the others formed.
  if (!formationHolds(r.formTails, counts, r.replica, formationWitness(), <u64>end)) return;
  r.formCut = <u64>end;
}

export function requestState(r: Replica, from: u32, op: u64): void {
  // From here on the host may change this replica's state towards the peer's (a partition's catch-up cuts and appends
  // segments): it is no base to form from again in this incarnation (the host keeps it so across restarts).
  if (r.stateLost) r.formationBarred = true;
  r.hasTail = false; // its files become the peer's: no tail of its own to form from
  r.formCut = u64.MAX_VALUE;
  const payload = r.outbox.reserve(ACTION_STATE_REQUEST, from, 8);
  if (payload == 0) return;
  store<u64>(payload, op);
  r.stateRequests++;
}

// The host installed (durably) a peer's state-machine snapshot covering every op up to `op`, whose prepare
// checksum is `checksum` (the log after it chains to it).
export function stateInstalled(r: Replica, op: u64, checksum: u64): void {
  if (r.stateLost) {
    if (r.syncTarget < 0 || r.synced) return; // a late transfer of an earlier round: the replica moved on
    // Its state is now the peer's, from the base the peer's group started from: a lost replica that finds this one
    // primary later takes the shortcut only from that same base (decide), never from the files this one had.
    r.base = unchecked(r.syncBase[r.syncTarget]);
    r.window.clear();
    r.baseAt(op, checksum);
    r.logView = 0; // no log of any view yet: the StartView brings it
    r.logHead = op;
    r.logHeadChecksum = checksum;
    // The primary's head when it answered bounds every op this replica may have acked before it lost them:
    // never count them as never prepared here.
    r.unloadedFrom = r.syncHead > op ? op + 1 : 0;
    r.journalHead = r.syncHead;
    r.journalTop = u64.MAX_VALUE;
    r.synced = true;
    r.checkpoint = op;
    r.persist(); // the view learned and the snapshot's op: a restart from here is no longer a lost replica
    broadcastRequestStartView(r);
    r.requestStartViewTimeout.start(r.rng);
    return;
  }
  if (r.status != STATUS_NORMAL || op <= r.commitMin) return; // stale: repair or an earlier transfer got further
  r.commitMin = op;
  r.commitChecksum = checksum;
  r.commitMax = max(r.commitMax, op);
  r.commitDurable = op;
  r.commitDurableChecksum = checksum;
  r.checkpoint = max(r.checkpoint, op);
  if (r.op < op) r.op = op;
  r.commitJournal();
}

// Any primary of a view no older than ours answers (onRequestStartView); the one we learned may have failed since.
function broadcastRequestStartView(r: Replica): void {
  r.broadcastHeader(r.buildRequestStartView());
}

// The recovering status's timer while the state is lost: a new round, the state request again, or the StartView
// request again. Never a view change: this replica does not vote until it holds the cluster's state.
export function tickLost(r: Replica): void {
  if (!r.requestStartViewTimeout.tick()) return;
  if (r.synced) {
    broadcastRequestStartView(r);
  } else if (r.syncTarget >= 0 && r.requestStartViewTimeout.attempts < PROBE_ATTEMPTS_MAX) {
    requestState(r, <u32>r.syncTarget, unchecked(r.syncCommit[r.syncTarget]));
  } else {
    r.syncTarget = -1; // the source may be gone: ask the cluster again
    broadcastRecovery(r);
    r.requestStartViewTimeout.start(r.rng);
    return;
  }
  r.requestStartViewTimeout.backoff(r.rng);
}

// Repair's first question on a backup: is the gap beyond what peers' journals hold?
export function lagsBeyondJournal(r: Replica): bool {
  return r.status == STATUS_NORMAL && !r.isPrimary() && r.commitMin < r.clusterCheckpoint;
}

// A StartView reaches a replica whose state is lost: only after the transfer, and then it ends the recovery.
export function startViewAllowed(r: Replica): bool {
  if (!r.stateLost) return true;
  if (!r.synced) return false;
  r.stateLost = false;
  r.synced = false;
  r.syncTarget = -1;
  return true;
}

// While the state is lost only the recovery protocol and (after the transfer) a StartView are heard.
export function heardWhileLost(cmd: u8): bool {
  return cmd == CMD_RECOVERY || cmd == CMD_RECOVERY_RESPONSE;
}

// A message only a replica that holds a group state sends (it takes part in views and commits): its sender is not
// lost (stranded()). A lost replica sends Recovery (and its answers), and asks for a StartView once synced.
export function speaksWithState(cmd: u8): bool {
  return cmd == CMD_PREPARE || cmd == CMD_PREPARE_OK || cmd == CMD_COMMIT || cmd == CMD_START_VIEW_CHANGE
    || cmd == CMD_DO_VIEW_CHANGE || cmd == CMD_START_VIEW;
}

// A view change that no quorum can finish: this replica changes views while so many of the others lost their group
// state (each says so with its Recovery rounds, heard during this view change) that the rest, this one included,
// are short of a view-change quorum. (With five or more replicas a silent one among the rest may still hold a state
// the lost ones could take; starting again here is then needless but harmless: a restart.) The lost ones wait for a replica in normal status, which none of them can become without this one's vote:
// nothing moves until this replica, too, starts again from what its storage holds. For a group whose state is its
// files (a partition's: its VSR state is not persisted, every restart comes back lost) its host does just that, as a
// restart would (always safe: a crash may come at any time), and the replicas, all lost now, form again from their
// files (journal/formation.ts). Never for a group whose host keeps its VSR state (the metadata group): lost replicas
// there come from wiped data, and forming from the rest could drop what only the wiped ones had acknowledged.
export function stranded(r: Replica): bool {
  if (r.stateLost || r.status != STATUS_VIEW_CHANGE) return false;
  return r.count - <u32>popcnt(r.lostPeers) < r.quorumViewChange();
}
