// A raw connection to a replica port, for playing a (good or bad) peer in the handshake (handshake.ts): the test
// holds the roles a real replica would, or breaks them on purpose.
import assert from 'node:assert/strict';
import net from 'node:net';
import { CHALLENGE_BYTES, WELCOME_BYTES, answerChallenge, checkWelcome, type Identity } from '../../../host/node/cluster/handshake.js';
import { parseRoster } from '../../../host/node/cluster/roster.js';
import { withTimeout } from './server.js';

const BOUND_MS = 15_000;

export class RawPeer {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private readonly closedNow: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiting?.();
    });
    this.socket.on('error', () => {});
    this.closedNow = new Promise((resolve) => this.socket.once('close', () => { this.waiting?.(); resolve(); }));
  }

  // Resolves when the node closed the connection (bounded: a node that never does fails the test).
  get closed(): Promise<void> {
    return withTimeout(this.closedNow, BOUND_MS, 'the node closed the connection');
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.buffered.length < n) {
      if (this.socket.destroyed) return null;
      await new Promise<void>((resolve) => { this.waiting = resolve; });
      this.waiting = null;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  // The acceptor's CHALLENGE (bounded), or null when the node closed first.
  challenge(): Promise<Buffer | null> {
    return withTimeout(this.read(CHALLENGE_BYTES), BOUND_MS, 'the challenge arrived');
  }

  // The dialer's half of the handshake as `me` towards replica `peer`: true when the acceptor welcomed us.
  handshake(me: Identity, peer: number): Promise<boolean> {
    return withTimeout(this.handshakeUnbounded(me, peer), BOUND_MS, 'the handshake ended');
  }

  private async handshakeUnbounded(me: Identity, peer: number): Promise<boolean> {
    const challenge = await this.read(CHALLENGE_BYTES);
    if (!challenge) return false;
    const answer = answerChallenge(me, peer, challenge);
    assert.ok(!('refusal' in answer), 'the challenge of a real node is well formed');
    this.write(answer.hello);
    return this.welcomed(answer.expectWelcome);
  }

  // After a HELLO: true when the node answered with the expected WELCOME, false when it closed instead (bounded).
  async welcomed(expect: Buffer): Promise<boolean> {
    const welcome = await withTimeout(this.read(WELCOME_BYTES), BOUND_MS, 'a welcome or a close');
    return welcome !== null && checkWelcome(expect, welcome) === null;
  }

  close(): void {
    this.socket.destroy();
  }
}

// The identity of replica `self` of `roster` holding `secret` (cluster id 0 unless given).
export function identity(roster: string, self: number, secret: string, clusterId = 0n): Identity {
  const parsed = parseRoster(roster, 'test');
  return { self, clusterId, rosterHash: parsed.hash, secret, knows: (id) => id < parsed.entries.length };
}
