// Restart: the host replays its superblock and journal through these entry points; the core decides what each
// journal entry is (applied, in the log, possibly stale, torn, corrupt) and then rejoins the cluster.
import {
  HEADER_SIZE, RECOVERY_DIVERGED, RECOVERY_LOST, RECOVERY_OK, SLOT_SIZE, STATUS_RECOVERING,
} from "./constants";
import { H_CHECKSUM, H_VIEW, P_GROUP, P_OP, P_PARENT, frameSealed, prepareChecksum, messageSize, prepareValid } from "./header";
import { F_BODY, F_DURABLE, F_TRUSTED } from "./log_window";
import { Replica } from "./replica";
import { startViewChange } from "./view_change";

export function recoverBegin(r: Replica, view: u32, logView: u32, commit: u64, commitChecksum: u64, logHead: u64, logHeadChecksum: u64): void {
  r.view = view;
  r.logView = logView;
  r.logHead = logHead;
  r.logHeadChecksum = logHeadChecksum;
  r.persistedView = view;
  r.persistedLogView = logView;
  r.persistedCommit = commit;
  r.recoveryCommit = commit;
  r.recoveryChecksum = commitChecksum;
  r.recoveryBroken = false;
  r.recoveryTail = false;
  r.recoveryViewMax = view;
  r.recoveryVerdict = RECOVERY_OK;
  r.recoveryLostFrom = 0;
  r.recoveryLostTo = 0;
  r.status = STATUS_RECOVERING;
  r.stopAllTimeouts();
}

// The host's state machine already holds every op up to `op` (a checkpoint whose journal entries were drained):
// the replay starts after it, chained to `checksum` (the checkpoint op's prepare checksum). Between
// recoverBegin and the first recoverPrepare.
export function recoverFrom(r: Replica, op: u64, checksum: u64): void {
  assert(r.status == STATUS_RECOVERING, "recoverFrom outside recovery");
  assert(r.commitMin == 0 && r.op == 0, "recoverFrom after journal entries");
  r.baseAt(op, checksum);
  r.checkpoint = op;
  if (r.recoveryCommit <= op) {
    r.recoveryCommit = op;
    r.recoveryChecksum = checksum;
  }
}

// Journal entries in ascending op order. Ops up to the durable commit are re-applied (the host's state machine
// restarts empty); later ones are our log, reported in view changes even though not yet trusted.
//
// The journal writes each prepare, then its header into a separate header ring, and only then reports the
// write done (so only then can it be acked). `header` is that redundant copy (0 if absent). It tells a torn
// write from a bit flip: a corrupt prepare whose redundant header names it completed before the crash and
// may have been acked (faulty: abstain in view changes); without it, the write never completed and was never
// acked (treated as missing, so it can be nacked). Without this, torn heads after a whole-cluster power
// loss leave every replica abstaining on the same op: a view change that can never decide.
export function recoverPrepare(r: Replica, op: u64, message: usize, length: u32, header: usize, headerLength: u32): void {
  assert(r.status == STATUS_RECOVERING, "recoverPrepare outside recovery");
  // A prepare (or header) of another group is not this group's, however intact: as if never written here.
  const valid = length >= HEADER_SIZE && length <= SLOT_SIZE && messageSize(message) == length
    && prepareValid(message) && load<u64>(message + P_OP) == op && load<u64>(message + P_GROUP) == r.group;
  const completed = header != 0 && headerLength == HEADER_SIZE && load<u64>(header + P_OP) == op
    && load<u64>(header + H_CHECKSUM) != 0 && prepareChecksum(header) == load<u64>(header + H_CHECKSUM)
    && load<u64>(header + P_GROUP) == r.group;
  if (r.count == 1) { recoverSingle(r, op, message, length, valid, completed ? header : 0); return; }
  if (op <= r.recoveryCommit && !r.recoveryBroken) {
    if (valid && commitIfChained(r, op, message, length)) return;
    r.recoveryBroken = true; // corrupt or missing: the rest is repaired from peers
  }
  if (op <= r.commitMin) return;
  if (valid || completed) {
    const shift = op - r.journalHead; // ascending order: op > journalHead
    r.journalTop = shift >= 64 ? 0 : r.journalTop << shift;
    r.journalTop |= 1;
    r.journalHead = op;
  }
  if (op - r.commitMin >= <u64>r.window.slots && (valid || completed) && r.unloadedFrom == 0) {
    // The journal reaches beyond the window (the replay stopped early): keep its top, which view changes need,
    // and from now on never nack an op up to the journal's head that the window does not hold (it may have
    // been displaced here, or later by repair of the low ops).
    r.unloadedFrom = r.commitMin + 1;
  }
  if (!valid && !completed) return; // torn before completion: never acked, as if never written
  // The view it was accepted in: the header rewrite may be newer than the prepare's own stamp. A header naming
  // another prepare is older than the slot (a header is only written after its prepare).
  let accepted = valid ? load<u32>(message + H_VIEW) : 0;
  if (valid && completed && load<u64>(header + H_CHECKSUM) == load<u64>(message + H_CHECKSUM)) {
    accepted = max(accepted, load<u32>(header + H_VIEW));
  }
  if (valid && accepted < r.logView && op > r.logHead) return; // truncated by the view change to logView
  if (valid) {
    // Accepted below logView and at or below logHead: confirmed by that view change (its header rewrite lost)
    // or replaced by it. Kept with its old stamp, so view changes abstain on it unless recoverEnd proves it
    // by the hash chain.
    r.window.put(op, message, length, load<u64>(message + H_CHECKSUM), F_DURABLE);
    store<u32>(r.window.prepare(op) + H_VIEW, accepted);
  } else {
    r.window.markFaulty(op); // corrupt at rest after its write completed: may have been acked
  }
  if (op > r.op) r.op = op;
}

