// One VSR replica of one consensus group: normal operation, view change, repair, recovery.
// Sans-I/O: driven only by onMessage / onTick / onJournalWriteDone (+ the recovery entry points), it writes every
// effect as an action into its outbox. Star replication: the primary sends each prepare to every backup itself
// (see README/report: one hop of latency instead of n-1, and one slow or cut link delays one backup, not all
// those behind it in a chain; the cost is primary egress, irrelevant at 3-5 replicas).
import {
  ACTION_COMMIT, ACTION_JOURNAL_WRITE, ACTION_JOURNAL_WRITE_HEADER, ACTION_PERSIST, ACTION_REPLY, ACTION_SEND,
  CMD_COMMIT, CMD_DO_VIEW_CHANGE, CMD_PREPARE, CMD_PREPARE_OK, CMD_REPAIR_PREPARE, CMD_REPLY, CMD_REQUEST,
  CMD_REQUEST_PREPARES, CMD_REQUEST_START_VIEW, CMD_RECOVERY, CMD_RECOVERY_RESPONSE, CMD_START_VIEW, CMD_START_VIEW_CHANGE, HEADER_SIZE, MESSAGE_MAX,
  CLIENTS_MAX, OP_REGISTER, PIPELINE_MAX, REPLICAS_MAX, REPLY_BODY_TOO_LARGE, REPLY_OK, REPLY_REQUEST_TOO_OLD,
  REQUEST_QUEUE_MAX, REQUEST_QUEUE_SINGLE, SLOT_SIZE, STATUS_NORMAL, STATUS_RECOVERING, STATUS_VIEW_CHANGE,
} from "./constants";
import {
  C_CHECKPOINT, C_COMMIT, C_COMMIT_CHECKSUM, C_GROUP, C_OP, C_TIMESTAMP, D_GROUP, H_CHECKSUM, H_CLUSTER, H_COMMAND,
  H_REPAIR_COMMITTED, H_REPAIR_NONCE, H_REPLICA, H_SIZE, H_VIEW, K_COMMIT, K_GROUP, K_OP, K_PARENT,
  K_PREPARE_CHECKSUM, P_CLIENT, P_COMMIT, P_GROUP, P_OP, P_OPERATION, P_PARENT, P_REQUEST, P_REQUEST_CHECKSUM,
  P_SESSION, P_TIMESTAMP, Q_GROUP, R_CLIENT, R_GROUP, R_OPERATION, R_REQUEST, R_SESSION, S_GROUP, S_NONCE, V_GROUP,
  Y_CLIENT, Y_COMMIT, Y_CONTEXT, Y_GROUP, Y_OP, Y_OPERATION, Y_REQUEST, Y_REQUEST_CHECKSUM, Y_SESSION, Y_STATUS,
  Y_TIMESTAMP, command, messageSize, prepareValid, seal, sealPrepareFrame, sealPrepareIdentity, verify,
} from "./header";
import { consensusGroupOf } from "./replica_frame";
import { F_BODY, F_DURABLE, F_HEADER, F_TRUSTED, LogWindow } from "./log_window";
import { CHECK_DUPLICATE, CHECK_NEW, ClientTable } from "./client_table";
import { Outbox } from "./outbox";
import {
  COMMIT_MESSAGE_TICKS, NORMAL_HEARTBEAT_TICKS, PREPARE_TICKS, PROBE_ATTEMPTS_MAX, REPAIR_TICKS,
  REQUEST_START_VIEW_TICKS, Rng, START_VIEW_CHANGE_TICKS, Timeout, VIEW_CHANGE_STATUS_TICKS,
} from "./timeouts";
import { MergeResult } from "./dvc_merge";
import {
  onDoViewChange, onRequestStartView, onStartView, onStartViewChange, requestStartView, sendDoViewChange,
  startViewChange,
} from "./view_change";
import { onRepairPrepare, onRequestPrepares, repair } from "./repair";
import { heardWhileLost, onRecovery, onRecoveryResponse, speaksWithState, tickLost } from "./state_sync";

// Debug switch (per instance): replaces the replication quorum. 0 = the real rule. Exists so a test can prove
// the simulator's checkers catch a broken quorum (vsrDebugSetQuorumOverride).
export let quorumOverride: u32 = 0;
export function setQuorumOverride(n: u32): void {
  quorumOverride = n;
}

export const REPAIR_CANONICAL: u8 = 2; // RepairPrepare flag: sent by the primary of this view in normal status
export const REPAIR_COMMITTED: u8 = 1; // RepairPrepare flag: committed at the sender

function rngSeed(group: u64, replica: u32): u64 {
  return (group ^ 0x5a1af0e5face0002) + <u64>(replica + 1) * 0x9e3779b97f4a7c15;
}

export class Replica {
  cluster: u64;
  group: u64;
  replica: u32;
  count: u32;

  status: u32 = STATUS_NORMAL;
  view: u32 = 0;
  logView: u32 = 0; //        the latest view in which this replica was in normal status
  op: u64 = 0; //             head of the log (ops between commitMin and op may still be missing)
  commitMin: u64 = 0; //      applied
  commitChecksum: u64 = 0; // checksum of op commitMin: the committed log is one hash chain
  commitMax: u64 = 0; //      known committed
  commitDurable: u64 = 0; //  applied and durable in the journal: what the superblock records
  commitDurableChecksum: u64 = 0;
  persistedView: u32 = 0;
  persistedLogView: u32 = 0;
  persistedCommit: u64 = 0;
  // Head of the log when this replica entered normal status in logView (persisted with it). After a restart,
  // an entry accepted in an older view above it was truncated by that view change: never part of the log.
  logHead: u64 = 0;
  logHeadChecksum: u64 = 0; // checksum of op logHead in that log: recovery anchors the hash chain on it
  ticks: u64 = 0;

