// IggyClient against a scripted server: the exact frames it sends (§4.3 numbering, §13 vectors), and how each kind
// of server answer maps to a result or a named error.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Writer, utf8 } from '../../host/shared/wire/buffer.js';
import { encodeEviction } from '../../host/shared/wire/header.js';
import { resultRejection, resultSuccess } from '../../host/shared/wire/result.js';
import { COMMANDS, Operation, commandByCode } from '../../host/shared/wire/codes.js';
import { IggyClient } from '../../host/client/client.js';
import { Connection } from '../../host/client/connection.js';
import { ConnectionClosed, EvictionError, IggyError, RequestTimeout } from '../../host/client/errors.js';
import { registerWithPassword, registerWithToken } from '../../host/client/requests.js';
import { FakeServer, reply, type Received } from './client-fake-server.js';

const loginReply = (r: Received, session: bigint, userId = 0): Uint8Array => {
  const w = new Writer().u32(userId).u64(session).u32(11264).u8(5).bytes(utf8.encode('0.1.0'));
  return reply(r, resultSuccess(w.finish()));
};

const cluster = new Writer().u32(11).bytes(utf8.encode('single-node')).u32(1).u32(9).bytes(utf8.encode('iggy-node'))
  .u32(9).bytes(utf8.encode('127.0.0.1')).u16(8090).u16(8080).u16(3000).u16(8092).u8(0).u8(0).finish();

// Answers Register with session 7 and GetClusterMetadata with one node; everything else with an empty success.
function standard(r: Received): Uint8Array {
  if (r.header.operation === Operation.register) return loginReply(r, 7n);
  if (r.header.operation === Operation.nonReplicated && r.header.code === 12) return reply(r, cluster);
  if (r.header.operation === Operation.createStream) {
    const stream = new Writer().u32(0).u64(1n).u32(0).u64(0n).u64(0n).u8(2).bytes(utf8.encode('s1')).u32(0).finish();
    return reply(r, resultSuccess(stream));
  }
  return reply(r, Operation.nonReplicated === r.header.operation || r.header.operation === Operation.logout ? undefined : resultSuccess());
}

