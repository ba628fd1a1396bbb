// The client listener on every shard. Shard 0 binds the listening socket; every other shard gets a descriptor of
// its own for that same socket, so the kernel spreads accepted connections over the shards and each thread's
// handle closes only its own descriptor number, once.
//
// Node 20 cannot dup(2) a descriptor (no SO_REUSEPORT either: listen({ reusePort }) came in 22.12), and two handles
// on one number are a hazard: the first close frees the number, a file or eventfd another thread opens next gets
// it, and the second close closes that (the process aborted at exit that way). The one kernel path Node exposes
// that makes a new descriptor for an open socket is SCM_RIGHTS on a child process's IPC channel. So, once at boot,
// each other shard spawns a short-lived helper process that inherits shard 0's descriptor (stdio), checks that it
// is the listening socket it expects, and sends it back over IPC; the receiving thread gets a fresh number that
// nobody else holds. The helper's own copies are in its own process and die with it.
//
// Who may read shard 0's number, and until when: a borrower reads it only synchronously, inside borrow(), around
// the spawn (libuv's spawn returns once the child has exec'd, so the child already holds its copy); shard 0 closes
// its listener only after retire(), which marks the share closed and waits until no borrower is inside. Both
// sides announce first and look second (users, then state; state, then users), with sequentially consistent
// atomics, so at least one of them sees the other: a borrower either sees `closed` and never reads the number, or
// shard 0 sees it inside and waits.
import { spawn } from 'node:child_process';
import type net from 'node:net';
import { waitWord } from '../../shared/wait.js';

const enum W { fd, state, users, port, adopted, serving }
const WORDS = 6;

export const enum ShareState { pending = 0, open = 1, closed = 2 }

// How often a wait re-checks what the caller says would end it (a shutdown), besides being woken.
const RECHECK_MS = 50;

export class ListenerShare {
  private readonly i32: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(WORDS * 4)) {
    this.i32 = new Int32Array(buffer);
  }

  get state(): ShareState {
    return Atomics.load(this.i32, W.state);
  }

  get port(): number {
    return Atomics.load(this.i32, W.port);
  }

  // Shard 0, once its listener is bound: the other shards may take their copies.
  publish(fd: number, port: number): void {
    Atomics.store(this.i32, W.fd, fd);
    Atomics.store(this.i32, W.port, port);
    this.setState(ShareState.open);
  }

  // Shard 0, before it closes its listener (or when it has none to share): no borrower reads the number after
  // this resolves. A borrower is inside only for one synchronous spawn, so the wait is short; `timeoutMs` bounds
  // it all the same (the caller then keeps its listener open and lets the process exit close it).
  async retire(timeoutMs: number): Promise<boolean> {
    this.setState(ShareState.closed);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const users = Atomics.load(this.i32, W.users);
      if (users === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await waitWord(this.i32, W.users, users, Math.min(left, RECHECK_MS));
    }
  }

  // Another shard: waits until shard 0 published (or gave up), bounded by `timeoutMs` and by `stop()` turning true.
  async whenSettled(timeoutMs: number, stop: () => boolean): Promise<ShareState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = this.state;
      if (state !== ShareState.pending || stop()) return state;
      const left = deadline - Date.now();
      if (left <= 0) return state;
      await waitWord(this.i32, W.state, ShareState.pending, Math.min(left, RECHECK_MS));
    }
  }

  // Runs `use` with shard 0's descriptor number while shard 0 cannot close it, or returns null when the share is
  // not open. `use` must be synchronous and must not keep the number.
  borrow<T>(use: (fd: number) => T): T | null {
    Atomics.add(this.i32, W.users, 1);
    try {
      if (Atomics.load(this.i32, W.state) !== ShareState.open) return null;
      return use(Atomics.load(this.i32, W.fd));
    } finally {
      Atomics.sub(this.i32, W.users, 1);
      Atomics.notify(this.i32, W.users);
    }
  }

  // The boot's last step: every other shard counts itself once it has its copy (or will have none), shard 0 waits
  // for them all, then opens the node to clients (markServing) and every shard starts serving the connections it
  // accepted meanwhile. So no client is answered before every shard accepts, and none before the node is up.
  markAdopted(): void {
    Atomics.add(this.i32, W.adopted, 1);
    Atomics.notify(this.i32, W.adopted);
  }

  markServing(): void {
    Atomics.store(this.i32, W.serving, 1);
    Atomics.notify(this.i32, W.serving);
  }

  // Shard 0: until `count` shards called markAdopted(); the others: until markServing(). Bounded by `timeoutMs` and
  // by `stop()` turning true. Whether it happened.
  async whenAdopted(count: number, timeoutMs: number, stop: () => boolean): Promise<boolean> {
    return this.waitAtLeast(W.adopted, count, timeoutMs, stop);
  }

  async whenServing(timeoutMs: number, stop: () => boolean): Promise<boolean> {
    return this.waitAtLeast(W.serving, 1, timeoutMs, stop);
  }

  private async waitAtLeast(word: W, count: number, timeoutMs: number, stop: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = Atomics.load(this.i32, word);
      if (now >= count) return true;
      const left = deadline - Date.now();
      if (left <= 0 || stop()) return false;
      await waitWord(this.i32, word, now, Math.min(left, RECHECK_MS));
    }
  }

  private setState(state: ShareState): void {
    Atomics.store(this.i32, W.state, state);
    Atomics.notify(this.i32, W.state);
  }
}

