// The shared boot helpers survive a port taken between freePort() and the server's bind (another process on the
// machine got it from the same ephemeral range: seen in CI): the boot starts again on fresh ports; a boot that
// fails for another reason, or whose every attempt finds its port taken, still fails (ServerExited, bounded).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { startProtocolServer } from './helpers/protocol.js';
import { ServerExited, bootServer, freePort } from './helpers/server.js';

// A loopback port held by a listener of this process until `close` (it drops what connects: a boot's readiness
// check must not take it for the server).
async function takenPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// A port source that hands out `taken` as its call number `at` (0-based) and fresh ports otherwise; counts calls.
function portsTakingOnce(taken: number, at: number) {
  const source = { calls: 0, next: async () => (source.calls++ === at ? taken : freePort()) };
  return source;
}

test('startProtocolServer: a TCP port taken before the bind boots again on fresh ports, and the server serves there', async () => {
  const taken = await takenPort();
  const ports = portsTakingOnce(taken.port, 1); // startServer asks for the HTTP port, then the TCP one
  try {
    const s = await startProtocolServer(['--shards', '1'], {}, undefined, { ports: ports.next });
    try {
      assert.equal(ports.calls, 4, 'two boots: the first found its TCP port taken');
      assert.notEqual(s.tcpPort, taken.port);
      const client = await s.connect();
      await client.ping();
      await client.close();
    } finally {
      await s.stop();
    }
  } finally {
    await taken.close();
  }
});

test('bootServer: a failure other than a taken port is not retried; ports taken every time fail after the bound', async () => {
  const ports = portsTakingOnce(-1, -1);
  await assert.rejects(bootServer(['--shards', '1', '--segment-bytes', '1'], {}, { ports: ports.next }),
    (e: Error) => e instanceof ServerExited && e.code === 2 && !/EADDRINUSE|AddressInUse/.test(e.output));
  assert.equal(ports.calls, 2, 'one boot only');

  const taken = await takenPort();
  try {
    let calls = 0;
    await assert.rejects(bootServer(['--shards', '1'], {}, { ports: async () => (calls++ % 2 === 1 ? taken.port : freePort()), attempts: 2 }),
      (e: Error) => e instanceof ServerExited && /EADDRINUSE/.test(e.output));
    assert.equal(calls, 4, 'two boots, both on the taken TCP port');
  } finally {
    await taken.close();
  }
});

test('TestCluster.form: a replica port taken before the bind forms the cluster again on a fresh roster', async () => {
  const taken = await takenPort();
  const ports = portsTakingOnce(taken.port, 1); // replica 0's TCP, replica, HTTP ports, then replica 1's...
  let cluster: TestCluster | null = null;
  try {
    cluster = await TestCluster.form(3, [], [0], ports.next);
    assert.equal(ports.calls, 18, 'two rosters of 3 replicas x 3 ports');
    assert.notEqual(cluster.ports[0].replica, taken.port);
    assert.ok(!cluster.roster.includes(`/${taken.port}/`), 'the roster in use does not name the taken port');
    assert.equal((await cluster.health(0)).replica_id, 0, 'replica 0 serves on its fresh roster entry');
  } finally {
    await cluster?.stop();
    await taken.close();
  }
});