  window: LogWindow;
  clients: ClientTable;
  outbox: Outbox; // shared by every replica of an instance: the host drains it after each call
  scratch: usize; //                           headers; DVC and SV bodies too when count > 1
  dequeued: usize = heap.alloc(SLOT_SIZE); // a queued request being re-submitted (scratch is reused meanwhile)
  inbox: usize; //                             where the host may write the next message (shared, like outbox)
  rng: Rng;

  // Primary: prepare_ok bitsets of ops commitMax+1..op, indexed op & (PIPELINE_MAX-1); waiting requests.
  okBits: StaticArray<u32> = new StaticArray<u32>(PIPELINE_MAX);
  queue: usize;
  queueCapacity: u32;
  queueHead: u32 = 0;
  queueLength: u32 = 0;

  // View change.
  svcFrom: u32 = 0;
  dvcFrom: u32 = 0;
  dvcSent: bool = false;
  dvcStore: usize = 0; // REPLICAS_MAX DVCs; never allocated for a single replica (it never view-changes)
  merge: MergeResult = new MergeResult();
  merged: bool = false; // new primary: log installed, repairing bodies before start_view
  recoveryNonce: u64 = 0;
  recoveryNonceFirst: u64 = 0; // the first nonce of this incarnation's recovery rounds (state_sync.ts)

  repairPeer: u32 = 0;
  repairNonce: u64 = 0;
  repairLast: u64 = 0; // last op of the outstanding repair request: its arrival asks for the next range at once

  prepareTimeout: Timeout = new Timeout(PREPARE_TICKS, false);
  commitMessageTimeout: Timeout = new Timeout(COMMIT_MESSAGE_TICKS, false);
  normalHeartbeatTimeout: Timeout = new Timeout(NORMAL_HEARTBEAT_TICKS, true);
  startViewChangeTimeout: Timeout = new Timeout(START_VIEW_CHANGE_TICKS, false);
  viewChangeStatusTimeout: Timeout = new Timeout(VIEW_CHANGE_STATUS_TICKS, true);
  requestStartViewTimeout: Timeout = new Timeout(REQUEST_START_VIEW_TICKS, true);
  repairTimeout: Timeout = new Timeout(REPAIR_TICKS, false);
  timeouts: StaticArray<Timeout> = new StaticArray<Timeout>(7); // every one above, for stop / reset all

  // Counters for hosts and tests.
  viewChanges: u64 = 0;
  messagesRejected: u64 = 0;
  deadlocks: u64 = 0;

  constructor(
    cluster: u64, group: u64, replica: u32, count: u32, slots: u32, clientsMax: u32 = CLIENTS_MAX,
    outbox: Outbox | null = null, inbox: usize = 0,
  ) {
    assert(count >= 1 && count <= REPLICAS_MAX, "replica: count out of range");
    assert(replica < count, "replica: index out of range");
    this.cluster = cluster;
    this.group = group;
    this.replica = replica;
    this.count = count;
    this.window = new LogWindow(slots);
    this.clients = new ClientTable(clientsMax);
    // A single replica never view-changes: no DVC store, header-sized scratch, a short request queue.
    this.scratch = heap.alloc(count == 1 ? HEADER_SIZE : MESSAGE_MAX);
    this.queueCapacity = count == 1 ? REQUEST_QUEUE_SINGLE : REQUEST_QUEUE_MAX;
    this.queue = heap.alloc(<usize>(count == 1 ? REQUEST_QUEUE_SINGLE : REQUEST_QUEUE_MAX) * SLOT_SIZE);
    if (count > 1) this.dvcStore = heap.alloc(REPLICAS_MAX * MESSAGE_MAX);
    this.outbox = outbox != null ? outbox : new Outbox();
    this.inbox = inbox != 0 ? inbox : heap.alloc(MESSAGE_MAX);
    this.rng = new Rng(rngSeed(group, replica));
    const t = this.timeouts;
    t[0] = this.prepareTimeout;
    t[1] = this.commitMessageTimeout;
    t[2] = this.normalHeartbeatTimeout;
    t[3] = this.startViewChangeTimeout;
    t[4] = this.viewChangeStatusTimeout;
    t[5] = this.requestStartViewTimeout;
    t[6] = this.repairTimeout;
    this.enterNormal();
  }

