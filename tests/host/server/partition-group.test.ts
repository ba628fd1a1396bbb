// A partition's group writes its batches asynchronously, one journal write at a time: writes that arrive while one
// is on its way wait for the next. When its journal write (the partition append) fails: the writers of that group are
// answered with an error naming what could not be saved and nothing later is accepted, and the failure stays inside
// the partition (the flush does not throw into the shard loop, which would stop the server). A full device is not a
// failure: the writes of that flush are refused, and the next flush tries again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../host/shared/wire/codes.js';
import { PIPELINE_MAX } from '../../../host/shared/vsr-abi.js';
import { PartitionGroup } from '../../../host/node/server/partition-group.js';
import type { ShardContext } from '../../../host/node/server/context.js';
import type { PartitionHome } from '../../../host/node/data/send-api.js';
import { shardCore } from '../consensus-core.js';

function batch(messages: number): Uint8Array {
  const b = new Uint8Array(256);
  new DataView(b.buffer).setUint32(48, messages, true);
  return b;
}

test('a failed append (an I/O error) answers its writers 4006 / 10006 and refuses later writes; flush does not throw', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let appends = 0;
  const home = {
    verify: () => 0, // every batch passes the core's checksums
    appendAsync: async () => { appends++; throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }); },
    idle: () => Promise.resolve(),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const failures: string[] = [];
  const group = new PartitionGroup(ctx, 5n, '0/0/0', home, () => {}, { committed() {}, noSpace() {}, wrote() {}, readOnly() {}, formationCut() {}, stranded() {}, failed: (e) => failures.push(e.message) });
  group.flush(); // the owner's session
  const first = group.send(batch(1));
  const second = group.send(batch(2));
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1);
  const saveFailed = { status: ErrorCode.cannotSaveMessagesToSegment, baseOffset: 0 };
  assert.deepEqual(await Promise.all([first, second]), [saveFailed, saveFailed]);
  assert.deepEqual(await group.send(batch(1)), saveFailed);
  assert.equal(await group.storeOffset({ kind: 1, id: 0 }, 3), ErrorCode.cannotWriteToFile);
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1, 'nothing is written after the failure');
  assert.deepEqual(failures, ['EIO: i/o error, write']);
});

test('a full device answers the writes of that flush 4006 / 10006 and the next flush tries again (no fence until restart)', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let full = true;
  let appends = 0;
  let offsetFlushes = 0;
  const home = {
    verify: () => 0, // every batch passes the core's checksums
    appendAsync: async (batches: Uint8Array[]) => {
      appends++;
      if (full) throw Object.assign(new Error('ENOSPC: rolled back'), { code: 'NoSpace' });
      return { baseOffset: 0, nextOffset: batches.length, batches: batches.length, bytes: 0, refused: batches.map(() => 0), bases: batches.map((_, i) => i) };
    },
    idle: () => Promise.resolve(),
    offsets: { store() {}, delete() {}, flush() { offsetFlushes++; if (full) throw Object.assign(new Error('ENOSPC: offsets rolled back'), { code: 'NoSpace' }); } },
  } as unknown as PartitionHome;
  const events: string[] = [];
  const group = new PartitionGroup(ctx, 6n, '0/0/1', home, () => {}, {
    committed() {}, noSpace: (_d, writes) => events.push(`noSpace ${writes}`), wrote: () => events.push('wrote'), readOnly() {}, formationCut() {}, stranded() {}, failed: () => events.push('failed'),
  });
  group.flush(); // the owner's session
  const refused = group.send(batch(1));
  const offset = group.storeOffset({ kind: 1, id: 0 }, 3);
  group.flush();
  assert.deepEqual(await refused, { status: ErrorCode.cannotSaveMessagesToSegment, baseOffset: 0 });
  assert.equal(await offset, ErrorCode.cannotWriteToFile);
  full = false;
  const accepted = group.send(batch(2));
  const stored = group.storeOffset({ kind: 1, id: 0 }, 4);
  group.flush();
  assert.deepEqual(await accepted, { status: 0, baseOffset: 0 });
  assert.equal(await stored, 0);
  assert.deepEqual([appends, offsetFlushes], [2, 2]);
  assert.deepEqual(events, ['noSpace 1', 'noSpace 1', 'wrote']);
});

