// A serving shard's gate for client connections: which accepted sockets it keeps (--max-connections, counted over
// every shard in the node's NetCounters; file descriptors), the deadlines of the ones it keeps (swept), and what it
// logs and counts about both. The connections themselves stay with the shard server; the guard only reads them.
import fs from 'node:fs';
import type net from 'node:net';
import { LogLimiter } from '../../shared/log-limiter.js';
import type { ClientConnection, ConnectionEnv, Expiry } from './client-connection.js';
import { BufferBudget, type ConnectionLimits } from './connection-limits.js';
import { DESCRIPTOR_RESERVE, DescriptorReserve } from './descriptors.js';
import type { FrameArena } from './frame-arena.js';
import { NetCounters, type NetCounter } from './net-counters.js';

const EXPIRY_COUNTER: Record<Expiry, NetCounter> = { login_timeout: 'closedLoginTimeout', idle_timeout: 'closedIdleTimeout', frame_timeout: 'closedFrameTimeout' };
const EXPIRY_TEXT: Record<Expiry, string> = {
  login_timeout: 'LoginTimeout: no successful Register within --login-timeout-ms',
  idle_timeout: 'IdleTimeout: no traffic (or answers not read) within --idle-timeout-ms',
  frame_timeout: 'FrameTimeout: a frame still incomplete after --frame-timeout-ms',
};

interface Log {
  info(message: string): void;
  warn(message: string): void;
}

export class ConnectionGuard {
  readonly env: ConnectionEnv;
  private readonly reserve = new DescriptorReserve(DESCRIPTOR_RESERVE);
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(limits: ConnectionLimits, counters: SharedArrayBuffer, arena: FrameArena | null, private readonly log: Log, private readonly connections: ReadonlyMap<number, ClientConnection>) {
    const c = new NetCounters(counters);
    c.set('maxConnections', limits.maxConnections);
    this.env = { limits, counters: c, budget: new BufferBudget(limits.bufferedBytes, c), logs: new LogLimiter(log), arena };
    if (!this.reserve.acquire()) log.warn(`could not hold ${DESCRIPTOR_RESERVE} spare file descriptors: the process is near its descriptor limit (ulimit -n)`);
    const deadlines = [limits.frameTimeoutMs, limits.loginTimeoutMs, limits.idleTimeoutMs].filter((ms) => ms > 0);
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(1_000, Math.floor(Math.min(...deadlines) / 4))));
    this.sweepTimer.unref();
  }

  // The process ran out of descriptors: every shard closes new connections and gives up its reserve until one of
  // them can hold its reserve again with room to spare (a word of the node's NetCounters).
  private get shortage(): boolean {
    return this.env.counters.get('descriptorShortage') === 1;
  }

  // Whether to keep a socket just accepted; one refused is destroyed here, counted and logged (rate-limited).
  admit(socket: net.Socket, address: string): boolean {
    const { counters, logs, limits } = this.env;
    let why: string | null = null;
    if (this.shortage) {
      // Out of descriptors a moment ago (the sweep and closing connections end the shortage).
      why = 'out of file descriptors (ulimit -n)';
    } else {
      const exhausted = descriptorsExhausted();
      if (exhausted) {
        // This connection took the last descriptor: it goes back, and so does the reserve.
        socket.destroy();
        counters.add('refusedDescriptors');
        this.outOfDescriptors(exhausted);
        return false;
      }
      // A place among the node's connections, taken atomically: shards accepting at once cannot both take the last.
      if (!counters.addWithin('openConnections', 1, limits.maxConnections)) {
        why = `${counters.get('openConnections')} connections open, the limit (--max-connections)`;
      }
    }
    if (why === null) return true;
    socket.destroy();
    counters.add(this.shortage ? 'refusedDescriptors' : 'refusedMaxConnections');
    logs.log('connection refused', `refusing a connection from ${address}: ${why}`);
    return false;
  }

  // A connection admit() kept has closed: its place goes back.
  closed(): void {
    this.env.counters.add('openConnections', -1);
    if (this.shortage) this.recoverDescriptors();
  }

  // An error of the listening socket after listen(): an accept() that failed. Counted and logged, never fatal.
  acceptFailed(error: NodeJS.ErrnoException): void {
    if (error.code === 'EMFILE' || error.code === 'ENFILE') {
      this.outOfDescriptors(error.code);
      return;
    }
    this.env.counters.add('acceptOther');
    this.env.logs.log('accept error', `accepting a client connection failed: ${error.code ?? error.message}`, 'warn');
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.env.logs.flushAll();
    this.reserve.release();
  }

  // Gives up the reserve (so /health, /metrics and the data files get descriptors) and says so, rate-limited.
  private outOfDescriptors(code: 'EMFILE' | 'ENFILE'): void {
    this.env.counters.add(code === 'EMFILE' ? 'acceptEmfile' : 'acceptEnfile');
    this.env.counters.set('descriptorShortage', 1);
    this.reserve.release();
    this.env.logs.log('out of descriptors', `OutOfDescriptors: cannot accept client connections (${code}, ${this.connections.size} open); new connections are closed until descriptors are free again (raise ulimit -n or lower --max-connections)`, 'warn');
  }

  // The shortage is over when the reserve can be held again with as much room again to spare: a reserve taken
  // back as soon as one descriptor is free would leave /health none.
  private recoverDescriptors(): void {
    const room = new DescriptorReserve(DESCRIPTOR_RESERVE);
    if (!room.acquire()) return;
    const held = this.reserve.acquire();
    room.release();
    if (!held) return;
    this.env.counters.set('descriptorShortage', 0);
    this.log.info('file descriptors are available again: accepting client connections');
  }

  // Closes the connections past a deadline (login, idle, incomplete frame); retries the descriptor reserve.
  private sweep(): void {
    if (this.shortage) {
      this.reserve.release(); // another shard ran out: this one's reserve goes too
      this.recoverDescriptors();
    } else if (!this.reserve.held) {
      this.reserve.acquire(); // another shard ended the shortage: this one holds its reserve again
    }
    const now = Date.now();
    for (const connection of this.connections.values()) {
      const expiry = connection.expired(now);
      if (!expiry) continue;
      this.env.counters.add(EXPIRY_COUNTER[expiry]);
      this.env.logs.log(expiry, `client ${connection.id} (${connection.address}): closing, ${EXPIRY_TEXT[expiry]}`);
      connection.close();
    }
  }
}

// libuv hides EMFILE from accept() (it closes the pending connections itself and reports nothing), so the shard
// looks for itself: a descriptor it cannot open right after an accept means the process is at its limit.
function descriptorsExhausted(): 'EMFILE' | 'ENFILE' | null {
  try {
    fs.closeSync(fs.openSync('/dev/null', 'r'));
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? code : null;
  }
}
