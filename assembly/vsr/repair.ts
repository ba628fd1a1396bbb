// Repair: a replica missing prepares between its commit and its head asks peers for them (request_prepares);
// peers answer from their log window, or from their journal for committed ops older than it (journal read).
// A repaired prepare is accepted only when it is provably canonical: certified committed by the sender,
// sent by this view's primary, or matching a header the view change installed.
import {
  ACTION_JOURNAL_READ, ACTION_SEND, CMD_REPAIR_PREPARE, CMD_REQUEST_PREPARES, HEADER_SIZE, REPAIR_BATCH, SLOT_SIZE,
  STATUS_NORMAL, STATUS_RECOVERING, STATUS_VIEW_CHANGE,
} from "./constants";
import {
  H_CHECKSUM, H_REPAIR_COMMITTED, H_VIEW, P_OP, Q_FROM, Q_GROUP, Q_NONCE, Q_TO, messageSize, prepareValid, seal,
} from "./header";
import { F_BODY, F_HEADER, F_TRUSTED } from "./log_window";
import { Replica, REPAIR_CANONICAL, REPAIR_COMMITTED } from "./replica";
import { maybeStartView } from "./view_change";
import { lagsBeyondJournal, requestState } from "./state_sync";

// Asks one peer for the first run of ops we lack (missing, or not known canonical) below our head.
export function repair(r: Replica): void {
  if (lagsBeyondJournal(r)) {
    requestState(r, r.primaryIndex(r.view), r.commitMax);
    return;
  }
  const target = max(r.op, r.commitMax);
  let from: u64 = 0;
  const limit = min<u64>(target, r.commitMin + <u64>r.window.slots - 1);
  for (let op = r.commitMin + 1; op <= limit; op++) {
    const flags = r.window.has(op);
    if (!(flags & F_BODY) || !(flags & F_TRUSTED)) { from = op; break; }
  }
  if (from == 0) {
    if (r.merged && r.status == STATUS_VIEW_CHANGE) maybeStartView(r);
    return;
  }
  const to = min<u64>(limit, from + REPAIR_BATCH - 1);
  // Alternate between the primary (canonical for everything) and the others (certified committed ops).
  let peer = r.primaryIndex(r.view);
  r.repairNonce++;
  if (peer == r.replica || (r.repairNonce & 1) == 0) {
    r.repairPeer = (r.repairPeer + 1) % r.count;
    if (r.repairPeer == r.replica) r.repairPeer = (r.repairPeer + 1) % r.count;
    peer = r.repairPeer;
  }
  if (peer == r.replica) return; // single replica: nobody to ask
  r.repairLast = to;
  const m = r.headerInScratch(CMD_REQUEST_PREPARES);
  store<u64>(m + Q_NONCE, r.repairNonce);
  store<u64>(m + Q_FROM, from);
  store<u64>(m + Q_TO, to);
  store<u64>(m + Q_GROUP, r.group);
  seal(m);
  r.outbox.push(ACTION_SEND, peer, m, HEADER_SIZE);
}

export function onRequestPrepares(r: Replica, message: usize, from: u32): void {
  const first = load<u64>(message + Q_FROM);
  const last = min<u64>(load<u64>(message + Q_TO), first + REPAIR_BATCH - 1);
  for (let op = first; op <= last && op != 0; op++) {
    const flags = r.window.has(op);
    if (!(flags & F_BODY)) {
      // Older than the window but committed and durable: the journal holds exactly the committed prepare
      // (nothing is written at an op after it commits). Ask the host to read it; onJournalRead sends it.
      if (op <= r.commitDurable) {
        const payload = r.outbox.reserve(ACTION_JOURNAL_READ, from, 8);
        if (payload != 0) store<u64>(payload, op);
      }
      continue;
    }
    let certify: u8 = 0;
    if (op <= r.commitMin || (op <= r.commitMax && (flags & F_TRUSTED))) certify |= REPAIR_COMMITTED;
    if (r.status == STATUS_NORMAL && r.isPrimary() && (flags & F_TRUSTED)) certify |= REPAIR_CANONICAL;
    r.sendPrepare(from, op, CMD_REPAIR_PREPARE, certify);
  }
}

// The host's answer to ACTION_JOURNAL_READ. A corrupt or foreign read is dropped: the peer asks again elsewhere.
export function onJournalRead(r: Replica, op: u64, to: u32, message: usize, length: u32): void {
  if (to >= r.count || to == r.replica || op > r.commitDurable) return;
  if (length < HEADER_SIZE || length > SLOT_SIZE || messageSize(message) != length) return;
  if (!prepareValid(message) || load<u64>(message + P_OP) != op) return;
  const m = r.outbox.reserve(ACTION_SEND, to, length);
  if (m == 0) return;
  memory.copy(m, message, length);
  r.stampPrepare(m, CMD_REPAIR_PREPARE, REPAIR_COMMITTED);
}

export function onRepairPrepare(r: Replica, message: usize, from: u32): void {
  const op = load<u64>(message + P_OP);
  if (op <= r.commitMin || op - r.commitMin >= <u64>r.window.slots) return;
  if (r.status == STATUS_RECOVERING) return;
  const certify = load<u8>(message + H_REPAIR_COMMITTED);
  const checksum = load<u64>(message + H_CHECKSUM);
  const flags = r.window.has(op);
  const expected = (flags & F_HEADER) && (flags & F_TRUSTED) && r.window.checksum(op) == checksum;
  const canonical = (certify & REPAIR_CANONICAL) != 0 && load<u32>(message + H_VIEW) == r.view
    && r.status == STATUS_NORMAL && from == r.primaryIndex(r.view);
  const committed = (certify & REPAIR_COMMITTED) != 0;
  if (!expected && !canonical && !committed) return;
  if (op > r.op) {
    if (r.merged) return; // the merged log is fixed: never grow it from a repair
    r.op = op;
  }
  r.installCanonical(message, op);
  r.commitJournal();
  if (r.merged && r.status == STATUS_VIEW_CHANGE) maybeStartView(r);
  // A long catch-up streams: the end of one range asks for the next instead of waiting for the timer.
  if (op == r.repairLast && r.status != STATUS_RECOVERING) {
    r.repairLast = 0;
    repair(r);
    r.repairTimeout.start(r.rng);
  }
}
