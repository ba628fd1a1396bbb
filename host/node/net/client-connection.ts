// One client TCP connection on its shard: splits the byte stream into frames and answers them one at a time, in
// order (the SDKs are lock-step and match replies by order, iggy-client-wire.md §1). A framing error (a size
// outside [256, max]) cannot be resynchronised: the connection is closed. Every other problem is answered on
// the connection, which stays usable.
// What a connection may cost is bounded (connection-limits.ts): before login its frames are small (Ping, Register
// and Logout are all it may send); every frame is admitted against a per-connection and a shard-wide budget of
// bytes read and not yet answered, and the socket is not read while a frame waits for room; an incomplete frame,
// a connection that does not log in and one that stays silent are closed when their deadline passes (the
// connection guard's sweep calls expired()).
import type net from 'node:net';
import { WireError } from '../../shared/wire/buffer.js';
import { EvictionReason, Operation } from '../../shared/wire/codes.js';
import { FrameSizeError, FrameSplitter, HEADER_SIZE, decodeRequestHeader, encodeEviction, requestOperation } from '../../shared/wire/header.js';
import { logger } from '../../shared/log.js';
import type { LogLimiter } from '../../shared/log-limiter.js';
import type { BufferBudget, ConnectionLimits } from './connection-limits.js';
import type { FrameArena } from './frame-arena.js';
import type { NetCounters } from './net-counters.js';

// SendMessages frames from this size on are assembled in the shard's frame arena (shared memory), when it has room.
export const ARENA_FRAME_MIN_BYTES = 64 << 10;

// What the request layer answers with: bytes to write (a reply or an eviction, header and body possibly in two
// pieces so a large poll body is not copied again), or pieces in memory lent for the answer (a poll read into the
// frame arena), given back through done() once the socket has them or the connection is gone.
export type Answer = Uint8Array | Uint8Array[] | HeldAnswer;

export interface HeldAnswer {
  pieces: Uint8Array[];
  done(): void;
}

// What the request layer (../server/client-requests.ts) needs of a connection: a TCP ClientConnection, or an HTTP
// caller's session (../rest/local-session.ts), whose requests take the same path.
export interface ServedConnection {
  readonly id: number;
  readonly address: string;
  readonly socket: { readonly remoteAddress?: string };
  readonly reading: { pause(): void; resume(): void };
  setAuthenticated(yes: boolean): void;
  endAfterAnswer(): void;
}

export interface ConnectionHandler {
  request(connection: ClientConnection, frame: Uint8Array): Promise<Answer>;
  closed(connection: ClientConnection): void;
  // A request that changes nothing and depends on nothing but committed state (a poll without auto-commit): it may
  // be worked on while the ones before it still are, when they are of the same sort. Absent: none is.
  readOnly?(frame: Uint8Array): boolean;
}

// What a connection shares with the others of its shard.
export interface ConnectionEnv {
  limits: ConnectionLimits;
  budget: BufferBudget;
  counters: NetCounters;
  logs: LogLimiter; // lines a peer can cause, rate-limited
  arena: FrameArena | null;
}

export type Expiry = 'login_timeout' | 'idle_timeout' | 'frame_timeout';

// Read-only requests of one connection worked on at once (a client that sends polls ahead of their replies gets
// the next one read while one is written to its socket, or while another shard reads one); answers still go out
// one at a time, in the order of the requests.
export const READS_IN_FLIGHT = 4;

// How long a connection that was answered before being closed (a frame too large before login) may keep its side
// open before the server closes the socket anyway.
const CLOSE_GRACE_MS = 2_000;
const EMPTY = new Uint8Array(0);

const log = logger('tcp');

