// Request/reply between shards: a call is answered exactly once, also when the remote handler fails (the caller's
// promise rejects; the handler's shard does not get an unhandled rejection, which would stop the server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle, Variant } from '../../../host/shared/frames.js';
import type { CoreExports } from '../../../host/shared/core.js';
import { Mailbox } from '../../../host/node/server/mailbox.js';
import { RemoteCallFailed, ShardRpc } from '../../../host/node/server/shard-rpc.js';
import { loadMesh } from '../core-loader.js';

// Moves frames until `done` holds (bounded), delivering them like the shard loop does.
async function exchange(ends: { core: CoreExports; mailbox: Mailbox; rpc: ShardRpc }[], done: () => boolean): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    assert.ok(turn < 1_000, 'no answer within 1000 turns');
    for (const end of ends) {
      end.mailbox.pump();
      for (let frame = end.core.recvNext(); frame !== 0; frame = end.core.recvNext()) {
        const message = end.mailbox.receive(frame);
        if (message) end.rpc.deliver(message);
      }
      end.core.shardFlush();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('shard rpc', () => {
  it('a remote handler that throws or rejects fails the call instead of leaving it unanswered or crashing its shard', async () => {
    const mesh = await loadMesh('release', 2, 64, 1024);
    const ends = await Promise.all([0, 1].map(async (id) => {
      const core = await mesh.shard(id);
      const mailbox = new Mailbox(core, mesh.memory, id, 2);
      return { core, mailbox, rpc: new ShardRpc(mailbox, id) };
    }));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      ends[1].rpc.on(Variant.lifecycle, Lifecycle.metadataSubmit, async (m) => {
        if (m.payload[0] === 1) throw new Error('body too large');
        return Uint8Array.of(42);
      });
      ends[1].rpc.on(Variant.lifecycle, Lifecycle.partitionRead, () => { throw new Error('sync failure'); });
      const outcomes: string[] = [];
      const record = (p: Promise<Uint8Array>) => p.then((r) => outcomes.push(`ok ${[...r]}`), (e) => outcomes.push(e instanceof RemoteCallFailed ? `failed ${e.message}` : `other ${e}`));
      void record(ends[0].rpc.call(1, Variant.lifecycle, Lifecycle.metadataSubmit, Uint8Array.of(1)));
      void record(ends[0].rpc.call(1, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(0)));
      void record(ends[0].rpc.call(1, Variant.lifecycle, Lifecycle.metadataSubmit, Uint8Array.of(2)));
      await exchange(ends, () => outcomes.length === 3);
      assert.deepEqual(outcomes.sort(), ['failed shard 1: Error: body too large', 'failed shard 1: Error: sync failure', 'ok 42']);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
