// IggyClient's reconnect and leader following against scripted servers: a read in flight when the connection
// drops is sent again after a fresh login, a send in flight fails with RequestOutcomeUnknown (it may have been
// stored), a client that cannot get back gives up with ReconnectFailed, and cluster metadata naming another node
// as leader moves the client there.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Writer, utf8 } from '../../host/shared/wire/buffer.js';
import { encodeEviction } from '../../host/shared/wire/header.js';
import { resultSuccess } from '../../host/shared/wire/result.js';
import { Operation } from '../../host/shared/wire/codes.js';
import { IggyClient } from '../../host/client/client.js';
import { ConnectionClosed, EvictionError, ReconnectFailed, RequestOutcomeUnknown } from '../../host/client/errors.js';
import { isRetrySafe } from '../../host/client/reconnect.js';
import { FakeServer, reply, type Received } from './client-fake-server.js';

const FAST = { retries: 3, initialDelayMs: 1, maxDelayMs: 5 };

const loginReply = (r: Received): Uint8Array =>
  reply(r, resultSuccess(new Writer().u32(0).u64(7n).u32(11264).u8(5).bytes(utf8.encode('0.1.0')).finish()));

function clusterOf(nodes: { address: string; role: number }[]): Uint8Array {
  const w = new Writer().u32(7).bytes(utf8.encode('cluster')).u32(nodes.length);
  nodes.forEach((n, i) => {
    const [ip, port] = n.address.split(':');
    w.u32(6).bytes(utf8.encode(`node-${i}`)).u32(ip.length).bytes(utf8.encode(ip)).u16(Number(port)).u16(0).u16(0).u16(0).u8(n.role).u8(0);
  });
  return w.finish();
}

const emptyPoll = (): Uint8Array => new Writer().u32(0).u64(0n).u32(0).finish();

// A server that answers logins, metadata (`cluster`, default: itself alone), polls and sends, and drops the
// connection instead of answering the first request with code `dropOn`.
function script(server: FakeServer, options: { dropOn?: number; cluster?: () => Uint8Array } = {}): void {
  let dropped = false;
  server.handler = (r) => {
    const code = r.header.operation === Operation.nonReplicated ? r.header.code : r.header.operation === Operation.sendMessages ? 101 : -1;
    if (code === options.dropOn && !dropped) {
      dropped = true;
      server.sockets.at(-1)!.destroy();
      return null;
    }
    if (r.header.operation === Operation.register) return loginReply(r);
    if (code === 12) return reply(r, options.cluster?.() ?? clusterOf([{ address: server.address, role: 0 }]));
    if (code === 100) return reply(r, emptyPoll());
    return reply(r, r.header.operation === Operation.nonReplicated || r.header.operation === Operation.logout ? undefined : resultSuccess());
  };
}

const registers = (server: FakeServer) => server.received.filter((r) => r.header.operation === Operation.register).length;

