// Request/reply between shards on top of the mailbox: a call carries a correlation id, its answer comes back on
// the reply lane (FORWARD_CLIENT_SEND, or PARTITION_READ_REPLY for reads) with the same id. A call to this shard
// itself runs the handler directly. Messages with correlation 0 are one-way (broadcasts, stats notices).
// A call waits for room in the mailbox's backlog towards its target (with its producer, a client connection,
// paused meanwhile); an answer never waits: it is owed to a call the peer already made (mailbox.ts).
import { Lifecycle, Variant } from '../../shared/frames.js';
import { joinPieces } from '../../shared/copy.js';
import { writeInPlace, type InPlace, type Mailbox, type Payload, type Producer, type ShardMessage } from './mailbox.js';

// A handler's answer: bytes, or pieces (sent back to back into the ring, or handed to a caller on this shard as they
// are), or an answer written in place into the ring (built as pieces for a caller on this shard), or null for none.
export type Answer = Payload | InPlace | null;
export type Handler = (message: ShardMessage) => Promise<Answer> | Answer;

// Memory lent for an answer written in place: regions of the shared memory (their byteOffset is the core address).
export interface Lender {
  take(bytes: number): Uint8Array | null;
  owns(region: Uint8Array): boolean;
  release(region: Uint8Array): void;
}

function isReplyKind(variant: number, kind: number): boolean {
  return variant === Variant.lifecycle && (kind === Lifecycle.forwardClientSend || kind === Lifecycle.partitionReadReply);
}

function piecesOf(reply: Payload | null): Uint8Array[] {
  return reply === null ? [new Uint8Array(0)] : reply instanceof Uint8Array ? [reply] : reply;
}

function isInPlace(answer: Answer): answer is InPlace {
  return answer !== null && !(answer instanceof Uint8Array) && !Array.isArray(answer);
}

interface Waiting {
  resolve: (payload: Uint8Array) => void;
  reject: (error: Error) => void;
  lend: Lender | null; // memory the caller lends for a large reply
}

// Replies from this size on are assembled in memory the caller lends, when it lends any.
const LENT_REPLY_MIN_BYTES = 64 << 10;

const key = (variant: number, kind: number) => (variant << 8) | kind;

// A reply frame whose group word is this carries the failure of the remote handler (its message, UTF-8) instead
// of a reply: the caller's promise rejects. Replies otherwise travel with group 0.
const FAILED = 1n;

export class RemoteCallFailed extends Error {}

function replyKindOf(kind: number): number {
  return kind === Lifecycle.partitionRead ? Lifecycle.partitionReadReply : Lifecycle.forwardClientSend;
}

export class ShardRpc {
  private readonly handlers = new Map<number, Handler>();
  private readonly waiting = new Map<number, Waiting>();
  private next = 1;

  constructor(private readonly mailbox: Mailbox, readonly self: number) {
    mailbox.placeWith((_source, variant, kind, correlation, total) => {
      if (total < LENT_REPLY_MIN_BYTES || !isReplyKind(variant, kind) || correlation === 0) return null;
      return this.waiting.get(correlation)?.lend?.take(total) ?? null;
    });
  }

  on(variant: number, kind: number, handler: Handler): void {
    this.handlers.set(key(variant, kind), handler);
  }

  call(target: number, variant: number, kind: number, payload: Uint8Array, group = 0n, producer: Producer | null = null): Promise<Uint8Array> {
    return this.callPieces(target, variant, kind, payload, group, producer).then(joinPieces);
  }

  // The answer as the handler gave it when it ran on this shard (pieces are not joined: a poll reply goes to the
  // socket from where its records are), or as the one buffer it arrived in from another shard.
  callPieces(target: number, variant: number, kind: number, payload: Uint8Array, group = 0n, producer: Producer | null = null): Promise<Uint8Array[]> {
    if (target === this.self) {
      return Promise.resolve(this.handlerFor(variant, kind)({ source: this.self, variant, kind, correlation: 0, group, payload }))
        .then((answer) => piecesOf(isInPlace(answer) ? answer.build() : answer));
    }
    return this.remote(target, variant, kind, payload, group, null, producer).then((reply) => [reply]);
  }

