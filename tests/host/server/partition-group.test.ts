// A partition's group writes its batches asynchronously, one journal write at a time: writes that arrive while one
// is on its way wait for the next. When its journal write (the partition append) fails: the writers of that group are answered
// with an error and nothing later is accepted, and the failure stays inside the partition (the flush does not
// throw into the shard loop, which would stop the server).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionGroup } from '../../../host/node/server/partition-group.js';
import type { ShardContext } from '../../../host/node/server/context.js';
import type { PartitionHome } from '../../../host/node/data/send-api.js';
import { shardCore } from '../consensus-core.js';

function batch(messages: number): Uint8Array {
  const b = new Uint8Array(256);
  new DataView(b.buffer).setUint32(48, messages, true);
  return b;
}

test('a failed append answers its writers with error 1 and refuses later writes; flush does not throw', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let appends = 0;
  const home = {
    appendAsync: async () => { appends++; throw new Error('ENOSPC: no space left on device, write'); },
    idle: () => Promise.resolve(),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 5n, '0/0/0', home, () => {});
  group.flush(); // the owner's session
  const first = group.send(batch(1));
  const second = group.send(batch(2));
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1);
  assert.deepEqual(await Promise.all([first, second]), [{ status: 1, baseOffset: 0 }, { status: 1, baseOffset: 0 }]);
  assert.deepEqual(await group.send(batch(1)), { status: 1, baseOffset: 0 });
  assert.equal(await group.storeOffset({ kind: 1, id: 0 }, 3), 1);
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1, 'nothing is written after the failure');
});

test('batches that arrive while a journal write is on its way go together in the next one, answered in order', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const writes: { batches: Uint8Array[]; done: () => void }[] = [];
  let next = 0;
  const home = {
    appendAsync: (batches: Uint8Array[]) => new Promise((resolve) => {
      writes.push({ batches, done: () => {
        const baseOffset = next;
        const bases = batches.map((b) => { const at = next; next += new DataView(b.buffer).getUint32(48, true); return at; });
        resolve({ baseOffset, nextOffset: next, batches: batches.length, bytes: 0, refused: batches.map(() => 0), bases });
      } });
    }),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  let work = 0;
  const group = new PartitionGroup(ctx, 6n, '0/0/1', home, () => { work++; });
  group.flush(); // the owner's session
  const a = group.send(batch(3));
  group.flush();
  assert.equal(writes.length, 1);
  const b = group.send(batch(2));
  const c = group.send(batch(4));
  group.flush();
  assert.equal(writes.length, 1, 'no second write while the first is on its way');
  const workBefore = work;
  writes[0].done();
  assert.deepEqual(await a, { status: 0, baseOffset: 0 });
  assert.ok(work > workBefore, 'the owner is asked to flush again once the write is done');
  assert.equal(group.flush(), true, 'the flush after a finished append reports it (fresh stats)');
  assert.equal(writes.length, 2);
  assert.equal(writes[1].batches.length, 2, 'both batches that waited go in one write');
  writes[1].done();
  assert.deepEqual(await Promise.all([b, c]), [{ status: 0, baseOffset: 3 }, { status: 0, baseOffset: 5 }]);
});

test('a batch the append refused (checksums) is answered with its status; the others of the write get their offsets', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const home = {
    // The second batch fails its frame checksums (core verdict 5): left out, the third follows the first.
    appendAsync: async (batches: Uint8Array[]) => ({ baseOffset: 10, nextOffset: 13, batches: 2, bytes: 0, refused: batches.map((_, i) => (i === 1 ? 5 : 0)), bases: [10, -1, 12] }),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 7n, '0/0/2', home, () => {});
  group.flush(); // the owner's session
  const sends = [group.send(batch(2)), group.send(batch(5)), group.send(batch(1))];
  group.flush();
  assert.deepEqual(await Promise.all(sends), [{ status: 0, baseOffset: 10 }, { status: 4027, baseOffset: 0 }, { status: 0, baseOffset: 12 }]);
});

test('after a write of a full pipeline, the writes that waited go in the very next flush', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const writes: { batches: Uint8Array[]; done: () => void }[] = [];
  const home = {
    appendAsync: (batches: Uint8Array[]) => new Promise((resolve) => {
      writes.push({ batches, done: () => resolve({ baseOffset: 0, nextOffset: batches.length, batches: batches.length, bytes: 0, refused: batches.map(() => 0), bases: batches.map((_, i) => i) }) });
    }),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 8n, '0/0/3', home, () => {});
  group.flush(); // the owner's session
  const sends = Array.from({ length: 33 }, () => group.send(batch(1)));
  group.flush();
  assert.equal(writes[0].batches.length, 32, 'a full pipeline');
  writes[0].done();
  await Promise.all(sends.slice(0, 32));
  group.flush(); // the flush the owner runs because the finished write asked for one
  assert.equal(writes.length, 2, 'the 33rd send is written now, not at some later loop turn');
  writes[1].done();
  assert.equal((await sends[32]).status, 0);
});

test('a partition deleted during its write: its writers are answered only once the write is done (their bytes may still be read)', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let finish!: () => void;
  const written = new Promise<void>((resolve) => { finish = resolve; });
  const home = {
    appendAsync: (batches: Uint8Array[]) => written.then(() => ({ baseOffset: 0, nextOffset: 1, batches: batches.length, bytes: 0, refused: [0], bases: [0] })),
    idle: () => written,
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 7n, '0/0/2', home, () => {});
  group.flush(); // the owner's session
  const answered: string[] = [];
  void group.send(batch(1)).then((r) => answered.push(`written ${r.status}`));
  group.flush(); // its write starts
  void group.send(batch(1)).then((r) => answered.push(`waiting ${r.status}`));
  group.abort(new Error('deleted'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(answered, [], 'the batches are still their writers\': the write may be reading them');
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(answered.sort(), ['waiting 20', 'written 20']);
  assert.deepEqual(await group.send(batch(1)), { status: 1, baseOffset: 0 }, 'a later writer at once (refused)');
});
