// ReplicaLink over a real loopback socket with a stand-in plane: frames arrive whole however TCP cuts them (one
// byte at a time, several in one write), nothing is read as a frame before the handshake, a refused frame closes
// the link, and a dialing link and an accepting link handshake with each other.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { CHALLENGE_BYTES, answerChallenge, type Identity, type Refusal } from '../../../host/node/cluster/handshake.js';
import type { FrameRefusal } from '../../../host/node/cluster/replica-counters.js';
import { ReplicaLink, type LinkHost } from '../../../host/node/cluster/replica-link.js';
import { parseRoster } from '../../../host/node/cluster/roster.js';
import { H, HEADER_SIZE } from '../../../host/shared/vsr-abi.js';

const roster = parseRoster('0=127.0.0.1:1/2,1=127.0.0.1:3/4,2=127.0.0.1:5/6', 'test');
const identity = (self: number, secret = 's'): Identity => ({ self, clusterId: 0n, rosterHash: roster.hash, secret, knows: (id) => id < 3 });

const PING = Buffer.alloc(HEADER_SIZE, 0x11);

class FakePlane implements LinkHost {
  readonly timeoutMs = 2_000;
  pingMs = 60_000;
  silenceMs = 120_000;
  silences: number[] = [];
  installed: number[] = [];
  refusals: Refusal[] = [];
  frames: Buffer[] = [];
  frameRefusals: FrameRefusal[] = [];
  closedLinks = 0;
  constructor(readonly identity: Identity, private readonly refuseBig = false) {}
  install(_link: ReplicaLink, peer: number): Refusal | null {
    this.installed.push(peer);
    return null;
  }
  refused(_link: ReplicaLink, reason: Refusal): void {
    this.refusals.push(reason);
  }
  frameSize(_link: ReplicaLink, header: Buffer): number | FrameRefusal {
    const size = header.readUInt32LE(H.size);
    return this.refuseBig && size > 1000 ? 'size' : size;
  }
  frameTarget(_link: ReplicaLink, size: number): Uint8Array {
    return Buffer.alloc(size);
  }
  frame(_link: ReplicaLink, message: Uint8Array): FrameRefusal | null {
    this.frames.push(Buffer.from(message));
    return message[HEADER_SIZE - 1] === 0xee ? 'checksum' : null;
  }
  frameRefused(_link: ReplicaLink, reason: FrameRefusal): void {
    this.frameRefusals.push(reason);
  }
  closed(): void {
    this.closedLinks++;
  }
  ping(): Uint8Array {
    return PING;
  }
  silent(_link: ReplicaLink, quietMs: number): void {
    this.silences.push(quietMs);
  }
}