  private remote(target: number, variant: number, kind: number, payload: Uint8Array, group: bigint, lend: Lender | null, producer: Producer | null): Promise<Uint8Array> {
    const correlation = this.next;
    this.next = this.next === 0xffff_ffff ? 1 : this.next + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(correlation, { resolve, reject, lend });
      this.mailbox.sendWhenRoom(target, variant, kind, correlation, payload, group, producer);
    });
  }

  // callPieces, except that the answer goes into memory the caller lends (a region of the shared memory, from
  // `lend.take`): written there in place when the handler runs on this shard and answers in place, or assembled
  // there as it arrives from another shard when it is large. The caller gets that region back with the answer
  // and returns it (`lend.release`) when done with the bytes.
  async callInto(target: number, variant: number, kind: number, payload: Uint8Array, group: bigint, lend: Lender, producer: Producer | null = null): Promise<{ pieces: Uint8Array[]; lent: Uint8Array | null }> {
    if (target !== this.self) {
      const reply = await this.remote(target, variant, kind, payload, group, lend, producer);
      return { pieces: [reply], lent: lend.owns(reply) ? reply : null };
    }
    const answer = await this.handlerFor(variant, kind)({ source: this.self, variant, kind, correlation: 0, group, payload });
    if (!isInPlace(answer)) return { pieces: piecesOf(answer), lent: null };
    const region = lend.take(answer.maxBytes);
    const length = region && writeInPlace(answer, region.byteOffset, region.length, () => lend.release(region));
    if (region && length !== null) return { pieces: [region.subarray(0, length)], lent: region };
    return { pieces: piecesOf(answer.build()), lent: null };
  }

  notify(target: number, variant: number, kind: number, payload: Uint8Array, group = 0n): void {
    if (target === this.self) {
      void this.handlerFor(variant, kind)({ source: this.self, variant, kind, correlation: 0, group, payload });
      return;
    }
    this.mailbox.send(target, variant, kind, 0, payload, group);
  }

  // A notice of the newest value under `key` (a partition's stats): one still queued for `target` is replaced.
  notifyLatest(target: number, variant: number, kind: number, key: bigint, payload: Uint8Array): void {
    if (target === this.self) {
      void this.handlerFor(variant, kind)({ source: this.self, variant, kind, correlation: 0, group: 0n, payload });
      return;
    }
    this.mailbox.sendLatest(target, variant, kind, key, payload);
  }

  // Every message the shard loop receives comes through here.
  deliver(message: ShardMessage): void {
    if (isReplyKind(message.variant, message.kind) && message.correlation !== 0) {
      const waiting = this.waiting.get(message.correlation);
      if (!waiting) throw new Error(`shard ${this.self}: reply ${message.correlation} from shard ${message.source} matches no call`);
      this.waiting.delete(message.correlation);
      if (message.group === FAILED) {
        const text = new TextDecoder().decode(message.payload);
        if (waiting.lend?.owns(message.payload)) waiting.lend.release(message.payload);
        waiting.reject(new RemoteCallFailed(`shard ${message.source}: ${text}`));
      } else {
        waiting.resolve(message.payload);
      }
      return;
    }
    if (message.correlation === 0) {
      this.handlerFor(message.variant, message.kind)(message); // a one-way notice (committed op, stats): a failure here is the shard's
      return;
    }
    // A call always gets its answer: a handler that fails (a client's request it could not serve) fails the
    // caller's promise, never this shard's loop (an unhandled rejection would stop the server).
    const replyKind = replyKindOf(message.kind);
    void (async () => {
      const answer = await this.handlerFor(message.variant, message.kind)(message);
      // An answer written in place is written now, as it is sent (a failing write fails the call like the handler).
      if (isInPlace(answer)) this.mailbox.sendInPlace(message.source, Variant.lifecycle, replyKind, message.correlation, answer);
      else this.mailbox.send(message.source, Variant.lifecycle, replyKind, message.correlation, answer ?? new Uint8Array(0));
    })().catch((error: unknown) => {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.mailbox.send(message.source, Variant.lifecycle, replyKind, message.correlation, new TextEncoder().encode(text), FAILED);
    });
  }

  failAll(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }

  private handlerFor(variant: number, kind: number): Handler {
    const handler = this.handlers.get(key(variant, kind));
    if (!handler) throw new Error(`shard ${this.self}: no handler for frame variant ${variant} kind ${kind}`);
    return handler;
  }
}
