// Specs of the VSR core: headers, client table, each message handler through a small in-spec cluster, and the
// DVC merge on hand-built DoViewChange messages.
import { Replica, setQuorumOverride } from "../../assembly/vsr/replica";
import {
  ACTION_COMMIT, ACTION_JOURNAL_WRITE, ACTION_JOURNAL_WRITE_HEADER, ACTION_REPLY, ACTION_SEND, CMD_COMMIT, CMD_PREPARE, CMD_PREPARE_OK,
  CMD_REQUEST, HEADER_SIZE, MESSAGE_MAX, OP_REGISTER, REPLY_NO_SESSION, REPLY_OK, REPLY_REQUEST_TOO_OLD,
  RECOVERY_DIVERGED, RECOVERY_LOST, RECOVERY_OK, REPLY_SESSION_MISMATCH, STATUS_NORMAL, STATUS_RECOVERING,
} from "../../assembly/vsr/constants";
import {
  C_COMMIT, C_GROUP, D_COMMIT, D_COUNT, D_LOG_VIEW, D_NACK, D_OP, D_PRESENT, H_CHECKSUM, H_CLUSTER, H_COMMAND,
  H_SIZE, H_VIEW, P_OP, P_PARENT, R_CLIENT, R_GROUP, R_OPERATION, R_REQUEST, R_SESSION, Y_CLIENT, Y_OP,
  Y_REQUEST, Y_SESSION, Y_STATUS, command, prepareChecksum, seal, sealPrepareFrame, sealPrepareIdentity, verify,
} from "../../assembly/vsr/header";
import { CHECK_DUPLICATE, CHECK_NEW, ClientTable } from "../../assembly/vsr/client_table";
import { MERGE_AWAITING, MERGE_READY, MergeResult, mergeDvcQuorum } from "../../assembly/vsr/dvc_merge";
import { RECORD_HEADER } from "../../assembly/vsr/outbox";
import { recoverBegin, recoverEnd, recoverFrom, recoverPrepare } from "../../assembly/vsr/recovery";
import { startViewChange } from "../../assembly/vsr/view_change";
import { F_BODY, F_DURABLE, F_FAULTY } from "../../assembly/vsr/log_window";

import { APP, CLUSTER, Cluster, GROUP, makeRequest, register } from "./vsr-cluster";

// A prepare header (no body) with a valid identity checksum, for hand-built DVCs.
function makeHeader(op: u64, parent: u64, salt: u64): usize {
  const h = heap.alloc(HEADER_SIZE);
  memory.fill(h, 0, HEADER_SIZE);
  store<u32>(h + H_SIZE, HEADER_SIZE);
  store<u8>(h + H_COMMAND, CMD_PREPARE);
  store<u64>(h + P_OP, op);
  store<u64>(h + P_PARENT, parent);
  store<u64>(h + 128, salt); // client: makes two prepares at one op differ
  sealPrepareIdentity(h);
  return h;
}

// Chain of headers for ops 1..n; salt distinguishes histories (ops >= forkAt use `salt`, lower ones 0).
function chain(n: u64, forkAt: u64, salt: u64): usize[] {
  const headers: usize[] = [0];
  let parent: u64 = 0;
  for (let op: u64 = 1; op <= n; op++) {
    const h = makeHeader(op, parent, op >= forkAt ? salt : 0);
    headers.push(h);
    parent = load<u64>(h + H_CHECKSUM);
  }
  return headers;
}

function writeDvc(dvcStore: usize, sender: u32, logView: u32, op: u64, commit: u64, headers: usize[], present: u64, nack: u64): void {
  const m = dvcStore + <usize>sender * MESSAGE_MAX;
  memory.fill(m, 0, HEADER_SIZE);
  const count = <u32>min<u64>(op, 64);
  for (let i: u32 = 0; i < count; i++) {
    const at = op - i;
    if (at < <u64>headers.length) memory.copy(m + HEADER_SIZE + <usize>i * HEADER_SIZE, headers[<i32>at], HEADER_SIZE);
    else memory.fill(m + HEADER_SIZE + <usize>i * HEADER_SIZE, 0, HEADER_SIZE);
  }
  store<u64>(m + D_OP, op);
  store<u64>(m + D_COMMIT, commit);
  store<u32>(m + D_LOG_VIEW, logView);
  store<u32>(m + D_COUNT, count);
  store<u64>(m + D_PRESENT, present);
  store<u64>(m + D_NACK, nack);
}

describe("vsr header", () => {
  it("seals and verifies; a flipped bit is rejected", () => {
    const m = heap.alloc(HEADER_SIZE);
    memory.fill(m, 0, HEADER_SIZE);
    store<u32>(m + H_SIZE, HEADER_SIZE);
    store<u8>(m + H_COMMAND, CMD_COMMIT);
    store<u64>(m + C_COMMIT, 42);
    store<u64>(m + C_GROUP, GROUP);
    seal(m);
    expect(verify(m, HEADER_SIZE)).toBe(true);
    store<u8>(m + C_COMMIT, 43);
    expect(verify(m, HEADER_SIZE)).toBe(false);
    expect(verify(m, HEADER_SIZE - 1)).toBe(false);
    heap.free(m);
  });

  it("a prepare keeps its identity when re-sent in another view", () => {
    const h = makeHeader(3, 77, 1);
    const identity = load<u64>(h + H_CHECKSUM);
    sealPrepareFrame(h);
    expect(verify(h, HEADER_SIZE)).toBe(true);
    store<u32>(h + H_VIEW, 5);
    sealPrepareFrame(h);
    expect(verify(h, HEADER_SIZE)).toBe(true);
    expect(prepareChecksum(h)).toBe(identity);
    store<u64>(h + P_OP, 4); // but not a different op
    expect(verify(h, HEADER_SIZE)).toBe(false);
  });
});

