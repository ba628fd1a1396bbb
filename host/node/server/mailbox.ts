// Messages between shards, of any size, over the SPSC rings. A message larger than one fragment is split into
// frames flagged MORE; the ring is FIFO per (source, lane) and a queue sends one message's fragments back to
// back, so the receiver reassembles per (source, lane) without ids. Nothing here is dropped: a message waits in
// its queue until the ring has room (sendFits), because these frames carry client requests and their replies.
// Lifecycle pings and VSR traffic keep try-send-or-drop (shard-worker.ts, the core).
import { copyInto, copyPiecesInto } from '../../shared/copy.js';
import { F, FRAME_HEADER } from '../../shared/frames.js';
import type { CoreExports } from '../../shared/core.js';

const FLAG_MORE = 1;
const LANES = 2;

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

interface Outbound {
  variant: number;
  kind: number;
  correlation: number;
  group: bigint;
  pieces: Uint8Array[];
  total: number; // bytes of all pieces
  sent: number; // bytes already handed to the ring
}

interface Partial {
  buffer: Uint8Array;
  filled: number;
}

// Where an arriving message of `total` bytes is assembled, or null for a fresh buffer on the JS heap: a caller that
// waits for a large reply (a poll's records) lends memory for it (ShardRpc.callInto).
export type MessagePlacer = (source: number, variant: number, kind: number, correlation: number, total: number) => Uint8Array | null;


export class Mailbox {
  private readonly queues: Outbound[][]; // [target * LANES + lane]
  private readonly partials = new Map<number, Partial>(); // source * LANES + lane
  private readonly u8: Uint8Array;
  private readonly view: DataView;
  private readonly fragment: number;
  private pendingCount = 0;
  private placer: MessagePlacer | null = null;

  // `wake` is called when a send leaves fragments queued: the shard loop may be asleep on its doorbell and must
  // come round to pump them as the peer drains its ring.
  constructor(private readonly core: CoreExports, memory: WebAssembly.Memory, readonly self: number, readonly shards: number, fragmentBytes = 2 << 20, private readonly wake: () => void = () => {}) {
    this.u8 = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    this.queues = Array.from({ length: shards * LANES }, () => []);
    // A fragment must fit half of the smallest ring, so one fragment can always be in flight while the peer drains.
    let ringFrame = Infinity;
    for (let peer = 0; peer < shards; peer++) {
      for (let lane = 0; lane < LANES; lane++) ringFrame = Math.min(ringFrame, core.ringMaxFrame(core.ringAddress(self, peer, lane)));
    }
    this.fragment = Math.max(64, Math.min(fragmentBytes, Math.floor(ringFrame / 2) - FRAME_HEADER));
  }

  placeWith(placer: MessagePlacer): void {
    this.placer = placer;
  }

  get pending(): number {
    return this.pendingCount;
  }

  send(target: number, variant: number, kind: number, correlation: number, payload: Payload, group = 0n): void {
    if (target === this.self) throw new Error('mailbox: a shard does not send to itself (call the handler)');
    const pieces = payload instanceof Uint8Array ? [payload] : payload;
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    this.queues[target * LANES + this.core.frameLane(variant, kind)].push({ variant, kind, correlation, group, pieces, total, sent: 0 });
    this.pendingCount++;
    this.pump();
    if (this.pendingCount > 0) this.wake();
  }

  // Sends `message` written in place when the ring has room for its largest size now and nothing is queued before
  // it on the lane; otherwise (or when its writer declines) as the pieces it builds. A writer that throws leaves
  // nothing reserved.
  sendInPlace(target: number, variant: number, kind: number, correlation: number, message: InPlace, group = 0n): void {
    const queued = this.queues[target * LANES + this.core.frameLane(variant, kind)].length > 0;
    if (!queued && message.maxBytes <= this.fragment && this.core.sendFits(target, variant, kind, message.maxBytes)) {
      const at = this.core.sendBegin(target, variant, kind, correlation, message.maxBytes);
      const length = at === 0 ? null : writeInPlace(message, at, message.maxBytes, () => this.core.sendAbort());
      if (length !== null) {
        const frame = at - FRAME_HEADER;
        this.view.setUint16(frame + F.flags, 0, true);
        this.view.setBigUint64(frame + F.group, group, true);
        this.view.setBigUint64(frame + F.aux, BigInt(length), true);
        this.core.sendCommitLength(length);
        this.core.shardFlush();
        return;
      }
    }
    this.send(target, variant, kind, correlation, message.build(), group);
  }

  // Moves queued fragments into the rings while they fit, then publishes. Called after every send and on every
  // loop turn (a full ring empties as its consumer drains it).
  pump(): void {
    if (this.pendingCount === 0) return;
    for (let index = 0; index < this.queues.length; index++) {
      const queue = this.queues[index];
      const target = Math.floor(index / LANES);
      while (queue.length > 0) {
        const message = queue[0];
        if (!this.sendFragment(target, message)) break;
        if (message.sent === message.total) {
          queue.shift();
          this.pendingCount--;
        }
      }
    }
    this.core.shardFlush();
  }

  private sendFragment(target: number, m: Outbound): boolean {
    const length = Math.min(this.fragment, m.total - m.sent);
    if (!this.core.sendFits(target, m.variant, m.kind, length)) return false;
    const at = this.core.sendBegin(target, m.variant, m.kind, m.correlation, length);
    if (at === 0) return false;
    const frame = at - FRAME_HEADER;
    const more = m.sent + length < m.total;
    this.view.setUint16(frame + F.flags, more ? FLAG_MORE : 0, true);
    this.view.setBigUint64(frame + F.group, m.group, true);
    this.view.setBigUint64(frame + F.aux, BigInt(m.total), true);
    copyPiecesInto(this.u8, at, m.pieces, m.sent, length);
    this.core.sendCommit();
    m.sent += length;
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
    const key = source * LANES + this.core.frameLane(variant, kind);
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