export class ClientConnection implements ServedConnection {
  private readonly splitter: FrameSplitter;
  private readonly queue: Uint8Array[] = [];
  private busy = false;
  private open = true;
  private authenticated = false;
  private held = 0; // bytes of admitted frames not yet answered (this connection's share of the budget)
  private blockedOn: 'connection' | 'global' | null = null;
  private unauthenticatedSince = Date.now();
  private lastActivity = Date.now();
  private frameStartedAt: number | null = null; // first byte of the incomplete frame, while the client owes bytes
  private lastWords: Uint8Array | null = null; // answered once the queue is done, then the connection ends
  private unreadSince: number | null = null; // answers waiting for the client to read them (the socket's buffer is full)
  private readonly retry = () => this.split(EMPTY);
  private ending = false; // endAfterAnswer(): the request being answered is the last one
  private waiting = 0; // requests of this connection waiting for room between shards (reading stays paused)
  private lastAsked: { frame: Uint8Array; readOnly: boolean } | null = null; // isReadOnly's last answer

  // Paused while a request of this connection waits for room in the queue towards another shard: the socket is
  // not read (the kernel's buffers fill and TCP pushes back on the client) until the request could be queued.
  readonly reading: { pause(): void; resume(): void } = {
    pause: () => {
      this.waiting++;
      this.updateReading();
    },
    resume: () => {
      this.waiting--;
      this.updateReading();
    },
  };

  constructor(
    readonly id: number, readonly socket: net.Socket, readonly address: string, private readonly handler: ConnectionHandler,
    private readonly env: ConnectionEnv,
  ) {
    const { arena, limits } = env;
    this.splitter = new FrameSplitter(limits.unauthenticatedFrameBytes, arena && ((head, size) =>
      (size >= ARENA_FRAME_MIN_BYTES && requestOperation(head) === Operation.sendMessages ? arena.take(size) : null)),
    (size) => this.admit(size));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => log.debug(`client ${id} (${address}): ${error.message}`));
    socket.on('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return this.open;
  }

  // Set by the request layer when a Register binds a session (true) or a Logout ends it (false): the frame limit
  // and the login deadline follow.
  setAuthenticated(yes: boolean): void {
    if (yes === this.authenticated) return;
    this.authenticated = yes;
    this.splitter.maxFrameSize = yes ? this.env.limits.maxFrameBytes : this.env.limits.unauthenticatedFrameBytes;
    if (!yes) this.unauthenticatedSince = Date.now();
  }

