// The shardlog target's reading consumer: one logged-in TCP connection with several PollMessages (by offset) in
// flight, its replies walked as they arrive instead of being collected. The server answers a connection's
// requests in order (iggy-client-wire.md §1), so replies match polls by order, as with the lock-step SDK; what
// differs is that the next polls are already on the wire while one is answered, as a loopback-limited client would
// have them. Replies are read into one reused buffer and never assembled: the walker copies only the frame and
// record headers it checks (status, message count, each record's base offset and count), so the client costs the
// kernel's copy and a few hundred bytes per megabyte, not an allocation per reply.
//
// "Every message read once, in order" holds by construction and is checked: OffsetReader asks for offsets
// o, o + count, o + 2·count, …; a reply must start at the offset its poll named and its records must add up to the
// count its head announces (a mismatch is a PollPipeError); a short reply (fewer than count) means the polls
// already sent after it asked for the wrong offsets: their replies are read and dropped, and the reader polls again
// from where the short reply ended.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { CoreJournalBatch as B, CoreVsrHeader as H } from '../../../shared/core-abi.generated.js';
import { Operation, isResultFramed } from '../../../shared/wire/codes.js';
import { Command, HEADER_SIZE, decodeServerFrame, encodeRequestHeader } from '../../../shared/wire/header.js';
import { parseResult } from '../../../shared/wire/result.js';
import * as req from '../../../client/requests.js';
import { readLogin } from '../../../client/responses.js';

export class PollPipeError extends Error {
  override name = 'PollPipeError';
}

const POLL_CODE = 100;
const POLL_HEAD_BYTES = 16; // u32 partition id, u64 current offset, u32 message count
const RECORD_HEAD_BYTES = B.BATCH_HEADER + B.FRAME_HEADER; // the batch header and its first frame's header
const READ_BUFFER_BYTES = 1 << 20;
const SMALL_FRAME_MAX = 1 << 20; // a non-poll frame (a login reply, an error) is collected whole up to this

export interface PollResult {
  messages: number;
  firstOffset: number | null; // offset of the first message returned (base offset + offset delta), null when none
}

interface Pending {
  resolve: (r: PollResult) => void;
  reject: (e: Error) => void;
  small?: (frame: Uint8Array) => void; // a frame collected whole (the login), instead of a poll reply
}

type Phase = 'frameHead' | 'smallBody' | 'pollHead' | 'recordHead' | 'skip';

export class PollPipe implements OffsetPoller {
  private readonly pending: Pending[] = [];
  private failed: Error | null = null;
  private timer: NodeJS.Timeout | null = null;
  // The walker: bytes are either collected into `acc` until `want` of them are there, or skipped.
  private phase: Phase = 'frameHead';
  private acc = Buffer.allocUnsafe(RECORD_HEAD_BYTES);
  private filled = 0;
  private want = HEADER_SIZE;
  private skip = 0;
  private frameLeft = 0; // bytes of the current frame after what has been collected or skipped
  private announced = 0; // the reply head's message count
  private counted = 0; // messages in the records walked so far
  private firstOffset: number | null = null;
  private smallHead: Buffer | null = null; // the header of a frame collected whole
  private template: Buffer | null = null; // a poll frame whose offset is patched per poll
  private templateKey = '';
  private offsetAt = 0;
  private clientId = 0n;
  private session = 0n;

  private constructor(private readonly socket: net.Socket, private readonly timeoutMs: number) {
    socket.setNoDelay(true);
    socket.on('error', (e) => this.fail(new PollPipeError(`poll connection: ${e.message}`)));
    socket.on('close', () => this.fail(new PollPipeError('poll connection closed by the server')));
  }

