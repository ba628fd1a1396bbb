// One TCP connection between two replicas: the handshake (handshake.ts) in the role this end has, then VSR messages
// in both directions. What a frame may be is the core's decision (the plane asks it); a refused frame closes this
// link only. Nothing is read as a frame before the handshake succeeded.
import type net from 'node:net';
import {
  CHALLENGE_BYTES, HELLO_BYTES, WELCOME_BYTES, answerChallenge, challenge, checkHello, checkWelcome, newNonce, type Identity,
  type Refusal,
} from './handshake.js';
import type { FrameRefusal } from './replica-counters.js';
import { copyInto, copyOut } from '../../shared/copy.js';

import { HEADER_SIZE as HEADER_BYTES } from '../../shared/vsr-abi.js'; // a VSR message header; its size field says the rest
// A peer that does not drain its socket: past this much unsent, frames to it are dropped (VSR retransmits them)
// rather than buffered without bound.
export const LINK_QUEUE_BYTES = 8 << 20;

export interface LinkHost {
  readonly identity: Identity;
  readonly timeoutMs: number;
  // Liveness once up: a ping every pingMs; a link that heard nothing for silenceMs is closed (a peer whose host
  // vanished leaves a half-open socket that TCP keepalive would only notice after minutes, and until then its
  // reconnect is refused as a duplicate).
  readonly pingMs: number;
  readonly silenceMs: number;
  ping(): Uint8Array;
  silent(link: ReplicaLink, quietMs: number): void;
  // After a verified handshake: install the link for `peer` (claim its owner slot), or say why not.
  install(link: ReplicaLink, peer: number): Refusal | null;
  refused(link: ReplicaLink, reason: Refusal, claimed: number | null): void;
  // A header: the message's total size, or why it is refused. Then where the link assembles the frame of that size
  // (the plane gives a region of core memory, where it is checked in place), and the whole frame: delivered, or
  // refused.
  frameSize(link: ReplicaLink, header: Buffer): number | FrameRefusal;
  frameTarget(link: ReplicaLink, size: number): Uint8Array;
  frame(link: ReplicaLink, message: Uint8Array): FrameRefusal | null;
  frameRefused(link: ReplicaLink, reason: FrameRefusal): void;
  closed(link: ReplicaLink): void;
}