  // A released replica taken for a new group of the same shape (count, slots, client capacity): every field back
  // to what the constructor leaves, without allocating (the arena never frees), so a server that creates and
  // deletes partitions for ever does not run out of core memory. Its buffers keep stale bytes that no flag or
  // counter refers to any more.
  reuse(cluster: u64, group: u64, replica: u32): void {
    assert(replica < this.count, "replica: index out of range");
    this.cluster = cluster;
    this.group = group;
    this.replica = replica;
    this.view = 0;
    this.logView = 0;
    this.op = 0;
    this.commitMin = 0;
    this.commitChecksum = 0;
    this.commitMax = 0;
    this.commitDurable = 0;
    this.commitDurableChecksum = 0;
    this.persistedView = 0;
    this.persistedLogView = 0;
    this.persistedCommit = 0;
    this.logHead = 0;
    this.logHeadChecksum = 0;
    this.ticks = 0;
    this.window.clear();
    this.clients.reset();
    memory.fill(changetype<usize>(this.okBits), 0, <usize>PIPELINE_MAX << 2);
    this.queueHead = 0;
    this.queueLength = 0;
    this.svcFrom = 0;
    this.dvcFrom = 0;
    this.dvcSent = false;
    this.merge.reset();
    this.merged = false;
    this.recoveryNonce = 0;
    this.recoveryNonceFirst = 0;
    this.repairPeer = 0;
    this.repairNonce = 0;
    this.repairLast = 0;
    for (let i = 0; i < this.timeouts.length; i++) unchecked(this.timeouts[i]).reset();
    this.viewChanges = 0;
    this.messagesRejected = 0;
    this.deadlocks = 0;
    this.recoveryCommit = 0;
    this.recoveryChecksum = 0;
    this.recoveryBroken = false;
    this.recoveryTail = false;
    this.recoveryViewMax = 0;
    this.recoveryVerdict = 0;
    this.recoveryLostFrom = 0;
    this.recoveryLostTo = 0;
    this.unloadedFrom = 0;
    this.journalHead = 0;
    this.journalTop = 0;
    this.stateLost = false;
    this.synced = false;
    this.formationBarred = false;
    this.base = 0;
    this.syncTarget = -1;
    this.syncHead = 0;
    this.syncResponders = 0;
    this.syncLostResponders = 0;
    this.syncLostUnlike = 0;
    this.syncLostBarred = 0;
    this.formKnown = 0;
    this.hasTail = false;
    this.formCut = u64.MAX_VALUE;
    this.checkpoint = 0;
    this.clusterCheckpoint = 0;
    this.stateRequests = 0;
    this.rng.state = rngSeed(group, replica);
    this.enterNormal();
  }

  // ---- quorums and roles ----

  primaryIndex(view: u32): u32 {
    return view % this.count;
  }

  isPrimary(): bool {
    return this.primaryIndex(this.view) == this.replica;
  }

  quorumReplication(): u32 {
    return quorumOverride > 0 ? quorumOverride : this.count / 2 + 1;
  }

  quorumViewChange(): u32 {
    return this.count / 2 + 1;
  }

  // Nacks proving an op never reached a replication quorum. Deliberately not affected by quorumOverride.
  quorumNack(): u32 {
    return this.count - (this.count / 2 + 1) + 1;
  }

  // ---- entry points ----

  onMessage(message: usize, length: u32): void {
    if (!verify(message, length)) { this.messagesRejected++; return; }
    if (load<u64>(message + H_CLUSTER) != this.cluster) { this.messagesRejected++; return; }
    const cmd = command(message);
    if (cmd == CMD_REQUEST) {
      if (load<u64>(message + R_GROUP) != this.group) { this.messagesRejected++; return; }
      this.onRequest(message);
      this.afterEvent();
      return;
    }
    const from = <u32>load<u8>(message + H_REPLICA);
    if (from >= this.count || from == this.replica) { this.messagesRejected++; return; }
    if (!this.groupMatches(message)) { this.messagesRejected++; return; }
    if (this.stateLost && !heardWhileLost(cmd) && cmd != CMD_START_VIEW) return; // it must not vote or ack (state_sync.ts)
    if (speaksWithState(cmd)) this.lostPeers &= ~(<u32>1 << from); // it holds a group state again (stranded())
    if (cmd == CMD_PREPARE) this.onPrepare(message, from);
    else if (cmd == CMD_PREPARE_OK) this.onPrepareOk(message, from);
    else if (cmd == CMD_COMMIT) this.onCommit(message, from);
    else if (cmd == CMD_START_VIEW_CHANGE) onStartViewChange(this, message, from);
    else if (cmd == CMD_DO_VIEW_CHANGE) onDoViewChange(this, message, from);
    else if (cmd == CMD_START_VIEW) onStartView(this, message, from);
    else if (cmd == CMD_REQUEST_START_VIEW) onRequestStartView(this, message, from);
    else if (cmd == CMD_REQUEST_PREPARES) onRequestPrepares(this, message, from);
    else if (cmd == CMD_REPAIR_PREPARE) onRepairPrepare(this, message, from);
    else if (cmd == CMD_RECOVERY) onRecovery(this, message, from);
    else if (cmd == CMD_RECOVERY_RESPONSE) onRecoveryResponse(this, message, from);
    else this.messagesRejected++;
    this.afterEvent();
  }

  onJournalWriteDone(op: u64, checksum: u64): void {
    const flags = this.window.has(op);
    if ((flags & F_BODY) && this.window.checksum(op) == checksum) {
      this.window.setFlag(op, F_DURABLE);
      if (this.status == STATUS_NORMAL && (flags & F_TRUSTED)) {
        if (this.isPrimary()) {
          if (op > this.commitMax && op <= this.op) {
            unchecked(this.okBits[<i32>(op & (PIPELINE_MAX - 1))] |= 1 << this.replica);
            this.advanceCommitMax();
          }
        } else if (op > this.commitMax) {
          this.sendPrepareOk(op);
        }
      }
    }
    this.afterEvent();
  }

