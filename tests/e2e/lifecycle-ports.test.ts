// The lifecycle harness's restarts survive a port taken between freePort() and the server's bind (seen once in a
// 10-minute run): the boot is tried again on fresh ports and the client follows; when every attempt finds its port
// taken, the harness says so by name (ServerPortsBusy), not as a finding against the server.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { freePort } from './helpers/server.js';
import { LiveSystem, ServerPortsBusy } from './lifecycle/system.js';

const PROFILE = { shards: 1, journalSlots: 64 };

// A loopback port held by a listener of this process until `close` (it drops what connects: the boot's ping must
// not take it for the server).
async function takenPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a boot or restart whose TCP port was taken starts again on fresh ports, and the client reaches it there', async () => {
  const taken = await takenPort();
  let takeNext = true; // the next TCP port handed out is the taken one
  let calls = 0;
  const ports = async () => (calls++ % 2 === 0 && takeNext ? (takeNext = false, taken.port) : freePort());
  const sys = new LiveSystem(PROFILE, { ports });
  try {
    await sys.start();
    assert.equal(sys.busyPortBoots, 1);
    assert.notEqual(sys.server.tcpPort, taken.port);
    await sys.client.createStream('ports-1');
    takeNext = true;
    await sys.restart('kill');
    assert.equal(sys.busyPortBoots, 2);
    assert.notEqual(sys.server.tcpPort, taken.port);
    assert.deepEqual((await sys.client.getStreams()).map((s) => s.name), ['ports-1'], 'the restarted server has the data, the client reached it');
  } finally {
    await sys.close(false);
    await taken.close();
  }
});

test('every boot attempt on a taken port: ServerPortsBusy, after the bounded number of attempts', async () => {
  const taken = await takenPort();
  const sys = new LiveSystem(PROFILE, { ports: async () => taken.port, bootAttempts: 2 });
  try {
    await assert.rejects(sys.start(), (e: Error) => e instanceof ServerPortsBusy && e.name === 'ServerPortsBusy' && /in 2 boot\(s\)/.test(e.message));
    assert.equal(sys.busyPortBoots, 2);
  } finally {
    await sys.close(false);
    await taken.close();
  }
});
