// What unauthenticated or misbehaving clients can cost a real server (issue 14, items 4, 5, 11): frames before
// login are small, bytes read and not answered are budgeted per connection and per shard (the socket is not read
// while a frame waits), incomplete frames, unauthenticated and silent connections are closed at their deadline,
// --max-connections refuses at accept, and junk connections do not flood the log. Deadlines are set small by
// flag; the tests wait for the close with a bound and never measure time.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../../host/client/connection.js';
import * as req from '../../host/client/requests.js';
import { EvictionReason, Operation } from '../../host/shared/wire/codes.js';
import { HEADER_SIZE, encodeRequest, type ServerFrame } from '../../host/shared/wire/header.js';
import { waitFor, withTimeout } from './helpers/server.js';
import { servingMetric, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const CLOSE_BOUND_MS = 10_000;
let nextClient = 0x5151_0000_0000_0000_0000_0000_0000_0001n;

// The value of one series of a /metrics family (0 when absent).
async function metric(s: ProtocolServer, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const metricReaches = (s: ProtocolServer, series: string, atLeast: number) =>
  waitFor(`${series} >= ${atLeast}`, CLOSE_BOUND_MS, async () => ((await metric(s, series)) >= atLeast ? true : undefined));

const ping = (client: bigint, session: bigint, bodyBytes = 0) =>
  encodeRequest({ client, request: 1n, operation: Operation.nonReplicated, session, code: 1, body: new Uint8Array(bodyBytes) });

// Registers as root on a raw connection; returns the client id and session to use.
async function login(conn: Connection): Promise<{ client: bigint; session: bigint }> {
  const client = nextClient++;
  const answer = await conn.request(encodeRequest({ client, request: 0n, operation: Operation.register, session: 0n, body: req.registerWithPassword('iggy', 'iggy') }));
  assert.ok(answer.kind === 'reply' && answer.status === 0, `login failed: ${JSON.stringify(answer.kind)}`);
  const body = (answer as Extract<ServerFrame, { kind: 'reply' }>).body;
  return { client, session: new DataView(body.buffer, body.byteOffset).getBigUint64(8, true) };
}

// A raw socket logged in as root (for pipelining, which Connection does not do): its client id, session, and the
// bytes that arrive after the login reply.
async function rawLogin(s: ProtocolServer): Promise<{ socket: net.Socket; client: bigint; session: bigint; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(s.tcpPort, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  let bytes = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => { bytes = Buffer.concat([bytes, d]); });
  const has = (n: number) => waitFor(`${n} bytes of replies`, CLOSE_BOUND_MS, async () => (bytes.length >= n ? true : undefined));
  const client = nextClient++;
  socket.write(encodeRequest({ client, request: 0n, operation: Operation.register, session: 0n, body: req.registerWithPassword('iggy', 'iggy') }));
  await has(HEADER_SIZE);
  const size = bytes.readUInt32LE(48);
  await has(size);
  assert.equal(bytes.readUInt32LE(216), 0, 'logged in');
  const session = bytes.readBigUInt64LE(HEADER_SIZE + 8);
  bytes = bytes.subarray(size);
  return { socket, client, session, received: () => bytes, closed };
}

const closedWithin = (conn: Connection) => withTimeout(conn.closed, CLOSE_BOUND_MS, 'the server closed the connection');
const isReplyOk = (answer: ServerFrame) => answer.kind === 'reply' && answer.status === 0;

describe('connection limits: frames and buffered bytes', () => {
  let s: ProtocolServer;
  before(async () => {
    s = await startProtocolServer(['--max-buffered-bytes', '262144', '--max-connection-buffer-bytes', '65536']);
  });
  after(() => s.stop());

  it('before login, a frame larger than 4 KiB is answered with eviction InvalidRequestBodySize and the connection closed', async () => {
    const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    // Only the header of a 64 MiB frame: the server must answer from the header, not wait for (or buffer) the body.
    const header = ping(nextClient++, 0n).slice(0, HEADER_SIZE);
    new DataView(header.buffer).setUint32(48, 64 << 20, true);
    const answer = await conn.request(header);
    assert.deepEqual(answer.kind === 'eviction' && answer.reason, EvictionReason.invalidRequestBodySize);
    await closedWithin(conn);
    assert.ok((await metric(s, 'client_connections_closed_total{reason="frame_before_login"}')) >= 1);
    assert.match(s.server.output(), /FrameTooLargeBeforeLogin: a frame of 67108864 B before login/);
  });

  it('the limit rises at login and falls again at logout', async () => {
    const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    try {
      const anonymous = await conn.request(ping(nextClient++, 0n, 1000));
      assert.ok(isReplyOk(anonymous), 'a small frame before login is fine');
      const { client, session } = await login(conn);
      assert.ok(isReplyOk(await conn.request(ping(client, session, 100_000))), 'a 100 KB frame once logged in');
      const logout = await conn.request(encodeRequest({ client, request: 1n, operation: Operation.logout, session }));
      assert.ok(isReplyOk(logout));
      const after = await conn.request(ping(client, 0n, 100_000));
      assert.deepEqual(after.kind === 'eviction' && after.reason, EvictionReason.invalidRequestBodySize, 'after logout the small limit is back');
      await closedWithin(conn);
    } finally {
      await conn.close();
    }
  });

  it('a frame that does not fit the shard budget waits, unread, until another is answered; small requests still pass', async () => {
    const big = await Connection.open(s.address, CLOSE_BOUND_MS);
    const medium = await Connection.open(s.address, CLOSE_BOUND_MS);
    const small = await Connection.open(s.address, CLOSE_BOUND_MS);
    try {
      const a = await login(big);
      const b = await login(medium);
      const c = await login(small);
      const before = await metric(s, 'client_read_pauses_total{budget="global"}');
      // 300 KB is more than the 256 KiB budget: admitted alone, it holds the budget while it is incomplete.
      const frame = ping(a.client, a.session, 300_000);
      big.writeRaw(frame.subarray(0, 100_000));
      await metricReaches(s, 'client_buffered_bytes', frame.length);
      let answered = false;
      const waiting = medium.request(ping(b.client, b.session, 10_000)).then((answer) => { answered = true; return answer; });
      await metricReaches(s, 'client_read_pauses_total{budget="global"}', before + 1);
      assert.equal(answered, false, 'the 10 KB request waits while the budget is held');
      assert.ok(isReplyOk(await small.request(ping(c.client, c.session))), 'a connection\'s one small request is never shut out');
      assert.equal(answered, false);
      assert.ok(isReplyOk(await big.request(frame.subarray(100_000))), 'the large frame completes and is answered');
      assert.ok(isReplyOk(await withTimeout(waiting, CLOSE_BOUND_MS, 'the waiting request answered')));
      assert.equal(await metric(s, 'client_buffered_bytes'), 0, 'everything answered: the budget is empty');
    } finally {
      await big.close();
      await medium.close();
      await small.close();
    }
  });

  it('a connection that sends more than its own budget is not read until its requests are answered, and gets every answer', async () => {
    // Three 40 KB requests and a ping pipelined in one write (64 KiB per connection).
    const { socket, client, session, received } = await rawLogin(s);
    try {
      const before = await metric(s, 'client_read_pauses_total{budget="connection"}');
      socket.write(Buffer.concat([ping(client, session, 40_000), ping(client, session, 40_000), ping(client, session, 40_000), ping(client, session)]));
      await waitFor('four replies', CLOSE_BOUND_MS, async () => (received().length >= 4 * HEADER_SIZE ? true : undefined));
      for (let i = 0; i < 4; i++) assert.equal(received().readUInt32LE(i * HEADER_SIZE + 216), 0, `reply ${i} is ok`);
      assert.ok((await metric(s, 'client_read_pauses_total{budget="connection"}')) > before, 'the connection was paused on its own budget');
    } finally {
      socket.destroy();
    }
  });
});

describe('connection limits: deadlines', () => {
  let s: ProtocolServer;
  before(async () => {
    s = await startProtocolServer(['--login-timeout-ms', '400', '--idle-timeout-ms', '800', '--frame-timeout-ms', '300', '--max-connection-buffer-bytes', '1048576']);
  });
  after(() => s.stop());

  it('a connection that does not log in is closed at the login deadline', async () => {
    const before = await metric(s, 'client_connections_closed_total{reason="login_timeout"}');
    const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    await closedWithin(conn);
    assert.ok((await metric(s, 'client_connections_closed_total{reason="login_timeout"}')) > before);
    assert.match(s.server.output(), /closing, LoginTimeout/);
  });

  it('a logged-in connection that leaves a frame incomplete is closed at the frame deadline', async () => {
    const before = await metric(s, 'client_connections_closed_total{reason="frame_timeout"}');
    const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    const { client, session } = await login(conn);
    conn.writeRaw(ping(client, session, 1000).subarray(0, 700));
    await closedWithin(conn);
    assert.ok((await metric(s, 'client_connections_closed_total{reason="frame_timeout"}')) > before, 'the frame deadline (shorter than idle) closed it');
  });

  it('a silent logged-in connection is closed at the idle deadline; one that keeps pinging stays', async () => {
    const before = await metric(s, 'client_connections_closed_total{reason="idle_timeout"}');
    const silent = await Connection.open(s.address, CLOSE_BOUND_MS);
    const active = await Connection.open(s.address, CLOSE_BOUND_MS);
    try {
      await login(silent);
      const { client, session } = await login(active);
      let closed = false;
      void silent.closed.then(() => { closed = true; });
      const deadline = Date.now() + CLOSE_BOUND_MS;
      while (!closed) {
        assert.ok(Date.now() < deadline, 'the silent connection was never closed');
        assert.ok(isReplyOk(await active.request(ping(client, session))), 'the active connection is served');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(isReplyOk(await active.request(ping(client, session))), 'the active connection outlived the silent one');
      assert.ok((await metric(s, 'client_connections_closed_total{reason="idle_timeout"}')) > before);
    } finally {
      await silent.close();
      await active.close();
    }
  });
});

describe('connection limits: answers a client does not read', () => {
  let s: ProtocolServer;
  before(async () => {
    s = await startProtocolServer(['--idle-timeout-ms', '800', '--max-connection-buffer-bytes', '1048576']);
  });
  after(() => s.stop());

  it('are not piled up: the connection stops being served, then is closed as idle', async () => {
    const setup = await s.connect();
    const stream = (await setup.createStream('unread')).id;
    const topic = (await setup.createTopic({ stream, name: 't', partitionsCount: 1 })).id;
    await setup.sendMessages({ stream, topic, messages: [{ payload: new Uint8Array(1 << 20).fill(1) }] });
    await setup.close();
    const { socket, client, session } = await rawLogin(s);
    socket.pause(); // reads nothing from now on
    const before = await servingMetric(s, 'client_requests_total');
    // 200 polls of the 1 MiB message, pipelined: 200 MiB of answers if they were all written.
    const poll = encodeRequest({ client, request: 1n, operation: Operation.nonReplicated, session, code: 100, body: req.pollMessages({ stream, topic, partition: 0, strategy: { kind: 'first' }, count: 1 }) });
    socket.write(Buffer.concat(Array.from({ length: 200 }, () => poll)));
    // The client reads nothing, so it would not see the close either: the server's counters say it.
    await metricReaches(s, 'client_connections_closed_total{reason="idle_timeout"}', 1);
    await waitFor('the connection gone', CLOSE_BOUND_MS, async () => ((await servingMetric(s, 'client_connections')) === 0 ? true : undefined));
    const answered = (await servingMetric(s, 'client_requests_total')) - before;
    assert.ok(answered < 200, `${answered} of 200 polls answered to a client that read none`);
    socket.destroy();
  });
});

describe('connection limits: --max-connections and log noise', () => {
  let s: ProtocolServer;
  before(async () => {
    s = await startProtocolServer(['--max-connections', '3']);
  });
  after(() => s.stop());

  it('a connection over the limit is closed at once and counted; a place that frees up is usable', async () => {
    await waitFor('no client connections open', CLOSE_BOUND_MS, async () => ((await servingMetric(s, 'client_connections')) === 0 ? true : undefined));
    const kept = [];
    for (let i = 0; i < 3; i++) {
      const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
      assert.ok(isReplyOk(await conn.request(ping(nextClient++, 0n))));
      kept.push(conn);
    }
    const refused = await Connection.open(s.address, CLOSE_BOUND_MS);
    await closedWithin(refused);
    assert.equal(await metric(s, 'client_connections_refused_total{reason="max_connections"}'), 1);
    assert.equal(await metric(s, 'client_max_connections'), 3);
    await kept.pop()!.close();
    await waitFor('a new connection served', CLOSE_BOUND_MS, async () => {
      const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
      try {
        return isReplyOk(await conn.request(ping(nextClient++, 0n))) ? true : undefined;
      } finally {
        await conn.close();
      }
    });
    for (const conn of kept) await conn.close();
  });

  it('200 connections with a broken frame write a handful of log lines, and all are counted', async () => {
    const before = await metric(s, 'client_connections_closed_total{reason="frame_size"}');
    for (let i = 0; i < 200; i++) {
      const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
      const bad = ping(nextClient++, 0n);
      new DataView(bad.buffer).setUint32(48, 100, true);
      conn.writeRaw(bad);
      await closedWithin(conn);
    }
    await metricReaches(s, 'client_connections_closed_total{reason="frame_size"}', before + 200);
    const lines = s.server.output().split('\n').filter((l) => /frame size 100 is outside/.test(l));
    // A handful per shard: each serving shard rate-limits its own log lines (startProtocolServer runs 2 shards).
    assert.ok(lines.length <= 5 * 2, `${lines.length} lines for 200 junk connections`);
  });
});

// Opens connections (each answered a Ping, so the server holds it) until the server closes one; returns those kept.
async function fillUntilRefused(s: ProtocolServer, bound: number): Promise<Connection[]> {
  const kept: Connection[] = [];
  for (let i = 0; i < bound; i++) {
    let conn: Connection;
    try {
      conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    } catch {
      return kept; // refused at connect: as good as closed
    }
    const answer = await conn.request(ping(nextClient++, 0n)).catch(() => null);
    if (!answer) return kept;
    kept.push(conn);
  }
  throw new Error(`the server kept ${bound} connections under a descriptor limit of ${NOFILE}`);
}

async function health(s: ProtocolServer): Promise<number> {
  return (await fetch(`http://127.0.0.1:${s.httpPort}/health`)).status;
}

// A new client is served once the others are gone (retried: the server sees the closes a moment later).
async function newClientServed(s: ProtocolServer): Promise<void> {
  await waitFor('a new client served', CLOSE_BOUND_MS, async () => {
    const conn = await Connection.open(s.address, CLOSE_BOUND_MS);
    try {
      const { client, session } = await login(conn);
      return isReplyOk(await conn.request(ping(client, session))) ? true : undefined;
    } finally {
      await conn.close();
    }
  });
}

const NOFILE = 256;

describe('connection limits: file descriptors (server run with ulimit -n 256)', () => {
  it('by default connections are limited below the descriptor limit: past it they are refused and /health answers', async () => {
    const s = await startProtocolServer(['--login-timeout-ms', '0'], {}, undefined, { nofile: NOFILE });
    const kept: Connection[] = [];
    try {
      const max = await metric(s, 'client_max_connections');
      assert.ok(max > 0 && max < NOFILE, `client_max_connections ${max}`);
      assert.match(s.server.output(), new RegExp(`at most ${max} client connections: the process may open ${NOFILE} file descriptors`));
      kept.push(...await fillUntilRefused(s, NOFILE));
      assert.equal(kept.length, max, 'exactly the limit was kept');
      await metricReaches(s, 'client_connections_refused_total{reason="max_connections"}', 1).catch(async () => {
        const [refusedDescriptors, emfile] = [await metric(s, 'client_connections_refused_total{reason="descriptors"}'), await metric(s, 'client_accept_errors_total{code="EMFILE"}')];
        assert.fail(`the connection past the limit was not refused for the limit (refused for descriptors ${refusedDescriptors}, EMFILE ${emfile}):\n${s.server.output()}`);
      });
      assert.equal(await health(s), 200);
      assert.equal(await metric(s, 'client_accept_errors_total{code="EMFILE"}'), 0, 'never ran out of descriptors');
      for (const conn of kept.splice(0)) await conn.close();
      await newClientServed(s);
    } finally {
      for (const conn of kept) await conn.close();
      await s.stop();
    }
  });

  it('with --max-connections above what descriptors allow, EMFILE is logged once, counted, /health still answers, and clients are served again once others close', async () => {
    // One serving shard: with several, a connection that arrives while every shard's accept reserve is spent waits in
    // the listen backlog until descriptors free up (seen once under load in CI; README, "Connections on every
    // shard"): what this test asserts (each one closed at once) holds for one.
    const s = await startProtocolServer(['--login-timeout-ms', '0', '--max-connections', '100000', '--shards', '1'], {}, undefined, { nofile: NOFILE });
    const kept: Connection[] = [];
    try {
      assert.match(s.server.output(), /--max-connections: 100000 connections is more than the 256 file descriptors/);
      kept.push(...await fillUntilRefused(s, NOFILE));
      await metricReaches(s, 'client_accept_errors_total{code="EMFILE"}', 1);
      assert.equal(await health(s), 200, '/health answers while client connections are refused');
      // More attempts while out of descriptors: refused, and not one more log line each (each of the 2 shards
      // rate-limits its own lines: at most 10 each).
      for (let i = 0; i < 40; i++) {
        const conn = await Connection.open(s.address, CLOSE_BOUND_MS).catch(() => null);
        if (conn) await closedWithin(conn);
      }
      assert.equal(await health(s), 200);
      const lines = s.server.output().split('\n').filter((l) => /OutOfDescriptors|refusing a connection/.test(l));
      assert.ok(lines.length >= 1 && lines.length <= 10 * 2, `${lines.length} log lines about refused connections:\n${lines.join('\n')}`);
      for (const conn of kept.splice(0)) await conn.close();
      await newClientServed(s);
      await waitFor('the recovery logged', CLOSE_BOUND_MS, async () => (/file descriptors are available again/.test(s.server.output()) ? true : undefined));
    } finally {
      for (const conn of kept) await conn.close();
      await s.stop();
    }
  });
});
