// Messages between shards, of any size, over the SPSC rings. A message larger than one fragment is split into
// frames flagged MORE; the ring is FIFO per (source, lane) and a queue sends one message's fragments back to
// back, so the receiver reassembles per (source, lane) without ids. Nothing here is dropped: a message waits in
// its queue until the ring has room (sendFits), because these frames carry client requests and their replies.
// Lifecycle pings and VSR traffic keep try-send-or-drop (shard-worker.ts, the core).
//
// The queue towards each target (its backlog: what waits for that target's rings) is bounded, by pushing back on
// whoever makes the work instead of dropping any of it (README "Backpressure between shards"):
// * a call (a request to another shard: a client's send, poll, offset op) is queued only while the backlog plus
//   the call stays within the bound (or the backlog is empty); otherwise it is held, in order, and its producer
//   (the client connection) is paused until the backlog has drained enough to take it. Calls alone therefore
//   never take the backlog past the bound.
// * what is owed never waits: an answer to a call the peer made, a committed metadata op, a notice. Their source
//   is bounded instead: answers by the calls the peer had admitted, committed ops by holding new proposals while
//   any backlog is over its bound (roomEverywhere, at the metadata group), stats notices by keeping only the
//   latest per partition (sendLatest).
import { copyInto, copyPiecesInto } from '../../shared/copy.js';
import { F, FRAME_HEADER, LANES as LANE_NAMES } from '../../shared/frames.js';
import type { CoreExports } from '../../shared/core.js';
import { MAILBOX_METRIC, MeshView } from '../../shared/layout.js';
import { Rings } from '../../shared/rings.js';

const FLAG_MORE = 1;
const LANES = LANE_NAMES.length; // the core's ring lanes (inbox, reply) per ordered pair of shards

// What a shard sends: bytes, or pieces sent back to back as one message (a poll reply's head and its records,
// copied into the ring from where they are).
export type Payload = Uint8Array | Uint8Array[];

// A message its sender can write straight into a frame of the ring (a poll's records read from the file to their
// place in the reply) instead of building it in host memory for the ring to copy.
export interface InPlace {
  readonly maxBytes: number; // the most it can come to: what is reserved in the ring
  // Writes the message into the core's memory at `at` and returns its length, or null when it cannot (then build()).
  write(at: number, room: number): number | null;
  build(): Payload; // the same message, for when the ring has no room for maxBytes now
}

// Has `message` write itself at `at`, in at most `room` bytes reserved for it: its length, or null when it declined.
// `giveBack` undoes the reservation when it declines, throws, or comes out longer than `room` (a bug: thrown).
export function writeInPlace(message: InPlace, at: number, room: number, giveBack: () => void): number | null {
  let length: number | null;
  try {
    length = message.write(at, room);
  } catch (error) {
    giveBack();
    throw error;
  }
  if (length !== null && length <= room) return length;
  giveBack();
  if (length === null) return null;
  throw new Error(`an in-place message came out at ${length} B, over the ${room} B reserved for it: a bug`);
}

export interface ShardMessage {
  source: number;
  variant: number;
  kind: number;
  correlation: number;
  group: bigint;
  payload: Uint8Array;
}

// How much may wait for one target's rings before calls to it are held: payload bytes not yet in the ring, and
// messages (a message counts until its last fragment is in the ring).
export interface BacklogBound {
  bytes: number;
  messages: number;
}

// The largest SendMessages batch (16 MiB, --max-batch-bytes) still queues without waiting for an empty backlog;
// 1024 messages are a few per client connection. Configured by --shard-backlog-bytes / --shard-backlog-messages.
export const DEFAULT_BACKLOG_BOUND: Readonly<BacklogBound> = { bytes: 16 << 20, messages: 1024 };

// Whoever makes the work a held call carries: it is paused while the call waits and resumed once it is queued (a
// client connection stops reading its socket). Pauses and resumes come in pairs.
export interface Producer {
  pause(): void;
  resume(): void;
}

