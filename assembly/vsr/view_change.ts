// View change: start_view_change, do_view_change (log suffix with nack/present bits), the new primary's merge
// and repair of the merged log, start_view; and the probe a lagging or restarted replica sends for the view.
import { startViewAllowed } from "./state_sync";
import {
  ACTION_SEND, CMD_DO_VIEW_CHANGE, CMD_START_VIEW, HEADER_SIZE, MESSAGE_MAX, PIPELINE_MAX, STATUS_NORMAL,
  STATUS_RECOVERING, STATUS_VIEW_CHANGE, SUFFIX_HEADERS_MAX,
} from "./constants";
import {
  D_JOURNAL_HEAD, D_COMMIT, D_COUNT, D_GROUP, D_LOG_VIEW, D_NACK, D_OP, D_PRESENT, H_CHECKSUM, H_SIZE, H_VIEW, P_OP, S_NONCE,
  V_COMMIT, V_COUNT, V_GROUP, V_NONCE, V_OP, messageSize, seal,
} from "./header";
import { F_BODY, F_DURABLE, F_FAULTY, F_HEADER, F_TRUSTED } from "./log_window";
import { MERGE_READY, mergeDvcQuorum } from "./dvc_merge";
import { Replica } from "./replica";

export function startViewChange(r: Replica, view: u32): void {
  assert(r.count > 1, "view change: a single replica never view-changes");
  assert(view > r.view || (view == r.view && r.status == STATUS_RECOVERING), "view change: view regresses");
  r.view = view;
  r.status = STATUS_VIEW_CHANGE;
  r.svcFrom = 1 << r.replica;
  r.dvcFrom = 0;
  r.dvcSent = false;
  r.merged = false;
  r.queueLength = 0;
  r.viewChanges++;
  r.stopAllTimeouts();
  r.startViewChangeTimeout.start(r.rng);
  r.viewChangeStatusTimeout.start(r.rng);
  r.persist();
  r.broadcastHeader(r.buildStartViewChange());
  maybeSendDoViewChange(r);
}

export function onStartViewChange(r: Replica, message: usize, from: u32): void {
  const view = load<u32>(message + H_VIEW);
  if (view < r.view) return;
  if (view > r.view) startViewChange(r, view);
  else if (r.status != STATUS_VIEW_CHANGE) return;
  r.svcFrom |= 1 << from;
  maybeSendDoViewChange(r);
}

export function maybeSendDoViewChange(r: Replica): void {
  if (r.status != STATUS_VIEW_CHANGE || r.dvcSent) return;
  if (<u32>popcnt(r.svcFrom) < r.quorumViewChange()) return;
  r.dvcSent = true;
  sendDoViewChange(r);
}

// DVC: our log_view, head, commit and the headers of the top of our log, with per-op nack/present bits.
export function sendDoViewChange(r: Replica): void {
  const m = r.headerInScratch(CMD_DO_VIEW_CHANGE);
  const count = <u32>min<u64>(r.op, <u64>SUFFIX_HEADERS_MAX);
  let nack: u64 = 0;
  let present: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const op = r.op - i;
    const header = m + HEADER_SIZE + <usize>i * HEADER_SIZE;
    const flags = r.window.has(op);
    if ((flags & F_BODY) && ((flags & F_TRUSTED) || r.acceptedView(op) >= r.logView)) {
      memory.copy(header, r.window.prepare(op), HEADER_SIZE);
      present |= <u64>1 << i;
    } else if (flags & F_BODY) {
      memory.fill(header, 0, HEADER_SIZE); // possibly a stale leftover: abstain
      if (r.count == 1 && op > r.commitDurable) nack |= <u64>1 << i; // see the faulty case below
    } else {
      memory.fill(header, 0, HEADER_SIZE);
      // No body: we never held this prepare durably (we ack only what is durable, and a restart reloads the
      // journal), so we nack it, even when a view change told us its header (a nack is about the prepare, as
      // TigerBeetle's nack_prepare). Not so for a corrupt journal copy (it may have been acked), nor for ops a
      // restart could not load into the window (mayNack).
      if (!(flags & F_FAULTY) && r.mayNack(op)) nack |= <u64>1 << i;
      // Alone in its group, a replica commits an op in the same step that makes it durable and persists the
      // commit point: a corrupt entry above its durable commit was never committed (a torn, unfinished write).
      else if (r.count == 1 && (flags & F_FAULTY) && op > r.commitDurable) nack |= <u64>1 << i;
    }
  }
  store<u32>(m + H_SIZE, HEADER_SIZE + count * HEADER_SIZE);
  const journalHead: u64 = r.unloadedFrom != 0 ? r.journalHead : 0;
  store<u64>(m + D_OP, r.op);
  store<u64>(m + D_COMMIT, min(r.commitMax, max(r.op, journalHead)));
  store<u64>(m + D_JOURNAL_HEAD, journalHead);
  store<u64>(m + D_GROUP, r.group);
  store<u32>(m + D_LOG_VIEW, r.logView);
  store<u32>(m + D_COUNT, count);
  store<u64>(m + D_NACK, nack);
  store<u64>(m + D_PRESENT, present);
  seal(m);
  const primary = r.primaryIndex(r.view);
  if (primary == r.replica) storeDoViewChange(r, m, r.replica);
  else r.outbox.push(ACTION_SEND, primary, m, messageSize(m));
}