// A valid journaled prepare that is the next op and chains to the last commit is committed as it is replayed.
function commitIfChained(r: Replica, op: u64, message: usize, length: u32): bool {
  if (op != r.commitMin + 1 || load<u64>(message + P_PARENT) != r.commitChecksum) return false;
  r.window.put(op, message, length, load<u64>(message + H_CHECKSUM), F_TRUSTED | F_DURABLE);
  r.commitMax = op;
  r.commitOp(op);
  r.commitDurable = op;
  r.commitDurableChecksum = r.commitChecksum;
  r.op = op;
  return true;
}

// A single replica's journal is its commit record: the chained prefix of durable prepares is committed (each may
// have been acked). The first torn or missing entry ends it: no later write could have committed (commits go in
// op order), so everything from there is dropped, as if never written. Acked data is lost (recoverEnd refuses to
// start) where the prefix ends below the superblock's commit, or where the next op's write provably completed
// (its redundant header, `header`, is valid and is the header of that op's latest write) yet its prepare is
// corrupt now.
//
// The header ring may still hold the header of an OLDER prepare of the same op: one an earlier recovery dropped
// from the uncommitted tail, whose op was then prepared again and written torn, its header write never reached.
// Such a stale header proves nothing about the torn write (seed 404331256 aborted on one). It is told apart by
// the chain: the header of the op's latest write chains to the committed op before it (its parent), in a view no
// older than that op's, because views stamped on the journal never decrease in write order and every recovery
// that drops a tail moves to a view newer than anything in the journal (recoverSingleEnd); a stale header's op
// before was written again after that drop (else the stale prepare would have chained and been committed), so in
// a newer view. (The parent alone fails only if a dropped op was prepared again bit for bit.)
function recoverSingle(r: Replica, op: u64, message: usize, length: u32, valid: bool, header: usize): void {
  // Every entry counts, past the end of the prefix too: the next view must be newer than anything on disk.
  if (valid) r.recoveryViewMax = max(r.recoveryViewMax, load<u32>(message + H_VIEW));
  if (header != 0) r.recoveryViewMax = max(r.recoveryViewMax, load<u32>(header + H_VIEW));
  if (op <= r.commitMin || r.recoveryTail) return;
  if (r.recoveryBroken) {
    // Later durable entries in an unbroken run after the lost op may have been acked too (they chained onto it).
    if (r.recoveryVerdict == RECOVERY_LOST && op == r.recoveryLostTo + 1 && (valid || header != 0)) r.recoveryLostTo = op;
    return;
  }
  if (valid && op == r.recoveryCommit && op == r.commitMin + 1 && load<u64>(message + H_CHECKSUM) != r.recoveryChecksum) {
    refuse(r, RECOVERY_DIVERGED, op, op); // another prepare than the one the superblock recorded as committed
    return;
  }
  if (valid && commitIfChained(r, op, message, length)) return;
  if (op <= r.recoveryCommit || (header != 0 && headerOfLatestWrite(r, op, header))) {
    refuse(r, RECOVERY_LOST, r.commitMin + 1, op);
    return;
  }
  r.recoveryTail = true;
}

function refuse(r: Replica, verdict: u32, from: u64, to: u64): void {
  r.recoveryBroken = true;
  r.recoveryVerdict = verdict;
  r.recoveryLostFrom = from;
  r.recoveryLostTo = to;
}