describe('IggyClient reconnect and leader following (scripted servers)', () => {
  const servers: FakeServer[] = [];
  const start = async () => { const s = await FakeServer.start(); servers.push(s); return s; };
  afterEach(async () => { for (const s of servers.splice(0)) await s.stop(); });

  it('a poll in flight when the connection drops is resent after a reconnect and a fresh login', async () => {
    const server = await start();
    script(server, { dropOn: 100 });
    const reconnected: string[] = [];
    const client = await IggyClient.connect({ address: server.address, username: 'u', password: 'p', reconnect: FAST, onReconnect: (a) => reconnected.push(a) });
    try {
      const firstClient = client.clientId;
      const polled = await client.pollMessages({ stream: 1, topic: 1, partition: 0, strategy: { kind: 'offset', value: 5n }, count: 10, autoCommit: true });
      assert.equal(polled.count, 0);
      assert.equal(server.sockets.length, 2, 'a second connection');
      assert.equal(registers(server), 2, 'logged in again');
      assert.equal(server.received.filter((r) => r.header.code === 100).length, 2, 'the poll went twice');
      assert.notEqual(client.clientId, firstClient, 'a new session with a new client id');
      assert.deepEqual(reconnected, [server.address]);
      assert.equal(client.reconnects, 1);
    } finally {
      await client.close();
    }
  });

  it('a send in flight fails with RequestOutcomeUnknown and is not resent; the client carries on', async () => {
    const server = await start();
    script(server, { dropOn: 101 });
    const client = await IggyClient.connect({ address: server.address, username: 'u', password: 'p', reconnect: FAST });
    try {
      await assert.rejects(client.sendMessages({ stream: 1, topic: 1, messages: [{ payload: 'x' }] }),
        (e: unknown) => e instanceof RequestOutcomeUnknown && e.name === 'RequestOutcomeUnknown' && e.code === 101 && e.command === 'message.send' && e.cause instanceof ConnectionClosed);
      assert.equal(server.received.filter((r) => r.header.operation === Operation.sendMessages).length, 1, 'sent once only');
      await client.ping();
      assert.equal(registers(server), 2, 'reconnected and logged in before reporting');
    } finally {
      await client.close();
    }
  });

  it('a call on a connection that is already gone reconnects first and goes (nothing of it was sent)', async () => {
    const server = await start();
    script(server);
    const client = await IggyClient.connect({ address: server.address, username: 'u', password: 'p', reconnect: FAST });
    try {
      server.sockets[0].destroy();
      await client.connection.closed;
      await client.sendMessages({ stream: 1, topic: 1, messages: [{ payload: 'x' }] });
      assert.equal(server.received.filter((r) => r.header.operation === Operation.sendMessages).length, 1);
    } finally {
      await client.close();
    }
  });

  it('gives up with ReconnectFailed once every attempt failed; without reconnect a drop is ConnectionClosed', async () => {
    const server = await start();
    script(server);
    const client = await IggyClient.connect({ address: server.address, username: 'u', password: 'p', reconnect: FAST });
    const plain = await IggyClient.connect({ address: server.address, username: 'u', password: 'p' });
    await server.stop();
    servers.length = 0;
    await assert.rejects(client.ping(), (e: unknown) => e instanceof ReconnectFailed && e.attempts === 3 && /ECONNREFUSED/.test(e.message));
    await assert.rejects(plain.ping(), ConnectionClosed);
    await client.close();
    await plain.close();
  });

  it('a re-login the server refuses (credentials revoked meanwhile) ends the reconnect with that eviction, unretried', async () => {
    const server = await start();
    script(server);
    const client = await IggyClient.connect({ address: server.address, username: 'u', password: 'p', reconnect: { retries: 50, initialDelayMs: 1, maxDelayMs: 1 } });
    try {
      const standard = server.handler;
      server.handler = (r) => (r.header.operation === Operation.register ? encodeEviction(r.header.client, 9) : standard(r));
      server.sockets[0].destroy();
      await client.connection.closed;
      await assert.rejects(client.ping(), (e: unknown) => e instanceof EvictionError && e.reason === 9 && e.code === 42);
      assert.equal(registers(server), 2, 'one re-login, not 50');
    } finally {
      await client.close();
    }
  });

  it('moves to the leader the cluster metadata names, and reconnects there after a drop', async () => {
    const follower = await start();
    const leader = await start();
    const cluster = () => clusterOf([{ address: follower.address, role: 1 }, { address: leader.address, role: 0 }]);
    script(follower, { cluster });
    script(leader, { cluster, dropOn: 1 });
    const client = await IggyClient.connect({ address: follower.address, username: 'u', password: 'p', reconnect: FAST });
    try {
      assert.equal(client.address, leader.address);
      await client.ping(); // dropped once by the leader, resent after reconnecting to it
      assert.equal(registers(follower), 1, 'the follower only saw the first login');
      assert.equal(registers(leader), 2);
      assert.equal(client.address, leader.address);
    } finally {
      await client.close();
    }
  });

  it('retry rules: reads and absolute offset stores are safe; sends, creates and committing Next polls are not; bad policies are refused', async () => {
    assert.deepEqual([1, 10, 120, 121, 201, 604, 606].map((c) => isRetrySafe(c)), [true, true, true, true, true, true, true]);
    assert.deepEqual([101, 202, 203, 33, 605].map((c) => isRetrySafe(c)), [false, false, false, false, false]);
    assert.equal(isRetrySafe(100, { autoCommit: true, strategy: 'next' }), false);
    assert.equal(isRetrySafe(100, { autoCommit: true, strategy: 'offset' }), true);
    await assert.rejects(IggyClient.connect({ address: '127.0.0.1:1', reconnect: { retries: 0 } }), /reconnect.retries must be >= 1/);
    await assert.rejects(IggyClient.connect({ address: '127.0.0.1:1', reconnect: { maxDelayMs: -1 } }), /reconnect.maxDelayMs must be a number >= 0/);
  });
});
