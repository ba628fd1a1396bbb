// Malformed and hostile input over a real server (iggy-client-wire.md §2, §4.1, §5, §8.1): framing errors close
// the connection, request-level errors answer with a status or an eviction and leave it usable, and one client's
// broken frame never affects another.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writer, utf8 } from '../../host/shared/wire/buffer.js';
import { HEADER_SIZE, MAX_FRAME_SIZE, encodeRequest } from '../../host/shared/wire/header.js';
import { Operation } from '../../host/shared/wire/codes.js';
import { IggyClient } from '../../host/client/client.js';
import { Connection } from '../../host/client/connection.js';
import { ConnectionClosed, EvictionError, IggyError } from '../../host/client/errors.js';
import { buildBatch } from '../../host/client/batch.js';
import { xxh3_64 } from '../../host/client/xxh3.js';
import * as req from '../../host/client/requests.js';
import { withTimeout } from './helpers/server.js';
import { closeStreamFixture, openStreamFixture, code, ROOT, unique, type ProtocolServer } from './helpers/protocol.js';

const evicted = (reason: number) => (e: unknown) => e instanceof EvictionError && e.reason === reason;
const CLIENT = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321n;

function withSize(frame: Uint8Array, size: number): Uint8Array {
  new DataView(frame.buffer, frame.byteOffset).setUint32(48, size, true);
  return frame;
}