export function onDoViewChange(r: Replica, message: usize, from: u32): void {
  const view = load<u32>(message + H_VIEW);
  if (view < r.view) return;
  if (view > r.view) startViewChange(r, view);
  if (r.primaryIndex(r.view) != r.replica) return;
  if (r.status == STATUS_NORMAL) {
    sendStartView(r, from, 0); // it missed our start_view
    return;
  }
  if (r.status != STATUS_VIEW_CHANGE) return;
  r.svcFrom |= 1 << from; // a DVC implies its sender started this view change
  storeDoViewChange(r, message, from);
  maybeSendDoViewChange(r);
}

export function storeDoViewChange(r: Replica, message: usize, from: u32): void {
  memory.copy(r.dvcStore + <usize>from * MESSAGE_MAX, message, messageSize(message));
  r.dvcFrom |= 1 << from;
  if (r.merged || <u32>popcnt(r.dvcFrom) < r.quorumViewChange()) return;
  mergeDvcQuorum(r.dvcStore, r.dvcFrom, r.count, r.quorumNack(), r.merge);
  if (r.merge.outcome != MERGE_READY) {
    if (r.merge.outcome == 1) r.deadlocks++;
    return;
  }
  installLog(r, r.merge.opHead, r.merge.commitMax, 0, 0);
  r.merged = true;
  r.repairTimeout.start(r.rng);
  maybeStartView(r);
}

// Adopts a canonical log head: headers from the merge (headerList == 0) or from a start_view body.
export function installLog(r: Replica, opHead: u64, commitMax: u64, svHeaders: usize, svCount: u32): void {
  assert(opHead >= r.commitMin, "view change: the new log loses a committed op");
  for (let i: u32 = 0; i < r.window.slots; i++) {
    const op = unchecked(r.window.ops[i]);
    if (op > opHead) r.window.forget(op); // truncated by the new view
  }
  const count = svHeaders != 0 ? svCount : r.merge.headerCount;
  let lowest = opHead + 1;
  for (let i: u32 = 0; i < count; i++) {
    const op = opHead - i;
    if (op <= r.commitMin) break;
    const header = svHeaders != 0 ? svHeaders + <usize>i * HEADER_SIZE : unchecked(r.merge.headers[i]);
    if (header != 0 && load<u64>(header + P_OP) == op && load<u64>(header + H_CHECKSUM) != 0) {
      r.window.expect(op, load<u64>(header + H_CHECKSUM));
      if (r.window.has(op) & F_BODY) r.restampAccepted(op);
      lowest = op;
    } else {
      r.window.clearFlag(op, F_TRUSTED);
    }
  }
  // Below the headers we were given: committed ops. What we hold there is confirmed by the hash chain from the
  // lowest header down, or else fetched again (expected checksum, or certified committed).
  for (let op = r.commitMin + 1; op < lowest; op++) r.window.clearFlag(op, F_TRUSTED);
  r.op = opHead;
  r.commitMax = max(r.commitMax, commitMax);
  if (lowest <= opHead && (r.window.has(lowest) & F_BODY) && (r.window.has(lowest) & F_TRUSTED)) r.trustChainBelow(lowest);
}