describe("vsr client table", () => {
  it("names every verdict", () => {
    const t = new ClientTable(64);
    const reply = heap.alloc(HEADER_SIZE);
    expect(t.check(1, 0, 0, OP_REGISTER)).toBe(CHECK_NEW);
    expect(t.check(1, 5, 1, APP)).toBe(<i32>REPLY_NO_SESSION);
    t.commit(1, 0, OP_REGISTER, 5, reply); // session = 5
    expect(t.check(1, 0, 0, OP_REGISTER)).toBe(CHECK_DUPLICATE);
    expect(t.check(1, 4, 1, APP)).toBe(<i32>REPLY_SESSION_MISMATCH);
    expect(t.check(1, 5, 1, APP)).toBe(CHECK_NEW);
    t.commit(1, 3, APP, 6, reply);
    expect(t.check(1, 5, 3, APP)).toBe(CHECK_DUPLICATE);
    expect(t.check(1, 5, 2, APP)).toBe(<i32>REPLY_REQUEST_TOO_OLD);
    expect(t.check(1, 5, 9, APP)).toBe(CHECK_NEW); // gaps allowed
    expect(t.check(1, 0, 0, OP_REGISTER)).toBe(<i32>REPLY_REQUEST_TOO_OLD); // a late duplicate Register
  });

  it("evicts the client with the oldest commit when full", () => {
    const t = new ClientTable(64);
    const reply = heap.alloc(HEADER_SIZE);
    for (let c: u64 = 1; c <= 64; c++) t.commit(c, 0, OP_REGISTER, c, reply);
    t.commit(100, 0, OP_REGISTER, 200, reply);
    expect(t.find(1)).toBe(-1);
    expect(t.find(2)).toBeGreaterThanOrEqual(0);
    expect(t.find(100)).toBeGreaterThanOrEqual(0);
  });
});

describe("vsr client table capacity", () => {
  it("a table of 4 holds 4 clients and evicts the oldest commit on the 5th Register", () => {
    const t = new ClientTable(4);
    const reply = heap.alloc(HEADER_SIZE);
    for (let c: u64 = 1; c <= 4; c++) t.commit(c, 0, OP_REGISTER, c, reply);
    expect(t.count).toBe(4);
    t.commit(2, 7, APP, 9, reply); // client 2 committed last: it survives, client 1 (op 1) is the oldest
    t.commit(50, 0, OP_REGISTER, 10, reply);
    expect(t.count).toBe(4);
    expect(t.find(1)).toBe(-1);
    expect(t.find(2)).toBeGreaterThanOrEqual(0);
    expect(t.find(50)).toBeGreaterThanOrEqual(0);
    expect(t.check(1, 1, 1, APP)).toBe(<i32>REPLY_NO_SESSION);
  });

  it("a replica created with clientsMax 2 answers NoSession to the client its third Register evicted", () => {
    const c = new Cluster(1, 2);
    c.request(1, 0, 0, OP_REGISTER);
    c.request(2, 0, 0, OP_REGISTER);
    c.request(3, 0, 0, OP_REGISTER);
    expect(c.replicas[0].clients.capacity).toBe(2);
    c.request(1, 1, 1, APP);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_NO_SESSION);
    c.request(3, 3, 1, APP);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_OK);
  });
});