  // The host's journal no longer holds the writes of ops from `from` on (a partition's segments cut them, because a
  // view change replaced an op below them). Every uncommitted op it had reported durable stops counting so: no
  // prepare_ok or own vote rests on it from now on, and its write is asked again (the prepare is still at hand: the
  // host writes it once the op it chains to is written). Committed ops are never cut: the host cuts only above them.
  onJournalCut(from: u64): void {
    const last = min(this.op, this.commitMin + <u64>this.window.slots - 1); // the window's ops (the head may be beyond)
    for (let op = max(from, this.commitMin + 1); op <= last; op++) {
      if (!(this.window.has(op) & F_DURABLE)) continue;
      this.window.clearFlag(op, F_DURABLE);
      if (this.isPrimary() && op > this.commitMax) unchecked(this.okBits[<i32>(op & (PIPELINE_MAX - 1))] &= ~(1 << this.replica));
      this.journalWrite(op);
    }
    this.afterEvent();
  }

  onTick(): void {
    this.ticks++;
    if (this.status == STATUS_NORMAL) {
      if (this.isPrimary()) {
        if (this.commitMessageTimeout.tick()) { this.sendCommitHeartbeat(); this.commitMessageTimeout.start(this.rng); }
        if (this.prepareTimeout.tick()) { this.retransmitPrepares(); this.prepareTimeout.start(this.rng); }
      } else {
        if (this.normalHeartbeatTimeout.tick()) { startViewChange(this, this.view + 1); this.afterEvent(); return; }
        if (this.repairTimeout.tick()) { repair(this); this.repairTimeout.start(this.rng); }
      }
    } else if (this.status == STATUS_VIEW_CHANGE) {
      if (this.viewChangeStatusTimeout.tick()) {
        startViewChange(this, this.view + 1);
        this.afterEvent();
        return;
      }
      if (this.startViewChangeTimeout.tick()) {
        this.broadcastHeader(this.buildStartViewChange());
        if (this.dvcSent) sendDoViewChange(this);
        this.startViewChangeTimeout.start(this.rng);
      }
      if (this.merged && this.repairTimeout.tick()) { repair(this); this.repairTimeout.start(this.rng); }
    } else if (this.stateLost) {
      tickLost(this);
    } else {
      if (this.requestStartViewTimeout.tick()) {
        if (this.requestStartViewTimeout.attempts >= PROBE_ATTEMPTS_MAX) {
          // Nobody answers for our view: elect (a whole-cluster restart looks exactly like this).
          startViewChange(this, this.view + 1);
        } else {
          this.broadcastHeader(this.buildRequestStartView());
          this.requestStartViewTimeout.backoff(this.rng);
        }
      }
    }
    this.afterEvent();
  }

  // ---- normal operation: primary ----

  onRequest(message: usize): void {
    if (this.status != STATUS_NORMAL || !this.isPrimary()) return; // the client retries; only the primary acts
    if (messageSize(message) > SLOT_SIZE) { this.reject(message, REPLY_BODY_TOO_LARGE); return; }
    const client = load<u64>(message + R_CLIENT);
    const request = load<u64>(message + R_REQUEST);
    const operation = load<u8>(message + R_OPERATION);
    const verdict = this.clients.check(client, load<u64>(message + R_SESSION), request, operation);
    if (verdict == CHECK_DUPLICATE) {
      const index = this.clients.find(client);
      this.outbox.push(ACTION_REPLY, 0, this.clients.reply(index), HEADER_SIZE);
      return;
    }
    if (verdict != CHECK_NEW) {
      // A session rejection is premature while the client's Register is still uncommitted here (a new primary
      // inherits it in its pipeline): drop, the client retries once it commits.
      if (verdict != <i32>REPLY_REQUEST_TOO_OLD && this.inFlight(client, 0, OP_REGISTER)) return;
      this.reject(message, <u32>verdict);
      return;
    }
    if (this.inFlight(client, request, operation)) return;
    if (this.op - this.commitMax >= <u64>PIPELINE_MAX) {
      if (this.queueLength == this.queueCapacity) return; // shed: the client retries
      const at = this.queue + <usize>((this.queueHead + this.queueLength) % this.queueCapacity) * SLOT_SIZE;
      memory.copy(at, message, messageSize(message));
      this.queueLength++;
      return;
    }
    this.prepareRequest(message);
  }

  // Already prepared (in the uncommitted log) or queued: a retry, not a new request.
  inFlight(client: u64, request: u64, operation: u8): bool {
    for (let op = this.commitMin + 1; op <= this.op; op++) {
      if (!(this.window.has(op) & F_BODY)) continue;
      const p = this.window.prepare(op);
      if (load<u64>(p + P_CLIENT) == client && load<u64>(p + P_REQUEST) == request
        && load<u8>(p + P_OPERATION) == operation) return true;
    }
    for (let i: u32 = 0; i < this.queueLength; i++) {
      const q = this.queue + <usize>((this.queueHead + i) % this.queueCapacity) * SLOT_SIZE;
      if (load<u64>(q + R_CLIENT) == client && load<u64>(q + R_REQUEST) == request
        && load<u8>(q + R_OPERATION) == operation) return true;
    }
    return false;
  }

