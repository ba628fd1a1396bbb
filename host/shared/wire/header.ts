// The 256-byte frame header of the client protocol (iggy-client-wire.md §2). Every frame in both directions is
// this header plus an optional body; `size` at offset 48 counts both. It is the core's consensus header (a client
// request is the VSR request the core reads), so the offsets named here are the core's.
import { copyInto } from '../copy.js';
import { CoreVsrConstants, CoreVsrHeader } from '../core-abi.generated.js';
import { Reader, WireError, Writer } from './buffer.js';

export const HEADER_SIZE = CoreVsrConstants.HEADER_SIZE;
export const MAX_FRAME_SIZE = 64 * 1024 * 1024;

export const Command = { request: 5, reply: 8, eviction: 13 } as const;

const SIZE = CoreVsrHeader.H_SIZE;
const COMMAND = CoreVsrHeader.H_COMMAND;
const REQUEST_OPERATION = CoreVsrHeader.R_OPERATION; // after client u128, request checksum u128, timestamp u64, request u64

export interface RequestHeader {
  size: number;
  client: bigint;
  requestChecksum: bigint;
  timestamp: bigint;
  request: bigint;
  operation: number;
  session: bigint;
  // The Iggy command code at @196; meaningful only for operation 2 (NonReplicated).
  code: number;
}

export interface RequestFrame {
  client: bigint;
  request: bigint;
  operation: number;
  session: bigint;
  code?: number;
  requestChecksum?: bigint;
  timestamp?: bigint;
  body?: Uint8Array;
}

function frame(body: Uint8Array | undefined, fill: (w: Writer) => void): Uint8Array {
  const length = HEADER_SIZE + (body?.length ?? 0);
  const w = new Writer(length);
  fill(w);
  if (w.length !== HEADER_SIZE) throw new Error(`header writer produced ${w.length} bytes`);
  if (body) w.bytes(body);
  return w.finish();
}

// Common prefix: checksums, cluster, view, release and replica are zero on client frames.
function prefix(w: Writer, size: number, command: number): void {
  w.u128(0n).u128(0n).u128(0n).u32(size).u32(0).u32(0).u8(command).u8(0);
  w.bytes(new Uint8Array(66));
}

export function encodeRequest(r: RequestFrame): Uint8Array {
  return frame(r.body, (w) => requestHeader(w, r));
}

// The 256-byte header of a request whose body is written after it as it is (a large body is not copied into a
// new frame): the two pieces make the frame.
export function encodeRequestHeader(r: RequestFrame): Uint8Array {
  return frame(undefined, (w) => requestHeader(w, r));
}

function requestHeader(w: Writer, r: RequestFrame): void {
  prefix(w, HEADER_SIZE + (r.body?.length ?? 0), Command.request);
  w.u128(r.client).u128(r.requestChecksum ?? 0n).u64(r.timestamp ?? 0n).u64(r.request).u8(r.operation);
  w.bytes(new Uint8Array(7)).u64(r.session).u32(0);
  w.u32(r.code ?? 0).bytes(new Uint8Array(56));
}

export function frameSize(header: Uint8Array): number {
  return new DataView(header.buffer, header.byteOffset, HEADER_SIZE).getUint32(SIZE, true);
}

export function frameCommand(header: Uint8Array): number {
  return header[COMMAND];
}

// The operation byte of a request header (decodeRequestHeader's `operation`), without decoding the rest.
export function requestOperation(header: Uint8Array): number {
  return header[REQUEST_OPERATION];
}

export function decodeRequestHeader(header: Uint8Array): RequestHeader {
  const r = new Reader(header, CoreVsrHeader.R_CLIENT, HEADER_SIZE);
  const client = r.u128();
  const requestChecksum = r.u128();
  const timestamp = r.u64();
  const request = r.u64();
  const operation = r.u8();
  r.bytes(7);
  const session = r.u64();
  r.u32(); // user_id: ignored, the server knows who is logged in
  const code = r.u32();
  return { size: frameSize(header), client, requestChecksum, timestamp, request, operation, session, code };
}

// §2.2 validation. Returns why the header is unacceptable, or null.
export function requestHeaderProblem(h: RequestHeader, command: number): string | null {
  if (command !== Command.request) return `command ${command} is not Request (5)`;
  if (h.client === 0n) return 'client id is zero';
  if (h.operation === 0) return 'operation is zero';
  if (h.operation === 1 && (h.session !== 0n || h.request !== 0n)) return 'Register must carry session 0 and request 0';
  if (h.operation !== 1 && h.operation !== 2 && (h.session === 0n || h.request === 0n)) {
    return `operation ${h.operation} needs a bound session and a request number > 0`;
  }
  return null;
}

export interface ReplyFrame {
  client: bigint;
  requestChecksum: bigint;
  session: bigint; // written to `op` @176, as the reference server does
  commit: bigint;
  timestamp: bigint;
  request: bigint;
  operation: number;
  status: number;
  body?: Uint8Array;
}

export function encodeReply(r: ReplyFrame): Uint8Array {
  if (r.status !== 0 && r.body && r.body.length > 0) throw new Error('a reply with a non-zero status must have an empty body');
  const size = HEADER_SIZE + (r.body?.length ?? 0);
  return frame(r.body, (w) => {
    prefix(w, size, Command.reply);
    w.u128(r.requestChecksum).u128(0n).u128(r.client).u64(r.session).u64(r.commit).u64(r.timestamp).u64(r.request);
    w.u8(r.operation).bytes(new Uint8Array(7)).u32(r.status).bytes(new Uint8Array(36));
  });
}

