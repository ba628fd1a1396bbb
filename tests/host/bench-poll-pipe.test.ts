// The bench's read-ahead consumer (host/bench/suite/targets/poll-pipe.ts): with several polls on the wire it reads
// every message once, in order, also when replies come back short (the polls already sent after a short one asked
// for the wrong offsets and are dropped), never has more than its depth in flight, and refuses a reply that starts
// elsewhere than its poll asked. The pipe's walker counts records right however the replies are cut into reads.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { OffsetReader, PollPipe, PollPipeError, type OffsetPoller, type PollResult } from '../../host/bench/suite/targets/poll-pipe.js';
import { buildBatch } from '../../host/client/batch.js';
import { CoreJournalBatch as B, CoreVsrHeader as H } from '../../host/shared/core-abi.generated.js';
import { Writer } from '../../host/shared/wire/buffer.js';
import { Operation } from '../../host/shared/wire/codes.js';
import { HEADER_SIZE, encodeReply } from '../../host/shared/wire/header.js';
import { resultSuccess } from '../../host/shared/wire/result.js';
import { prng } from './helpers-prng.js';

// A partition of `stored` messages answering polls in the order they were sent, each at most `cap(offset)` messages.
function partition(stored: number, cap: (offset: number) => number, shift = 0) {
  const queue: { offset: number; count: number; resolve: (r: PollResult) => void }[] = [];
  const polled: number[] = [];
  let most = 0;
  const poller: OffsetPoller = {
    poll: (_stream, _topic, _partition, offset, count) => new Promise((resolve) => {
      polled.push(offset);
      queue.push({ offset, count, resolve });
      most = Math.max(most, queue.length);
      setImmediate(() => {
        const q = queue.shift()!; // replies in order, like one connection
        const messages = Math.max(0, Math.min(q.count, cap(q.offset), stored - q.offset));
        q.resolve({ messages, firstOffset: messages > 0 ? q.offset + shift : null });
      });
    }),
  };
  return { poller, polled, most: () => most };
}

async function readAll(reader: OffsetReader, owed: number): Promise<number[]> {
  const sizes: number[] = [];
  for (let read = 0; read < owed;) {
    const { messages } = await reader.next();
    assert.ok(messages > 0, 'the data is all there: no empty reply');
    sizes.push(messages);
    read += messages;
  }
  return sizes;
}

describe('bench read-ahead (OffsetReader)', () => {
  it('reads whole replies back to back with at most `depth` polls in flight', async () => {
    const p = partition(10_000, () => Infinity);
    const reader = new OffsetReader(p.poller, 1, 't', 0, 1000, 4, 10_000);
    assert.deepEqual(await readAll(reader, 10_000), Array(10).fill(1000));
    assert.deepEqual(p.polled, Array.from({ length: 10 }, (_, i) => i * 1000), 'each offset asked once, nothing past what is owed');
    assert.equal(p.most(), 4);
    assert.equal((await reader.next()).messages, 0, 'nothing more is owed: nothing is polled');
    assert.equal(p.polled.length, 10);
  });

  it('after short replies, polls again from where they ended and reads each message once, in order', async () => {
    const random = prng(7);
    const caps = new Map<number, number>();
    const p = partition(20_000, (offset) => {
      if (!caps.has(offset)) caps.set(offset, random() < 0.3 ? 1 + Math.floor(random() * 999) : Infinity);
      return caps.get(offset)!;
    });
    const reader = new OffsetReader(p.poller, 1, 't', 0, 1000, 3, 20_000);
    const sizes = await readAll(reader, 20_000);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 20_000, 'every message once');
    assert.ok(sizes.some((s) => s < 1000), 'some replies were short');
    assert.ok(p.most() <= 3);
  });

  it('refuses a reply that starts at another offset than its poll asked', async () => {
    const p = partition(5_000, () => Infinity, 1);
    const reader = new OffsetReader(p.poller, 1, 't', 0, 1000, 2, 5_000);
    await assert.rejects(reader.next(), (e: Error) => e instanceof PollPipeError && /poll at offset 0 answered from offset 1/.test(e.message));
  });
});

// A fake server: answers the login, then each poll with up to `count` messages from its offset (fewer when `cap`
// says so), in records of random sizes, written in random small pieces; a poll at `refuseAt` gets status 4009.
async function fakeServer(stored: number, cap: (offset: number) => number, refuseAt = -1) {
  const random = prng(11);
  const srv = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= HEADER_SIZE && pending.length >= pending.readUInt32LE(H.H_SIZE)) {
        const frame = pending.subarray(0, pending.readUInt32LE(H.H_SIZE));
        pending = pending.subarray(frame.length);
        if (frame[H.R_OPERATION] === Operation.register) {
          const login = new Writer().u32(1).u64(9n).u32(1).u8(1).bytes(new Uint8Array([0x78])).finish();
          socket.write(encodeReply({ client: 1n, requestChecksum: 0n, session: 9n, commit: 0n, timestamp: 0n, request: 0n, operation: Operation.register, status: 0, body: resultSuccess(login) }));
          continue;
        }
        const offset = Number(frame.readBigUInt64LE(frame.length - 13));
        const count = frame.readUInt32LE(frame.length - 5);
        const reply = (status: number, body?: Uint8Array) => encodeReply({ client: 1n, requestChecksum: 0n, session: 9n, commit: 0n, timestamp: 0n, request: 1n, operation: Operation.nonReplicated, status, body });
        if (offset === refuseAt) {
          socket.write(reply(4009));
          continue;
        }
        const n = Math.max(0, Math.min(count, cap(offset), stored - offset));
        const records: Uint8Array[] = [];
        for (let at = offset; at < offset + n;) {
          const k = Math.min(offset + n - at, 1 + Math.floor(random() * 40));
          const batch = Buffer.from(buildBatch(Array.from({ length: k }, () => ({ payload: new Uint8Array(1 + Math.floor(random() * 300)) }))));
          batch.writeBigUInt64LE(BigInt(at), B.B_BASE_OFFSET);
          records.push(batch);
          at += k;
        }
        const head = new Writer().u32(0).u64(BigInt(stored - 1)).u32(n).finish();
        const bytes = reply(0, Buffer.concat([head, ...records]));
        for (let at = 0; at < bytes.length;) {
          const piece = 1 + Math.floor(random() * 700);
          socket.write(bytes.subarray(at, at + piece));
          at += piece;
        }
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

describe('bench poll pipe against a server', () => {
  it('walks replies cut anywhere: every message counted once, in order, short replies included', async () => {
    const srv = await fakeServer(3_000, (offset) => (offset % 700 === 0 ? 55 : Infinity));
    const pipe = await PollPipe.open(srv.address, 'iggy', 'iggy', 10_000);
    try {
      const reader = new OffsetReader(pipe, 1, 't', 0, 100, 3, 3_000);
      const sizes = await readAll(reader, 3_000);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 3_000);
      assert.ok(sizes.includes(55), 'a short reply came');
    } finally {
      await pipe.close();
      await srv.close();
    }
  });

  it('rejects a poll the server refuses, with its status', async () => {
    const srv = await fakeServer(3_000, () => Infinity, 0);
    const pipe = await PollPipe.open(srv.address, 'iggy', 'iggy', 10_000);
    try {
      await assert.rejects(pipe.poll(1, 't', 0, 0, 100), (e: Error) => e instanceof PollPipeError && /status 4009/.test(e.message));
      assert.deepEqual(await pipe.poll(1, 't', 0, 100, 100), { messages: 100, firstOffset: 100 }, 'the connection goes on');
    } finally {
      await pipe.close();
      await srv.close();
    }
  });
});