describe("vsr normal operation", () => {
  it("request → prepare → prepare_ok quorum → commit everywhere, one reply", () => {
    const c = new Cluster(3);
    const session = register(c);
    expect(session).toBe(1);
    c.request(1, session, 1, APP);
    expect(c.replicas[0].commitMin).toBe(2);
    expect(c.replies.length).toBe(2);
    expect(load<u64>(c.lastReply() + Y_OP)).toBe(2);
    expect(load<u64>(c.lastReply() + Y_CLIENT)).toBe(1);
    c.tick(12); // commit heartbeat tells the backups
    expect(c.replicas[1].commitMin).toBe(2);
    expect(c.replicas[2].commitMin).toBe(2);
    expect(c.commits[2].length).toBe(2);
    expect(c.replies.length).toBe(2); // backups never reply
  });

  it("a prepare without a quorum of prepare_oks does not commit; retransmission completes it", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[1] = true;
    c.blockTo[2] = true;
    c.request(1, session, 1, APP);
    expect(c.replicas[0].op).toBe(2);
    expect(c.replicas[0].commitMax).toBe(1);
    c.blockTo[1] = false;
    c.tick(9); // prepare timeout → retransmit to replica 1
    expect(c.replicas[0].commitMax).toBe(2);
  });

  it("prepare_ok from another view or for another checksum is ignored", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.dropCommand = CMD_PREPARE_OK;
    c.request(1, session, 1, APP);
    const p = c.replicas[0];
    expect(p.commitMax).toBe(1);
    const ok = heap.alloc(HEADER_SIZE);
    memory.fill(ok, 0, HEADER_SIZE);
    store<u64>(ok + H_CLUSTER, CLUSTER);
    store<u32>(ok + H_SIZE, HEADER_SIZE);
    store<u8>(ok + H_COMMAND, CMD_PREPARE_OK);
    store<u8>(ok + 61, 1);
    store<u64>(ok + 160, 2); // op
    store<u64>(ok + 200, GROUP);
    store<u64>(ok + 144, 12345); // wrong prepare checksum
    seal(ok);
    p.onMessage(ok, HEADER_SIZE);
    expect(p.commitMax).toBe(1);
    store<u64>(ok + 144, p.window.checksum(2));
    store<u32>(ok + H_VIEW, 7); // right checksum, wrong view
    seal(ok);
    p.onMessage(ok, HEADER_SIZE);
    expect(p.commitMax).toBe(1);
    store<u32>(ok + H_VIEW, 0);
    seal(ok);
    p.onMessage(ok, HEADER_SIZE);
    expect(p.commitMax).toBe(2);
  });

  it("duplicates get the cached reply and are applied once; older requests are RequestTooOld", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP);
    const op = c.replicas[0].op;
    c.request(1, session, 2, APP);
    expect(c.replicas[0].op).toBe(op);
    expect(load<u64>(c.lastReply() + Y_REQUEST)).toBe(2);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_OK);
    c.request(1, session, 1, APP);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_REQUEST_TOO_OLD);
    expect(c.replicas[0].op).toBe(op);
    c.request(1, session + 1, 3, APP);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_SESSION_MISMATCH);
    c.request(2, 1, 1, APP);
    expect(load<u32>(c.lastReply() + Y_STATUS)).toBe(REPLY_NO_SESSION);
  });

  it("quorum override 1 (debug switch) lets a primary commit alone", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[1] = true;
    c.blockTo[2] = true;
    setQuorumOverride(1);
    c.request(1, session, 1, APP);
    setQuorumOverride(0);
    expect(c.replicas[0].commitMax).toBe(2);
  });
});

describe("vsr repair", () => {
  it("a backup that missed a prepare requests it and catches up", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[2] = true;
    c.request(1, session, 1, APP);
    c.blockTo[2] = false;
    c.request(1, session, 2, APP); // replica 2 sees op 3 with a gap at op 2
    expect(c.replicas[2].op).toBe(3);
    c.tick(15);
    expect(c.replicas[2].commitMin).toBe(3);
    expect(c.commits[2].length).toBe(3);
  });
});

describe("vsr view change", () => {
  it("the primary fails: backups elect view 1 and keep every committed op", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP);
    c.down[0] = true;
    c.tick(200);
    expect(c.primary()).toBe(1);
    expect(c.replicas[1].view).toBe(1);
    expect(c.replicas[1].commitMin).toBe(3);
    c.request(1, session, 3, APP);
    expect(c.replicas[1].commitMin).toBe(4);
    expect(load<u64>(c.lastReply() + Y_OP)).toBe(4);
  });

  it("an uncommitted op that reached the backups survives the view change and commits", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.dropCommand = CMD_PREPARE_OK;
    c.request(1, session, 1, APP);
    expect(c.replicas[0].commitMax).toBe(1);
    c.down[0] = true;
    c.dropCommand = 0;
    c.tick(200);
    expect(c.primary()).toBe(1);
    expect(c.replicas[1].op).toBe(2);
    expect(c.replicas[1].commitMin).toBe(2);
  });

  it("an op no backup received is truncated by a nack quorum", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[1] = true;
    c.blockTo[2] = true;
    c.request(1, session, 1, APP);
    c.down[0] = true;
    c.blockTo[1] = false;
    c.blockTo[2] = false;
    c.tick(200);
    expect(c.primary()).toBe(1);
    expect(c.replicas[1].op).toBe(1);
    // The old primary rejoins: it learns the new view and drops its uncommitted op 2.
    c.down[0] = false;
    c.request(1, session, 1, APP);
    c.tick(30);
    expect(c.replicas[0].view).toBe(1);
    expect(c.replicas[0].commitMin).toBe(2);
    expect(c.replicas[0].window.checksum(2)).toBe(c.replicas[1].window.checksum(2));
  });
});

let dvcs: usize = 0;
let result: MergeResult = changetype<MergeResult>(0);

