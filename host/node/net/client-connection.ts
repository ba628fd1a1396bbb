// One client TCP connection on its shard: splits the byte stream into frames and answers them one at a time, in
// order (the SDKs are lock-step and match replies by order, iggy-client-wire.md §1). A framing error (a size
// outside [256, max]) cannot be resynchronised: the connection is closed. Every other problem is answered on
// the connection, which stays usable.
import type net from 'node:net';
import { WireError } from '../../shared/wire/buffer.js';
import { Operation } from '../../shared/wire/codes.js';
import { FrameSplitter, HEADER_SIZE, requestOperation } from '../../shared/wire/header.js';
import { logger } from '../../shared/log.js';
import type { FrameArena } from './frame-arena.js';

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

export interface ConnectionHandler {
  request(connection: ClientConnection, frame: Uint8Array): Promise<Answer>;
  closed(connection: ClientConnection): void;
}

const log = logger('tcp');

export class ClientConnection {
  private readonly splitter: FrameSplitter;
  private readonly queue: Uint8Array[] = [];
  private busy = false;
  private open = true;
  private ending = false; // endAfterAnswer(): the request being answered is the last one
  private held = 0; // requests of this connection waiting for room between shards (reading stays paused)

  // Paused while a request of this connection waits for room in the queue towards another shard: the socket is
  // not read (the kernel's buffers fill and TCP pushes back on the client) until the request could be queued.
  readonly reading: { pause(): void; resume(): void } = {
    pause: () => {
      this.held++;
      this.socket.pause();
    },
    resume: () => {
      this.held--;
      if (this.held === 0 && this.queue.length <= 16) this.socket.resume();
    },
  };

  constructor(
    readonly id: number, readonly socket: net.Socket, readonly address: string, maxFrameBytes: number, private readonly handler: ConnectionHandler,
    private readonly arena: FrameArena | null = null,
  ) {
    this.splitter = new FrameSplitter(maxFrameBytes, arena && ((head, size) =>
      (size >= ARENA_FRAME_MIN_BYTES && requestOperation(head) === Operation.sendMessages ? arena.take(size) : null)));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => log.debug(`client ${id} (${address}): ${error.message}`));
    socket.on('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return this.open;
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    let frames: Uint8Array[];
    try {
      frames = this.splitter.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      const message = error instanceof WireError ? error.message : String(error);
      log.info(`client ${this.id} (${this.address}): closing, ${message}`);
      this.socket.destroy();
      return;
    }
    if (frames.length === 0) return;
    this.queue.push(...frames);
    // Reading more while a request is in flight would only buffer; the SDKs send one request at a time anyway.
    if (this.queue.length > 64) this.socket.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.open && this.queue.length > 0) {
        const frame = this.queue.shift()!;
        let answer: Answer;
        try {
          answer = await this.handler.request(this, frame);
        } finally {
          this.release(frame); // answered: no shard reads it any more
        }
        if (!this.open) {
          if (!(answer instanceof Uint8Array) && !Array.isArray(answer)) answer.done();
          break;
        }
        this.write(answer);
        if (this.ending) {
          // The answer goes out first (end flushes what was written), then the FIN; nothing more is read, and the
          // socket is gone once the FIN is out (a peer that never closes its side holds nothing here).
          for (const frame of this.queue.splice(0)) this.release(frame);
          this.socket.end(() => this.socket.destroy());
          break;
        }
        if (this.queue.length <= 16 && this.held === 0 && this.socket.isPaused()) this.socket.resume();
      }
    } catch (error) {
      log.error(`client ${this.id} (${this.address}): request handler failed, closing: ${(error as Error).stack ?? error}`);
      this.socket.destroy();
    } finally {
      this.busy = false;
    }
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
    for (const frame of this.queue.splice(0)) this.release(frame);
    for (const frame of this.splitter.abandon()) this.release(frame);
    this.handler.closed(this);
  }

  private release(frame: Uint8Array): void {
    if (this.arena?.owns(frame)) this.arena.release(frame);
  }

  close(): void {
    this.socket.destroy();
  }

  // Closes the connection once the request being answered has its answer written (the login throttle's close).
  endAfterAnswer(): void {
    this.ending = true;
  }
}

export { HEADER_SIZE };