// The helper: fd 3 is the inherited descriptor. It must be a listening TCP socket on the expected port (a number
// reused by anything else fails listen() or the check); then it goes back over IPC (fd 4) and the helper exits.
// It must not accept a client meanwhile (that connection would die with it): listen(), the 'listening' callback
// (a nextTick), the send and the exit all run before its event loop first polls, as long as the send's write
// completes at once, which a message of a few bytes on an empty channel does (node then calls back on a nextTick).
const HELPER = `
const net = require('node:net');
const port = Number(process.argv[1]);
const fail = (why) => process.send({ error: why }, () => process.exit(1));
const server = net.createServer();
server.once('error', (e) => fail(e.code || e.message));
server.listen({ fd: 3 }, () => {
  const bound = server.address();
  if (!bound || bound.port !== port) return fail('ListenerMismatch: descriptor is bound to port ' + (bound && bound.port) + ', not ' + port);
  process.send('listener', server, () => process.exit(0));
});
`;

export class ListenerShareError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

// A listening net.Server on a descriptor of this thread's own for shard 0's socket, or an error saying why not
// (ListenerShareClosed: shard 0 is stopping; ListenerShareHelper: the helper failed or did not answer in time).
// The helper is spawned inside borrow(); the server arrives later over IPC.
export async function adoptSharedListener(share: ListenerShare, timeoutMs: number): Promise<net.Server> {
  const port = share.port;
  const child = share.borrow((fd) => spawn(process.execPath, ['-e', HELPER, String(port)], {
    stdio: ['ignore', 'ignore', 'ignore', fd, 'ipc'], env: { ...process.env, NODE_OPTIONS: '' },
  }));
  if (child === null) throw new ListenerShareError('ListenerShareClosed', 'shard 0 closed its listener before this shard took a copy');
  let timer: NodeJS.Timeout | undefined;
  let settle: ((error: Error | null, server?: net.Server) => void) | null = null;
  // Listeners stay on for the child's life: its channel may report an error (the helper exits right after sending,
  // so node's acknowledgement of the handle can meet a closed pipe) after the listener arrived.
  child.on('error', (error) => settle?.(new ListenerShareError('ListenerShareHelper', `the helper process failed: ${error.message}`)));
  child.on('exit', (code, signal) => settle?.(new ListenerShareError('ListenerShareHelper', `the helper process exited (${signal ?? code}) before sending the listener`)));
  child.on('message', (message: unknown, handle?: net.Server) => {
    if (message === 'listener' && handle) settle?.(null, handle);
    else settle?.(new ListenerShareError('ListenerShareHelper', `the helper refused: ${(message as { error?: string })?.error ?? String(message)}`));
  });
  try {
    return await new Promise<net.Server>((resolve, reject) => {
      settle = (error, server) => {
        settle = null;
        if (error) reject(error);
        else resolve(server!);
      };
      timer = setTimeout(() => settle?.(new ListenerShareError('ListenerShareHelper', `the helper process did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    // A helper that did not answer is killed (it is ours, by its pid); one that did has exited or is exiting.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.unref();
  }
}
