// A shard: one worker thread, one instance of core.wasm over the process's shared memory, pinned to one CPU.
// Boot: instantiate -> self-test -> pin -> report instantiated -> wait for GO (every shard instantiated, so no
// instance re-applies static data under traffic) -> ping every shard and wait for every reply -> report ready.
// Then the loop: drain inbound frames, publish, and sleep on the doorbell with Atomics.waitAsync so the thread's
// event loop stays free for its sockets.
import { parentPort, workerData } from 'node:worker_threads';
import { checkWaitCanary, type CoreExports } from '../shared/core.js';
import { instantiateCore } from './core-file.js';
import { CONTROL, CTL, MeshView, ShardState } from '../shared/layout.js';
import { Rings } from '../shared/rings.js';
import { F, Lifecycle, Variant } from '../shared/frames.js';
import { logger, setLogLevel, type Level } from '../shared/log.js';
import { waitWord } from '../shared/wait.js';
import { nameCurrentThread, pinCurrentThread } from './cpu.js';
import type { Faults } from './faults.js';
import { describeFsCause, isDataDirError } from './io/data-dir-errors.js';
import { ShardlogError } from '../shared/errors.js';
import { ShardServer, type ShardServerOptions } from './server/shard-server.js';
import type { RestReply, RestRequest } from './rest/rest-api.js';
import { HttpError } from './rest/rest-errors.js';
import { ErrorCode } from '../shared/wire/codes.js';

export interface ShardWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  wasmFile: string;
  shard: number;
  cpu: number;
  pinCores: boolean;
  bootTimeoutMs: number;
  logLevel: Level;
  faults: Faults;
  server: Omit<ShardServerOptions, 'shard' | 'shards' | 'report'>;
  tcpAddress: string; // shard 0 binds it; every shard accepts on it
}

// Messages to the main thread: shard 0 about the client listener, any shard about a data directory it cannot use.
export type ListenerMessage =
  | { type: 'tcp-listening'; address: string }
  | { type: 'tcp-failed'; message: string }
  | { type: 'replica-listen-failed'; message: string } // the replica port of a cluster node (--cluster)
  | { type: 'data-dir-failed'; message: string }; // the disk under the data directory refused (full, read-only)

// A REST request from the main thread's HTTP listener to shard 0, and its answer.
export interface RestRequestMessage { type: 'rest-request'; request: RestRequest }
export interface RestReplyMessage { type: 'rest-reply'; reply: RestReply }

const DRAIN_BUDGET = 256; // frames per turn before yielding to the event loop
const IDLE_SPINS = 64; // ring scans before announcing sleep
const IDLE_WAIT_MS = 100; // a sleeping shard still wakes this often to beat its heartbeat

class Shard {
  private readonly i32: Int32Array;
  private readonly view: DataView;
  private readonly log;
  private readonly shards: number;
  private readonly pongs: Uint8Array;
  private readonly pingsPending: Set<number>;
  private meshComplete = false;
  private ctlBase: number;
  private readonly mesh: MeshView;

  constructor(private readonly core: CoreExports, private readonly rings: Rings, private readonly data: ShardWorkerData, private readonly server: ShardServer) {
    this.i32 = new Int32Array(data.memory.buffer);
    this.view = new DataView(data.memory.buffer);
    this.log = logger(`shard-${data.shard}`);
    this.mesh = new MeshView(data.memory, core);
    this.shards = this.mesh.shards;
    this.pongs = new Uint8Array(this.shards);
    this.pingsPending = new Set(Array.from({ length: this.shards }, (_, i) => i));
    this.ctlBase = this.mesh.ctlIndex(data.shard, 0);
  }

  private setCtl(word: number, value: number): void {
    Atomics.store(this.i32, this.ctlBase + word, value);
  }

  private bumpCtl(word: number): void {
    Atomics.add(this.i32, this.ctlBase + word, 1);
  }

