// Request/reply between shards: a call is answered exactly once, also when the remote handler fails (the caller's
// promise rejects; the handler's shard does not get an unhandled rejection, which would stop the server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle, Variant } from '../../../host/shared/frames.js';
import type { CoreExports } from '../../../host/shared/core.js';
import { Mailbox, type InPlace } from '../../../host/node/server/mailbox.js';
import { FrameArena } from '../../../host/node/net/frame-arena.js';
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

  it('an answer written in place goes into the ring frame when it fits, else is built; a failing writer fails only its call', async () => {
    // The debug core: its asserts trap on a reservation left pending (the release build compiles them out).
    const mesh = await loadMesh('debug', 2, 64, 1024, 1 << 20); // 64 KiB rings (fragments of 32 KiB); 1 MiB of storage to lend from
    const ends = await Promise.all([0, 1].map(async (id) => {
      const core = await mesh.shard(id);
      const mailbox = new Mailbox(core, mesh.memory, id, 2);
      return { core, mailbox, rpc: new ShardRpc(mailbox, id) };
    }));
    const u8 = new Uint8Array(mesh.memory.buffer);
    const used: string[] = [];
    // The request says how the answer behaves: [max KiB, what write() does (0 write 3 bytes, 1 decline, 2 throw)].
    const handler = (m: { payload: Uint8Array }): InPlace => ({
      maxBytes: m.payload[0] << 10,
      write(at: number, room: number) {
        used.push(`write ${room >> 10}`);
        if (m.payload[1] === 2) throw new Error('read failed');
        if (m.payload[1] === 3) return null; // then built: 100 KiB
        if (m.payload[1] === 1) return null;
        u8.set([7, 8, 9], at);
        return 3;
      },
      build() { used.push('build'); return m.payload[1] === 3 ? [new Uint8Array(100 << 10).fill(5)] : [Uint8Array.of(1), Uint8Array.of(2)]; },
    });
    for (const end of ends) end.rpc.on(Variant.lifecycle, Lifecycle.partitionRead, handler);
    const ask = async (from: number, to: number, maxKiB: number, how: number) => {
      const answer = ends[from].rpc.call(to, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(maxKiB, how)).then((r) => [...r], (e: Error) => e.message);
      let result: number[] | string | undefined;
      void answer.then((r) => { result = r; });
      await exchange(ends, () => result !== undefined);
      return result;
    };
    assert.deepEqual(await ask(0, 1, 16, 0), [7, 8, 9]);
    assert.deepEqual(used.splice(0), ['write 16'], 'written straight into the ring frame, nothing built');
    assert.deepEqual(await ask(0, 1, 40, 0), [1, 2]);
    assert.deepEqual(used.splice(0), ['build'], 'larger than one fragment: built');
    assert.deepEqual(await ask(0, 1, 16, 1), [1, 2]);
    assert.deepEqual(used.splice(0), ['write 16', 'build'], 'declined: built');
    assert.equal(await ask(0, 1, 16, 2), 'shard 1: Error: read failed');
    assert.deepEqual(await ask(0, 1, 16, 0), [7, 8, 9], 'the failed write left no reservation behind');
    assert.deepEqual(await ends[0].rpc.call(0, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(16, 0)).then((r) => [...r]), [1, 2], 'on its own shard: built');
    used.length = 0;

    // On its own shard with memory lent: written into the lent region, which the caller gets back to return.
    const lent: Uint8Array[] = [];
    const lender = {
      take: (bytes: number) => { const region = Buffer.from(mesh.memory.buffer, ends[0].core.shardStorageAddress(0), bytes); lent.push(region); return region; },
      owns: (region: Uint8Array) => lent.includes(region),
      release: (region: Uint8Array) => { assert.ok(lent.includes(region), 'released twice'); lent.splice(lent.indexOf(region), 1); },
    };
    const into = (how: number) => ends[0].rpc.callInto(0, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(16, how), 0n, lender);
    const written = await into(0);
    assert.deepEqual([...written.pieces[0]], [7, 8, 9]);
    assert.equal(written.pieces[0].byteOffset, ends[0].core.shardStorageAddress(0), 'in the lent region');
    assert.ok(written.lent !== null && lent.length === 1, 'still lent: the caller returns it');
    lender.release(written.lent!);
    const declined = await into(1);
    assert.deepEqual([[...declined.pieces[0]], [...declined.pieces[1]], declined.lent, lent.length], [[1], [2], null, 0], 'declined: built, region returned');
    await assert.rejects(into(2), /read failed/);
    assert.equal(lent.length, 0, 'a failing writer returns the region');

    // From another shard: a large reply is assembled in the lent memory as its fragments arrive.
    let remote: { pieces: Uint8Array[]; lent: Uint8Array | null } | undefined;
    void ends[0].rpc.callInto(1, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(200, 3), 0n, lender).then((r) => { remote = r; });
    await exchange(ends, () => remote !== undefined);
    assert.equal(remote!.pieces[0].length, 100 << 10);
    assert.ok(remote!.pieces[0].every((b) => b === 5));
    assert.equal(remote!.pieces[0].byteOffset, ends[0].core.shardStorageAddress(0), 'in the lent region');
    assert.ok(remote!.lent === remote!.pieces[0] && lent.length === 1);
    lender.release(remote!.lent!);
    let small: { pieces: Uint8Array[]; lent: Uint8Array | null } | undefined;
    void ends[0].rpc.callInto(1, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(16, 0), 0n, lender).then((r) => { small = r; });
    await exchange(ends, () => small !== undefined);
    assert.deepEqual([[...small!.pieces[0]], small!.lent, lent.length], [[7, 8, 9], null, 0], 'a small reply is not lent memory');
    let failed: string | undefined;
    void ends[0].rpc.callInto(1, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(16, 2), 0n, lender).catch((e: Error) => { failed = e.message; });
    await exchange(ends, () => failed !== undefined);
    assert.equal(lent.length, 0);
  });

  it('a failed call whose large error text arrived in lent memory gives the region back once', async () => {
    const mesh = await loadMesh('debug', 2, 64, 1024, 1 << 20);
    const ends = await Promise.all([0, 1].map(async (id) => {
      const core = await mesh.shard(id);
      const mailbox = new Mailbox(core, mesh.memory, id, 2);
      return { core, mailbox, rpc: new ShardRpc(mailbox, id) };
    }));
    const arena = new FrameArena(new Uint8Array(mesh.memory.buffer), ends[0].core.shardStorageAddress(0), 1 << 20);
    let taken = 0;
    const lender = { take: (n: number) => { taken++; return arena.take(n); }, owns: (r: Uint8Array) => arena.owns(r), release: (r: Uint8Array) => arena.release(r) };
    ends[1].rpc.on(Variant.lifecycle, Lifecycle.partitionRead, () => { throw new Error('x'.repeat(100 << 10)); });
    let failed: Error | undefined;
    void ends[0].rpc.callInto(1, Variant.lifecycle, Lifecycle.partitionRead, Uint8Array.of(1), 0n, lender).catch((e: Error) => { failed = e; });
    await exchange(ends, () => failed !== undefined);
    assert.ok(failed instanceof RemoteCallFailed && failed.message.endsWith('x'.repeat(1000)), 'the caller gets the error and its text');
    assert.equal(taken, 1, 'the text was assembled in lent memory');
    assert.equal(arena.bytesInUse, 0, 'and the region went back');
  });
});
