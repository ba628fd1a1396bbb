// The frame arena (large send frames in shared memory): regions never overlap, come back merged, and a full arena
// says no instead of handing out memory it does not have; a connection gives back every region it took, answered,
// queued or cut off mid-frame.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { FrameArena, frameArenaBytes } from '../../../host/node/net/frame-arena.js';
import { ClientConnection, type ConnectionHandler } from '../../../host/node/net/client-connection.js';
import { BufferBudget } from '../../../host/node/net/connection-limits.js';
import { NetCounters } from '../../../host/node/net/net-counters.js';
import { LogLimiter } from '../../../host/shared/log-limiter.js';
import { logger } from '../../../host/shared/log.js';
import { encodeRequest, FrameSplitter } from '../../../host/shared/wire/header.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { prng } from '../helpers-prng.js';

const MIB = 1 << 20;

function memory(bytes: number): Uint8Array {
  return new Uint8Array(new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536, shared: true }).buffer as unknown as ArrayBuffer);
}

// A logged-in connection with budgets too large to matter here.
function serve(socket: net.Socket, handler: ConnectionHandler, arena: FrameArena): void {
  const counters = new NetCounters();
  const limits = {
    maxFrameBytes: 64 * MIB, unauthenticatedFrameBytes: 4096, connectionBufferBytes: 1 << 30, bufferedBytes: 1 << 30,
    frameTimeoutMs: 60_000, loginTimeoutMs: 0, idleTimeoutMs: 0, maxConnections: 10,
  };
  const connection = new ClientConnection(1, socket, 'test', handler, { limits, counters, budget: new BufferBudget(limits.bufferedBytes, counters), logs: new LogLimiter(logger('test')), arena });
  connection.setAuthenticated(true);
}