  prepareRequest(request: usize): void {
    const op = this.op + 1;
    assert(op - this.commitMin < <u64>this.window.slots, "prepare: log window full");
    assert(op - this.commitMax <= <u64>PIPELINE_MAX, "prepare: pipeline full");
    const size = messageSize(request);
    const p = this.window.prepare(op);
    memory.fill(p, 0, HEADER_SIZE);
    memory.copy(p + HEADER_SIZE, request + HEADER_SIZE, size - HEADER_SIZE);
    store<u64>(p + H_CLUSTER, this.cluster);
    store<u32>(p + H_SIZE, size);
    store<u32>(p + H_VIEW, this.view); // the view this replica accepted it in (see acceptedView)
    store<u8>(p + H_COMMAND, CMD_PREPARE);
    store<u8>(p + H_REPLICA, <u8>this.replica);
    store<u64>(p + P_CLIENT, load<u64>(request + R_CLIENT));
    // The op before may be a checkpoint the window never held (vsrRecoverFrom): its checksum is commitChecksum.
    store<u64>(p + P_PARENT, op == 1 ? 0 : op - 1 == this.commitMin ? this.commitChecksum : this.window.checksum(op - 1));
    store<u64>(p + P_REQUEST_CHECKSUM, load<u64>(request + H_CHECKSUM));
    store<u64>(p + P_OP, op);
    store<u64>(p + P_COMMIT, this.commitMax);
    store<u64>(p + P_TIMESTAMP, this.ticks);
    store<u64>(p + P_REQUEST, load<u64>(request + R_REQUEST));
    store<u8>(p + P_OPERATION, load<u8>(request + R_OPERATION));
    store<u64>(p + P_GROUP, this.group);
    store<u64>(p + P_SESSION, load<u64>(request + R_SESSION));
    sealPrepareIdentity(p);
    this.window.put(op, p, size, load<u64>(p + H_CHECKSUM), F_TRUSTED);
    unchecked(this.okBits[<i32>(op & (PIPELINE_MAX - 1))] = 0);
    this.op = op;
    this.journalWrite(op);
    for (let r: u32 = 0; r < this.count; r++) if (r != this.replica) this.sendPrepare(r, op, CMD_PREPARE, 0);
    if (!this.prepareTimeout.running) this.prepareTimeout.start(this.rng);
  }

  onPrepareOk(message: usize, from: u32): void {
    if (this.status != STATUS_NORMAL || !this.isPrimary()) return;
    if (load<u32>(message + H_VIEW) != this.view) return;
    const op = load<u64>(message + K_OP);
    if (op <= this.commitMax || op > this.op) return;
    if (this.window.checksum(op) != load<u64>(message + K_PREPARE_CHECKSUM)) return;
    unchecked(this.okBits[<i32>(op & (PIPELINE_MAX - 1))] |= 1 << from);
    this.advanceCommitMax();
  }

  // Commit the longest prefix of the pipeline whose every op has a replication quorum.
  advanceCommitMax(): void {
    const quorum = this.quorumReplication();
    while (this.commitMax < this.op) {
      const next = this.commitMax + 1;
      if (<u32>popcnt(unchecked(this.okBits[<i32>(next & (PIPELINE_MAX - 1))])) < quorum) break;
      this.commitMax = next;
    }
    this.commitJournal();
    while (this.queueLength > 0 && this.op - this.commitMax < <u64>PIPELINE_MAX && this.status == STATUS_NORMAL) {
      const q = this.queue + <usize>this.queueHead * SLOT_SIZE;
      this.queueHead = (this.queueHead + 1) % this.queueCapacity;
      this.queueLength--;
      // The table may have changed while it waited: run the full check again.
      memory.copy(this.dequeued, q, messageSize(q));
      this.onRequest(this.dequeued);
    }
  }

  retransmitPrepares(): void {
    for (let op = this.commitMax + 1; op <= this.op; op++) {
      const acks = unchecked(this.okBits[<i32>(op & (PIPELINE_MAX - 1))]);
      for (let r: u32 = 0; r < this.count; r++) {
        if (r != this.replica && !(acks & (1 << r))) this.sendPrepare(r, op, CMD_PREPARE, 0);
      }
    }
  }

  sendCommitHeartbeat(): void {
    const m = this.headerInScratch(CMD_COMMIT);
    store<u64>(m + C_COMMIT_CHECKSUM, this.commitChecksum);
    store<u64>(m + C_TIMESTAMP, this.ticks);
    store<u64>(m + C_COMMIT, this.commitMax);
    store<u64>(m + C_GROUP, this.group);
    store<u64>(m + C_OP, this.op);
    store<u64>(m + C_CHECKPOINT, this.checkpoint);
    seal(m);
    this.broadcastHeader(m);
  }

  // ---- normal operation: backup ----

  onPrepare(message: usize, from: u32): void {
    const view = load<u32>(message + H_VIEW);
    if (!this.inCurrentNormalViewFrom(view, from)) return;
    this.normalHeartbeatTimeout.start(this.rng);
    this.commitMax = max(this.commitMax, load<u64>(message + P_COMMIT));
    const op = load<u64>(message + P_OP);
    if (op > this.commitMin && op - this.commitMin < <u64>this.window.slots) {
      this.installCanonical(message, op);
    } else if (op > this.op && op - this.commitMin >= <u64>this.window.slots) {
      this.op = op; // too far ahead to hold: note the head, repair works up to it
    }
    this.commitJournal();
  }