describe('IggyClient framing against a scripted server', () => {
  let server: FakeServer;
  before(async () => { server = await FakeServer.start(); });
  after(() => server.stop());
  beforeEach(() => { server.received.length = 0; server.handler = standard; });

  it('Register bodies match §4.2 and the §13 vector byte for byte', () => {
    const body = registerWithPassword('iggy', 'iggy', { name: 'node-sdk', version: '0.10.0-edge.4' });
    const expected = [0x00, 0x2c, 0x00, 0x00, 8, ...utf8.encode('node-sdk'), 13, ...utf8.encode('0.10.0-edge.4'), 4, ...utf8.encode('iggy'), 4, ...utf8.encode('iggy'), 0, 0, 0, 0];
    assert.deepEqual([...body], expected);
    assert.equal(body.length + 256, 297);
    const pat = registerWithToken('tok', { name: 'node-sdk', version: '0.10.0-edge.4' });
    assert.deepEqual([...pat.subarray(pat.length - 8)], [3, ...utf8.encode('tok'), 0, 0, 0, 0]);
  });

  it('numbers requests as §4.3 says: ping before login, Register 0, metadata ops consume, reads do not', async () => {
    const client = await IggyClient.connect({ address: server.address });
    try {
      await client.ping();
      const login = await client.login('iggy', 'iggy');
      assert.deepEqual([login.userId, login.session, login.serverVersion], [0, 7n, '0.1.0']);
      assert.equal(client.cluster?.nodes[0].name, 'iggy-node', 'cluster metadata is fetched after login');
      const stream = await client.createStream('s1');
      assert.equal(stream.name, 's1');
      await client.ping();
      await client.deleteStream(0);
      const h = server.received.map((r) => [r.header.operation, r.header.request, r.header.session, r.header.code]);
      assert.deepEqual(h, [
        [2, 1n, 0n, 1], // ping before login: request 1, session 0
        [1, 0n, 0n, 0], // Register
        [2, 1n, 7n, 12], // GetClusterMetadata: current counter
        [128, 1n, 7n, 0], // CreateStream consumes 1
        [2, 2n, 7n, 1], // ping carries the current counter
        [130, 2n, 7n, 0], // DeleteStream consumes 2
      ]);
      const ids = new Set(server.received.map((r) => r.header.client));
      assert.equal(ids.size, 1, 'one client id until the session is re-registered');
      assert.deepEqual([...server.received[3].body], [0x02, 0x73, 0x31], 'CreateStream "s1" body of §13');
    } finally {
      await client.close();
    }
  });

  it('a second login logs out first and registers with a fresh client id and counter', async () => {
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy' });
    try {
      await client.createStream('s1');
      const first = client.clientId;
      await client.login('iggy', 'iggy');
      await client.createStream('s1');
      const ops = server.received.map((r) => [r.header.operation, r.header.request]);
      assert.deepEqual(ops, [[1, 0n], [2, 1n], [128, 1n], [3, 2n], [1, 0n], [2, 1n], [128, 1n]]);
      assert.equal(server.received[3].header.client, first, 'Logout goes with the old id');
      assert.notEqual(server.received[4].header.client, first, 'Register goes with a new id');
      await client.logout();
      await client.logout(); // nothing bound: no frame
      assert.equal(server.received.at(-1)!.header.operation, Operation.logout);
      assert.equal(server.received.filter((r) => r.header.operation === Operation.logout).length, 2);
    } finally {
      await client.close();
    }
  });

  it('maps status, result rejections and evictions to named errors', async () => {
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy' });
    try {
      server.handler = (r) => reply(r, undefined, 41);
      await assert.rejects(client.getStreams(), (e: IggyError) => e instanceof IggyError && e.code === 41 && e.name === 'Unauthorized');
      server.handler = (r) => reply(r, resultRejection(1012));
      await assert.rejects(client.createStream('s1'), (e: IggyError) => e.code === 1012 && e.name === 'StreamNameAlreadyExists');
      server.handler = (r) => reply(r, undefined, 0, 0);
      await assert.rejects(client.ping(), (e: IggyError) => e.code === 3, 'reply operation 0 is not a known Operation');
      server.handler = (r) => reply(r, Uint8Array.of(1, 0));
      await assert.rejects(client.createStream('s1'), (e: IggyError) => e.code === 3, 'a result section shorter than 4 bytes');
      server.handler = (r) => reply(r, Uint8Array.of(1, 2, 3));
      await assert.rejects(client.getOffset({ stream: 1, topic: 1 }), (e: IggyError) => e.code === 3, 'an offset reply that is not 20 bytes');
      const before = client.clientId;
      server.handler = (r) => encodeEviction(r.header.client, 1);
      await assert.rejects(client.createStream('s1'), (e: EvictionError) => e instanceof EvictionError && e.reason === 1 && e.code === 40);
      assert.equal(client.sessionNumber, null, 'an eviction drops the session');
      assert.notEqual(client.clientId, before, 'and the client id');
      server.handler = standard;
      await client.ping(); // the socket stays usable
      server.handler = (r) => encodeEviction(r.header.client, 9);
      await assert.rejects(client.login('iggy', 'bad'), (e: EvictionError) => e.reason === 9 && e.code === 42);
    } finally {
      await client.close();
    }
  });

  it('concurrent calls around logins never carry a replaced session (the SDK parallel test)', async () => {
    let sessions = 10n;
    const granted = new Map<Received, bigint>();
    server.handler = (r) => {
      if (r.header.operation !== Operation.register) return standard(r);
      granted.set(r, ++sessions);
      return loginReply(r, sessions);
    };
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy' });
    try {
      const calls = Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? client.login('iggy', 'iggy') : client.getStats().catch(() => undefined)));
      await Promise.all(calls);
      let bound: { client: bigint; session: bigint } | null = null;
      for (const r of server.received) {
        const session = granted.get(r);
        if (session !== undefined) {
          bound = { client: r.header.client, session };
          continue;
        }
        assert.ok(bound, 'nothing before the first Register');
        assert.deepEqual({ client: r.header.client, session: r.header.session }, bound, `op ${r.header.operation} #${r.header.request} carries the live session`);
      }
      const count = (op: number) => server.received.filter((r) => r.header.operation === op).length;
      assert.deepEqual([count(Operation.register), count(Operation.logout)], [4, 3]);
    } finally {
      await client.close();
    }
  });

  it('every method sends its command code under the operation and request rule of §3.3', async () => {
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy' });
    try {
      server.handler = (r) => reply(r, undefined, 41); // every call fails the same way: only the frames matter here
      const t = { stream: 1, topic: 2 };
      const calls: [number, () => Promise<unknown>][] = [
        [1, () => client.ping()], [10, () => client.getStats()], [11, () => client.getSnapshotFile()],
        [12, () => client.getClusterMetadata()], [13, () => client.describeOptions(1)], [20, () => client.getMe()],
        [21, () => client.getClient(1)], [22, () => client.getClients()], [31, () => client.getUser(1)], [32, () => client.getUsers()],
        [33, () => client.createUser({ username: 'u', password: 'p' })], [34, () => client.deleteUser(1)],
        [35, () => client.updateUser(1, { status: 2 })], [36, () => client.updatePermissions(1, null)],
        [37, () => client.changePassword(1, 'a', 'b')], [41, () => client.getTokens()], [42, () => client.createToken('t')],
        [43, () => client.deleteToken('t')], [100, () => client.pollMessages({ ...t, strategy: { kind: 'first' }, count: 1 })],
        [101, () => client.sendMessages({ ...t, messages: [{ payload: 'x' }] })], [102, () => client.flushUnsavedBuffer(1, 2, 0)],
        [120, () => client.getOffset(t)], [121, () => client.storeOffset(t, 1n)], [122, () => client.deleteOffset(t)],
        [200, () => client.getStream(1)], [201, () => client.getStreams()], [202, () => client.createStream('s')],
        [203, () => client.deleteStream(1)], [204, () => client.updateStream(1, 's')], [205, () => client.purgeStream(1)],
        [300, () => client.getTopic(1, 2)], [301, () => client.getTopics(1)], [302, () => client.createTopic({ stream: 1, name: 't', partitionsCount: 1 })],
        [303, () => client.deleteTopic(1, 2)], [304, () => client.updateTopic({ stream: 1, topic: 2, name: 't' })], [305, () => client.purgeTopic(1, 2)],
        [402, () => client.createPartitions(1, 2, 1)], [403, () => client.deletePartitions(1, 2, 1)], [503, () => client.deleteSegments(1, 2, 0, 1)],
        [600, () => client.getGroup(1, 2, 3)], [601, () => client.getGroups(1, 2)], [602, () => client.createGroup(1, 2, 'g')],
        [603, () => client.deleteGroup(1, 2, 3)], [604, () => client.joinGroup(1, 2, 3)], [605, () => client.leaveGroup(1, 2, 3)],
        [606, () => client.syncGroup(1, 2, 3)],
      ];
      assert.equal(calls.length + 5, COMMANDS.length, 'all codes but Register (40, 45), Logout (39) and the legacy logins (38, 44)');
      for (const [code, call] of calls) {
        server.received.length = 0;
        await assert.rejects(call(), (e: IggyError) => e.code === 41, `code ${code}`);
        const [sent] = server.received;
        const info = commandByCode(code)!;
        assert.equal(sent.header.operation, info.operation, `code ${code} operation`);
        assert.equal(sent.header.code, info.operation === Operation.nonReplicated ? code : 0, `code ${code} at @196 only for NonReplicated`);
        assert.equal(sent.header.session, 7n, `code ${code} session`);
      }
      // Requests so far: metadata ops consumed 1..n; the next read carries n + 1.
      const consumed = calls.filter(([code]) => commandByCode(code)!.rule === 'next').length;
      server.handler = standard;
      server.received.length = 0;
      await client.ping();
      assert.equal(server.received[0].header.request, BigInt(consumed + 1));
    } finally {
      await client.close();
    }
  });

  it('an idle client pings at the heartbeat interval; heartbeatMs 0 sends nothing', async () => {
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy', heartbeatMs: 10 });
    const quiet = await IggyClient.connect({ address: server.address, heartbeatMs: 0 });
    try {
      const pings = () => server.received.filter((r) => r.header.code === 1 && r.header.session === 7n).length;
      const deadline = Date.now() + 5_000;
      while (pings() < 3) {
        assert.ok(Date.now() < deadline, 'three heartbeats within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(server.received.filter((r) => r.header.client === quiet.clientId).length, 0, 'the quiet client sent nothing');
    } finally {
      await client.close();
      await quiet.close();
    }
  });

  it('replicated commands without a session are refused client-side (40) without a frame being sent', async () => {
    const client = await IggyClient.connect({ address: server.address });
    try {
      await assert.rejects(client.createStream('s1'), (e: IggyError) => e instanceof IggyError && e.code === 40);
      await assert.rejects(client.sendMessages({ stream: 1, topic: 1, messages: [{ payload: 'x' }] }), (e: IggyError) => e.code === 40);
      await client.logout(); // nothing to end
      assert.equal(server.received.length, 0);
      await client.getStreams(); // reads go out (the server answers 40 itself)
      assert.equal(server.received.length, 1);
    } finally {
      await client.close();
    }
  });

  it('a silent server times the request out and closes the connection', async () => {
    const client = await IggyClient.connect({ address: server.address, timeoutMs: 100 });
    server.handler = () => null;
    await assert.rejects(client.ping(), RequestTimeout);
    await client.connection.closed;
    await assert.rejects(client.ping(), ConnectionClosed);
  });

  it('a server that drops the socket fails the request in flight and the queued ones', async () => {
    const connection = await Connection.open(server.address);
    server.handler = () => { server.sockets.at(-1)!.destroy(); return null; };
    const client = IggyClientFor(connection);
    const results = await Promise.allSettled([client.ping(), client.ping()]);
    for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof ConnectionClosed);
    assert.ok((await connection.closed) instanceof ConnectionClosed);
  });

  it('lock-step: concurrent calls go out one at a time and each gets its own reply', async () => {
    const client = await IggyClient.connect({ address: server.address, username: 'iggy', password: 'iggy' });
    try {
      let inFlight = 0;
      const pending: Received[] = [];
      server.handler = (r) => {
        inFlight++;
        assert.equal(inFlight, 1, 'the client wrote a request before the previous reply');
        pending.push(r);
        setTimeout(() => { inFlight--; server.sockets.at(-1)!.write(reply(r, new Writer().u32(r.header.code).finish())); }, 2);
        return null;
      };
      const codes = [200, 201, 300, 301, 600, 601];
      const answers = await Promise.all(codes.map((code) => client.rawCommand(code, new Uint8Array(0))));
      assert.deepEqual(answers.map((a) => new DataView(a.buffer, a.byteOffset).getUint32(0, true)), codes);
    } finally {
      await client.close();
    }
  });
});

// A client over an already-open connection, without logging in.
function IggyClientFor(connection: Connection): IggyClient {
  return new (IggyClient as unknown as new (c: Connection) => IggyClient)(connection);
}