export interface MailboxOptions {
  fragmentBytes?: number;
  // Called when a send leaves fragments queued: the shard loop may be asleep on its doorbell and must come round
  // to pump them as the peer drains its ring.
  wake?: () => void;
  bound?: Partial<BacklogBound>;
}

interface Outbound {
  variant: number;
  kind: number;
  correlation: number;
  group: bigint;
  pieces: Uint8Array[];
  total: number; // bytes of all pieces
  sent: number; // bytes already handed to the ring
  latest: string | null; // sendLatest's key while the message can still be replaced (nothing of it sent)
}

// A call waiting for room in its target's backlog, or (message null) a producer waiting for the backlog to be
// under its bound (roomFor).
interface Held {
  lane: number;
  message: Outbound | null;
  producer: Producer | null;
  since: number; // performance.now() when it was held, for the wait metric
  resolve: (() => void) | null;
}

interface Backlog {
  bytes: number; // of queued messages, not yet in the ring
  messages: number;
  // Held calls and roomFor waiters, in the order they came: one list, so that a steady stream of calls cannot keep
  // a waiting proposal out (nor proposals the calls).
  waiting: Held[];
  held: number; // the calls among them
  latest: Map<string, Outbound>; // replaceable messages by sendLatest key
}

interface Reassembly {
  buffer: Uint8Array;
  filled: number;
}

// Where an arriving message of `total` bytes is assembled, or null for a fresh buffer on the JS heap: a caller that
// waits for a large reply (a poll's records) lends memory for it (ShardRpc.callInto).
export type MessagePlacer = (source: number, variant: number, kind: number, correlation: number, total: number) => Uint8Array | null;


export class Mailbox {
  private readonly queues: Outbound[][]; // [target * LANES + lane]
  private readonly backlogs: Backlog[]; // [target]
  private readonly partials = new Map<number, Reassembly>(); // source * LANES + lane
  private readonly u8: Uint8Array;
  private readonly view: DataView;
  private readonly u64: BigUint64Array;
  private readonly metrics: number[]; // [target]: u64 index of its mailbox metrics (MAILBOX_METRIC)
  private readonly fragment: number;
  private readonly wake: () => void;
  readonly bound: Readonly<BacklogBound>;
  private pendingCount = 0;
  private placer: MessagePlacer | null = null;

  private readonly rings: Rings;

  constructor(core: CoreExports, memory: WebAssembly.Memory, readonly self: number, readonly shards: number, options: MailboxOptions = {}) {
    this.rings = new Rings(core);
    const mesh = new MeshView(memory, core);
    this.u8 = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    this.u64 = new BigUint64Array(memory.buffer);
    this.wake = options.wake ?? (() => {});
    this.bound = { ...DEFAULT_BACKLOG_BOUND, ...options.bound };
    if (!(this.bound.bytes >= 1 && this.bound.messages >= 1)) throw new Error(`mailbox: a backlog bound must be at least 1 B and 1 message (${this.bound.bytes} B, ${this.bound.messages})`);
    this.queues = Array.from({ length: shards * LANES }, () => []);
    this.backlogs = Array.from({ length: shards }, () => ({ bytes: 0, messages: 0, waiting: [], held: 0, latest: new Map() }));
    // u64 index of each target's first counter; the core lays a target's counters out in selector order.
    this.metrics = Array.from({ length: shards }, (_, target) => mesh.mailboxMetricIndex(self, target, MAILBOX_METRIC.backlogBytes));
    // A fragment must fit half of the smallest ring, so one fragment can always be in flight while the peer drains.
    let ringFrame = Infinity;
    for (let peer = 0; peer < shards; peer++) {
      for (let lane = 0; lane < LANES; lane++) ringFrame = Math.min(ringFrame, mesh.ringMaxFrame(self, peer, lane));
    }
    this.fragment = Math.max(64, Math.min(options.fragmentBytes ?? 2 << 20, Math.floor(ringFrame / 2) - FRAME_HEADER));
  }