  // A prepare known to be canonical (from this view's primary, certified, or matching an expected header).
  installCanonical(message: usize, op: u64): void {
    const checksum = load<u64>(message + H_CHECKSUM);
    const flags = this.window.has(op);
    if ((flags & F_BODY) && this.window.checksum(op) == checksum) {
      this.window.setFlag(op, F_TRUSTED);
      if (this.restampAccepted(op)) {
        // rewritten: prepare_ok follows onJournalWriteDone
      } else if ((flags & F_DURABLE) && op > this.commitMax && this.status == STATUS_NORMAL && !this.isPrimary()) {
        this.sendPrepareOk(op);
      }
    } else {
      this.window.put(op, message, messageSize(message), checksum, F_TRUSTED);
      const p = this.window.prepare(op);
      store<u8>(p + H_COMMAND, CMD_PREPARE);
      store<u32>(p + H_VIEW, this.view);
      this.journalWrite(op);
    }
    if (op > this.op) this.op = op;
    this.trustChainBelow(op);
  }

  // The parent of a canonical prepare is canonical. Walks down from `op` (canonical, body at hand): a body whose
  // checksum is the parent becomes trusted and the walk goes on; a different or missing one is a leftover of an
  // older view or a gap: its expected checksum is recorded (repair fetches it) and the walk stops there, to go on
  // when that prepare arrives. Stops at an op already trusted (confirmed below it when it was) or at the commit.
  trustChainBelow(op: u64): void {
    while (op - 1 > this.commitMin) {
      const parent = load<u64>(this.window.prepare(op) + P_PARENT);
      const below = op - 1;
      const flags = this.window.has(below);
      if (!(flags & F_HEADER) || this.window.checksum(below) != parent) {
        this.window.expect(below, parent);
        return;
      }
      if (flags & F_TRUSTED) return;
      this.window.setFlag(below, F_TRUSTED);
      if (!(flags & F_BODY)) return;
      this.restampAccepted(below);
      op = below;
    }
  }

  // Every journaled prepare carries, in its frame's view field (outside its identity), the view in which this
  // replica accepted it into its log. Confirming an older entry in a newer view rewrites its redundant header
  // (never the prepare itself: a torn rewrite must not destroy an acked prepare), so that after a restart an
  // entry accepted below the persisted log_view is known to be possibly stale (a truncated leftover the journal
  // still holds) and is reported as faulty, never as part of the log_view's log.
  acceptedView(op: u64): u32 {
    return load<u32>(this.window.prepare(op) + H_VIEW);
  }

  // Returns true when it issued a header rewrite (prepare_ok then waits for onJournalWriteDone).
  restampAccepted(op: u64): bool {
    if (op <= this.commitMin || this.acceptedView(op) == this.view) return false;
    const p = this.window.prepare(op);
    store<u32>(p + H_VIEW, this.view);
    sealPrepareFrame(p);
    this.window.clearFlag(op, F_DURABLE);
    this.outbox.push(ACTION_JOURNAL_WRITE_HEADER, 0, p, HEADER_SIZE);
    return true;
  }

  onCommit(message: usize, from: u32): void {
    const view = load<u32>(message + H_VIEW);
    if (!this.inCurrentNormalViewFrom(view, from)) return;
    this.normalHeartbeatTimeout.start(this.rng);
    this.commitMax = max(this.commitMax, load<u64>(message + C_COMMIT));
    this.op = max(this.op, load<u64>(message + C_OP));
    this.clusterCheckpoint = load<u64>(message + C_CHECKPOINT);
    this.commitJournal();
  }

  // Accepts traffic only from the primary of our view while normal; a newer view makes us ask for it.
  inCurrentNormalViewFrom(view: u32, from: u32): bool {
    if (view < this.view) return false;
    if (view > this.view) {
      requestStartView(this, view);
      return false;
    }
    return this.status == STATUS_NORMAL && !this.isPrimary() && from == this.primaryIndex(view);
  }

  sendPrepareOk(op: u64): void {
    const p = this.window.prepare(op);
    const m = this.headerInScratch(CMD_PREPARE_OK);
    store<u64>(m + K_PARENT, load<u64>(p + P_PARENT));
    store<u64>(m + K_PREPARE_CHECKSUM, load<u64>(p + H_CHECKSUM));
    store<u64>(m + K_OP, op);
    store<u64>(m + K_COMMIT, this.commitMin);
    store<u64>(m + K_GROUP, this.group);
    seal(m);
    this.outbox.push(ACTION_SEND, this.primaryIndex(this.view), m, HEADER_SIZE);
  }

  // ---- commit ----

  // Applies ops in order while their canonical prepare is at hand.
  commitJournal(): void {
    while (this.commitMin < this.commitMax) {
      const op = this.commitMin + 1;
      const flags = this.window.has(op);
      if (!(flags & F_BODY) || !(flags & F_TRUSTED)) break; // repair fetches it
      this.commitOp(op);
    }
  }

  commitOp(op: u64): void {
    assert(op == this.commitMin + 1, "commit: out of order");
    const p = this.window.prepare(op);
    assert(load<u64>(p + P_PARENT) == this.commitChecksum, "commit: committed log is not a hash chain");
    assert(prepareValid(p), "commit: slot corrupt in memory");
    this.outbox.push(ACTION_COMMIT, 0, p, messageSize(p));
    const reply = this.buildReply(p, op);
    this.clients.commit(load<u64>(p + P_CLIENT), load<u64>(p + P_REQUEST), load<u8>(p + P_OPERATION), op, reply);
    if (this.status == STATUS_NORMAL && this.isPrimary()) this.outbox.push(ACTION_REPLY, 0, reply, HEADER_SIZE);
    this.commitMin = op;
    this.commitChecksum = load<u64>(p + H_CHECKSUM);
    if (this.commitMax < op) this.commitMax = op;
  }

