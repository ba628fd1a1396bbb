// Repair: a replica missing prepares between its commit and its head asks peers for them (request_prepares);
// peers answer from their log window, or from their journal for committed ops older than it (journal read).
// A repaired prepare is accepted only when it is provably canonical: certified committed by the sender,
// sent by this view's primary, or matching a header the view change installed.
import {
  ACTION_COMMIT, ACTION_JOURNAL_READ, ACTION_JOURNAL_WRITE, ACTION_JOURNAL_WRITE_HEADER, ACTION_PERSIST, ACTION_REPLY, ACTION_SEND, CMD_COMMIT, CMD_DO_VIEW_CHANGE,
  CMD_PREPARE, CMD_PREPARE_OK, CMD_REPAIR_PREPARE, CMD_REPLY, CMD_REQUEST, CMD_REQUEST_PREPARES,
  CMD_REQUEST_START_VIEW, CMD_START_VIEW, CMD_START_VIEW_CHANGE, HEADER_SIZE, MESSAGE_MAX, OP_REGISTER,
  PIPELINE_MAX, REPAIR_BATCH, REPLICAS_MAX, REPLY_BODY_TOO_LARGE, REPLY_OK, REPLY_REQUEST_TOO_OLD, REQUEST_QUEUE_MAX, SLOT_SIZE,
  STATUS_NORMAL, STATUS_RECOVERING, STATUS_VIEW_CHANGE, SUFFIX_HEADERS_MAX,
} from "./constants";
import {
  C_COMMIT, C_COMMIT_CHECKSUM, C_GROUP, C_OP, C_TIMESTAMP, D_COMMIT, D_COUNT, D_GROUP, D_LOG_VIEW, D_NACK, D_OP,
  D_PRESENT, H_CHECKSUM, H_CLUSTER, H_COMMAND, H_REPAIR_COMMITTED, H_REPAIR_NONCE, H_REPLICA, H_SIZE, H_VIEW,
  K_COMMIT, K_GROUP, K_OP, K_PARENT, K_PREPARE_CHECKSUM, P_CLIENT, P_COMMIT, P_GROUP, P_OP, P_OPERATION, P_PARENT,
  P_REQUEST, P_REQUEST_CHECKSUM, P_SESSION, P_TIMESTAMP, prepareChecksum, Q_FROM, Q_GROUP, Q_NONCE, Q_TO, R_CLIENT, R_GROUP,
  R_OPERATION, R_REQUEST, R_SESSION, S_GROUP, S_NONCE, V_COMMIT, V_COUNT, V_GROUP, V_NONCE, V_OP, Y_CLIENT,
  Y_COMMIT, Y_CONTEXT, Y_GROUP, Y_OP, Y_OPERATION, Y_REQUEST, Y_REQUEST_CHECKSUM, Y_SESSION, Y_STATUS, Y_TIMESTAMP,
  command, messageSize, prepareValid, seal, sealPrepareFrame, sealPrepareIdentity, verify,
} from "./header";
import { F_BODY, F_DURABLE, F_FAULTY, F_HEADER, F_TRUSTED, LogWindow } from "./log_window";
import { CHECK_DUPLICATE, CHECK_NEW, ClientTable } from "./client_table";
import { Outbox } from "./outbox";
import {
  COMMIT_MESSAGE_TICKS, NORMAL_HEARTBEAT_TICKS, PREPARE_TICKS, PROBE_ATTEMPTS_MAX, REPAIR_TICKS,
  REQUEST_START_VIEW_TICKS, Rng, START_VIEW_CHANGE_TICKS, Timeout, VIEW_CHANGE_STATUS_TICKS,
} from "./timeouts";
import { MERGE_READY, MergeResult, mergeDvcQuorum } from "./dvc_merge";
import { Replica, REPAIR_CANONICAL, REPAIR_COMMITTED } from "./replica";
import { maybeStartView } from "./view_change";

// Asks one peer for the first run of ops we lack (missing, or not known canonical) below our head.
export function repair(r: Replica): void {
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