  placeWith(placer: MessagePlacer): void {
    this.placer = placer;
  }

  // Messages queued for the rings (what waits is not counted: nothing waits unless some message is queued).
  get pending(): number {
    return this.pendingCount;
  }

  // What waits for `target`: queued bytes and messages, and calls held back.
  backlog(target: number): { bytes: number; messages: number; held: number } {
    const b = this.backlogs[target];
    return { bytes: b.bytes, messages: b.messages, held: b.held };
  }

  // Something owed (an answer, a committed op, a notice): queued whatever the backlog (see the head comment).
  send(target: number, variant: number, kind: number, correlation: number, payload: Payload, group = 0n): void {
    this.enqueue(target, this.outbound(target, variant, kind, correlation, payload, group));
  }

  // A notice whose newest value supersedes the older ones (a partition's stats, by its namespace): it replaces a
  // message with the same key that is still queued untouched, in its place, instead of queueing behind it.
  sendLatest(target: number, variant: number, kind: number, key: bigint, payload: Payload): void {
    const lane = this.rings.lane(variant, kind);
    const latestKey = `${lane}/${variant}/${kind}/${key}`;
    const backlog = this.backlogs[target];
    const queued = backlog.latest.get(latestKey);
    if (queued && queued.sent === 0) {
      const message = this.outbound(target, variant, kind, 0, payload, 0n);
      this.account(target, message.total - queued.total, 0);
      queued.pieces = message.pieces;
      queued.total = message.total;
      return;
    }
    const message = this.outbound(target, variant, kind, 0, payload, 0n);
    message.latest = latestKey;
    backlog.latest.set(latestKey, message);
    this.enqueue(target, message);
  }

  // A call: queued now when the backlog has room for it (see fits), else held in order with its producer paused
  // until it has. Nothing is dropped either way.
  sendWhenRoom(target: number, variant: number, kind: number, correlation: number, payload: Payload, group = 0n, producer: Producer | null = null): void {
    const message = this.outbound(target, variant, kind, correlation, payload, group);
    const backlog = this.backlogs[target];
    if (backlog.waiting.length === 0 && this.fits(backlog, message.total)) {
      this.enqueue(target, message);
      return;
    }
    backlog.waiting.push({ lane: this.rings.lane(variant, kind), message, producer, since: performance.now(), resolve: null });
    backlog.held++;
    this.countWait(target, producer);
  }

  // null when `target`'s backlog is under its bound and nothing waits for it; else a promise that resolves once it
  // is under the bound and what waited before has gone in, with `producer` paused meanwhile. For work that makes
  // messages later (a metadata proposal, whose commit is sent to every shard).
  roomFor(target: number, producer: Producer | null = null): Promise<void> | null {
    const backlog = this.backlogs[target];
    if (backlog.waiting.length === 0 && this.underBound(backlog)) return null;
    return new Promise((resolve) => {
      backlog.waiting.push({ lane: 0, message: null, producer, since: performance.now(), resolve });
      this.countWait(target, producer);
    });
  }

  // roomFor every other shard, one after the other: resolves when each backlog was under its bound.
  roomEverywhere(producer: Producer | null = null): Promise<void> | null {
    let target = 0;
    for (; target < this.shards; target++) {
      const backlog = this.backlogs[target];
      if (target !== this.self && (backlog.waiting.length > 0 || !this.underBound(backlog))) break;
    }
    if (target === this.shards) return null;
    return (async () => {
      for (; target < this.shards; target++) if (target !== this.self) await this.roomFor(target, producer);
    })();
  }

