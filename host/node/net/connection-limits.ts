// What one client connection may cost the server, and the memory budget all connections of a shard share.
import type { NetCounters } from './net-counters.js';

export interface ConnectionLimits {
  maxFrameBytes: number; // largest frame once logged in
  unauthenticatedFrameBytes: number; // largest frame before login (Ping, Register and Logout fit)
  connectionBufferBytes: number; // read and not yet answered, per connection (a single frame may be larger)
  bufferedBytes: number; // the same over every connection of the shard (a single frame may be larger)
  frameTimeoutMs: number; // an incomplete frame must be complete within this
  loginTimeoutMs: number; // a connection must log in within this (0: no limit)
  idleTimeoutMs: number; // a connection with no traffic this long is closed (0: no limit)
  maxConnections: number;
}

// Bytes of admitted frames (read, or announced and being read) not yet answered, over every connection. A frame is
// admitted when it fits or when nothing else is held (so a frame larger than the budget can still pass alone);
// a connection whose frame does not fit stops reading until some other frame is answered. (A connection's one
// small frame is admitted regardless: client-connection.ts.)
export class BufferBudget {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly limit: number, private readonly counters: NetCounters) {}

  get bytesInUse(): number {
    return this.used;
  }

  tryTake(bytes: number): boolean {
    if (this.used > 0 && this.used + bytes > this.limit) return false;
    this.used += bytes;
    this.counters.set('bufferedBytes', this.used);
    return true;
  }

  // Takes `bytes` whether or not they fit (small frames that are always admitted).
  take(bytes: number): void {
    this.used += bytes;
    this.counters.set('bufferedBytes', this.used);
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    this.used -= bytes;
    this.counters.set('bufferedBytes', this.used);
    // Every waiter tries again (in the order they started waiting); those that still do not fit wait again.
    const waiters = [...this.waiting];
    this.waiting.clear();
    for (const retry of waiters) retry();
  }

  wait(retry: () => void): void {
    this.waiting.add(retry);
  }

  cancel(retry: () => void): void {
    this.waiting.delete(retry);
  }
}