describe("vsr dvc merge", () => {
  beforeAll(() => {
    dvcs = heap.alloc(3 * MESSAGE_MAX);
    result = new MergeResult();
  });

  it("takes headers from the highest log_view", () => {
    const canonical = chain(5, 4, 1);
    const stale = chain(5, 4, 2);
    writeDvc(dvcs, 0, 2, 5, 3, canonical, 0b11111, 0);
    writeDvc(dvcs, 1, 1, 5, 3, stale, 0b11111, 0);
    mergeDvcQuorum(dvcs, 0b011, 3, 2, result);
    expect(result.outcome).toBe(MERGE_READY);
    expect(result.opHead).toBe(5);
    expect(load<u64>(result.headers[0] + H_CHECKSUM)).toBe(load<u64>(canonical[5] + H_CHECKSUM));
    expect(load<u64>(result.headers[1] + H_CHECKSUM)).toBe(load<u64>(canonical[4] + H_CHECKSUM));
  });

  it("truncates an op only on a nack quorum", () => {
    const log = chain(5, 99, 0);
    writeDvc(dvcs, 0, 1, 5, 3, log, 0b11111, 0);
    writeDvc(dvcs, 1, 1, 4, 3, log, 0b1111, 0);
    writeDvc(dvcs, 2, 1, 4, 3, log, 0b1111, 0);
    mergeDvcQuorum(dvcs, 0b011, 3, 2, result); // one nack: keep op 5
    expect(result.outcome).toBe(MERGE_READY);
    expect(result.opHead).toBe(5);
    mergeDvcQuorum(dvcs, 0b111, 3, 2, result); // two nacks: op 5 never committed
    expect(result.outcome).toBe(MERGE_READY);
    expect(result.opHead).toBe(4);
  });

  it("waits when an op has a header but no body anywhere and a replica has not reported", () => {
    const log = chain(5, 99, 0);
    writeDvc(dvcs, 0, 1, 5, 3, log, 0b11110, 0); // op 5: header, no body
    writeDvc(dvcs, 1, 1, 4, 3, log, 0b1111, 0);
    mergeDvcQuorum(dvcs, 0b011, 3, 2, result);
    expect(result.outcome).toBe(MERGE_AWAITING);
    expect(result.undecidedOp).toBe(5);
  });

  it("an older copy is no implicit nack for an op inside the newest log (a hole there, e.g. a lost write)", () => {
    const log = chain(5, 99, 0);
    writeDvc(dvcs, 0, 2, 5, 3, log, 0b11101, 0b00010); // log_view 2: op 4 missing (nacked), op 5 present
    memory.fill(dvcs + HEADER_SIZE + HEADER_SIZE, 0, HEADER_SIZE); // no header for op 4
    writeDvc(dvcs, 1, 1, 4, 3, log, 0b1111, 0); //        log_view 1: holds op 4
    mergeDvcQuorum(dvcs, 0b011, 3, 2, result);
    // Iggy's rule would count replica 1 as a nack (no canonical header at op 4) and truncate ops 4 and 5.
    expect(result.outcome).toBe(MERGE_AWAITING);
    expect(result.undecidedOp).toBe(4);
  });

  it("a faulty (abstaining) entry is not a nack", () => {
    const log = chain(5, 99, 0);
    writeDvc(dvcs, 0, 1, 5, 3, log, 0b11111, 0);
    writeDvc(dvcs, 1, 1, 5, 3, log, 0b11110, 0); // op 5 faulty: no header bits, no nack
    memory.fill(dvcs + MESSAGE_MAX + HEADER_SIZE, 0, HEADER_SIZE);
    writeDvc(dvcs, 2, 1, 4, 3, log, 0b1111, 0);
    mergeDvcQuorum(dvcs, 0b111, 3, 2, result);
    expect(result.opHead).toBe(5);
  });
});

// Journal entries of a real log: ops 1..4 prepared by a 3-replica cluster (view 0).
function journalOf(c: Cluster, op: u64): usize {
  const p = c.replicas[0].window.prepare(op);
  const size = load<u32>(p + H_SIZE);
  const copy = heap.alloc(size);
  memory.copy(copy, p, size);
  return copy;
}