// The new primary starts the view once it holds every op of the merged log.
export function maybeStartView(r: Replica): void {
  for (let op = r.commitMin + 1; op <= r.op; op++) {
    const flags = r.window.has(op);
    if (!(flags & F_BODY) || !(flags & F_TRUSTED)) return;
  }
  r.status = STATUS_NORMAL;
  r.logView = r.view;
  setLogHead(r);
  r.persist();
  r.stopAllTimeouts();
  r.commitMessageTimeout.start(r.rng);
  r.prepareTimeout.start(r.rng);
  for (let op = r.commitMax + 1; op <= r.op; op++) {
    unchecked(r.okBits[<i32>(op & (PIPELINE_MAX - 1))] = (r.window.has(op) & F_DURABLE) ? 1 << r.replica : 0);
  }
  for (let to: u32 = 0; to < r.count; to++) if (to != r.replica) sendStartView(r, to, 0);
  r.commitJournal();
  r.advanceCommitMax();
}

export function sendStartView(r: Replica, to: u32, nonce: u64): void {
  const m = r.headerInScratch(CMD_START_VIEW);
  const count = <u32>min<u64>(r.op, <u64>SUFFIX_HEADERS_MAX);
  for (let i: u32 = 0; i < count; i++) {
    memory.copy(m + HEADER_SIZE + <usize>i * HEADER_SIZE, r.window.prepare(r.op - i), HEADER_SIZE);
  }
  store<u32>(m + H_SIZE, HEADER_SIZE + count * HEADER_SIZE);
  store<u64>(m + V_OP, r.op);
  store<u64>(m + V_COMMIT, r.commitMax);
  store<u64>(m + V_GROUP, r.group);
  store<u32>(m + V_COUNT, count);
  store<u64>(m + V_NONCE, nonce);
  seal(m);
  r.outbox.push(ACTION_SEND, to, m, messageSize(m));
}

export function onStartView(r: Replica, message: usize, from: u32): void {
  const view = load<u32>(message + H_VIEW);
  if (view < r.view || (view == r.view && r.status == STATUS_NORMAL)) return;
  if (from != r.primaryIndex(view)) return;
  if (!startViewAllowed(r)) return;
  r.view = view;
  r.logView = view;
  r.status = STATUS_NORMAL;
  r.svcFrom = 0;
  r.dvcFrom = 0;
  r.dvcSent = false;
  r.merged = false;
  r.stopAllTimeouts();
  r.normalHeartbeatTimeout.start(r.rng);
  r.repairTimeout.start(r.rng);
  const count = min<u32>(load<u32>(message + V_COUNT), (messageSize(message) - HEADER_SIZE) / HEADER_SIZE);
  installLog(r, load<u64>(message + V_OP), load<u64>(message + V_COMMIT), message + HEADER_SIZE, count);
  setLogHead(r);
  r.persist(); // before any prepare_ok of this view leaves
  for (let op = r.commitMax + 1; op <= r.op; op++) {
    const flags = r.window.has(op);
    if ((flags & F_BODY) && (flags & F_TRUSTED) && (flags & F_DURABLE)) r.sendPrepareOk(op);
  }
  r.commitJournal();
}

export function requestStartView(r: Replica, view: u32): void {
  const m = r.buildRequestStartView();
  store<u32>(m + H_VIEW, view);
  seal(m);
  r.outbox.push(ACTION_SEND, r.primaryIndex(view), m, HEADER_SIZE);
}

export function onRequestStartView(r: Replica, message: usize, from: u32): void {
  if (r.status != STATUS_NORMAL || !r.isPrimary()) return;
  if (load<u32>(message + H_VIEW) > r.view) return;
  sendStartView(r, from, load<u64>(message + S_NONCE));
}

export function setLogHead(r: Replica): void {
  r.logHead = r.op;
  r.logHeadChecksum = (r.op > 0 && (r.window.has(r.op) & F_HEADER)) ? r.window.checksum(r.op) : 0;
}