test('batches that arrive while a journal write is on its way go together in the next one, answered in order', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const writes: { batches: Uint8Array[]; done: () => void }[] = [];
  let next = 0;
  const home = {
    verify: () => 0, // every batch passes the core's checksums
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

test('a batch that fails its checksums is answered at once and never becomes an op; the good ones are appended unhashed', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const appends: { batches: Uint8Array[]; verified: boolean }[] = [];
  const home = {
    // The batch of 5 messages fails its frame checksums (core verdict BATCH_FRAME_CHECKSUM).
    verify: (b: Uint8Array) => (new DataView(b.buffer, b.byteOffset).getUint32(48, true) === 5 ? 5 : 0),
    appendAsync: async (batches: Uint8Array[], verified: boolean) => {
      appends.push({ batches, verified });
      return { baseOffset: 10, nextOffset: 13, batches: batches.length, bytes: 0, refused: batches.map(() => 0), bases: [10, 12] };
    },
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  let committed = 0;
  const group = new PartitionGroup(ctx, 7n, '0/0/2', home, () => {}, { committed: () => committed++, noSpace() {}, wrote() {}, readOnly() {}, formationCut() {}, stranded() {}, failed() {} });
  group.flush(); // the owner's session
  const opBefore = group.op;
  const good = group.send(batch(2));
  const bad = group.send(batch(5));
  const next = group.send(batch(1));
  assert.deepEqual(await bad, { status: 4027, baseOffset: 0 }, 'answered before any flush: it is not waiting for an op');
  group.flush();
  assert.deepEqual(await Promise.all([good, next]), [{ status: 0, baseOffset: 10 }, { status: 0, baseOffset: 12 }]);
  assert.equal(group.op - opBefore, 2, 'two ops, not three');
  assert.equal(committed, 2);
  assert.deepEqual(appends.map((a) => [a.batches.length, a.verified]), [[2, true]], 'the append is told they were verified (no second hash pass)');
});

test('after a write of a full pipeline, the writes that waited go in the very next flush', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const writes: { batches: Uint8Array[]; done: () => void }[] = [];
  const home = {
    verify: () => 0, // every batch passes the core's checksums
    appendAsync: (batches: Uint8Array[]) => new Promise((resolve) => {
      writes.push({ batches, done: () => resolve({ baseOffset: 0, nextOffset: batches.length, batches: batches.length, bytes: 0, refused: batches.map(() => 0), bases: batches.map((_, i) => i) }) });
    }),
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 8n, '0/0/3', home, () => {});
  group.flush(); // the owner's session
  const opBefore = group.op;
  const sends = Array.from({ length: PIPELINE_MAX + 1 }, () => group.send(batch(1)));
  group.flush();
  assert.equal(writes[0].batches.length, PIPELINE_MAX, 'a full pipeline');
  assert.equal(group.op - opBefore, PIPELINE_MAX, 'the last one waits in the group\'s one queue, not inside the core');
  writes[0].done();
  await Promise.all(sends.slice(0, PIPELINE_MAX));
  group.flush(); // the flush the owner runs because the finished write asked for one
  assert.equal(writes.length, 2, 'the last send is written now, not at some later loop turn');
  writes[1].done();
  assert.equal((await sends[PIPELINE_MAX]).status, 0);
});

test('a partition deleted during its write: its writers are answered only once the write is done (their bytes may still be read)', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let finish!: () => void;
  const written = new Promise<void>((resolve) => { finish = resolve; });
  const home = {
    verify: () => 0, // every batch passes the core's checksums
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
  assert.deepEqual(await group.send(batch(1)), { status: 20, baseOffset: 0 }, 'a later writer at once (refused: the partition is gone)');
});