  async boot(): Promise<boolean> {
    const { core, data, mesh } = this;
    checkWaitCanary(core, (this.ctlBase + CTL.canary) << 2);
    nameCurrentThread(`shard-${data.shard}`);
    if (data.pinCores) {
      const pin = pinCurrentThread(data.cpu);
      this.setCtl(CTL.tid, pin.tid);
      if (pin.pinned) this.setCtl(CTL.cpu, data.cpu);
      else this.log.warn(pin.warning ?? `not pinned to CPU ${data.cpu}`);
    }
    this.setCtl(CTL.state, ShardState.instantiated);
    const instantiated = mesh.controlIndex(CONTROL.instantiated);
    Atomics.add(this.i32, instantiated, 1);
    Atomics.notify(this.i32, instantiated);

    const go = mesh.controlIndex(CONTROL.go);
    const deadline = Date.now() + data.bootTimeoutMs;
    while (Atomics.load(this.i32, go) === 0) {
      if (this.rings.shutdownReason() !== 0) return false;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`shard ${data.shard}: no GO from the main thread within ${data.bootTimeoutMs} ms`);
      await waitWord(this.i32, go, 0, Math.min(left, IDLE_WAIT_MS));
    }
    return true;
  }

  private sendPings(): void {
    for (const peer of [...this.pingsPending]) {
      if (!this.rings.trySendEmpty(peer, Variant.lifecycle, Lifecycle.ping, peer)) continue; // ring full: try again next turn
      this.pingsPending.delete(peer);
    }
  }

  private handle(frame: number): void {
    const variant = this.view.getUint8(frame + F.variant);
    const kind = this.view.getUint8(frame + F.kind);
    const source = this.view.getUint16(frame + F.source, true);
    const correlation = this.view.getUint32(frame + F.correlation, true);
    if (variant === Variant.lifecycle && kind === Lifecycle.ping) {
      // The reply goes back on the reply lane; a full lane drops it (counted) and the peer's boot times out.
      this.rings.trySendEmpty(source, Variant.lifecycle, Lifecycle.pong, correlation);
      return;
    }
    if (variant === Variant.lifecycle && kind === Lifecycle.pong) {
      if (this.pongs[source] === 0) {
        this.pongs[source] = 1;
        this.bumpCtl(CTL.meshOk);
      }
      return;
    }
    this.server.onFrame(frame);
  }

  private checkMesh(): void {
    if (this.meshComplete || Atomics.load(this.i32, this.ctlBase + CTL.meshOk) !== this.shards) return;
    this.meshComplete = true;
    this.log.debug(`mesh check passed: ${this.shards} peer(s) answered`);
    // The loop keeps turning while the server starts: shard 0's hand-off and the partition traffic of the boot
    // travel over the rings. A failure here fails the shard (and the boot).
    this.startServing().catch((error) => setImmediate(() => { throw error; }));
  }

  private async startServing(): Promise<void> {
    try {
      await this.server.start();
    } catch (error) {
      // The disk refusing (full, read-only) or data that refuses to open (a named storage error: a damaged or
      // mismatched metadata log) is one line naming the data directory, not a stack trace.
      const cause = isDataDirError(error) ? describeFsCause(error) : error instanceof ShardlogError ? `${error.code}: ${error.message}` : null;
      if (cause === null) throw error;
      const message = `data directory ${this.data.server.settings.dataDir}: ${cause} (shard ${this.data.shard}, opening its data)`;
      parentPort?.postMessage({ type: 'data-dir-failed', message } satisfies ListenerMessage);
      return;
    }
    if (this.data.shard === 0) {
      let bound;
      try {
        bound = await this.server.bindListener(this.data.tcpAddress);
      } catch (error) {
        parentPort?.postMessage({ type: 'tcp-failed', message: `cannot listen on ${this.data.tcpAddress}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` } satisfies ListenerMessage);
        return;
      }
      this.server.settings.tcpAddress = bound.address;
      // Clients are served once every other shard has its copy of the listener (or will have none): none is
      // answered before the node reports itself up, and from then on every shard accepts.
      const share = this.server.listenerShare;
      if (share && !await share.whenAdopted(this.shards - 1, this.data.bootTimeoutMs, () => this.rings.shutdownReason() !== 0)) {
        this.log.warn(`not every shard took its copy of the client listener within ${this.data.bootTimeoutMs} ms: serving without them`);
      }
      share?.markServing();
      this.server.openToClients();
      this.serveRest();
      parentPort?.postMessage({ type: 'tcp-listening', address: bound.address } satisfies ListenerMessage);
    } else {
      // Its own descriptor for shard 0's listening socket, before it reports ready (listener-share.ts).
      const bound = await this.server.adoptListener(this.data.bootTimeoutMs, () => this.rings.shutdownReason() !== 0);
      if (bound) this.server.settings.tcpAddress = bound.address;
      const share = this.server.listenerShare;
      share?.markAdopted();
      if (share && !await share.whenServing(this.data.bootTimeoutMs, () => this.rings.shutdownReason() !== 0)) return;
      this.server.openToClients();
    }
    try {
      const bound = await this.server.replicas?.start();
      if (bound) this.log.info(`replica plane listening on ${bound}`);
    } catch (error) {
      parentPort?.postMessage({ type: 'replica-listen-failed', message: `cannot listen for replicas: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` } satisfies ListenerMessage);
      return;
    }
    this.setCtl(CTL.state, ShardState.running);
    const ready = this.mesh.controlIndex(CONTROL.ready);
    Atomics.add(this.i32, ready, 1);
    Atomics.notify(this.i32, ready);
    this.armFaults();
  }

  // REST requests the main thread's HTTP listener forwards (../http.ts): answered by the shard that serves the
  // binary connections, through the same request handler. A body crosses as a transferred buffer.
  private serveRest(): void {
    this.server.openRest();
    parentPort?.on('message', (message: RestRequestMessage) => {
      if (message.type !== 'rest-request') return;
      this.server.restRequest(message.request).then((reply) => {
        // Bytes (a snapshot file) go in an ArrayBuffer of their own, transferred: a view may be part of a larger one.
        if (typeof reply.body !== 'string') reply = { ...reply, body: new Uint8Array(reply.body) };
        const transfer = typeof reply.body === 'string' ? [] : [reply.body.buffer as ArrayBuffer];
        parentPort?.postMessage({ type: 'rest-reply', reply } satisfies RestReplyMessage, transfer);
      }, (error: unknown) => {
        this.log.error(`REST request ${message.request.method} ${message.request.path} failed: ${(error as Error).stack ?? error}`);
        const body = JSON.stringify(new HttpError(500, ErrorCode.error, 'internal error').toJSON());
        parentPort?.postMessage({ type: 'rest-reply', reply: { id: message.request.id, status: 500, contentType: 'application/json', body } } satisfies RestReplyMessage);
      });
    });
    // The listener must not keep the thread alive once its loop has stopped (the shard's loop does while it runs).
    parentPort?.unref();
  }

  private armFaults(): void {
    const { crashShard, stallShard } = this.data.faults;
    if (crashShard?.shard === this.data.shard) {
      setTimeout(() => { throw new Error(`injected fault: shard ${this.data.shard} crashed (SHARDLOG_FAULT)`); }, crashShard.afterMs);
    }
    if (stallShard?.shard === this.data.shard) {
      setTimeout(() => {
        this.log.warn('injected fault: stalling this shard loop forever (SHARDLOG_FAULT)');
        for (;;) Atomics.wait(this.i32, this.ctlBase + CTL.canary, Atomics.load(this.i32, this.ctlBase + CTL.canary) + 1, 1000);
      }, stallShard.afterMs);
    }
  }

  // One turn: returns the number of frames handled.
  private turn(): number {
    const { rings } = this;
    if (this.pingsPending.size > 0) this.sendPings();
    let handled = 0;
    for (; handled < DRAIN_BUDGET; handled++) {
      const frame = rings.receive();
      if (frame === 0) break;
      this.handle(frame);
    }
    const backlog = this.server.turn();
    rings.flush();
    this.bumpCtl(CTL.heartbeat);
    if (handled > 0) this.bumpCtl(CTL.loops);
    this.checkMesh();
    return handled + (backlog ? 1 : 0); // queued messages waiting for ring room: do not sleep
  }

  async run(): Promise<void> {
    const { rings } = this;
    const doorbell = this.ctlBase + CTL.doorbell;
    while (rings.shutdownReason() === 0) {
      if (this.turn() > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // let sockets and timers run
        continue;
      }
      if (rings.idle(IDLE_SPINS)) {
        await waitWord(this.i32, doorbell, rings.idleSeen(), IDLE_WAIT_MS);
        rings.awake();
      }
    }
    this.setCtl(CTL.state, ShardState.stopping);
    this.turn(); // answer what already arrived and publish our tails before leaving
    await this.server.stop();
    this.setCtl(CTL.state, ShardState.stopped);
  }
}

async function main(): Promise<void> {
  const data = workerData as ShardWorkerData;
  setLogLevel(data.logLevel);
  const core = await instantiateCore(data.module, data.memory, data.wasmFile);
  const rings = Rings.bind(core, data.shard);
  const server = new ShardServer(core, data.memory, {
    ...data.server, shard: data.shard, shards: new MeshView(data.memory, core).shards, report: (report) => parentPort?.postMessage(report),
    bootDelayMs: data.faults.slowBoot?.shard === data.shard ? data.faults.slowBoot.afterMs : 0,
  });
  const shard = new Shard(core, rings, data, server);
  if (await shard.boot()) await shard.run();
  parentPort?.postMessage({ type: 'stopped', shard: data.shard });
}

await main();