describe("vsr recovery", () => {
  it("tells a torn write (never acked: missing) from a corrupt one (maybe acked: faulty)", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP);
    c.request(1, session, 3, APP); // ops 1..4, committed 4
    const r = new Replica(CLUSTER, GROUP, 2, 3, 64);
    recoverBegin(r, 0, 0, 1, c.replicas[0].window.checksum(1), 0, 0);
    const op1 = journalOf(c, 1);
    recoverPrepare(r, 1, op1, load<u32>(op1 + H_SIZE), op1, HEADER_SIZE);
    expect(r.commitMin).toBe(1); // replayed up to the durable commit
    const op2 = journalOf(c, 2);
    recoverPrepare(r, 2, op2, load<u32>(op2 + H_SIZE), op2, HEADER_SIZE);
    expect(r.window.has(2) & F_BODY).toBe(F_BODY); // above the durable commit: in the log, not applied
    const op3 = journalOf(c, 3);
    const header3 = heap.alloc(HEADER_SIZE);
    memory.copy(header3, op3, HEADER_SIZE);
    store<u8>(op3 + HEADER_SIZE + 2, load<u8>(op3 + HEADER_SIZE + 2) ^ 1); // bit flip in the body
    recoverPrepare(r, 3, op3, load<u32>(op3 + H_SIZE), header3, HEADER_SIZE);
    expect(r.window.has(3)).toBe(F_FAULTY); // its header says the write completed: may have been acked
    const op4 = journalOf(c, 4);
    store<u8>(op4 + HEADER_SIZE + 2, load<u8>(op4 + HEADER_SIZE + 2) ^ 1);
    recoverPrepare(r, 4, op4, load<u32>(op4 + H_SIZE), 0, 0); // no redundant header: torn before completion
    expect(r.window.has(4)).toBe(0);
    expect(r.op).toBe(3);
    recoverEnd(r);
    expect(r.status).toBe(STATUS_RECOVERING);
  });

  it("takes no journaled prepare of another group (a directory written under another group id)", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP); // ops 1..2 of GROUP, committed
    const r = new Replica(CLUSTER, GROUP + 1, 2, 3, 64);
    recoverBegin(r, 0, 0, 1, c.replicas[0].window.checksum(1), 0, 0);
    for (let op: u64 = 1; op <= 2; op++) {
      const e = journalOf(c, op);
      recoverPrepare(r, op, e, load<u32>(e + H_SIZE), e, HEADER_SIZE);
    }
    expect(r.commitMin).toBe(0); // op 1 chains to the superblock's commit, but it is GROUP's
    expect(r.window.has(1)).toBe(0);
    expect(r.window.has(2)).toBe(0); // neither prepare nor header counts: missing, repaired from peers
    expect(r.op).toBe(0);
  });

  it("drops entries of an older view above the log head, confirms those below it by the hash chain", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP); // ops 1..3, accepted in view 0
    const r = new Replica(CLUSTER, GROUP, 2, 3, 64);
    // Superblock: log_view 1 began with head op 2 (checksum of op 2); op 3 (view 0) was truncated by it.
    recoverBegin(r, 1, 1, 0, 0, 2, c.replicas[0].window.checksum(2));
    for (let op: u64 = 1; op <= 3; op++) {
      const e = journalOf(c, op);
      recoverPrepare(r, op, e, load<u32>(e + H_SIZE), e, HEADER_SIZE);
    }
    expect(r.window.has(3)).toBe(0); // truncated leftover: as if never written (may be nacked)
    expect(r.acceptedView(2)).toBe(0);
    recoverEnd(r);
    expect(r.acceptedView(2)).toBe(1); // matches the persisted log head
    expect(r.acceptedView(1)).toBe(1); // its parent, by the hash chain
  });
});

// A single replica's log: Register (op 1), then four requests numbered from `first` (ops 2..5). Two logs with
// different `first` share op 1 and fork at op 2, so their ops 3..5 have different parents.
function loneLog(first: u64): Cluster {
  const c = new Cluster(1);
  const session = register(c);
  for (let i: u64 = 0; i < 4; i++) c.request(1, session, first + i, APP);
  assert(c.replicas[0].commitMin == 5, "lone log: not committed");
  return c;
}

// A write torn mid-header: its prepare fails its checksum (its size field survives).
function tear(entry: usize): usize {
  memory.fill(entry + 128, 0, load<u32>(entry + H_SIZE) - 128);
  return entry;
}

// Replays ops from..to of `c` with their own redundant headers.
function replayIntact(r: Replica, c: Cluster, from: u64, to: u64): void {
  for (let op = from; op <= to; op++) {
    const e = journalOf(c, op);
    recoverPrepare(r, op, e, load<u32>(e + H_SIZE), e, HEADER_SIZE);
  }
}

// A lone replica (no superblock commit) that recovered ops 1..through of `c`'s journal intact.
function loneReplayed(c: Cluster, through: u64): Replica {
  const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
  recoverBegin(r, 0, 0, 0, 0, 0, 0);
  replayIntact(r, c, 1, through);
  return r;
}