  // A reply is built from the prepare header alone, so every replica caches identical bytes.
  buildReply(p: usize, op: u64): usize {
    const m = this.headerInScratch(CMD_REPLY);
    store<u64>(m + Y_REQUEST_CHECKSUM, load<u64>(p + P_REQUEST_CHECKSUM));
    store<u64>(m + Y_CONTEXT, load<u64>(p + H_CHECKSUM));
    store<u64>(m + Y_CLIENT, load<u64>(p + P_CLIENT));
    store<u64>(m + Y_OP, op);
    store<u64>(m + Y_COMMIT, op);
    store<u64>(m + Y_TIMESTAMP, load<u64>(p + P_TIMESTAMP));
    store<u64>(m + Y_REQUEST, load<u64>(p + P_REQUEST));
    store<u8>(m + Y_OPERATION, load<u8>(p + P_OPERATION));
    store<u32>(m + Y_STATUS, REPLY_OK);
    const register = load<u8>(p + P_OPERATION) == OP_REGISTER;
    store<u64>(m + Y_SESSION, register ? op : load<u64>(p + P_SESSION));
    store<u64>(m + Y_GROUP, this.group);
    store<u32>(m + H_VIEW, 0); // identical on every replica, whatever its view
    store<u8>(m + H_REPLICA, 0);
    seal(m);
    return m;
  }

  reject(request: usize, status: u32): void {
    const m = this.headerInScratch(CMD_REPLY);
    store<u64>(m + Y_REQUEST_CHECKSUM, load<u64>(request + H_CHECKSUM));
    store<u64>(m + Y_CLIENT, load<u64>(request + R_CLIENT));
    store<u64>(m + Y_REQUEST, load<u64>(request + R_REQUEST));
    store<u8>(m + Y_OPERATION, load<u8>(request + R_OPERATION));
    store<u32>(m + Y_STATUS, status);
    store<u64>(m + Y_SESSION, load<u64>(request + R_SESSION));
    store<u64>(m + Y_GROUP, this.group);
    seal(m);
    this.outbox.push(ACTION_REPLY, 0, m, HEADER_SIZE);
  }

  recoveryCommit: u64 = 0;
  recoveryChecksum: u64 = 0;
  recoveryBroken: bool = false;
  recoveryTail: bool = false; // single replica: the journal's committed prefix ended (torn or missing entry)
  recoveryViewMax: u32 = 0; //   single replica: the newest view stamped on anything in its journal
  recoveryVerdict: u32 = 0; //   single replica: RECOVERY_* of its last recovery
  recoveryLostFrom: u64 = 0; //  single replica refused: the ops it may have acked and cannot give back
  recoveryLostTo: u64 = 0;
  // Journal entries a restart could not load (beyond the log window): the lowest such op (0 = none) and the
  // journal's highest op. This replica may have acked them: it must never nack them in a view change.
  unloadedFrom: u64 = 0;
  journalHead: u64 = 0;
  journalTop: u64 = 0; // bit i: the journal held op journalHead - i (valid, or completed then corrupted)

  // State transfer (state_sync.ts).
  stateLost: bool = false; //  restarted with nothing on disk: recovering until it holds the cluster's state
  synced: bool = false; //     lost, and the snapshot is installed: waiting for a StartView
  formationBarred: bool = false; // lost with state it cannot account for: never forms a cluster (state_sync.ts)
  syncTarget: i32 = -1; //     lost: the primary whose state is being transferred (-1 = still asking the cluster)
  syncHead: u64 = 0; //        that primary's head when it answered
  syncResponders: u32 = 0; //  bitset: answers to the current recovery nonce
  syncLostResponders: u32 = 0; // bitset: those that lost their state too
  syncView: StaticArray<u32> = new StaticArray<u32>(REPLICAS_MAX);
  syncOp: StaticArray<u64> = new StaticArray<u64>(REPLICAS_MAX);
  syncCommit: StaticArray<u64> = new StaticArray<u64>(REPLICAS_MAX);
  syncBase: StaticArray<u64> = new StaticArray<u64>(REPLICAS_MAX);
  syncLostUnlike: u32 = 0; // lost responders that cannot form with this replica: another base, or barred
  syncLostBarred: u32 = 0; // lost responders barred from formation (behind: they kept out)
  lostPeers: u32 = 0; // bitset: peers whose last word during this view change was a Recovery (stranded())
  base: u64 = 0; // the state this replica started from, as its host fingerprints it (0: none; state_sync.ts)
  // A whole cluster forming again from differing files (journal/formation.ts): each replica's last batches, as its
  // Recovery told them (this replica's own from the host: setTail), and the cut this replica's host is asked for.
  formTails: usize = 0; //      formTailsFor * FORMATION_TAIL_BYTES, allocated by the first setTail
  formTailsFor: u32 = 0;
  formCounts: StaticArray<u32> = new StaticArray<u32>(REPLICAS_MAX);
  formEnds: StaticArray<u64> = new StaticArray<u64>(REPLICAS_MAX);
  formKnown: u32 = 0; //        bitset: whose tail this round holds (this replica's own while it has one)
  hasTail: bool = false; //     the host gave this replica's tail: its files are a full record of what it acked
  formCut: u64 = u64.MAX_VALUE; // the end this replica's files should be cut back to (MAX: none asked)
  checkpoint: u64 = 0; //      ops up to here are gone from this replica's journal (a snapshot holds them)
  clusterCheckpoint: u64 = 0; // the primary's checkpoint (its Commit heartbeats say it)
  stateRequests: u64 = 0;