describe('frame arena', () => {
  it('hands out disjoint regions, refuses when full, and merges what comes back into one extent', () => {
    const u8 = memory(4 * MIB);
    const arena = new FrameArena(u8, 64 * 1024, 2 * MIB);
    const random = prng(3);
    const held: Buffer[] = [];
    for (let step = 0; step < 5000; step++) {
      if (held.length > 0 && random() < 0.5) {
        arena.release(held.splice(Math.floor(random() * held.length), 1)[0]);
        continue;
      }
      const bytes = 1 + Math.floor(random() * 300_000);
      const region = arena.take(bytes);
      if (region === null) continue;
      assert.equal(region.length, bytes);
      assert.equal(region.buffer, u8.buffer, 'in the shared memory');
      const at = region.byteOffset;
      assert.ok(at >= 64 * 1024 && at + bytes <= 64 * 1024 + 2 * MIB, 'inside the arena');
      for (const other of held) assert.ok(at + bytes <= other.byteOffset || other.byteOffset + other.length <= at, 'regions overlap');
      held.push(region);
    }
    assert.equal(arena.take(3 * MIB), null, 'larger than the arena');
    for (const region of held.splice(0)) arena.release(region);
    assert.equal(arena.bytesInUse, 0);
    assert.notEqual(arena.take(2 * MIB), null, 'everything merged back into one extent');
    assert.throws(() => arena.release(Buffer.alloc(10)), /does not hold/);
    assert.deepEqual([frameArenaBytes(200 * MIB), frameArenaBytes(40 * MIB), frameArenaBytes(10 * MIB)], [32 * MIB, 10 * MIB, 0]);
  });

  it('the splitter assembles a placed frame where the placer says, from chunks of any size', () => {
    const u8 = memory(4 * MIB);
    const arena = new FrameArena(u8, 0, 4 * MIB);
    const big = encodeRequest({ client: 1n, request: 1n, operation: Operation.sendMessages, session: 1n, body: new Uint8Array(300_000).map((_, i) => i & 0xff) });
    const small = encodeRequest({ client: 1n, request: 2n, operation: 2, session: 1n, code: 1 });
    const stream = Buffer.concat([small, big, small]);
    for (const chunk of [1, 100, 4096, 65_536, stream.length]) {
      const splitter = new FrameSplitter(64 * MIB, (_head, size) => (size > 1000 ? arena.take(size) : null));
      const frames: Uint8Array[] = [];
      for (let at = 0; at < stream.length; at += chunk) frames.push(...splitter.push(stream.subarray(at, at + chunk)));
      assert.equal(frames.length, 3, `chunks of ${chunk}`);
      // Placed when it arrives in pieces; one that came whole in a single chunk is taken from the chunk as it is.
      assert.equal(arena.owns(frames[1]), chunk < big.length, `chunks of ${chunk}: where the large frame is`);
      assert.ok(Buffer.from(frames[1]).equals(big) && Buffer.from(frames[2]).equals(small));
      assert.ok(!arena.owns(frames[0]) && Buffer.from(frames[0]).equals(small));
      if (arena.owns(frames[1])) arena.release(frames[1]);
    }
    assert.equal(arena.bytesInUse, 0);
  });

  it('a connection releases its frames once answered, and those queued or half-read when the client goes', async () => {
    const u8 = memory(8 * MIB);
    const arena = new FrameArena(u8, 0, 8 * MIB);
    const seen: boolean[] = [];
    let answer: () => void = () => {};
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => { closed = resolve; });
    const server = net.createServer((socket) => {
      serve(socket, {
        request: (_c, frame) => {
          seen.push(arena.owns(frame));
          return new Promise((resolve) => { answer = () => resolve(new Uint8Array(1)); });
        },
        closed: () => closed(),
      }, arena);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const send = (request: bigint, bytes: number) => encodeRequest({ client: 1n, request, operation: Operation.sendMessages, session: 1n, body: new Uint8Array(bytes) });
    const waitFor = async (what: string, condition: () => boolean) => {
      for (const deadline = Date.now() + 5000; !condition();) {
        assert.ok(Date.now() < deadline, `timed out: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    client.write(send(1n, 1 << 20));
    await waitFor('the first request', () => seen.length === 1);
    assert.deepEqual(seen, [true], 'a 1 MiB send frame is assembled in the arena');
    assert.ok(arena.bytesInUse >= 1 << 20);
    client.write(send(2n, 100)); // small: the JS heap
    client.write(send(3n, 500_000)); // queued behind the first
    client.write(send(4n, 2 << 20).subarray(0, 300_000)); // cut off mid-frame
    await waitFor('the later frames to be read', () => arena.regions === 3);
    answer();
    await waitFor('the second request', () => seen.length === 2);
    assert.deepEqual(seen, [true, false]);
    assert.equal(arena.regions, 2, 'the answered frame went back');
    client.destroy();
    await gone;
    assert.equal(arena.bytesInUse, 0, 'queued and half-read frames went back when the connection closed');
    answer();
    server.close();
  });

  it('memory lent for an answer goes back once the socket has it, or when the client is gone before reading it', async () => {
    const u8 = memory(32 * MIB);
    const arena = new FrameArena(u8, 0, 32 * MIB);
    const sizes = [1 * MIB, 24 * MIB]; // the second is more than the socket buffers hold: unread, its write waits
    let served = 0;
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => { closed = resolve; });
    const server = net.createServer((socket) => {
      serve(socket, {
        request: async () => {
          const region = arena.take(sizes[served++])!;
          region.fill(7);
          new DataView(region.buffer, region.byteOffset).setUint32(48, region.length, true); // a frame of that size
          return { pieces: [region], done: () => arena.release(region) };
        },
        closed: () => closed(),
      }, arena);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    let received = 0;
    client.on('data', (chunk: Buffer) => { received += chunk.length; });
    await new Promise((resolve) => client.once('connect', resolve));
    const ask = (request: bigint) => client.write(encodeRequest({ client: 1n, request, operation: 2, session: 1n, code: 1 }));
    const waitFor = async (what: string, condition: () => boolean) => {
      for (const deadline = Date.now() + 5000; !condition();) {
        assert.ok(Date.now() < deadline, `timed out: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    ask(1n);
    await waitFor('the first answer read', () => received === 1 * MIB);
    await waitFor('its region given back', () => arena.bytesInUse === 0);
    client.pause(); // reads nothing more
    ask(2n);
    await waitFor('the second answer lent', () => served === 2);
    assert.ok(arena.bytesInUse >= 24 * MIB, 'held while the socket still has it');
    client.destroy();
    await gone;
    await waitFor('the unread answer given back after the client went', () => arena.bytesInUse === 0);
    server.close();
  });

  it('a frame completed just before a framing error in the same read goes back when the connection closes', async () => {
    const u8 = memory(4 * MIB);
    const arena = new FrameArena(u8, 0, 4 * MIB);
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => { closed = resolve; });
    const server = net.createServer((socket) => {
      serve(socket, { request: async () => new Uint8Array(1), closed: () => closed() }, arena);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      await new Promise((resolve) => client.once('connect', resolve));
      const frame = encodeRequest({ client: 1n, request: 1n, operation: Operation.sendMessages, session: 1n, body: new Uint8Array(200_000) });
      const bad = new Uint8Array(256); // a header whose size is 0
      client.write(frame.subarray(0, frame.length - 100));
      for (const deadline = Date.now() + 5000; arena.regions === 0;) {
        assert.ok(Date.now() < deadline, 'the frame never went to the arena');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // One write of 356 bytes: the frame's end and the bad header arrive together (one read on loopback).
      client.write(Buffer.concat([frame.subarray(frame.length - 100), bad]));
      await gone; // the server closes on the bad size
      assert.equal(arena.bytesInUse, 0, 'no region leaked');
    } finally {
      client.destroy();
      server.close();
    }
  });
});