describe("vsr recovery of a single replica (its journal is its commit record; no peer repairs it)", () => {
  it("a stale redundant header of a dropped op does not make a torn rewrite of that op look acked (seed 404331256)", () => {
    const c = loneLog(1);
    const dropped = loneLog(11); // the history an earlier recovery dropped from op 2 on: its op 4 header is stale
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 3, c.replicas[0].window.checksum(3), 0, 0);
    replayIntact(r, c, 1, 3);
    const torn = tear(journalOf(c, 4));
    recoverPrepare(r, 4, torn, load<u32>(torn + H_SIZE), journalOf(dropped, 4), HEADER_SIZE);
    replayIntact(r, c, 5, 5);
    expect(recoverEnd(r)).toBe(RECOVERY_OK);
    expect(r.status).toBe(STATUS_NORMAL);
    expect(r.commitMin).toBe(3); // the torn op and all after it dropped: never reported done, never acked
    expect(r.op).toBe(3);
    expect(r.view).toBe(1); // dropping a tail: the ops are written again in a view newer than the journal's
    expect(r.logHead).toBe(3);
  });

  it("refuses to start when the next op's own header proves its write completed and its prepare is corrupt", () => {
    const c = loneLog(1);
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 3, c.replicas[0].window.checksum(3), 0, 0);
    replayIntact(r, c, 1, 3);
    const header = journalOf(c, 4);
    const corrupt = journalOf(c, 4);
    store<u8>(corrupt + HEADER_SIZE + 2, load<u8>(corrupt + HEADER_SIZE + 2) ^ 1); // bit flip at rest
    recoverPrepare(r, 4, corrupt, load<u32>(corrupt + H_SIZE), header, HEADER_SIZE);
    replayIntact(r, c, 5, 5); // chained after the lost op: may have been acked too
    expect(recoverEnd(r)).toBe(RECOVERY_LOST); // a verdict, not a trap
    expect(r.recoveryLostFrom).toBe(4);
    expect(r.recoveryLostTo).toBe(5);
    expect(r.status).toBe(STATUS_RECOVERING); // serves nothing
    expect(r.commitMin).toBe(3);
  });

  it("a header chaining to the op before but older than that op's view is stale (that op was written after it)", () => {
    const c = loneLog(1);
    const r = loneReplayed(c, 2);
    const op3 = journalOf(c, 3);
    store<u32>(op3 + H_VIEW, 2); // op 3 written in view 2 (outside the identity: still valid)
    sealPrepareFrame(op3); //       as the core seals every journal write
    recoverPrepare(r, 3, op3, load<u32>(op3 + H_SIZE), op3, HEADER_SIZE);
    const header = journalOf(c, 4); // view 0: from before op 3 was written again
    const torn = tear(journalOf(c, 4));
    recoverPrepare(r, 4, torn, load<u32>(torn + H_SIZE), header, HEADER_SIZE);
    expect(recoverEnd(r)).toBe(RECOVERY_OK);
    expect(r.commitMin).toBe(3);
    expect(r.view).toBe(3); // newer than every view in the journal

    // The same header stamped in op 3's view is that op's successor's: its loss is refused.
    const again = loneReplayed(c, 2);
    recoverPrepare(again, 3, op3, load<u32>(op3 + H_SIZE), op3, HEADER_SIZE);
    store<u32>(header + H_VIEW, 2);
    sealPrepareFrame(header);
    recoverPrepare(again, 4, torn, load<u32>(torn + H_SIZE), header, HEADER_SIZE);
    expect(recoverEnd(again)).toBe(RECOVERY_LOST);
    expect(again.recoveryLostFrom).toBe(4);
    expect(again.recoveryLostTo).toBe(4);
  });

  it("a view outside a valid frame seal (a bit flip there) is not trusted: the parent decides, and refuses", () => {
    const c = loneLog(1);
    const r = loneReplayed(c, 2);
    const op3 = journalOf(c, 3);
    store<u32>(op3 + H_VIEW, load<u32>(op3 + H_VIEW) ^ 0x100); // flipped at rest: a higher view, seal broken
    recoverPrepare(r, 3, op3, load<u32>(op3 + H_SIZE), op3, HEADER_SIZE);
    expect(r.commitMin).toBe(3); // the prepare's identity is intact
    const header = journalOf(c, 4); // op 4's own header, its prepare lost: acked data gone
    const torn = tear(journalOf(c, 4));
    recoverPrepare(r, 4, torn, load<u32>(torn + H_SIZE), header, HEADER_SIZE);
    expect(recoverEnd(r)).toBe(RECOVERY_LOST); // not passed off as a torn, never-acked write
    expect(r.recoveryLostFrom).toBe(4);
  });

  it("refuses a hole below the superblock's commit, and a journal that ends below it, naming the ops", () => {
    const c = loneLog(1);
    const hole = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(hole, 0, 0, 4, c.replicas[0].window.checksum(4), 0, 0);
    replayIntact(hole, c, 1, 2);
    replayIntact(hole, c, 4, 5); // op 3 missing
    expect(recoverEnd(hole)).toBe(RECOVERY_LOST);
    expect(hole.recoveryLostFrom).toBe(3);
    expect(hole.recoveryLostTo).toBe(5);
    expect(hole.commitMin).toBe(2);

    const short = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(short, 0, 0, 5, c.replicas[0].window.checksum(5), 0, 0);
    replayIntact(short, c, 1, 3);
    expect(recoverEnd(short)).toBe(RECOVERY_LOST);
    expect(short.recoveryLostFrom).toBe(4);
    expect(short.recoveryLostTo).toBe(5);
  });

  it("refuses a journal whose op at the superblock's commit is another prepare, before applying it", () => {
    const c = loneLog(1);
    const other = loneLog(11);
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 3, other.replicas[0].window.checksum(3), 0, 0);
    replayIntact(r, c, 1, 5);
    expect(recoverEnd(r)).toBe(RECOVERY_DIVERGED);
    expect(r.recoveryLostFrom).toBe(3);
    expect(r.recoveryLostTo).toBe(3);
    expect(r.commitMin).toBe(2);
  });

  it("resumes in a view no older than its journal's, even with nothing dropped", () => {
    const c = loneLog(1);
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 0, 0, 0, 0); // the superblock never heard of view 4
    for (let op: u64 = 1; op <= 5; op++) {
      const e = journalOf(c, op);
      store<u32>(e + H_VIEW, op < 4 ? 0 : 4);
      recoverPrepare(r, op, e, load<u32>(e + H_SIZE), e, HEADER_SIZE);
    }
    expect(recoverEnd(r)).toBe(RECOVERY_OK);
    expect(r.commitMin).toBe(5);
    expect(r.view).toBe(4);
  });
});

