// Client connections on every shard (../../host/node/net/listener-share.ts): with --shards 2 the kernel hands
// accepted connections to both shards; each shard's connections are counted by its own /metrics series, and a
// connection on either shard sends to and polls from partitions on both (the other shard's over the rings).
// SIGTERM with connections open on both shards stops the server cleanly: every shard closes its own listening
// descriptor once (a shared number closed twice aborted the process at exit before).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { EvictionError } from '../../host/client/errors.js';
import { repoRoot } from '../../host/node/paths.js';
import { loadMesh } from '../host/core-loader.js';
import { freePort, startServer, stopServer, tempDir, withTimeout, type RunningServer } from './helpers/server.js';
import { BOOT_BOUND_MS, ROOT, servingMetric, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const SHARDS = 2;
const MAX_CONNECTIONS_TRIED = 40; // connections opened at most until both shards serve one
const EXIT_BOUND_MS = 15_000;

async function shardSeries(s: ProtocolServer, name: string): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  return Array.from({ length: SHARDS }, (_, shard) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{shard="${shard}"} `));
    assert.ok(line, `${name}{shard="${shard}"} in /metrics`);
    return Number(line.split(' ').pop());
  });
}

describe('connections over shards (--shards 2)', () => {
  let s: ProtocolServer;
  const clients: IggyClient[] = [];
  const onShard: IggyClient[][] = Array.from({ length: SHARDS }, () => []);
  let route: (stream: number, topic: number, partition: number) => number;
  before(async () => {
    const { main } = await loadMesh('release', 1);
    route = (stream, topic, partition) => main.routePartition(stream, topic, partition, SHARDS);
    s = await startProtocolServer();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await s?.stop();
  });

  it('connections land on both shards, and /metrics counts each shard\'s own', async () => {
    // Which shard serves a connection is the kernel's choice: open connections until both serve one (bounded).
    while (clients.length < MAX_CONNECTIONS_TRIED && onShard.some((list) => list.length === 0)) {
      const c = await s.connect();
      clients.push(c);
      // A connection id is seq × shards + the serving shard (ShardServer.accept).
      onShard[(await c.getMe()).clientId % SHARDS].push(c);
    }
    assert.ok(onShard.every((list) => list.length > 0), `${clients.length} connections, by shard: ${onShard.map((l) => l.length).join('/')}`);
    // The ones this test holds open, per shard (the helper's readiness pings have closed by now: none else is open).
    assert.deepEqual(await shardSeries(s, 'client_connections'), onShard.map((list) => list.length));
    assert.equal(await servingMetric(s, 'client_connections'), clients.length);
    // What --max-connections bounds is counted over both shards in one word.
    const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
    assert.match(text, new RegExp(`^client_connections_admitted ${clients.length}$`, 'm'));
  });

  it('a connection on either shard sends to and polls from partitions on both shards', async () => {
    const stream = (await clients[0].createStream(unique('spread'))).id;
    const topic = (await clients[0].createTopic({ stream, name: 't', partitionsCount: 8 })).id;
    const partitions = Array.from({ length: 8 }, (_, p) => p);
    const owned = Array.from({ length: SHARDS }, (_, shard) => partitions.find((p) => route(stream, topic, p) === shard));
    assert.ok(owned.every((p) => p !== undefined), 'each shard owns one of the 8 partitions');
    // Every serving shard sends one message to a partition of each owner; then every serving shard polls them all.
    for (let home = 0; home < SHARDS; home++) {
      for (const partition of owned) {
        await onShard[home][0].sendMessages({ stream, topic, partitioning: { kind: 'partition', partition: partition! }, messages: [{ payload: `from ${home}` }] });
      }
    }
    for (let home = 0; home < SHARDS; home++) {
      for (const partition of owned) {
        const polled = await onShard[home][0].pollMessages({ stream, topic, partition: partition!, strategy: { kind: 'first' }, count: 10, verifyChecksums: true });
        assert.deepEqual(polled.messages.map((m) => new TextDecoder().decode(m.payload)), ['from 0', 'from 1'], `partition ${partition} polled from shard ${home}`);
      }
    }
  });

  it('SIGTERM with connections open on both shards exits 0, each shard having closed its own', async () => {
    assert.ok(onShard.every((list) => list.length > 0));
    s.server.child.kill('SIGTERM');
    const { code, signal } = await withTimeout(s.server.exited, EXIT_BOUND_MS, 'the server to exit after SIGTERM');
    const output = s.server.output();
    assert.equal(code, 0, `exit ${code} ${signal}\n${output}`);
    assert.match(output, /stopped cleanly/);
    assert.doesNotMatch(output, / ERROR | WARN |Assertion|SIGABRT|core dumped/, output);
    await Promise.all(onShard.flat().map((c) => withTimeout(c.connection.closed, EXIT_BOUND_MS, 'a client to see its connection closed')));
  });
});

describe('connections over shards with TLS (--shards 2)', () => {
  const certs = tempDir('certs');
  const file = (name: string) => path.join(certs, name);
  let server: RunningServer;
  let address: string;
  const clients: IggyClient[] = [];

  before(async () => {
    execFileSync(process.execPath, [path.join(repoRoot, 'host/tools/make-test-certs.mjs'), certs], { stdio: 'ignore' });
    address = `127.0.0.1:${await freePort()}`;
    server = await startServer(['--tcp-address', address, '--shards', String(SHARDS), '--tls-cert', file('server.pem'), '--tls-key', file('server.key')]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stopServer(server);
    fs.rmSync(certs, { recursive: true, force: true });
  });

  it('TLS connections land on both shards; each handshakes, logs in and is answered', async () => {
    const ca = fs.readFileSync(file('ca.pem'), 'utf8');
    const connect = () => IggyClient.connect({ address, timeoutMs: 5_000, heartbeatMs: 0, ...ROOT, tls: { ca } });
    const deadline = Date.now() + BOOT_BOUND_MS;
    while (clients.length === 0) {
      try {
        clients.push(await connect());
      } catch (error) {
        if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`no TLS connection: ${(error as Error).message}\n${server.output()}`);
      }
    }
    const shards = new Set([(await clients[0].getMe()).clientId % SHARDS]);
    while (clients.length < MAX_CONNECTIONS_TRIED && shards.size < SHARDS) {
      const c = await connect();
      clients.push(c);
      shards.add((await c.getMe()).clientId % SHARDS);
    }
    assert.equal(shards.size, SHARDS, `${clients.length} TLS connections, all on shard ${[...shards]}`);
    for (const c of clients) await c.ping();
    // GetClients gathers every shard's connections (over the rings): exactly these, from a connection on either.
    const ids = (await Promise.all(clients.map(async (c) => (await c.getMe()).clientId))).sort((a, b) => a - b);
    assert.deepEqual((await clients.at(-1)!.getClients()).map((c) => c.clientId), ids);
  });
});

describe('the failed-login throttle is one per node (--shards 2)', () => {
  const PER_CONNECTION = 2;
  const LOCKOUT = 2 * PER_CONNECTION; // reached only with the failures of both shards' connections together
  const INVALID_CREDENTIALS = 9;
  let s: ProtocolServer;
  const spare: IggyClient[] = [];
  before(async () => {
    s = await startProtocolServer([
      '--login-failures-per-connection', String(PER_CONNECTION), '--login-lockout-failures', String(LOCKOUT),
      '--login-lockout-ms', '600000', '--login-failure-delay-ms', '1',
    ]);
  });
  after(async () => {
    await Promise.all(spare.map((c) => c.close().catch(() => undefined)));
    await s?.stop();
  });

  // A logged-in connection on `shard` (others opened on the way are kept open, so the kernel's choice moves on).
  async function connectionOn(shard: number): Promise<IggyClient> {
    for (let i = 0; i < MAX_CONNECTIONS_TRIED; i++) {
      const c = await s.connect();
      if ((await c.getMe()).clientId % SHARDS === shard) return c;
      spare.push(c);
    }
    throw new Error(`no connection landed on shard ${shard} in ${MAX_CONNECTIONS_TRIED}`);
  }

  it(`${PER_CONNECTION} failures on a shard-0 connection and ${PER_CONNECTION} on a shard-1 one lock the address out on every shard`, async () => {
    const evicted = (e: unknown) => e instanceof EvictionError && e.reason === INVALID_CREDENTIALS;
    for (let shard = 0; shard < SHARDS; shard++) {
      const c = await connectionOn(shard);
      await c.logout();
      for (let i = 0; i < PER_CONNECTION; i++) await assert.rejects(c.login(ROOT.username, `guess-${shard}-${i}`), evicted);
      await c.close();
    }
    // Locked out: the right password is refused unchecked, whichever shard the connection landed on.
    for (let i = 0; i < 4; i++) {
      await assert.rejects(s.connect(), evicted, `login ${i} after the lockout`);
    }
  });
});