// Is `header` (valid, naming op) the header of the latest write of op, the op right after the committed prefix?
function headerOfLatestWrite(r: Replica, op: u64, header: usize): bool {
  if (op != r.commitMin + 1 || load<u64>(header + P_PARENT) != r.commitChecksum) return false;
  // The op before's view is known when the replay held it (not for a checkpoint or op 0), and trusted only under a
  // valid frame seal (the view is outside the identity checksum): otherwise the parent decides alone, which may
  // refuse a stale header but never passes off a lost acked op as a torn one.
  if (r.commitMin == 0 || !(r.window.has(r.commitMin) & F_BODY)) return true;
  const before = r.window.prepare(r.commitMin);
  if (!frameSealed(before) || !frameSealed(header)) return true;
  return load<u32>(header + H_VIEW) >= load<u32>(before + H_VIEW);
}

// Returns RECOVERY_OK, or (a single replica only) why it refuses to start: it then stays recovering and
// recoveryLostFrom..recoveryLostTo name the ops it cannot give back. No peer can repair a single replica.
export function recoverEnd(r: Replica): u32 {
  assert(r.status == STATUS_RECOVERING, "recoverEnd outside recovery");
  if (r.count == 1) return recoverSingleEnd(r);
  if (!r.recoveryBroken && r.commitMin == r.recoveryCommit) {
    assert(r.commitChecksum == r.recoveryChecksum, "recovery: journal disagrees with the superblock");
  }
  // The superblock's commit is committed even where the replay stopped early (a corrupt entry): say so in
  // view changes, so that the merge never truncates it.
  r.commitMax = max(r.commitMax, max(r.commitMin, r.recoveryCommit));
  promoteByHashChain(r);
  if (r.primaryIndex(r.view) == r.replica) {
    // Nobody else answers for a view we led: move on to the next one.
    startViewChange(r, r.view + 1);
  } else {
    r.requestStartViewTimeout.start(r.rng);
    r.broadcastHeader(r.buildRequestStartView());
  }
  r.afterEvent();
  return RECOVERY_OK;
}

function recoverSingleEnd(r: Replica): u32 {
  if (!r.recoveryBroken && r.commitMin < r.recoveryCommit) {
    refuse(r, RECOVERY_LOST, r.commitMin + 1, r.recoveryCommit); // the journal ends below the superblock's commit
  }
  if (!r.recoveryBroken && r.commitMin == r.recoveryCommit && r.commitChecksum != r.recoveryChecksum) {
    refuse(r, RECOVERY_DIVERGED, r.commitMin, r.commitMin); // a checkpoint (recoverFrom) the superblock disowns
  }
  if (r.recoveryBroken) {
    r.recoveryLostTo = max(r.recoveryLostTo, r.recoveryCommit);
    return r.recoveryVerdict;
  }
  assert(r.op == r.commitMin, "recovery: single replica left uncommitted ops");
  // Resume with the journal committed, in a view no older than anything the journal holds (views stamped on the
  // journal never decrease in write order). Dropping a tail is a view change of one: the dropped ops are written
  // again in a newer view, so that the next recovery can tell their headers from the stale ones (recoverSingle).
  // Not persisted: the journal's own entries carry it (a view that wrote nothing may be used again, harmlessly).
  const view = r.recoveryTail && r.recoveryViewMax < u32.MAX_VALUE ? r.recoveryViewMax + 1 : r.recoveryViewMax;
  if (view > r.view) {
    r.view = view;
    r.logView = view;
    r.logHead = r.commitMin;
    r.logHeadChecksum = r.commitChecksum;
  }
  r.commitMax = r.commitMin;
  r.enterNormal();
  r.afterEvent();
  return RECOVERY_OK;
}

// The logView's log is one hash chain: the parent of an entry accepted in logView is in that log too, so an
// older-stamped entry whose checksum is that parent is confirmed (its header rewrite was lost in the crash).
export function promoteByHashChain(r: Replica): void {
  const head = r.logHead;
  if (head > r.commitMin && (r.window.has(head) & F_BODY) && r.window.checksum(head) == r.logHeadChecksum) {
    store<u32>(r.window.prepare(head) + H_VIEW, max(r.acceptedView(head), r.logView));
  }
  for (let op = r.op; op > r.commitMin + 1; op--) {
    const flags = r.window.has(op);
    if (!(flags & F_BODY) || r.acceptedView(op) < r.logView) continue;
    const below = op - 1;
    const belowFlags = r.window.has(below);
    if (!(belowFlags & F_BODY) || r.acceptedView(below) >= r.logView) continue;
    if (r.window.checksum(below) != load<u64>(r.window.prepare(op) + P_PARENT)) continue;
    store<u32>(r.window.prepare(below) + H_VIEW, r.logView);
  }
}