  // May a view change count this replica as never having prepared `op` (which it does not hold)?
  mayNack(op: u64): bool {
    if (this.unloadedFrom == 0 || op < this.unloadedFrom || op > this.journalHead) return true;
    const back = this.journalHead - op;
    return back < 64 && ((this.journalTop >> back) & 1) == 0; // the journal never had it either
  }

  // ---- helpers ----

  afterEvent(): void {
    // Advance the durable commit over committed ops whose journal write is done, and persist it.
    while (this.commitDurable < this.commitMin) {
      const op = this.commitDurable + 1;
      if (!(this.window.has(op) & F_DURABLE)) break;
      this.commitDurable = op;
      this.commitDurableChecksum = this.window.checksum(op);
    }
    if (this.status != STATUS_RECOVERING && this.commitDurable != this.persistedCommit) this.persist();
  }

  // The host's state machine holds every op up to `op` (a checkpoint replayed at recovery, or a peer's state
  // installed by transfer), `checksum` being that op's prepare checksum: the log starts after it.
  baseAt(op: u64, checksum: u64): void {
    this.commitMin = op;
    this.commitChecksum = checksum;
    this.commitMax = op;
    this.commitDurable = op;
    this.commitDurableChecksum = checksum;
    this.op = op;
  }

  persist(): void {
    const payload = this.outbox.reserve(ACTION_PERSIST, 0, 40);
    store<u32>(payload, this.view);
    store<u32>(payload + 4, this.logView);
    store<u64>(payload + 8, this.commitDurable);
    store<u64>(payload + 16, this.commitDurableChecksum);
    store<u64>(payload + 24, this.logHead);
    store<u64>(payload + 32, this.logHeadChecksum);
    this.persistedView = this.view;
    this.persistedLogView = this.logView;
    this.persistedCommit = this.commitDurable;
  }

  journalWrite(op: u64): void {
    const p = this.window.prepare(op);
    sealPrepareFrame(p); // the accepted view is outside the identity: sealed, a recovery can trust it (recovery.ts)
    this.outbox.push(ACTION_JOURNAL_WRITE, 0, p, messageSize(p));
  }

  // Copies a stored prepare into the outbox, restamped for this send (frame fields are outside its identity).
  sendPrepare(to: u32, op: u64, cmd: u8, certify: u8): void {
    const p = this.window.prepare(op);
    const size = messageSize(p);
    const m = this.outbox.reserve(ACTION_SEND, to, size);
    if (m == 0) return;
    memory.copy(m, p, size);
    this.stampPrepare(m, cmd, certify);
  }

  stampPrepare(m: usize, cmd: u8, certify: u8): void {
    store<u32>(m + H_VIEW, this.view);
    store<u8>(m + H_COMMAND, cmd);
    store<u8>(m + H_REPLICA, <u8>this.replica);
    store<u8>(m + H_REPAIR_COMMITTED, certify);
    store<u64>(m + H_REPAIR_NONCE, this.repairNonce);
    sealPrepareFrame(m);
  }

  headerInScratch(cmd: u8): usize {
    const m = this.scratch;
    memory.fill(m, 0, HEADER_SIZE);
    store<u64>(m + H_CLUSTER, this.cluster);
    store<u32>(m + H_SIZE, HEADER_SIZE);
    store<u32>(m + H_VIEW, this.view);
    store<u8>(m + H_COMMAND, cmd);
    store<u8>(m + H_REPLICA, <u8>this.replica);
    return m;
  }

  buildStartViewChange(): usize {
    const m = this.headerInScratch(CMD_START_VIEW_CHANGE);
    store<u64>(m + S_GROUP, this.group);
    seal(m);
    return m;
  }

  buildRequestStartView(): usize {
    const m = this.headerInScratch(CMD_REQUEST_START_VIEW);
    store<u64>(m + S_GROUP, this.group);
    this.recoveryNonce++;
    store<u64>(m + S_NONCE, this.recoveryNonce);
    seal(m);
    return m;
  }

  broadcastHeader(m: usize): void {
    for (let r: u32 = 0; r < this.count; r++) {
      if (r != this.replica) this.outbox.push(ACTION_SEND, r, m, messageSize(m));
    }
  }

  groupMatches(m: usize): bool {
    return consensusGroupOf(m) == this.group;
  }

  enterNormal(): void {
    this.status = STATUS_NORMAL;
    this.lostPeers = 0; // counted again at the next view change (onRecovery)
    this.stopAllTimeouts();
    if (this.isPrimary()) {
      this.commitMessageTimeout.start(this.rng);
      this.prepareTimeout.start(this.rng);
    } else {
      this.normalHeartbeatTimeout.start(this.rng);
      this.repairTimeout.start(this.rng);
    }
  }

  stopAllTimeouts(): void {
    for (let i = 0; i < this.timeouts.length; i++) unchecked(this.timeouts[i]).stop();
  }
}