  static async open(address: string, username: string, password: string, timeoutMs: number): Promise<PollPipe> {
    const colon = address.lastIndexOf(':');
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    let pipe: PollPipe | null = null;
    const socket = net.connect({
      host: address.slice(0, colon), port: Number(address.slice(colon + 1)),
      onread: { buffer, callback: (n: number) => { pipe?.feed(buffer, n); return true; } },
    });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    pipe = new PollPipe(socket, timeoutMs);
    try {
      await pipe.login(username, password);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return pipe;
  }

  // Register (login) as the SDK does: a fresh client id, request 0; the reply binds the session the polls carry.
  private async login(username: string, password: string): Promise<void> {
    this.clientId = randomBytes(16).readBigUInt64LE(0) | 1n;
    const body = req.registerWithPassword(username, password);
    const header = encodeRequestHeader({ client: this.clientId, request: 0n, operation: Operation.register, session: 0n, code: 0, body });
    const frame = await new Promise<Uint8Array>((resolve, reject) => {
      this.pending.push({ resolve: () => undefined, reject, small: resolve });
      this.arm();
      this.socket.write(Buffer.concat([header, body]));
    });
    const reply = decodeServerFrame(frame);
    if (reply.kind === 'eviction') throw new PollPipeError(`login evicted (reason ${reply.reason})`);
    if (reply.status !== 0) throw new PollPipeError(`login refused: status ${reply.status}`);
    let payload = reply.body;
    if (isResultFramed(reply.operation, payload.length)) {
      const result = parseResult(payload);
      if (!result.ok) throw new PollPipeError(`login refused: result ${result.code}`);
      payload = result.payload;
    }
    this.session = readLogin(payload).session;
  }

  // Polls `count` messages of (stream, topic, partition) from `offset`; resolves when its reply has been walked.
  poll(stream: number, topic: string, partition: number, offset: number, count: number): Promise<PollResult> {
    if (this.failed) return Promise.reject(this.failed);
    const frame = Buffer.from(this.templateFor(stream, topic, partition, count));
    frame.writeBigUInt64LE(BigInt(offset), this.offsetAt);
    return new Promise<PollResult>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.arm();
      this.socket.write(frame);
    });
  }

  close(): Promise<void> {
    this.fail(new PollPipeError('poll connection closed by the client'));
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => { this.socket.once('close', () => resolve()); this.socket.destroy(); });
  }

  // One frame for the polls of one (stream, topic, partition, count), the bench's reading consumer's; its offset is
  // patched per poll.
  private templateFor(stream: number, topic: string, partition: number, count: number): Buffer {
    const key = `${stream}/${topic}/${partition}/${count}`;
    if (this.template && this.templateKey === key) return this.template;
    this.templateKey = key;
    const body = req.pollMessages({ stream, topic, partition, strategy: { kind: 'offset', value: 0n }, count });
    const header = encodeRequestHeader({ client: this.clientId, request: 1n, operation: Operation.nonReplicated, session: this.session, code: POLL_CODE, body });
    this.template = Buffer.concat([header, body]);
    this.offsetAt = HEADER_SIZE + body.length - 13; // u64 value, then u32 count and u8 auto-commit end the body
    return this.template;
  }

  // A reply that does not come within the bound fails the pipe (the run would otherwise hang on a lost server).
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.pending.length === 0 ? null : setTimeout(() => {
      this.fail(new PollPipeError(`no reply within ${this.timeoutMs} ms`));
      this.socket.destroy();
    }, this.timeoutMs);
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.reject(error);
  }

  private feed(buffer: Buffer, n: number): void {
    if (this.failed) return;
    try {
      this.walk(buffer, n);
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  private walk(buffer: Buffer, n: number): void {
    let at = 0;
    while (at < n) {
      if (this.phase === 'skip') {
        const k = Math.min(this.skip, n - at);
        this.skip -= k;
        at += k;
        if (this.skip === 0) this.nextRecord();
        continue;
      }
      const k = Math.min(this.want - this.filled, n - at);
      buffer.copy(this.acc, this.filled, at, at + k);
      this.filled += k;
      at += k;
      if (this.filled === this.want) this.collected();
    }
  }

  private collect(phase: Phase, bytes: number): void {
    if (this.acc.length < bytes) this.acc = Buffer.allocUnsafe(bytes);
    this.phase = phase;
    this.want = bytes;
    this.filled = 0;
  }

  private collected(): void {
    const acc = this.acc;
    switch (this.phase) {
      case 'frameHead': {
        const size = acc.readUInt32LE(H.H_SIZE);
        if (size < HEADER_SIZE) throw new PollPipeError(`frame size ${size} under the header`);
        this.frameLeft = size - HEADER_SIZE;
        const expectsPoll = this.pending.length > 0 && !this.pending[0].small;
        if (expectsPoll && acc[H.H_COMMAND] === Command.reply && acc.readUInt32LE(H.Y_STATUS) === 0) {
          if (this.frameLeft < POLL_HEAD_BYTES) throw new PollPipeError(`poll reply of ${this.frameLeft} body bytes`);
          this.collect('pollHead', POLL_HEAD_BYTES);
          return;
        }
        if (this.frameLeft > SMALL_FRAME_MAX) throw new PollPipeError(`unexpected frame of ${size} bytes`);
        this.smallHead = Buffer.from(acc.subarray(0, HEADER_SIZE));
        if (this.frameLeft === 0) return this.smallFrame(this.smallHead);
        this.collect('smallBody', this.frameLeft);
        return;
      }
      case 'smallBody':
        return this.smallFrame(Buffer.concat([this.smallHead!, acc.subarray(0, this.want)]));
      case 'pollHead':
        this.frameLeft -= POLL_HEAD_BYTES;
        this.announced = acc.readUInt32LE(12);
        this.counted = 0;
        this.firstOffset = null;
        return this.nextRecord();
      case 'recordHead': {
        const length = Number(acc.readBigUInt64LE(B.B_LENGTH));
        if (length < RECORD_HEAD_BYTES || length > this.frameLeft) throw new PollPipeError(`record of ${length} bytes in ${this.frameLeft} left of the reply`);
        if (this.firstOffset === null) this.firstOffset = Number(acc.readBigUInt64LE(B.B_BASE_OFFSET)) + acc.readUInt32LE(B.BATCH_HEADER + B.F_OFFSET_DELTA);
        this.counted += acc.readUInt32LE(B.B_COUNT);
        this.frameLeft -= length;
        this.skip = length - RECORD_HEAD_BYTES;
        this.phase = 'skip';
        if (this.skip === 0) this.nextRecord();
        return;
      }
      default:
        throw new PollPipeError(`walker in phase ${this.phase}`);
    }
  }

  private nextRecord(): void {
    if (this.frameLeft === 0) return this.pollDone();
    if (this.frameLeft < RECORD_HEAD_BYTES) throw new PollPipeError(`${this.frameLeft} bytes after the records`);
    this.collect('recordHead', RECORD_HEAD_BYTES);
  }

  private pollDone(): void {
    if (this.counted !== this.announced) throw new PollPipeError(`poll reply announces ${this.announced} messages, its records hold ${this.counted}`);
    const p = this.pending.shift()!;
    this.arm();
    this.collect('frameHead', HEADER_SIZE);
    p.resolve({ messages: this.counted, firstOffset: this.firstOffset });
  }

  // A frame that is not a successful poll reply: the login's answer, or an error or eviction answering a poll.
  private smallFrame(frame: Buffer): void {
    this.collect('frameHead', HEADER_SIZE);
    const p = this.pending.shift();
    if (!p) throw new PollPipeError('a frame nobody asked for');
    this.arm();
    if (p.small) return p.small(new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
    const reply = decodeServerFrame(frame);
    p.reject(new PollPipeError(reply.kind === 'eviction' ? `poll evicted (reason ${reply.reason})` : `poll refused: status ${reply.status}`));
  }
}

// What OffsetReader needs of a PollPipe.
export interface OffsetPoller {
  poll(stream: number, topic: string, partition: number, offset: number, count: number): Promise<PollResult>;
}

// Reads `owed` messages of one partition from `start`, in order, with up to `depth` polls of `count` on the wire.
export class OffsetReader {
  private expected: number; // the next offset to read
  private issued: number; // the offset the next poll asks for
  private readonly inFlight: { offset: number; sentAt: number; reply: Promise<PollResult> }[] = [];

  constructor(
    private readonly pipe: OffsetPoller, private readonly stream: number, private readonly topic: string, private readonly partition: number,
    private readonly count: number, private readonly depth: number, private owed: number, start = 0,
  ) {
    this.expected = this.issued = start;
  }

  // The next reply that starts where the previous one ended: its message count (0: nothing there yet, or nothing
  // owed) and when its poll was sent, which is where its latency counts from.
  async next(): Promise<{ messages: number; sentAt: number }> {
    for (;;) {
      this.fill();
      const head = this.inFlight.shift();
      if (!head) return { messages: 0, sentAt: performance.now() };
      const r = await head.reply;
      if (head.offset !== this.expected) continue; // sent before a short reply moved the start: dropped
      if (r.messages > 0 && r.firstOffset !== head.offset) {
        throw new PollPipeError(`poll at offset ${head.offset} answered from offset ${r.firstOffset}`);
      }
      this.expected += r.messages;
      this.owed -= r.messages;
      if (r.messages < this.count) this.issued = this.expected; // the polls after it asked for the wrong offsets
      return { messages: r.messages, sentAt: head.sentAt };
    }
  }

  private fill(): void {
    while (this.inFlight.length < this.depth && this.issued - this.expected < this.owed) {
      const reply = this.pipe.poll(this.stream, this.topic, this.partition, this.issued, this.count);
      reply.catch(() => undefined); // a failed pipe rejects every poll; the first one awaited reports it
      this.inFlight.push({ offset: this.issued, sentAt: performance.now(), reply });
      this.issued += this.count;
    }
  }
}