  // Sends `message` written in place when the ring has room for its largest size now and nothing is queued before
  // it on the lane; otherwise (or when its writer declines) as the pieces it builds. A writer that throws leaves
  // nothing reserved. Answers only: it never waits for room in the backlog.
  sendInPlace(target: number, variant: number, kind: number, correlation: number, message: InPlace, group = 0n): void {
    const queued = this.queues[target * LANES + this.rings.lane(variant, kind)].length > 0;
    if (!queued && message.maxBytes <= this.fragment && this.rings.fits(target, variant, kind, message.maxBytes)) {
      const at = this.rings.begin(target, variant, kind, correlation, message.maxBytes);
      const length = at === 0 ? null : writeInPlace(message, at, message.maxBytes, () => this.rings.abort());
      if (length !== null) {
        const frame = at - FRAME_HEADER;
        this.view.setUint16(frame + F.flags, 0, true);
        this.view.setBigUint64(frame + F.group, group, true);
        this.view.setBigUint64(frame + F.aux, BigInt(length), true);
        this.rings.commit(length);
        this.rings.flush();
        return;
      }
    }
    this.send(target, variant, kind, correlation, message.build(), group);
  }

  // Moves queued fragments into the rings while they fit, lets held calls and waiters in as their backlog drains,
  // then publishes. Called after every send and on every loop turn (a full ring empties as its consumer drains it).
  pump(): void {
    if (this.pendingCount === 0) return;
    for (let target = 0; target < this.shards; target++) {
      if (target === this.self) continue;
      // Until no held call gets in: a pump must not end with calls held and nothing queued before them (no
      // later pump would run to let them in). What waits stays waiting only behind a queued message.
      do this.drain(target); while (this.admit(target));
    }
    this.rings.flush();
  }

  private outbound(target: number, variant: number, kind: number, correlation: number, payload: Payload, group: bigint): Outbound {
    if (target === this.self) throw new Error('mailbox: a shard does not send to itself (call the handler)');
    const pieces = payload instanceof Uint8Array ? [payload] : payload;
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    return { variant, kind, correlation, group, pieces, total, sent: 0, latest: null };
  }

  private enqueue(target: number, message: Outbound): void {
    this.queues[target * LANES + this.rings.lane(message.variant, message.kind)].push(message);
    this.pendingCount++;
    this.account(target, message.total, 1);
    this.pump();
    if (this.pendingCount > 0) this.wake();
  }

  // A call of `bytes` fits when the backlog stays within the bound with it, or is empty (a call larger than the
  // bound goes alone).
  private fits(backlog: Backlog, bytes: number): boolean {
    return backlog.messages === 0 || (backlog.bytes + bytes <= this.bound.bytes && backlog.messages + 1 <= this.bound.messages);
  }

  private underBound(backlog: Backlog): boolean {
    return backlog.bytes < this.bound.bytes && backlog.messages < this.bound.messages;
  }

  private drain(target: number): void {
    for (let lane = 0; lane < LANES; lane++) {
      const queue = this.queues[target * LANES + lane];
      while (queue.length > 0) {
        const message = queue[0];
        if (!this.sendFragment(target, message)) break;
        if (message.sent === message.total) {
          queue.shift();
          this.pendingCount--;
          this.account(target, 0, -1);
        }
      }
    }
  }

  // Lets in what waits, in order, while it may go: a held call when it fits (queued), a roomFor waiter when the
  // backlog is under its bound (released). Returns whether it queued any call.
  private admit(target: number): boolean {
    const backlog = this.backlogs[target];
    let queued = false;
    while (backlog.waiting.length > 0) {
      const head = backlog.waiting[0];
      const message = head.message;
      if (message ? !this.fits(backlog, message.total) : !this.underBound(backlog)) break;
      backlog.waiting.shift();
      if (message) {
        backlog.held--;
        this.queues[target * LANES + head.lane].push(message);
        this.pendingCount++;
        this.account(target, message.total, 1);
        queued = true;
      }
      this.release(target, head);
    }
    return queued;
  }