// Last in the file: its toThrow specs trap inside the core, which can leave module state that later specs trip on.
describe("vsr replica reuse", () => {
  it("resets what a restart left for view changes (unloadedFrom, journalHead, journalTop, recovery state)", () => {
    const fresh = new Replica(CLUSTER, GROUP, 0, 3, 64, 4);
    const used = new Replica(CLUSTER, GROUP, 0, 3, 64, 4);
    // What a restart with a journal longer than the window leaves behind (recovery.ts recoverPrepare).
    used.unloadedFrom = 5;
    used.journalHead = 20;
    used.journalTop = 3;
    used.recoveryCommit = 7;
    used.recoveryChecksum = 9;
    used.recoveryTail = true;
    used.recoveryBroken = true;
    used.reuse(CLUSTER, GROUP + 1, 0);
    expect(used.unloadedFrom).toBe(fresh.unloadedFrom);
    expect(used.journalHead).toBe(fresh.journalHead);
    expect(used.journalTop).toBe(fresh.journalTop);
    expect(used.recoveryCommit).toBe(fresh.recoveryCommit);
    expect(used.recoveryChecksum).toBe(fresh.recoveryChecksum);
    expect(used.recoveryTail).toBe(fresh.recoveryTail);
    expect(used.recoveryBroken).toBe(fresh.recoveryBroken);
    expect(used.mayNack(10)).toBe(fresh.mayNack(10)); // a fresh replica may nack op 10 in a view change
  });

  it("a used replica taken for a new group acts exactly as a fresh one of its shape", () => {
    const used = new Cluster(1);
    const old = register(used);
    for (let i: u64 = 1; i <= 5; i++) used.request(1, old, i, APP);
    const r = used.replicas[0];
    expect(r.op).toBe(6);
    r.reuse(CLUSTER, GROUP, 0);
    expect(r.op).toBe(0);
    expect(r.commitMin).toBe(0);
    expect(r.commitChecksum).toBe(0);
    expect(r.clients.count).toBe(0);
    expect(r.status).toBe(STATUS_NORMAL);

    const fresh = new Cluster(1);
    const before = used.replies.length;
    // The old session means nothing to the reused replica, as to a fresh one.
    used.request(1, old, 6, APP);
    fresh.request(1, old, 6, APP);
    expect(load<u32>(used.lastReply() + Y_STATUS)).toBe(load<u32>(fresh.lastReply() + Y_STATUS));
    const a = register(used);
    const b = register(fresh);
    expect(a).toBe(b);
    for (let i: u64 = 1; i <= 3; i++) {
      used.request(1, a, i, APP);
      fresh.request(1, b, i, APP);
    }
    expect(r.op).toBe(fresh.replicas[0].op);
    expect(r.commitMin).toBe(fresh.replicas[0].commitMin);
    expect(r.commitChecksum).toBe(fresh.replicas[0].commitChecksum); // the same hash chain from op 1
    expect(used.replies.length - before).toBe(fresh.replies.length);
    for (let i = 0; i < fresh.replies.length; i++) {
      expect(load<u64>(used.replies[before + i] + Y_OP)).toBe(load<u64>(fresh.replies[i] + Y_OP));
      expect(load<u32>(used.replies[before + i] + Y_STATUS)).toBe(load<u32>(fresh.replies[i] + Y_STATUS));
    }
  });
});