function message(size: number, fill: number): Buffer {
  const b = Buffer.alloc(size, fill);
  b.writeUInt32LE(size, H.size);
  b[HEADER_SIZE - 1] = 0;
  return b;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// An accepting ReplicaLink (identity 2) on a loopback listener, and a raw client socket to it.
async function acceptor(plane: FakePlane): Promise<{ client: net.Socket; received: () => Buffer; done: () => void }> {
  let link: ReplicaLink | null = null;
  const server = net.createServer((socket) => { link = new ReplicaLink(socket, 'accept', null, plane); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  let bytes = Buffer.alloc(0);
  client.on('data', (d: Buffer) => { bytes = Buffer.concat([bytes, d]); });
  client.on('error', () => {});
  await until('the challenge', () => bytes.length >= CHALLENGE_BYTES);
  return { client, received: () => bytes, done: () => { (link as ReplicaLink | null)?.close(); client.destroy(); server.close(); } };
}

test('frames cut anywhere by TCP, or several in one write, arrive whole and in order, only after the handshake', async () => {
  const plane = new FakePlane(identity(2));
  const { client, received, done } = await acceptor(plane);
  try {
    const answer = answerChallenge(identity(0), 2, received().subarray(0, CHALLENGE_BYTES));
    assert.ok(!('refusal' in answer));
    const a = message(HEADER_SIZE + 40, 1);
    const b = message(HEADER_SIZE, 2);
    const c = message(HEADER_SIZE + 300, 3);
    // The hello and the first frame in one write, then the rest one byte at a time, then two frames at once.
    client.write(Buffer.concat([answer.hello, a.subarray(0, 100)]));
    for (const byte of a.subarray(100)) client.write(Buffer.of(byte));
    client.write(Buffer.concat([b, c]));
    await until('three frames', () => plane.frames.length === 3);
    assert.deepEqual(plane.installed, [0]);
    assert.deepEqual(plane.frames, [a, b, c]);
  } finally {
    done();
  }
});

test('a refused frame (by its header or as a whole) closes the link; a wrong secret is refused before any frame', async () => {
  for (const [bad, reason] of [[message(2000, 4), 'size'], [(() => { const m = message(HEADER_SIZE, 5); m[HEADER_SIZE - 1] = 0xee; return m; })(), 'checksum']] as const) {
    const plane = new FakePlane(identity(2), true);
    const { client, received, done } = await acceptor(plane);
    try {
      const answer = answerChallenge(identity(0), 2, received().subarray(0, CHALLENGE_BYTES));
      assert.ok(!('refusal' in answer));
      client.write(Buffer.concat([answer.hello, bad, message(HEADER_SIZE, 6)]));
      await until('the link closed', () => plane.closedLinks === 1);
      assert.deepEqual(plane.frameRefusals, [reason]);
      assert.ok(plane.frames.every((f) => f[0] !== 6), 'nothing after the refused frame was read');
    } finally {
      done();
    }
  }
  const plane = new FakePlane(identity(2));
  const { client, received, done } = await acceptor(plane);
  try {
    const answer = answerChallenge(identity(0, 'wrong'), 2, received().subarray(0, CHALLENGE_BYTES));
    assert.ok(!('refusal' in answer));
    client.write(Buffer.concat([answer.hello, message(HEADER_SIZE, 7)]));
    await until('the link closed', () => plane.closedLinks === 1);
    assert.deepEqual(plane.refusals, ['bad_mac']);
    assert.deepEqual(plane.installed, []);
    assert.equal(plane.frames.length, 0);
  } finally {
    done();
  }
});

test('a dialing link and an accepting link complete the handshake with each other and exchange frames', async () => {
  const dialerPlane = new FakePlane(identity(0));
  const acceptorPlane = new FakePlane(identity(1));
  let accepted: ReplicaLink | null = null;
  const server = net.createServer((socket) => { accepted = new ReplicaLink(socket, 'accept', null, acceptorPlane); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const dialer = new ReplicaLink(socket, 'dial', 1, dialerPlane);
  try {
    await until('both installed', () => dialerPlane.installed.length === 1 && acceptorPlane.installed.length === 1);
    assert.deepEqual(dialerPlane.installed, [1]);
    assert.deepEqual(acceptorPlane.installed, [0]);
    assert.equal(dialer.send(message(HEADER_SIZE, 8)), true);
    assert.equal(accepted!.send(message(HEADER_SIZE + 8, 9)), true);
    await until('a frame each way', () => acceptorPlane.frames.length === 1 && dialerPlane.frames.length === 1);
    assert.equal(acceptorPlane.frames[0][0], 8);
    assert.equal(dialerPlane.frames[0][0], 9);
  } finally {
    dialer.close();
    server.close();
  }
  await until('both closed', () => dialerPlane.closedLinks === 1 && acceptorPlane.closedLinks === 1);
  assert.equal(dialer.send(message(HEADER_SIZE, 10)), false, 'a closed link sends nothing');
});

test('an up link pings its peer, and closes once it heard nothing for the silence bound', async () => {
  const plane = new FakePlane(identity(2));
  plane.pingMs = 20;
  plane.silenceMs = 1_000;
  const { client, received, done } = await acceptor(plane);
  try {
    const answer = answerChallenge(identity(0), 2, received().subarray(0, CHALLENGE_BYTES));
    assert.ok(!('refusal' in answer));
    client.write(answer.hello);
    // While the peer talks (any frame), the link stays up and pings it.
    const talking = setInterval(() => client.write(message(HEADER_SIZE, 1)), 20);
    await until('pings received', () => received().includes(Buffer.concat([PING, PING])));
    const since = Date.now();
    await until('frames flowing for twice the silence bound', () => Date.now() - since > 2 * plane.silenceMs && plane.frames.length > 10);
    clearInterval(talking);
    assert.equal(plane.closedLinks, 0, 'a talking peer is never silent');
    await until('the silent link closed', () => plane.closedLinks === 1);
    assert.equal(plane.silences.length, 1);
    assert.ok(plane.silences[0] > plane.silenceMs);
  } finally {
    done();
  }
});
