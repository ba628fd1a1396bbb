// The VSR specs' cluster: N replicas of the core in one instance, messages delivered by hand through queues, what
// each replica sent, replied, wrote and committed recorded for the specs to look at. Shared by vsr.spec.ts and
// vsr_state_sync.spec.ts (a helper module, not a spec: as-pect compiles it into each spec that imports it).
import { Replica } from "../../assembly/vsr/replica";
import {
  ACTION_COMMIT, ACTION_JOURNAL_WRITE, ACTION_JOURNAL_WRITE_HEADER, ACTION_REPLY, ACTION_SEND, ACTION_STATE_REQUEST,
  CMD_DO_VIEW_CHANGE, CMD_PREPARE_OK, CMD_RECOVERY, CMD_RECOVERY_RESPONSE, CMD_REQUEST, CMD_START_VIEW_CHANGE, HEADER_SIZE,
  OP_REGISTER, REPLY_OK, STATUS_NORMAL, STATUS_RECOVERING,
} from "../../assembly/vsr/constants";
import {
  B_NONCE, H_CHECKSUM, H_CLUSTER, H_COMMAND, H_REPLICA, H_SIZE, P_OP, R_CLIENT, R_GROUP, R_OPERATION, R_REQUEST, R_SESSION,
  S_GROUP, Y_SESSION, Y_STATUS, command, seal,
} from "../../assembly/vsr/header";
import { RECORD_HEADER } from "../../assembly/vsr/outbox";
import { recoverLost, setBase, setTail } from "../../assembly/vsr/state_sync";

export const CLUSTER: u64 = 0xc1;
export const GROUP: u64 = 9;
export const APP: u8 = 128;

export class Cluster {
  replicas: Replica[] = [];
  down: bool[] = [];
  blockTo: bool[] = []; //     drop every message to this replica
  dropCommand: u8 = 0; //      drop every message with this command
  queuePtr: usize[] = [];
  queueLen: u32[] = [];
  queueTo: u32[] = [];
  writes: u64[] = []; //       pending journal writes: replica, op, checksum triples
  replies: usize[] = [];
  commits: u64[][] = [];
  sent: u8[][] = []; //        commands each replica sent
  stateFrom: i32[] = []; //    the last state request of each replica: its target (-1 none) and op
  stateOp: u64[] = [];

  constructor(n: u32, clientsMax: u32 = 64) {
    for (let i: u32 = 0; i < n; i++) {
      this.replicas.push(new Replica(CLUSTER, GROUP, i, n, 64, clientsMax));
      this.down.push(false);
      this.blockTo.push(false);
      this.commits.push([]);
      this.sent.push([]);
      this.stateFrom.push(-1);
      this.stateOp.push(0);
    }
  }

  drain(i: u32): void {
    const r = this.replicas[i];
    let at = r.outbox.buffer;
    const end = at + r.outbox.length;
    while (at < end) {
      const kind = load<u32>(at);
      const target = load<u32>(at + 4);
      const length = load<u32>(at + 8);
      const payload = at + RECORD_HEADER;
      if (kind == ACTION_STATE_REQUEST) {
        this.stateFrom[i] = <i32>target;
        this.stateOp[i] = load<u64>(payload);
      } else if (kind == ACTION_SEND) {
        this.sent[i].push(command(payload));
        const copy = heap.alloc(length);
        memory.copy(copy, payload, length);
        this.queuePtr.push(copy);
        this.queueLen.push(length);
        this.queueTo.push(target);
      } else if (kind == ACTION_REPLY) {
        const copy = heap.alloc(length);
        memory.copy(copy, payload, length);
        this.replies.push(copy);
      } else if (kind == ACTION_JOURNAL_WRITE || kind == ACTION_JOURNAL_WRITE_HEADER) {
        this.writes.push(<u64>i);
        this.writes.push(load<u64>(payload + P_OP));
        this.writes.push(load<u64>(payload + H_CHECKSUM));
      } else if (kind == ACTION_COMMIT) {
        this.commits[i].push(load<u64>(payload + P_OP));
      }
      at += RECORD_HEADER + ((length + 7) & ~7);
    }
    r.outbox.clear();
  }