describe("vsr single replica", () => {
  it("commits on its own journal write, never sends, and has no DVC store", () => {
    const c = new Cluster(1);
    const r = c.replicas[0];
    expect(r.dvcStore).toBe(0);
    const session = register(c);
    expect(session).toBe(1);
    for (let i: u64 = 1; i <= 40; i++) c.request(1, session, i, APP); // beyond one pipeline
    expect(r.commitMin).toBe(41);
    expect(c.commits[0].length).toBe(41);
    expect(c.replies.length).toBe(41);
    expect(c.queuePtr.length).toBe(0); // nothing was ever sent
    c.tick(200); // heartbeats and prepare timeouts have nobody to talk to
    expect(c.queuePtr.length).toBe(0);
    expect(r.status).toBe(STATUS_NORMAL);
    expect(r.viewChanges).toBe(0);
  });

  it("never view-changes: starting one aborts", () => {
    expect(() => {
      const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
      startViewChange(r, 1);
    }).toThrow();
  });

  it("recovery commits every journaled prepare (durable = committed) and resumes in the same view", () => {
    const c = new Cluster(1);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP); // ops 1..3
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 1, c.replicas[0].window.checksum(1), 0, 0); // the superblock lags: commit 1
    for (let op: u64 = 1; op <= 3; op++) {
      const e = journalOf(c, op);
      recoverPrepare(r, op, e, load<u32>(e + H_SIZE), 0, 0);
    }
    expect(r.commitMin).toBe(3);
    recoverEnd(r);
    expect(r.status).toBe(STATUS_NORMAL);
    expect(r.view).toBe(0);
    expect(r.viewChanges).toBe(0);
    expect(r.clients.check(1, session, 2, APP)).toBe(CHECK_DUPLICATE); // the table was rebuilt by the replay
    expect(r.clients.check(1, session, 3, APP)).toBe(CHECK_NEW);
  });

  it("recoverFrom a checkpoint: the replay starts after it and the next prepare chains to it", () => {
    const c = new Cluster(1);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP); // ops 1..3
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 0, 0, 0, 0);
    recoverFrom(r, 2, c.replicas[0].window.checksum(2));
    const e = journalOf(c, 3);
    recoverPrepare(r, 3, e, load<u32>(e + H_SIZE), 0, 0);
    recoverEnd(r);
    expect(r.commitMin).toBe(3);
    expect(r.status).toBe(STATUS_NORMAL);
    // A fresh recovery from a checkpoint with nothing after it: op 3 chains to the checkpoint's checksum.
    const s = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(s, 0, 0, 0, 0, 0, 0);
    recoverFrom(s, 2, c.replicas[0].window.checksum(2));
    recoverEnd(s);
    s.clients.commit(1, 0, OP_REGISTER, 1, s.scratch); // the session the checkpoint's state would hold
    const m = makeRequest(1, 1, 9, APP);
    s.onMessage(m, HEADER_SIZE + 8);
    expect(s.op).toBe(3);
    expect(load<u64>(s.window.prepare(3) + P_PARENT)).toBe(c.replicas[0].window.checksum(2));
  });

  it("a torn or missing entry ends the committed prefix: later entries never committed, dropped", () => {
    const c = new Cluster(1);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP);
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 0, 0, 0, 0);
    const e1 = journalOf(c, 1);
    recoverPrepare(r, 1, e1, load<u32>(e1 + H_SIZE), 0, 0);
    const e2 = journalOf(c, 2);
    store<u8>(e2 + HEADER_SIZE + 2, load<u8>(e2 + HEADER_SIZE + 2) ^ 1); // torn: no completed header
    recoverPrepare(r, 2, e2, load<u32>(e2 + H_SIZE), 0, 0);
    const e3 = journalOf(c, 3);
    recoverPrepare(r, 3, e3, load<u32>(e3 + H_SIZE), 0, 0);
    recoverEnd(r);
    expect(r.commitMin).toBe(1);
    expect(r.op).toBe(1);
    expect(r.status).toBe(STATUS_NORMAL);
  });

  it("refuses a journal that lacks an op below the superblock's commit (no peer could repair it): a verdict, no trap", () => {
    const c = new Cluster(1);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.request(1, session, 2, APP);
    const r = new Replica(CLUSTER, GROUP, 0, 1, 64);
    recoverBegin(r, 0, 0, 3, c.replicas[0].window.checksum(3), 0, 0);
    const e1 = journalOf(c, 1);
    recoverPrepare(r, 1, e1, load<u32>(e1 + H_SIZE), 0, 0);
    const e3 = journalOf(c, 3); // op 2 lost
    recoverPrepare(r, 3, e3, load<u32>(e3 + H_SIZE), 0, 0);
    expect(recoverEnd(r)).toBe(RECOVERY_LOST);
    expect(r.recoveryLostFrom).toBe(2);
    expect(r.recoveryLostTo).toBe(3);
    expect(r.status).toBe(STATUS_RECOVERING);
  });
});

describe("vsr journal cut (the host's files lost writes it had reported durable)", () => {
  it("a backup stops counting the cut ops durable and asks their writes again; committed ops are left alone", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.dropCommand = CMD_PREPARE_OK;
    c.request(1, session, 1, APP); // op 2: durable on every replica, committed nowhere
    const b = c.replicas[1];
    expect(b.commitMin).toBe(1);
    expect(b.window.has(2) & F_DURABLE).toBe(F_DURABLE);
    b.onJournalCut(1);
    expect(b.window.has(1) & F_DURABLE).toBe(F_DURABLE); // committed: never cut
    expect(b.window.has(2) & F_DURABLE).toBe(0);
    c.drain(1);
    expect(c.writes.length).toBe(3); // one write asked again: op 2's, the same prepare
    expect(c.writes[0]).toBe(1);
    expect(c.writes[1]).toBe(2);
    expect(c.writes[2]).toBe(b.window.checksum(2));
    c.deliver();
    expect(b.window.has(2) & F_DURABLE).toBe(F_DURABLE); // durable again once the host wrote it again
  });

  it("a primary withdraws its own vote for a cut op until its write is done again", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[1] = true;
    c.blockTo[2] = true;
    c.request(1, session, 1, APP); // op 2 on the primary alone: its own vote only
    const p = c.replicas[0];
    expect(p.okBits[2] & 1).toBe(1);
    p.onJournalCut(2);
    expect(p.okBits[2] & 1).toBe(0);
    c.drain(0);
    expect(c.writes.length).toBe(3);
    expect(c.writes[1]).toBe(2);
    c.writes = []; // the write asked again is not done yet
    c.blockTo[1] = false;
    c.tick(9); // retransmission: replica 1's prepare_ok alone is no quorum without the primary's own
    expect(p.commitMax).toBe(1);
    p.onJournalWriteDone(2, p.window.checksum(2));
    expect(p.commitMax).toBe(2);
  });
});