export function encodeEviction(client: bigint, reason: number, versionMax = 0, versionMin = 0): Uint8Array {
  return frame(undefined, (w) => {
    prefix(w, HEADER_SIZE, Command.eviction);
    w.u128(client).u32(versionMax).u32(versionMin).bytes(new Uint8Array(103)).u8(reason);
  });
}

export type ServerFrame =
  | { kind: 'reply'; operation: number; status: number; request: bigint; session: bigint; body: Uint8Array }
  | { kind: 'eviction'; reason: number; versionMax: number; versionMin: number };

// Client side (§2.3 decode order).
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  if (bytes.length < HEADER_SIZE) throw new WireError(`frame of ${bytes.length} bytes is shorter than the 256-byte header`, 304);
  const command = frameCommand(bytes);
  const r = new Reader(bytes, 128, HEADER_SIZE);
  if (command === Command.eviction) {
    r.u128();
    const versionMax = r.u32();
    const versionMin = r.u32();
    return { kind: 'eviction', reason: bytes[255], versionMax, versionMin };
  }
  if (command !== Command.reply) throw new WireError(`unexpected frame command ${command}`);
  const size = frameSize(bytes);
  if (size < HEADER_SIZE || size > bytes.length) throw new WireError(`reply size ${size} does not match the ${bytes.length} bytes received`);
  r.u128(); r.u128(); r.u128();
  const session = r.u64();
  r.u64(); r.u64();
  const request = r.u64();
  const operation = r.u8();
  r.bytes(7);
  const status = r.u32();
  return { kind: 'reply', operation, status, request, session, body: bytes.subarray(HEADER_SIZE, size) };
}

// Where a frame still arriving is to be assembled (its header and size known), or null for the JS heap: the server
// puts large SendMessages frames in shared memory (FrameArena).
export type FramePlacer = (header: Uint8Array, size: number) => Uint8Array | null;

// A frame whose announced size is outside [256, limit]: the stream cannot be resynchronised. `head` (a copy of the
// 256-byte header) lets the server answer the client before it closes the connection.
export class FrameSizeError extends WireError {
  constructor(readonly size: number, readonly limit: number, readonly head: Uint8Array) {
    super(`frame size ${size} is outside [${HEADER_SIZE}, ${limit}]`);
  }
}

// Whether a frame of `size` bytes may be buffered now (a memory budget); false leaves it where it is until retried.
export type FrameAdmitter = (size: number) => boolean;

// Splits a byte stream into frames: read 256 bytes, take `size`, reject sizes outside [256, max], then wait for
// the rest. A bad size is a framing error: the connection cannot be resynchronised and must be closed. A frame the
// placer gives a home is copied there as it arrives (what came already, then each chunk) instead of being joined
// from its chunks at the end. With an admitter, each frame is admitted once its header is in and before its body is
// taken in: a refused frame blocks the splitter (its caller stops reading) until push() is called again.
export class FrameSplitter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private filling: { frame: Uint8Array; filled: number } | null = null;
  private lost: Uint8Array[] = []; // frames completed by a push that then threw: the caller never got them
  private admitted = false; // the frame whose header is at the front was admitted
  private waiting = false; // the admitter refused the frame at the front

  // `maxFrameSize` may change between pushes (a connection's limit rises once it logs in).
  constructor(public maxFrameSize = MAX_FRAME_SIZE, private readonly place: FramePlacer | null = null, private readonly admit: FrameAdmitter | null = null) {}

  // True while the frame at the front waits for the admitter: push (an empty chunk will do) to try again.
  get blocked(): boolean {
    return this.waiting;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    if (this.filling) {
      const f = this.filling;
      const n = Math.min(chunk.length, f.frame.length - f.filled);
      copyInto(f.frame, f.filled, chunk.subarray(0, n));
      f.filled += n;
      if (f.filled < f.frame.length) return frames;
      frames.push(f.frame);
      this.filling = null;
      this.admitted = false;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return frames;
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.buffered < HEADER_SIZE) break;
      const head = this.peek(HEADER_SIZE);
      const size = frameSize(head);
      if (size < HEADER_SIZE || size > this.maxFrameSize) {
        this.lost.push(...frames);
        throw new FrameSizeError(size, this.maxFrameSize, head.slice());
      }
      if (!this.admitted) {
        this.waiting = this.admit !== null && !this.admit(size);
        if (this.waiting) break;
        this.admitted = true;
      }
      if (this.buffered < size) {
        const frame = this.place?.(head, size) ?? null;
        if (frame) this.fillFrom(frame);
        break;
      }
      frames.push(this.take(size));
      this.admitted = false;
    }
    return frames;
  }

  // Everything buffered belongs to the frame being placed (it is incomplete): moved there, the rest follows.
  private fillFrom(frame: Uint8Array): void {
    let at = 0;
    for (const c of this.chunks) { copyInto(frame, at, c); at += c.length; }
    this.filling = { frame, filled: at };
    this.chunks = [];
    this.buffered = 0;
  }

  // Frames the caller will never get, to give back their placer's memory when the stream ends: the one being
  // assembled, and those a push completed before it threw on a bad size.
  abandon(): Uint8Array[] {
    const frames = this.lost.splice(0);
    if (this.filling) frames.push(this.filling.frame);
    this.filling = null;
    return frames;
  }

  get pendingBytes(): number {
    return this.buffered + (this.filling?.filled ?? 0);
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    this.chunks = [concat(this.chunks, this.buffered)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Uint8Array {
    if (this.chunks[0].length < n) this.chunks = [concat(this.chunks, this.buffered)];
    const first = this.chunks[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

// Unpooled and not zero-filled (every byte is overwritten): a large frame is assembled with one copy.
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const memory = Buffer.allocUnsafeSlow(total);
  const out = new Uint8Array(memory.buffer, memory.byteOffset, total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
