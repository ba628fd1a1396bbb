// What one client connection may cost the server, and the memory budget all connections of the node share.
import type { NetCounters } from './net-counters.js';

export interface ConnectionLimits {
  maxFrameBytes: number; // largest frame once logged in
  unauthenticatedFrameBytes: number; // largest frame before login (Ping, Register and Logout fit)
  connectionBufferBytes: number; // read and not yet answered, per connection (a single frame may be larger)
  bufferedBytes: number; // the same over every connection of the node, all shards (a single frame may be larger)
  frameTimeoutMs: number; // an incomplete frame must be complete within this
  loginTimeoutMs: number; // a connection must log in within this (0: no limit)
  idleTimeoutMs: number; // a connection with no traffic this long is closed (0: no limit)
  maxConnections: number; // open at once over all shards
}

// Bytes of admitted frames (read, or announced and being read) not yet answered, over every connection of every
// shard: the word lives in the node's NetCounters (shared memory), taken with compare-and-swap. A frame is admitted
// when it fits or when nothing else is held (so a frame larger than the budget can still pass alone); a connection
// whose frame does not fit stops reading until some other frame is answered: on this shard (retried at once), or
// on another (seen by a retry every RETRY_MS while anything waits). (A connection's one small frame is admitted
// regardless: client-connection.ts.)
const RETRY_MS = 10;

export class BufferBudget {
  private readonly waiting = new Set<() => void>();
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(readonly limit: number, private readonly counters: NetCounters) {}

  get bytesInUse(): number {
    return this.counters.get('bufferedBytes');
  }

  tryTake(bytes: number): boolean {
    return this.counters.addWithin('bufferedBytes', bytes, this.limit, true);
  }

  // Takes `bytes` whether or not they fit (small frames that are always admitted).
  take(bytes: number): void {
    this.counters.add('bufferedBytes', bytes);
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    this.counters.add('bufferedBytes', -bytes);
    this.retryWaiters();
  }

  wait(retry: () => void): void {
    this.waiting.add(retry);
    this.retryTimer ??= setInterval(() => this.retryWaiters(), RETRY_MS);
    this.retryTimer.unref();
  }

  cancel(retry: () => void): void {
    this.waiting.delete(retry);
    this.stopRetrying();
  }

  // Every waiter tries again (in the order they started waiting); those that still do not fit wait again.
  private retryWaiters(): void {
    const waiters = [...this.waiting];
    this.waiting.clear();
    for (const retry of waiters) retry();
    this.stopRetrying();
  }

  private stopRetrying(): void {
    if (this.waiting.size > 0 || !this.retryTimer) return;
    clearInterval(this.retryTimer);
    this.retryTimer = null;
  }
}