describe('protocol: bad input', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  let topic: number;
  before(async () => {
    ({ s, c, stream, topic } = await openStreamFixture('bad', 't', 1));
  });
  after(() => closeStreamFixture({ s, c }));

  const closedWithin = (conn: Connection) => withTimeout(conn.closed, 5_000, 'the server closed the connection');

  it('a frame size below 256 closes the connection', async () => {
    const conn = await Connection.open(s.address, 5_000);
    const frame = withSize(encodeRequest({ client: CLIENT, request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1 }), 100);
    await assert.rejects(conn.request(frame), ConnectionClosed);
    assert.ok((await closedWithin(conn)) instanceof ConnectionClosed);
  });

  it('a frame size above 64 MiB closes the connection without the body being sent', async () => {
    const conn = await Connection.open(s.address, 5_000);
    const frame = withSize(encodeRequest({ client: CLIENT, request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1 }), MAX_FRAME_SIZE + 1);
    await assert.rejects(conn.request(frame), ConnectionClosed);
    await closedWithin(conn);
  });

  it('a replicated op before login is eviction 1 (NoSession)', async () => {
    const conn = await Connection.open(s.address, 5_000);
    try {
      const frame = encodeRequest({ client: CLIENT, request: 1n, operation: Operation.createStream, session: 1n, body: req.createStream(unique('early')) });
      const answer = await conn.request(frame);
      assert.deepEqual(answer.kind === 'eviction' && answer.reason, 1);
      const ping = await conn.request(encodeRequest({ client: CLIENT + 1n, request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1 }));
      assert.deepEqual(ping.kind === 'reply' && ping.status, 0, 'the socket stays open after an eviction');
    } finally {
      await conn.close();
    }
  });

  it('a non-ping read before login is status 40; SendMessages before login is eviction 1', async () => {
    const anon = await s.connect(null);
    try {
      await assert.rejects(anon.getStats(), code(40));
      await assert.rejects(anon.rawCommand(201), code(40));
      const send = encodeRequest({ client: CLIENT, request: 1n, operation: Operation.sendMessages, session: 1n, body: req.sendMessages({ stream, topic, messages: [{ payload: 'x' }] }) });
      const answer = await anon.raw(send);
      assert.deepEqual(answer.kind === 'eviction' && answer.reason, 1);
    } finally {
      await anon.close();
    }
  });

  it('an unknown vendor code is status 3; a replicated code sent as NonReplicated is status 5; the connection keeps working', async () => {
    await assert.rejects(c.rawCommand(60001), code(3));
    const sneaky = encodeRequest({ client: c.clientId, request: 1n, operation: Operation.nonReplicated, session: c.sessionNumber!, code: 202, body: req.createStream(unique('sneaky')) });
    const answer = await c.raw(sneaky);
    assert.deepEqual(answer.kind === 'reply' && answer.status, 5);
    await c.ping();
    const made = await c.createStream(unique('still-works'));
    await c.deleteStream(made.id);
  });

  it('legacy login codes 38 and 44 sent raw are eviction 15; the socket can log in again', async () => {
    const legacy = new Writer().u8(4).bytes(utf8.encode('iggy')).u8(4).bytes(utf8.encode('iggy')).u32(0).u32(0).finish();
    const victim = await s.connect();
    try {
      await assert.rejects(victim.rawCommand(38, legacy), (e: unknown) => e instanceof EvictionError && e.reason === 15 && e.code === 4);
      assert.equal(victim.sessionNumber, null);
      await assert.rejects(victim.rawCommand(44, new Writer().u8(3).bytes(utf8.encode('tok')).finish()), evicted(15));
      assert.equal((await victim.login(ROOT.username, ROOT.password)).userId, 0);
      await victim.getStreams();
    } finally {
      await victim.close();
    }
  });

  it('a Register body that does not decode is eviction 15; an old protocol version is eviction 14', async () => {
    const conn = await Connection.open(s.address, 5_000);
    try {
      const garbage = await conn.request(encodeRequest({ client: CLIENT, request: 0n, operation: Operation.register, session: 0n, body: Uint8Array.of(1, 2) }));
      assert.deepEqual(garbage.kind === 'eviction' && garbage.reason, 15);
      const good = req.registerWithPassword('iggy', 'iggy');
      const old = good.slice();
      new DataView(old.buffer).setUint32(0, (0 << 20) | (1 << 10), true); // 0.1.0
      const answer = await conn.request(encodeRequest({ client: CLIENT + 2n, request: 0n, operation: Operation.register, session: 0n, body: old }));
      assert.equal(answer.kind, 'eviction');
      if (answer.kind === 'eviction') {
        assert.equal(answer.reason, 14);
        assert.ok(answer.versionMin >= 1 && answer.versionMin <= answer.versionMax, 'the accepted window is reported');
      }
    } finally {
      await conn.close();
    }
  });

  it('a request checksum that does not match the body is status 4; a matching one is accepted', async () => {
    const getStreams = (requestChecksum: bigint) =>
      c.raw(encodeRequest({ client: c.clientId, request: 1n, operation: Operation.nonReplicated, session: c.sessionNumber!, code: 201, requestChecksum }));
    const wrong = await getStreams(12345n);
    assert.deepEqual(wrong.kind === 'reply' && wrong.status, 4);
    const right = await getStreams(xxh3_64(new Uint8Array(0))); // 0x2d06800538d394c2, §13
    assert.deepEqual(right.kind === 'reply' && right.status, 0);
  });

  it('a truncated body is status 3', async () => {
    await assert.rejects(c.rawCommand(202, Uint8Array.of(5, 0x61)), code(3));
    await assert.rejects(c.rawCommand(200, Uint8Array.of(1, 4, 0)), code(3));
    await assert.rejects(c.rawCommand(100, Uint8Array.of(1)), code(3));
    await c.ping();
  });

  it('a message whose frame checksum is wrong is 4027; a wrong batch checksum is 4039; nothing is stored', async () => {
    const before = (await c.getTopic(stream, topic))!.messagesCount;
    const batch = buildBatch([{ payload: 'good' }, { payload: 'evil' }]);
    const badFrame = batch.slice();
    badFrame[batch.length - 1] ^= 0x20; // last payload byte: the frame checksum no longer matches; the batch one does
    const send = (b: Uint8Array) => c.rawCommand(101, req.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: '' }, { payload: '' }] }, b));
    await assert.rejects(send(badFrame), code(4027));
    const badBatch = batch.slice();
    badBatch[40] ^= 1;
    await assert.rejects(send(badBatch), code(4039));
    const lying = batch.slice();
    new DataView(lying.buffer).setBigUint64(32, BigInt(lying.length + 1), true);
    await assert.rejects(send(lying), (e: unknown) => e instanceof IggyError);
    assert.equal((await c.getTopic(stream, topic))!.messagesCount, before);
    await send(batch); // the untouched batch is accepted
  });

  it('a metadata body over the 1 MiB log limit (trailing bytes) is status 3 (four connections: both shards); the server keeps serving', async () => {
    const clients = await Promise.all([1, 2, 3, 4].map(() => s.connect()));
    try {
      for (const client of clients) {
        const body = new Uint8Array((1 << 20) + 16);
        body.set(req.identifier(unique('none')));
        await assert.rejects(client.rawCommand(203, body), code(3));
        await client.ping();
      }
      assert.equal(s.server.child.exitCode, null, 'the server is still running');
    } finally {
      await Promise.all(clients.map((x) => x.close()));
    }
  });

  it('a client that disconnects mid-frame does not affect others', async () => {
    const half = encodeRequest({ client: CLIENT, request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1, body: new Uint8Array(1000) });
    const quitter = await Connection.open(s.address, 5_000);
    quitter.writeRaw(half.subarray(0, HEADER_SIZE + 10));
    await quitter.close();
    const staller = await Connection.open(s.address, 5_000);
    staller.writeRaw(half.subarray(0, 100)); // stays open with a partial header
    try {
      const other = await s.connect();
      const made = await other.createStream(unique('unaffected'));
      assert.deepEqual((await other.getStream(made.id))?.name, made.name);
      await c.ping();
      await other.close();
    } finally {
      await staller.close();
    }
  });
});
