// The close ownership of shard 0's listening descriptor (host/node/net/listener-share.ts): a borrower reads the
// number only while the share is open, and retire() (shard 0, before it closes the listener) does not return
// while a borrower on another thread is inside borrow(). And the helper really hands back a descriptor of this
// thread's own for the same socket: a different number, still accepting after the original is closed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ListenerShare, ListenerShareError, ShareState, adoptSharedListener } from '../../../host/node/net/listener-share.js';

const BOUND_MS = 10_000;
const fdOf = (server: net.Server) => (server as unknown as { _handle: { fd: number } })._handle.fd;

// A borrower on another thread (the real ListenerShare over the same buffer) that stays inside borrow() until told
// to leave (word 0 of `gate` set to 1); word 1 is set to 1 once it is inside.
const BORROWER = `
const { workerData } = require('node:worker_threads');
import(workerData.module).then(({ ListenerShare }) => {
  const gate = new Int32Array(workerData.gate);
  new ListenerShare(workerData.share).borrow(() => {
    Atomics.store(gate, 1, 1);
    Atomics.notify(gate, 1);
    Atomics.wait(gate, 0, 0, ${BOUND_MS});
  });
});
`;
const SHARE_MODULE = new URL('../../../host/node/net/listener-share.js', import.meta.url).href;

describe('ListenerShare', () => {
  it('lends the number only while open: none before publish() nor after retire()', async () => {
    const share = new ListenerShare();
    assert.equal(share.borrow((fd) => fd), null);
    share.publish(42, 1234);
    assert.equal(share.borrow((fd) => fd), 42);
    assert.equal(share.port, 1234);
    assert.equal(await share.retire(BOUND_MS), true);
    assert.equal(share.state, ShareState.closed);
    assert.equal(share.borrow(() => assert.fail('read the number of a retired share')), null);
    assert.equal(await share.whenSettled(BOUND_MS, () => false), ShareState.closed);
  });

  it('retire() waits for a borrower inside on another thread, and times out (false) while it stays', async () => {
    const share = new ListenerShare();
    share.publish(42, 1234);
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(BORROWER, { eval: true, workerData: { gate: gate.buffer, share: share.buffer, module: SHARE_MODULE } });
    try {
      while (Atomics.load(gate, 1) === 0) await Atomics.waitAsync(gate, 1, 0, 100).value;
      assert.equal(await share.retire(50), false, 'a borrower is inside');
      const retired = share.retire(BOUND_MS);
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      assert.equal(await retired, true);
    } finally {
      await worker.terminate();
    }
  });
});

describe('adoptSharedListener', () => {
  it('returns a listener on a descriptor of its own for the same socket, which accepts after the original is closed', async () => {
    const original = net.createServer();
    await new Promise<void>((resolve) => original.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = original.address() as net.AddressInfo;
    const share = new ListenerShare();
    share.publish(fdOf(original), port);
    const adopted = await adoptSharedListener(share, BOUND_MS);
    const copy = net.createServer((socket) => socket.end('copy'));
    await new Promise<void>((resolve) => copy.listen(adopted, resolve));
    try {
      assert.notEqual(fdOf(copy), fdOf(original));
      assert.equal(await share.retire(BOUND_MS), true);
      await new Promise<void>((resolve) => original.close(() => resolve()));
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (d) => { text += d; });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.equal(answer, 'copy');
    } finally {
      await new Promise<void>((resolve) => copy.close(() => resolve()));
    }
  });

  it('refuses with ListenerShareClosed once the share is retired, and ListenerShareHelper for a descriptor that is not the socket', async () => {
    const retired = new ListenerShare();
    await retired.retire(0);
    await assert.rejects(adoptSharedListener(retired, BOUND_MS), (e) => e instanceof ListenerShareError && e.code === 'ListenerShareClosed');
    // A descriptor on another port (as a number reused by another listener would be): the helper refuses it.
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      const wrong = new ListenerShare();
      wrong.publish(fdOf(other), 1);
      await assert.rejects(adoptSharedListener(wrong, BOUND_MS), (e) => e instanceof ListenerShareError && e.code === 'ListenerShareHelper' && /ListenerMismatch/.test(e.message));
    } finally {
      other.close();
    }
  });
});