// Bytes as they arrive, taken in exact sizes: copied out into the caller's buffer, chunk by chunk (a frame is
// assembled once, where it is checked, instead of joining the socket's chunks first).
class ByteQueue {
  private chunks: Buffer[] = [];
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  // Exactly n bytes (a handshake message), or null while fewer are here.
  take(n: number): Buffer | null {
    if (this.total < n) return null;
    const first = this.chunks[0];
    if (first.length >= n) {
      this.total -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    this.takeInto(out, 0, n);
    return out;
  }

  // Moves up to n bytes into out at `at`; returns how many.
  takeInto(out: Uint8Array, at: number, n: number): number {
    let moved = 0;
    while (moved < n && this.chunks.length > 0) {
      const first = this.chunks[0];
      const k = Math.min(first.length, n - moved);
      copyInto(out, at + moved, k === first.length ? first : first.subarray(0, k)); // a memcpy (set() into shared memory is not)
      moved += k;
      if (k === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(k);
    }
    this.total -= moved;
    return moved;
  }
}

type Phase =
  | { kind: 'challenge-sent'; nonce: Buffer } // acceptor, waiting for the hello
  | { kind: 'awaiting-challenge' } // dialer
  | { kind: 'awaiting-welcome'; expect: Buffer } // dialer
  | { kind: 'up'; target: Uint8Array | null; filled: number }
  | { kind: 'closed' };

export class ReplicaLink {
  private phase: Phase;
  private readonly input = new ByteQueue();
  private timer: NodeJS.Timeout | null;
  private pinger: NodeJS.Timeout | null = null;
  private lastHeard = Date.now();
  private corked = false; // this turn's writes wait for one writev
  peer: number | null; // known after the handshake (the dialer knows it from the start)
  readonly address: string;
  token = 0; // the owner-table token of this link's claim (0: not installed)

  constructor(private readonly socket: net.Socket, readonly role: 'accept' | 'dial', expectedPeer: number | null, private readonly host: LinkHost) {
    this.peer = expectedPeer;
    this.address = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1_000);
    this.timer = setTimeout(() => this.refuse('timeout', this.peer), host.timeoutMs);
    if (role === 'accept') {
      const nonce = newNonce();
      this.phase = { kind: 'challenge-sent', nonce };
      socket.write(challenge(host.identity, nonce));
    } else {
      this.phase = { kind: 'awaiting-challenge' };
    }
    socket.on('data', (chunk: Buffer) => {
      this.lastHeard = Date.now();
      this.input.push(chunk);
      this.advance();
    });
    socket.on('error', () => {}); // the close that follows is what counts
    socket.on('close', () => this.onClose());
  }

  get up(): boolean {
    return this.phase.kind === 'up';
  }

  // try-send-or-drop: false when the link is not up or its peer is not draining (the caller counts the drop).
  send(message: Uint8Array): boolean {
    return this.sendParts([copyOut(message, 0, message.length)]); // a copy (a memcpy): the caller's bytes (a ring slot, the core's outbox) are reused at once
  }

  // One frame in parts the caller will not change (a sealed prepare and its attachment's copy), written as they are;
  // `written` is called once the socket is done with them (sent, or the socket gone), when this returns true.
  // Everything written in one turn leaves in one writev: the socket is corked until the next tick.
  sendParts(parts: Buffer[], written?: () => void): boolean {
    if (this.phase.kind !== 'up' || this.socket.writableLength > LINK_QUEUE_BYTES) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => { this.corked = false; this.socket.uncork(); });
    }
    parts.forEach((part, i) => this.socket.write(part, i === parts.length - 1 ? written : undefined));
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  private advance(): void {
    for (;;) {
      const phase = this.phase;
      if (phase.kind === 'closed') return;
      if (phase.kind === 'up') {
        if (!this.readFrame(phase)) return;
        continue;
      }
      if (phase.kind === 'challenge-sent') {
        const hello = this.input.take(HELLO_BYTES);
        if (!hello) return;
        const checked = checkHello(this.host.identity, phase.nonce, hello);
        if ('refusal' in checked) return this.refuse(checked.refusal, checked.claimed);
        this.peer = checked.peer;
        const refusal = this.host.install(this, checked.peer);
        if (refusal) return this.refuse(refusal, checked.peer);
        this.socket.write(checked.welcome);
        this.goUp();
        continue;
      }
      if (phase.kind === 'awaiting-challenge') {
        const bytes = this.input.take(CHALLENGE_BYTES);
        if (!bytes) return;
        const answer = answerChallenge(this.host.identity, this.peer!, bytes);
        if ('refusal' in answer) return this.refuse(answer.refusal, this.peer);
        this.socket.write(answer.hello);
        this.phase = { kind: 'awaiting-welcome', expect: answer.expectWelcome };
        continue;
      }
      const welcome = this.input.take(WELCOME_BYTES);
      if (!welcome) return;
      const refusal = checkWelcome(phase.expect, welcome) ?? this.host.install(this, this.peer!);
      if (refusal) return this.refuse(refusal, this.peer);
      this.goUp();
    }
  }

  private goUp(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.phase = { kind: 'up', target: null, filled: 0 };
    this.lastHeard = Date.now();
    this.pinger = setInterval(() => this.keepAlive(), this.host.pingMs);
    this.pinger.unref();
  }

  private keepAlive(): void {
    const quiet = Date.now() - this.lastHeard;
    if (quiet > this.host.silenceMs) {
      this.host.silent(this, quiet);
      this.socket.destroy();
      return;
    }
    this.send(this.host.ping());
  }

  // One frame if its bytes are here: true when it went through (read on), false when more bytes are needed or the
  // link was closed for it. The header is checked before the rest is read; the frame is then copied once, chunk by
  // chunk as they arrive, into the place the plane checks it.
  private readFrame(phase: { target: Uint8Array | null; filled: number }): boolean {
    if (!phase.target) {
      if (this.input.length < HEADER_BYTES) return false;
      const header = this.input.take(HEADER_BYTES)!;
      const size = this.host.frameSize(this, header);
      if (typeof size !== 'number') return this.refuseFrame(size);
      phase.target = this.host.frameTarget(this, size);
      copyInto(phase.target, 0, header);
      phase.filled = HEADER_BYTES;
    }
    const target = phase.target;
    phase.filled += this.input.takeInto(target, phase.filled, target.length - phase.filled);
    if (phase.filled < target.length) return false;
    phase.target = null;
    const refusal = this.host.frame(this, target);
    return refusal ? this.refuseFrame(refusal) : true;
  }

  private refuseFrame(reason: FrameRefusal): false {
    this.host.frameRefused(this, reason);
    this.phase = { kind: 'closed' };
    this.socket.destroy();
    return false;
  }

  private refuse(reason: Refusal, claimed: number | null): void {
    if (this.phase.kind === 'closed') return;
    this.host.refused(this, reason, claimed);
    this.phase = { kind: 'closed' };
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pinger) clearInterval(this.pinger);
    this.timer = null;
    this.pinger = null;
    if (this.phase.kind !== 'up' && this.phase.kind !== 'closed') this.refuse('closed', this.peer);
    this.phase = { kind: 'closed' };
    this.host.closed(this);
  }
}
