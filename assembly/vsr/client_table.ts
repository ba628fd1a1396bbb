// The client table: per client its session (epoch = op of its committed Register), the last committed request
// number and that request's reply, so a retried request gets the cached reply instead of being applied twice.
// Fixed capacity, chosen per replica at creation (the metadata group holds thousands of sessions, a partition
// group a handful); a Register into a full table evicts the client with the oldest commit (deterministic).
import {
  HEADER_SIZE, OP_REGISTER, REPLY_NO_SESSION, REPLY_REQUEST_TOO_OLD, REPLY_SESSION_MISMATCH,
} from "./constants";

export const CHECK_NEW: i32 = -1;
export const CHECK_DUPLICATE: i32 = -2; // resend the cached reply
// Values >= 0 are a rejection reason (REPLY_*).

export class ClientTable {
  capacity: u32;
  ids: StaticArray<u64>;
  sessions: StaticArray<u64>;
  requests: StaticArray<u64>;
  lastOps: StaticArray<u64>;
  replies: usize;
  count: u32 = 0;

  constructor(capacity: u32) {
    assert(capacity >= 1, "client table: capacity must be at least 1");
    this.capacity = capacity;
    this.ids = new StaticArray<u64>(capacity);
    this.sessions = new StaticArray<u64>(capacity);
    this.requests = new StaticArray<u64>(capacity);
    this.lastOps = new StaticArray<u64>(capacity);
    this.replies = heap.alloc(<usize>capacity * HEADER_SIZE);
  }

  find(client: u64): i32 {
    for (let i: u32 = 0; i < this.count; i++) if (unchecked(this.ids[i]) == client) return <i32>i;
    return -1;
  }

  reply(index: i32): usize {
    return this.replies + <usize>index * HEADER_SIZE;
  }

  // Decides what a request is, before it may become a prepare.
  check(client: u64, session: u64, request: u64, operation: u8): i32 {
    const index = this.find(client);
    if (operation == OP_REGISTER) {
      // A Register carries session 0 and request 0. From a client already in the table it is a retry or a
      // late network duplicate, never a new session (that would fence the live one): the cached reply while
      // the Register is its last request, RequestTooOld after. A new session takes a new client id.
      if (index < 0) return CHECK_NEW;
      return unchecked(this.requests[index]) == 0 ? CHECK_DUPLICATE : <i32>REPLY_REQUEST_TOO_OLD;
    }
    if (index < 0) return <i32>REPLY_NO_SESSION;
    if (session != unchecked(this.sessions[index])) return <i32>REPLY_SESSION_MISMATCH;
    const last = unchecked(this.requests[index]);
    if (request < last) return <i32>REPLY_REQUEST_TOO_OLD;
    if (request == last) return CHECK_DUPLICATE;
    return CHECK_NEW;
  }

  // Records a committed request and its reply (every replica does this, so any of them can answer a retry).
  commit(client: u64, request: u64, operation: u8, op: u64, reply: usize): void {
    let index = this.find(client);
    if (operation == OP_REGISTER) {
      if (index < 0) index = this.slotForNewClient();
      unchecked(this.ids[index] = client);
      unchecked(this.sessions[index] = op);
      unchecked(this.requests[index] = 0);
    } else {
      // Evicted between prepare and commit: the op is still applied, only its reply is not cached.
      if (index < 0) return;
      assert(request > unchecked(this.requests[index]), "client table: request committed twice");
      unchecked(this.requests[index] = request);
    }
    unchecked(this.lastOps[index] = op);
    memory.copy(this.reply(index), reply, HEADER_SIZE);
  }

  private slotForNewClient(): i32 {
    if (this.count < this.capacity) { const index = <i32>this.count; this.count++; return index; }
    let oldest: i32 = 0;
    for (let i: i32 = 1; i < <i32>this.capacity; i++) {
      if (unchecked(this.lastOps[i]) < unchecked(this.lastOps[oldest])) oldest = i;
    }
    return oldest;
  }

  // No clients, as after construction (entries at or past `count` are never read).
  reset(): void {
    this.count = 0;
  }
}