  // Which deadline this connection missed at `now`, if any. A request being answered is the server's time, not
  // the client's: it stops the login and idle clocks.
  expired(now: number): Expiry | null {
    if (!this.open || this.lastWords) return null;
    const { frameTimeoutMs, loginTimeoutMs, idleTimeoutMs } = this.env.limits;
    // Not read (paused) is the server's doing, not the client's: the frame clock restarts when reading resumes.
    if (this.frameStartedAt !== null && !this.socket.isPaused() && now - this.frameStartedAt > frameTimeoutMs) return 'frame_timeout';
    // A client that does not read its answers is as idle as one that sends nothing.
    if (this.unreadSince !== null && idleTimeoutMs > 0 && now - this.unreadSince > idleTimeoutMs) return 'idle_timeout';
    if (this.busy || this.queue.length > 0) return null;
    if (!this.authenticated && loginTimeoutMs > 0 && now - this.unauthenticatedSince > loginTimeoutMs) return 'login_timeout';
    if (idleTimeoutMs > 0 && now - this.lastActivity > idleTimeoutMs) return 'idle_timeout';
    return null;
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    if (this.lastWords || this.ending) return; // closing after an answer: what else comes is read and dropped
    this.split(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  private split(chunk: Uint8Array): void {
    if (!this.open || this.lastWords || this.ending) return;
    let frames: Uint8Array[];
    try {
      frames = this.splitter.push(chunk);
    } catch (error) {
      this.framingError(error);
      return;
    }
    // The frame clock runs while the client owes bytes of a frame, not while the frame waits for budget.
    if (this.splitter.pendingBytes === 0 || this.splitter.blocked) this.frameStartedAt = null;
    else if (frames.length > 0 || this.frameStartedAt === null) this.frameStartedAt = Date.now();
    if (frames.length > 0) {
      this.queue.push(...frames);
      void this.drain();
    }
    this.updateReading();
  }

  // Admits a frame of `size` bytes against this connection's budget, then the shard's; a refused frame stops the
  // reading until an answered frame (this connection's, or any for the shard budget) makes room.
  private admit(size: number): boolean {
    const { limits, budget } = this.env;
    const own = this.authenticated ? limits.connectionBufferBytes : limits.unauthenticatedFrameBytes;
    if (this.held > 0 && this.held + size > own) return this.block('connection');
    // A lock-step client's one small request (a ping, a login, a poll) always passes: large frames announced by
    // others may hold the shard budget, but never shut ordinary requests out. It is counted all the same.
    const small = this.held === 0 && size <= limits.unauthenticatedFrameBytes;
    if (small) budget.take(size);
    else if (!budget.tryTake(size)) {
      budget.wait(this.retry);
      return this.block('global');
    }
    this.held += size;
    this.blockedOn = null;
    return true;
  }

  private block(on: 'connection' | 'global'): false {
    if (this.blockedOn !== on) this.env.counters.add(on === 'connection' ? 'pausedConnection' : 'pausedGlobal');
    this.blockedOn = on;
    return false;
  }

  // Not reading while a frame waits for budget, or while many frames wait to be answered (reading more would only
  // buffer; the SDKs send one request at a time anyway).
  private updateReading(): void {
    if (!this.open) return;
    if (this.lastWords) {
      if (this.socket.isPaused()) this.socket.resume();
      return;
    }
    if (this.splitter.blocked || this.waiting > 0 || this.queue.length > 64) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused() && this.queue.length <= 16) {
      this.socket.resume();
      if (this.frameStartedAt !== null) this.frameStartedAt = Date.now();
    }
  }

  private framingError(error: unknown): void {
    const { counters, logs, limits } = this.env;
    if (error instanceof FrameSizeError && !this.authenticated && error.size >= HEADER_SIZE && error.size <= limits.maxFrameBytes) {
      // A frame a logged-in client could send, before login: answered (InvalidRequestBodySize) after the requests
      // already read, then the connection ends.
      counters.add('closedFrameBeforeLogin');
      logs.log('frame too large before login', `client ${this.id} (${this.address}): closing, FrameTooLargeBeforeLogin: a frame of ${error.size} B before login (at most ${limits.unauthenticatedFrameBytes} B until a Register succeeds, --max-unauthenticated-frame-bytes)`);
      this.lastWords = encodeEviction(decodeRequestHeader(error.head).client, EvictionReason.invalidRequestBodySize);
      this.updateReading();
      if (!this.busy) this.sayLastWords();
      return;
    }
    counters.add('closedFrameSize');
    const message = error instanceof WireError ? error.message : String(error);
    logs.log('framing error', `client ${this.id} (${this.address}): closing, ${message}`);
    this.socket.destroy();
  }

  private sayLastWords(): void {
    const words = this.lastWords;
    if (!words || !this.open || this.queue.length > 0) return;
    this.socket.end(words);
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  // Answers the queued frames in order. A frame starts once every frame before it is answered, except that
  // read-only frames (ConnectionHandler.readOnly) after a read-only frame start at once, up to READS_IN_FLIGHT.
  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const working: Promise<Answer>[] = []; // started, in order; the first is answered next
    let readsOnly = true; // every frame in `working` is read-only
    try {
      for (;;) {
        while (this.open && this.queue.length > 0 && (working.length === 0 || (readsOnly && working.length < READS_IN_FLIGHT && this.isReadOnly(this.queue[0])))) {
          const frame = this.queue.shift()!;
          readsOnly = working.length === 0 ? this.isReadOnly(frame) : readsOnly;
          working.push(this.start(frame));
        }
        if (!this.open || working.length === 0) break;
        const answer = await working.shift()!;
        if (working.length === 0) readsOnly = true;
        if (!this.open) {
          discard(answer);
          break;
        }
        this.write(answer);
        if (this.ending) {
          // The answer goes out first (end flushes what was written), then the FIN; nothing more is read, and the
          // socket is gone once the FIN is out (a peer that never closes its side holds nothing here).
          for (const next of this.queue.splice(0)) this.release(next);
          this.socket.end(() => this.socket.destroy());
          break;
        }
        this.lastActivity = Date.now();
        // Answers the client does not read are not piled up in memory: the next request waits until they drain.
        if (this.socket.writableLength > this.env.limits.connectionBufferBytes) await this.drained();
        if (this.blockedOn === 'connection') this.split(EMPTY); // its frame may fit now
        this.updateReading();
      }
    } catch (error) {
      log.error(`client ${this.id} (${this.address}): request handler failed, closing: ${(error as Error).stack ?? error}`);
      this.socket.destroy();
    } finally {
      // Requests still being worked on when the connection closed (or failed): their answers are dropped.
      for (const work of working.splice(0)) void work.then(discard, () => undefined);
      this.busy = false;
    }
    this.sayLastWords();
  }

  // Asked of the queue's head until it starts: the last answer is kept so a frame is decoded once.
  private isReadOnly(frame: Uint8Array): boolean {
    if (this.lastAsked?.frame !== frame) this.lastAsked = { frame, readOnly: this.handler.readOnly?.(frame) ?? false };
    return this.lastAsked.readOnly;
  }

  // The handler's work on one frame; the frame is released once answered (no shard reads it any more).
  private start(frame: Uint8Array): Promise<Answer> {
    const work = (async () => {
      try {
        return await this.handler.request(this, frame);
      } finally {
        this.release(frame);
      }
    })();
    work.catch(() => undefined); // awaited in its turn; a failure while an earlier answer is written is not unhandled
    return work;
  }

  private async drained(): Promise<void> {
    this.unreadSince = Date.now();
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
    this.unreadSince = null;
  }

  private write(answer: Answer): void {
    if (answer instanceof Uint8Array) {
      this.socket.write(answer);
      return;
    }
    const pieces = (Array.isArray(answer) ? answer : answer.pieces).filter((piece) => piece.length > 0);
    // A held answer's last write calls back once the kernel has every piece (or the write failed, or the socket
    // was destroyed): then its memory is given back.
    const done = Array.isArray(answer) ? undefined : () => answer.done();
    this.socket.cork();
    pieces.forEach((piece, i) => this.socket.write(piece, i === pieces.length - 1 ? done : undefined));
    this.socket.uncork();
    if (done && pieces.length === 0) queueMicrotask(done);
  }

  private onClose(): void {
    if (!this.open) return;
    this.open = false;
    const { arena, budget } = this.env;
    for (const frame of [...this.queue.splice(0), ...this.splitter.abandon()]) {
      if (arena?.owns(frame)) arena.release(frame);
    }
    // Everything this connection held goes back, the frame in flight included (its answer is dropped).
    budget.cancel(this.retry);
    const held = this.held;
    this.held = 0;
    budget.release(held);
    this.handler.closed(this);
  }

  private release(frame: Uint8Array): void {
    if (this.env.arena?.owns(frame)) this.env.arena.release(frame);
    if (!this.open) return; // the budget was given back at close
    this.held -= frame.length;
    this.env.budget.release(frame.length);
  }

  // Closes the connection once the request being answered has its answer written (the login throttle's close).
  endAfterAnswer(): void {
    this.ending = true;
  }

  close(): void {
    this.socket.destroy();
  }
}

// An answer that will not be written: memory lent for it goes back.
function discard(answer: Answer): void {
  if (!(answer instanceof Uint8Array) && !Array.isArray(answer)) answer.done();
}

export { HEADER_SIZE };