  // Delivers until quiet (journal writes complete in between).
  deliver(): void {
    for (let steps = 0; steps < 100000; steps++) {
      if (this.writes.length > 0) {
        const writes = this.writes;
        this.writes = [];
        for (let w = 0; w < writes.length; w += 3) {
          const i = <u32>writes[w];
          if (this.down[i]) continue;
          this.replicas[i].onJournalWriteDone(writes[w + 1], writes[w + 2]);
          this.drain(i);
        }
        continue;
      }
      if (this.queuePtr.length == 0) return;
      const ptr = this.queuePtr.shift();
      const len = this.queueLen.shift();
      const to = this.queueTo.shift();
      if (!this.down[to] && !this.blockTo[to] && command(ptr) != this.dropCommand) {
        this.replicas[to].onMessage(ptr, len);
        this.drain(to);
      }
      heap.free(ptr);
    }
    assert(false, "cluster did not quiesce");
  }

  tick(n: u32): void {
    for (let t: u32 = 0; t < n; t++) {
      for (let i = 0; i < this.replicas.length; i++) {
        if (this.down[i]) continue;
        this.replicas[i].onTick();
        this.drain(<u32>i);
      }
      this.deliver();
    }
  }

  // Replica `i` replaced by a fresh one that lost its state (from `base`: a partition's files; `barred`: it may not
  // form), its first Recovery queued.
  restartLost(i: u32, nonce: u64, base: u64 = 0, barred: bool = false): void {
    this.replicas[i] = new Replica(CLUSTER, GROUP, i, <u32>this.replicas.length, 64);
    if (base != 0) setBase(this.replicas[i], base);
    recoverLost(this.replicas[i], nonce, barred);
    this.drain(i);
  }

  // The same with the files' tail given first (`n` tail_match.ts entries at `list`, ending at `end`): a whole cluster
  // forming again from differing files (journal/formation.ts).
  restartLostWithTail(i: u32, nonce: u64, base: u64, list: usize, n: u32, end: u64): void {
    this.replicas[i] = new Replica(CLUSTER, GROUP, i, <u32>this.replicas.length, 64);
    setBase(this.replicas[i], base);
    setTail(this.replicas[i], list, n, end);
    recoverLost(this.replicas[i], nonce, false);
    this.drain(i);
  }

  // Every queued message dropped (the links were not up yet).
  dropQueued(): void {
    this.queuePtr = [];
    this.queueLen = [];
    this.queueTo = [];
  }

  primary(): i32 {
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[i];
      if (!this.down[i] && r.status == STATUS_NORMAL && r.isPrimary()) return i;
    }
    return -1;
  }

  // Sends a request to every live replica (as the simulator's clients do) and runs to quiet.
  request(client: u64, session: u64, request: u64, operation: u8): void {
    const m = makeRequest(client, session, request, operation);
    for (let i = 0; i < this.replicas.length; i++) {
      if (this.down[i] || this.blockTo[i]) continue;
      this.replicas[i].onMessage(m, HEADER_SIZE + 8);
      this.drain(<u32>i);
    }
    heap.free(m);
    this.deliver();
  }

  lastReply(): usize {
    return this.replies.length == 0 ? 0 : this.replies[this.replies.length - 1];
  }
}

export function makeRequest(client: u64, session: u64, request: u64, operation: u8): usize {
  const m = heap.alloc(HEADER_SIZE + 8);
  memory.fill(m, 0, HEADER_SIZE + 8);
  store<u64>(m + H_CLUSTER, CLUSTER);
  store<u32>(m + H_SIZE, HEADER_SIZE + 8);
  store<u8>(m + H_COMMAND, CMD_REQUEST);
  store<u64>(m + R_CLIENT, client);
  store<u64>(m + R_REQUEST, request);
  store<u8>(m + R_OPERATION, operation);
  store<u64>(m + R_SESSION, session);
  store<u64>(m + R_GROUP, GROUP);
  store<u64>(m + HEADER_SIZE, client * 1000 + request); // body
  seal(m);
  return m;
}

// Registers client 1 and returns its session.
export function register(c: Cluster): u64 {
  c.request(1, 0, 0, OP_REGISTER);
  const reply = c.lastReply();
  assert(reply != 0 && load<u32>(reply + Y_STATUS) == REPLY_OK, "register failed");
  return load<u64>(reply + Y_SESSION);
}
