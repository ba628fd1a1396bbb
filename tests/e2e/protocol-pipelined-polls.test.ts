// A client that sends requests ahead of their replies (the protocol answers a connection in order, §1): the
// server works on consecutive polls without auto-commit together (ClientConnection's read window) and still
// answers each as if alone and in order; a send between polls is seen by the polls after it; polls with
// auto-commit are never worked on together (each Next starts where the one before it committed). Both partitions
// of the topic, so polls served by shard 0 itself and by the other shard are both pipelined.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readPollReply } from '../../host/client/batch.js';
import { FrameReader } from '../../host/client/frame-reader.js';
import * as req from '../../host/client/requests.js';
import { readLogin } from '../../host/client/responses.js';
import { Operation, commandByCode } from '../../host/shared/wire/codes.js';
import { decodeServerFrame, encodeRequestHeader } from '../../host/shared/wire/header.js';
import { parseResult } from '../../host/shared/wire/result.js';
import { closeStreamFixture, openStreamFixture, type StreamFixture } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const POLL = 100;
const SEND = 101;

// One logged-in connection that writes every request at once and hands back the replies' bodies in order.
class Pipelined {
  private readonly replies: Uint8Array[] = [];
  private session = 0n;
  private readonly client = 0x5eed_0000_0000_0001n;
  private constructor(private readonly socket: net.Socket) {}

  static async open(address: string): Promise<Pipelined> {
    const [host, port] = address.split(':');
    let p: Pipelined | null = null;
    const reader = new FrameReader((frame) => p!.replies.push(frame));
    const socket = net.connect({ host, port: Number(port), onread: { buffer: () => reader.target(), callback: (n: number) => { reader.arrived(n); return true; } } });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    p = new Pipelined(socket);
    const [login] = await p.exchange([{ operation: Operation.register, code: 0, body: req.registerWithPassword('iggy', 'iggy') }]);
    const result = parseResult(login);
    assert.ok(result.ok);
    p.session = readLogin(result.payload).session;
    return p;
  }

  // Writes all `requests` back to back, then waits for as many replies; each must be a reply with status 0.
  async exchange(requests: { operation?: number; code: number; body: Uint8Array }[]): Promise<Uint8Array[]> {
    const first = this.replies.length;
    for (const r of requests) {
      const operation = r.operation ?? commandByCode(r.code)!.operation;
      const register = operation === Operation.register;
      const header = encodeRequestHeader({
        client: this.client, request: register ? 0n : 1n, operation, session: register ? 0n : this.session,
        code: operation === Operation.nonReplicated ? r.code : 0, body: r.body,
      });
      this.socket.write(Buffer.concat([header, r.body]));
    }
    await waitFor(`${requests.length} replies`, 10_000, async () => (this.replies.length >= first + requests.length ? true : undefined));
    return this.replies.slice(first, first + requests.length).map((frame) => {
      const reply = decodeServerFrame(frame);
      assert.equal(reply.kind, 'reply');
      assert.equal(reply.kind === 'reply' && reply.status, 0);
      return reply.kind === 'reply' ? reply.body : new Uint8Array(0);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

const offsetsOf = (body: Uint8Array) => readPollReply(body, true).messages.map((m) => Number(m.offset));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('pipelined requests on one connection', () => {
  let f: StreamFixture;
  let p: Pipelined;
  before(async () => {
    f = await openStreamFixture('pipelined', 't', 2);
    for (let partition = 0; partition < 2; partition++) {
      for (let b = 0; b < 5; b++) {
        await f.c.sendMessages({ stream: f.stream, topic: f.topic, partitioning: { kind: 'partition', partition }, messages: range(0, 10).map((i) => ({ payload: `p${partition}-${b * 10 + i}` })) });
      }
    }
    p = await Pipelined.open(f.s.address);
  });
  after(async () => {
    p?.close();
    await closeStreamFixture(f);
  });

  for (const partition of [0, 1]) {
    it(`partition ${partition}: polls by offset answered in order, each as if alone; a send between them is seen by the polls after it`, async () => {
      const poll = (offset: number, count = 10) => ({ code: POLL, body: req.pollMessages({ stream: f.stream, topic: f.topic, partition, strategy: { kind: 'offset', value: BigInt(offset) }, count }) });
      const send = { code: SEND, body: req.sendMessages({ stream: f.stream, topic: f.topic, partitioning: { kind: 'partition', partition }, messages: range(0, 10).map((i) => ({ payload: `late-${i}` })) }) };
      const replies = await p.exchange([poll(30), poll(0), poll(20, 15), poll(40), send, poll(45, 20), poll(50)]);
      assert.deepEqual(offsetsOf(replies[0]), range(30, 10));
      assert.deepEqual(offsetsOf(replies[1]), range(0, 10));
      assert.deepEqual(offsetsOf(replies[2]), range(20, 15));
      assert.deepEqual(offsetsOf(replies[3]), range(40, 10));
      assert.deepEqual(offsetsOf(replies[5]), range(45, 15), 'the send before it is visible');
      assert.deepEqual(offsetsOf(replies[6]), range(50, 10));
      assert.deepEqual(readPollReply(replies[6]).messages.map((m) => new TextDecoder().decode(m.payload)), range(0, 10).map((i) => `late-${i}`));
    });
  }

  it('polls Next with auto-commit, pipelined, each start where the one before committed', async () => {
    const next = { code: POLL, body: req.pollMessages({ consumer: { kind: 'consumer', id: 7 }, stream: f.stream, topic: f.topic, partition: 1, strategy: { kind: 'next' }, count: 10, autoCommit: true }) };
    const replies = await p.exchange([next, next, next]);
    assert.deepEqual(replies.map(offsetsOf), [range(0, 10), range(10, 10), range(20, 10)]);
  });
});