  private countWait(target: number, producer: Producer | null): void {
    Atomics.add(this.u64, this.metrics[target] + MAILBOX_METRIC.waits, 1n);
    producer?.pause();
  }

  private release(target: number, held: Held): void {
    Atomics.add(this.u64, this.metrics[target] + MAILBOX_METRIC.waitMicros, BigInt(Math.round((performance.now() - held.since) * 1000)));
    held.producer?.resume();
    held.resolve?.();
  }

  // Keeps the backlog and its gauges (read by the main thread's /metrics) up to date.
  private account(target: number, bytes: number, messages: number): void {
    const backlog = this.backlogs[target];
    backlog.bytes += bytes;
    backlog.messages += messages;
    Atomics.store(this.u64, this.metrics[target] + MAILBOX_METRIC.backlogBytes, BigInt(backlog.bytes));
    Atomics.store(this.u64, this.metrics[target] + MAILBOX_METRIC.backlogMessages, BigInt(backlog.messages));
  }

  private sendFragment(target: number, m: Outbound): boolean {
    const length = Math.min(this.fragment, m.total - m.sent);
    if (!this.rings.fits(target, m.variant, m.kind, length)) return false;
    const at = this.rings.begin(target, m.variant, m.kind, m.correlation, length);
    if (at === 0) return false;
    const frame = at - FRAME_HEADER;
    const more = m.sent + length < m.total;
    this.view.setUint16(frame + F.flags, more ? FLAG_MORE : 0, true);
    this.view.setBigUint64(frame + F.group, m.group, true);
    this.view.setBigUint64(frame + F.aux, BigInt(m.total), true);
    copyPiecesInto(this.u8, at, m.pieces, m.sent, length);
    this.rings.commit();
    if (m.latest !== null) {
      this.backlogs[target].latest.delete(m.latest); // its bytes are going: no longer replaceable
      m.latest = null;
    }
    m.sent += length;
    this.account(target, -length, 0);
    return true;
  }

  // Turns a received frame into a message, or null while the fragments of a larger one are still arriving.
  // The payload is copied out: the frame is released at the next recvNext.
  receive(frame: number): ShardMessage | null {
    const v = this.view;
    const variant = v.getUint8(frame + F.variant);
    const kind = v.getUint8(frame + F.kind);
    const source = v.getUint16(frame + F.source, true);
    const more = (v.getUint16(frame + F.flags, true) & FLAG_MORE) !== 0;
    const length = v.getUint32(frame + F.payloadLen, true);
    const total = Number(v.getBigUint64(frame + F.aux, true));
    const at = frame + FRAME_HEADER;
    const key = source * LANES + this.rings.lane(variant, kind);
    let partial = this.partials.get(key);
    if (!partial) {
      if (total < length) throw new Error(`mailbox: frame from shard ${source} claims ${total} B in total but carries ${length}`);
      const placed = this.placer?.(source, variant, kind, v.getUint32(frame + F.correlation, true), total) ?? null;
      partial = { buffer: placed ?? Buffer.allocUnsafeSlow(total), filled: 0 }; // unpooled: readers may view .buffer from offset 0
    }
    if (partial.filled + length > partial.buffer.length) {
      throw new Error(`mailbox: fragments from shard ${source} overrun their message (${partial.filled + length} > ${partial.buffer.length})`);
    }
    copyInto(partial.buffer, partial.filled, this.u8.subarray(at, at + length));
    partial.filled += length;
    if (more) {
      this.partials.set(key, partial);
      return null;
    }
    this.partials.delete(key);
    if (partial.filled !== partial.buffer.length) {
      throw new Error(`mailbox: message from shard ${source} ended after ${partial.filled} of ${partial.buffer.length} B`);
    }
    return {
      source, variant, kind,
      correlation: v.getUint32(frame + F.correlation, true),
      group: v.getBigUint64(frame + F.group, true),
      payload: partial.buffer,
    };
  }
}
