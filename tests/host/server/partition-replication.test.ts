// PartitionReplication, the storage of a cluster's partition group, against a fake partition: ops are written in op
// order; a backup verifies an attached batch and appends it with the append time its op carries; its prepare_ok
// follows the durable append (persisted) or the receipt (replicated); polls see an op's messages only once it is
// both committed and written; a batch that is not the one its prepare binds stops the partition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, H, HEADER_SIZE, Operation, Prep } from '../../../host/shared/vsr-abi.js';
import { CoreJournalBatch } from '../../../host/shared/core-abi.generated.js';
import type { JournalWrite } from '../../../host/shared/replica-driver.js';
import type { PartitionHome } from '../../../host/node/data/send-api.js';
import { NOT_WRITTEN, OP_SEND, OP_STORE_OFFSET, PartitionReplication, type Durability } from '../../../host/node/server/partition-replication.js';
import { NO_SPACE_VERDICT } from '../../../host/node/data/send-api.js';
import { readPrepare } from '../../../host/node/consensus/group.js';

const PRIMARY_CLIENT = 1n;

// Op n's prepare has checksum 1000 + n and chains to op n - 1's (op 1 to 0, the files at open), unless told.
function prepare(op: number, operation: number, descriptor: Uint8Array = new Uint8Array(0), parent = op === 1 ? 0n : BigInt(999 + op)): Uint8Array {
  const m = new Uint8Array(HEADER_SIZE + descriptor.length);
  const v = new DataView(m.buffer);
  v.setBigUint64(H.checksum, BigInt(1000 + op), true);
  v.setBigUint64(Prep.parent, parent, true);
  v.setUint32(H.size, m.length, true);
  m[H.command] = Command.Prepare;
  v.setBigUint64(Prep.op, BigInt(op), true);
  v.setBigUint64(Prep.client, PRIMARY_CLIENT, true);
  v.setBigUint64(Prep.request, BigInt(op), true);
  v.setUint8(Prep.operation, operation);
  m.set(descriptor, HEADER_SIZE);
  return m;
}

function batchOf(count: number, bytes = 128): Uint8Array {
  const b = new Uint8Array(bytes);
  new DataView(b.buffer).setUint32(CoreJournalBatch.B_COUNT, count, true);
  return b;
}

function sendDescriptor(batch: Uint8Array, count: number, timestamp: number): Uint8Array {
  const d = new Uint8Array(24);
  const v = new DataView(d.buffer);
  v.setUint32(0, batch.length, true);
  v.setUint32(4, count, true);
  v.setBigUint64(16, BigInt(timestamp), true);
  return d;
}

const write = (message: Uint8Array): JournalWrite => {
  const p = readPrepare(message);
  return { op: p.op, checksum: p.checksum, message, headerOnly: false };
};

const headerOnly = (message: Uint8Array): JournalWrite => ({ ...write(message), message: message.subarray(0, HEADER_SIZE), headerOnly: true });

// A partition whose appends resolve when the test says so (`full`: the device fills up from that batch of it on,
// as a later staging group that found no space: those batches are refused, the ones before it are written).
function fakeHome() {
  const appends: { batches: Uint8Array[]; timestamps?: number[]; resolve: (full?: number) => void }[] = [];
  const verified: Uint8Array[] = [];
  let next = 0;
  const cuts: number[] = [];
  const partition = {
    nextOffset: 0, committedEnd: null as number | null, readFromOffset: () => [],
    cutBack: (offset: number) => {
      // As Partition.cutBack: never below the committed end (a poll may have read it).
      if (partition.committedEnd !== null && offset < partition.committedEnd) throw new Error(`cannot cut back to offset ${offset}: below the committed end ${partition.committedEnd}`);
      cuts.push(offset);
      partition.nextOffset = offset;
      next = offset;
    },
  };
  const home = {
    partition,
    verify: (batch: Uint8Array) => { verified.push(batch); return CoreJournalBatch.BATCH_OK; },
    offsets: { store() {}, delete() {}, flush() {}, entries: () => [] },
    storage: { hasFree: () => false, unallocated: 0 }, // no core memory to spare: kept batches go to the JS heap
    appendAsync: (batches: Uint8Array[], _verified: boolean, timestamps?: number[]) => new Promise((resolve) => {
      appends.push({ batches, timestamps, resolve: (full = batches.length) => {
        const bases = batches.map((b, i) => { if (i >= full) return -1; const base = next; next += new DataView(b.buffer).getUint32(CoreJournalBatch.B_COUNT, true); return base; });
        partition.nextOffset = next;
        resolve({ refused: batches.map((_, i) => (i >= full ? NO_SPACE_VERDICT : 0)), bases, batches: Math.min(full, batches.length) });
      } });
    }),
  };
  return { home: home as unknown as PartitionHome, appends, verified, partition, cuts };
}

function backup(durability: Durability) {
  const fake = fakeHome();
  const failures: Error[] = [];
  const told: number[] = []; // the cuts the core was told of (journalCut)
  const replication = new PartitionReplication({
    home: fake.home, durability, isPrimary: () => false, ownBatch: () => null, appended() {}, failed: (e) => failures.push(e),
    cut: (from) => told.push(from),
  });
  const done: number[] = [];
  const reports: [number, bigint][] = []; // every completion with the checksum it was reported with
  return { ...fake, replication, failures, done, told, reports, report: (op: number, checksum: bigint) => { done.push(op); reports.push([op, checksum]); } };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

// Op 1, a send of 3 messages, kept and handed to this backup's append (the test resolves it).
function writeOp1(b: ReturnType<typeof backup>): Uint8Array {
  const old = batchOf(3);
  const p1 = prepare(1, OP_SEND, sendDescriptor(old, 3, 1));
  b.replication.keep(p1, old);
  b.replication.write([write(p1)], b.report);
  return p1;
}

// The prepare a view change put at op 1 instead of writeOp1's (a send of 2 messages), and its batch.
function op1Replacement(): { p1b: Uint8Array; canonical: Uint8Array } {
  const canonical = batchOf(2);
  return { p1b: replacement(prepare(1, OP_SEND, sendDescriptor(canonical, 2, 2))), canonical };
}

test('persisted: a backup verifies the attached batch, appends it with its op\'s append time, and votes after the append', async () => {
  const b = backup('persisted');
  const batch = batchOf(3);
  const register = prepare(1, Operation.Register);
  const send = prepare(2, OP_SEND, sendDescriptor(batch, 3, 1_700_000_000_000_123));
  b.replication.keep(send, batch);
  b.replication.write([write(register), write(send)], b.report);
  assert.deepEqual(b.done, [], 'no vote before the append is durable (the Register goes with it: one group)');
  assert.equal(b.appends.length, 1);
  assert.deepEqual(b.appends[0].timestamps, [1_700_000_000_000_123]);
  assert.deepEqual([...b.verified[0]], [...batch], 'the attachment is verified by this replica');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.done, [1, 2]);
});

test('replicated: a backup votes on receipt, before its append is durable (the weaker mode)', async () => {
  const b = backup('replicated');
  const batch = batchOf(2);
  const send = prepare(1, OP_SEND, sendDescriptor(batch, 2, 5));
  b.replication.keep(send, batch);
  b.replication.write([write(send)], b.report);
  assert.deepEqual(b.done, [1], 'voted before the append resolved');
  assert.equal(b.appends.length, 1, 'the append still runs');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.done, [1], 'and is not reported twice');
});

test('polls see an op\'s messages once it is both written and committed; ops are written in op order', async () => {
  const b = backup('persisted');
  assert.equal(b.partition.committedEnd, 0);
  const first = batchOf(4);
  const second = batchOf(6);
  const p1 = prepare(1, OP_SEND, sendDescriptor(first, 4, 10));
  const p2 = prepare(2, OP_SEND, sendDescriptor(second, 6, 11));
  b.replication.keep(p2, second);
  b.replication.write([write(p2)], b.report);
  assert.equal(b.appends.length, 0, 'op 2 waits for op 1');
  b.replication.write([write(p1)], b.report);
  assert.equal(b.appends.length, 0, 'op 1 waits for its batch (its prepare came without it)');
  b.replication.keep(p1, first);
  assert.equal(b.appends.length, 1, 'written as soon as its batch arrives');
  assert.equal(b.appends[0].batches.length, 2, 'both ops in one append');
  b.replication.commit(1, readPrepare(p1));
  assert.equal(b.partition.committedEnd, 0, 'committed but not written yet');
  b.appends[0].resolve();
  await settle();
  assert.equal(b.partition.committedEnd, 4, 'op 1 committed and written: its 4 messages; op 2 is not committed');
  b.replication.commit(2, readPrepare(p2));
  assert.equal(b.partition.committedEnd, 10);
});

test('an attached batch that is not the one its prepare binds stops the partition (PartitionBatchMismatch)', () => {
  const b = backup('persisted');
  const batch = batchOf(3);
  const send = prepare(1, OP_SEND, sendDescriptor(batch, 4, 1)); // binds 4 messages, carries 3
  b.replication.keep(send, batch);
  b.replication.write([write(send)], b.report);
  assert.equal(b.failures.length, 1);
  assert.match(b.failures[0].message, /PartitionBatchMismatch/);
  assert.equal(b.appends.length, 0, 'nothing written');
  assert.deepEqual(b.reports, [[1, NOT_WRITTEN]], 'no vote: reported never written');
});

// A prepare with another checksum for the same op: what a view change that chose another prepare writes. It chains
// to the replacement of the op before (checksum 9000 + op) unless told.
function replacement(message: Uint8Array, parent?: bigint): Uint8Array {
  const m = Uint8Array.from(message);
  const op = readPrepare(message).op;
  new DataView(m.buffer).setBigUint64(H.checksum, BigInt(9000 + op), true);
  new DataView(m.buffer).setBigUint64(Prep.parent, parent ?? (op === 1 ? 0n : BigInt(8999 + op)), true);
  return m;
}

test('a view change that replaces a written Register (it changed no file) is taken; a written send is cut off and the new one appended in its place', async () => {
  const b = backup('persisted');
  const register = prepare(1, Operation.Register);
  const batch = batchOf(2);
  const send = prepare(2, OP_SEND, sendDescriptor(batch, 2, 7));
  b.replication.keep(send, batch);
  b.replication.write([write(register), write(send)], b.report);
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.done, [1, 2]);
  b.replication.write([write(replacement(register))], b.report);
  assert.equal(b.failures.length, 0, 'a replaced Register changed nothing on disk');
  assert.deepEqual(b.done, [1, 2, 1], 'the new prepare of op 1 is durable at once');
  const other = batchOf(5);
  const send2 = replacement(prepare(2, OP_SEND, sendDescriptor(other, 5, 8)));
  b.replication.keep(send2, other);
  b.replication.write([write(send2)], b.report);
  assert.deepEqual(b.cuts, [0], 'the replaced send\'s 2 messages cut off: back to offset 0');
  assert.equal(b.appends.length, 2, 'the new op 2 appended in their place');
  assert.deepEqual(b.appends[1].batches.map((x) => [...x]), [[...other]]);
  b.appends[1].resolve();
  await settle();
  assert.equal(b.partition.nextOffset, 5);
  assert.equal(b.failures.length, 0);
});

test('a replaced op after an offset change cannot be undone: the partition stops (PartitionOpReplaced)', async () => {
  const b = backup('persisted');
  const store = prepare(1, 161, new Uint8Array(16)); // OP_STORE_OFFSET
  b.replication.write([write(store)], b.report);
  await settle();
  b.replication.write([write(replacement(store))], b.report);
  assert.equal(b.failures.length, 1);
  assert.match(b.failures[0].message, /PartitionOpReplaced/);
  assert.deepEqual(b.cuts, []);
});

test('a write for an op whose append is on its way is checked once it is written: the same prepare is durable then, another is cut off and takes its place', async () => {
  const b = backup('persisted');
  const batch = batchOf(2);
  const send = prepare(1, OP_SEND, sendDescriptor(batch, 2, 3));
  b.replication.keep(send, batch);
  b.replication.write([write(send)], b.report);
  b.replication.write([write(send)], b.report); // a retransmission while its append runs
  b.replication.write([write(replacement(send))], b.report); // a view change's replacement while its append runs
  assert.equal(b.appends.length, 1, 'one append: nothing is written twice');
  assert.equal(b.failures.length, 0, 'nothing decided before the append is done');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.cuts, [0], 'the replaced op cut off once its append was done');
  assert.equal(b.failures.length, 0);
});

test('batches kept for ops beyond the log window are not kept (a backup cut off from commits)', () => {
  const b = backup('persisted');
  const far = batchOf(1);
  const p = prepare(500, OP_SEND, sendDescriptor(far, 1, 1));
  b.replication.keep(p, far);
  assert.equal(b.replication.bodyFor(readPrepare(p)), null, 'op 500 with nothing committed: beyond the window, dropped');
  const near = prepare(3, OP_SEND, sendDescriptor(far, 1, 1));
  b.replication.keep(near, far);
  assert.deepEqual([...b.replication.bodyFor(readPrepare(near))!], [...far], 'op 3: kept');
});

test('a replacement that commits before its write: the written batch is cut and never readable; the new one is written and read', async () => {
  const b = backup('persisted');
  writeOp1(b);
  b.appends[0].resolve();
  await settle();
  const { p1b, canonical } = op1Replacement();
  b.replication.keep(p1b, canonical);
  b.replication.commit(1, readPrepare(p1b)); // the core commits the repaired op in the event that asks its write
  assert.deepEqual(b.cuts, [0], 'the old batch is cut at once');
  assert.equal(b.partition.committedEnd, 0, 'and never counted committed');
  b.replication.write([write(p1b)], b.report);
  assert.equal(b.appends.length, 2);
  b.appends[1].resolve();
  await settle();
  assert.equal(b.partition.committedEnd, 2, 'the canonical batch is');
  assert.equal(b.failures.length, 0);
});

test('a replacement that commits while the replaced op\'s append is on its way: that batch never counts committed, and is cut once written', async () => {
  const b = backup('persisted');
  writeOp1(b);
  const { p1b, canonical } = op1Replacement();
  b.replication.keep(p1b, canonical);
  b.replication.commit(1, readPrepare(p1b)); // the old append still on its way (a torture run: a poll read its batch)
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.cuts, [0], 'the old batch cut once its append was done');
  assert.equal(b.partition.committedEnd, 0, 'and never counted committed: no poll reads it');
  b.replication.write([write(p1b)], b.report); // its write, asked for in the same event, reaches the storage later
  assert.deepEqual(b.failures, []);
  b.appends[1].resolve();
  await settle();
  assert.equal(b.partition.committedEnd, 2, 'the canonical batch is');
});

test('several replacements for an append on its way: the first cuts, all are written in order, none reported before its write', async () => {
  const b = backup('persisted');
  const olds = [batchOf(1), batchOf(1), batchOf(1)];
  const ps = olds.map((x, i) => prepare(i + 1, OP_SEND, sendDescriptor(x, 1, i)));
  ps.forEach((p, i) => b.replication.keep(p, olds[i]));
  b.replication.write(ps.map(write), b.report);
  const news = [batchOf(2), batchOf(2), batchOf(2)];
  const qs = news.map((x, i) => replacement(prepare(i + 1, OP_SEND, sendDescriptor(x, 2, 10 + i))));
  qs.forEach((q, i) => b.replication.keep(q, news[i]));
  b.replication.write(qs.map(write), b.report); // a StartView's writes while the old ops' append runs
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.cuts, [0]);
  assert.deepEqual(b.done, [1, 2, 3], 'only the old ops\' own writes so far');
  for (let i = 1; i < b.appends.length; i++) { // the replacements, in op order (one append or more)
    b.appends[i].resolve();
    await settle();
  }
  assert.deepEqual(b.appends.slice(1).flatMap((a) => a.batches).map((x) => x.length), news.map((x) => x.length));
  assert.deepEqual(b.done, [1, 2, 3, 1, 2, 3]);
  assert.equal(b.partition.nextOffset, 6);
  assert.equal(b.failures.length, 0);
});

test('settled (what a catch-up serves): only when every committed op is written here, with the committed offsets alone', async () => {
  const b = backup('persisted');
  assert.deepEqual(b.replication.settled(), { op: 0, checksum: 0n, offsets: [] }, 'op 0: the files at open');
  const batch = batchOf(3);
  const send = prepare(1, OP_SEND, sendDescriptor(batch, 3, 7));
  const store = prepare(2, OP_STORE_OFFSET, offsetDescriptor(1, 5, 2));
  b.replication.keep(send, batch);
  b.replication.write([write(send), write(store)], b.report);
  b.replication.commit(1, readPrepare(send));
  assert.equal(b.replication.settled(), null, 'op 1 committed, its append still on its way: not settled');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.replication.settled(), { op: 1, checksum: readPrepare(send).checksum, offsets: [] }, 'the offset op 2 is written, not committed: not served');
  b.replication.commit(2, readPrepare(store));
  assert.deepEqual(b.replication.settled(), { op: 2, checksum: readPrepare(store).checksum, offsets: [{ kind: 1, id: 5, offset: 2 }] });
  b.replication.installed(9, 99n, [{ kind: 2, id: 1, offset: 3 }]);
  assert.deepEqual(b.replication.settled(), { op: 9, checksum: 99n, offsets: [{ kind: 2, id: 1, offset: 3 }] }, 'a catch-up installed');
});

test('a header-only write (a view change restamping an op) is reported only once the op\'s batch is written: behind a gap, it waits for that write', async () => {
  const b = backup('persisted');
  const first = batchOf(1);
  const second = batchOf(2);
  const p1 = prepare(1, OP_SEND, sendDescriptor(first, 1, 1));
  const p2 = prepare(2, OP_SEND, sendDescriptor(second, 2, 2));
  b.replication.keep(p2, second);
  b.replication.write([write(p2)], b.report); // held: op 1 has not arrived
  b.replication.write([headerOnly(p2)], b.report); // a view change restamps op 2: its prepare_ok follows this completion
  assert.deepEqual(b.done, [], 'no vote for op 2: its batch is not on disk');
  b.replication.keep(p1, first);
  b.replication.write([write(p1)], b.report);
  assert.deepEqual(b.done, [], 'nor while its append is on its way');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.reports, [[1, 1001n], [2, 1002n], [2, 1002n]], 'op 2 and its restamp, once written');
});

test('a header-only write for an op on its way waits for its append; for a written op it is reported at once; for an op neither written nor held, never written', async () => {
  const b = backup('persisted');
  const batch = batchOf(1);
  const p1 = prepare(1, OP_SEND, sendDescriptor(batch, 1, 1));
  b.replication.keep(p1, batch);
  b.replication.write([write(p1)], b.report);
  b.replication.write([headerOnly(p1)], b.report);
  assert.deepEqual(b.done, [], 'the append of op 1 is on its way');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.reports, [[1, 1001n], [1, 1001n]]);
  b.replication.write([headerOnly(p1)], b.report);
  assert.deepEqual(b.reports.at(-1), [1, 1001n], 'written: at once');
  b.replication.write([headerOnly(prepare(3, OP_SEND))], b.report);
  assert.deepEqual(b.reports.at(-1), [3, NOT_WRITTEN], 'op 3 is nowhere here: reported not written (the core never counts it durable)');
  assert.equal(b.appends.length, 1, 'and nothing written for it');
});

test('an op is written only on top of the batch its prepare chains to: it waits for the repaired op before it, whose write cuts the old one and the core is told', async () => {
  const b = backup('persisted');
  writeOp1(b);
  b.appends[0].resolve();
  await settle();
  // A StartView named another op 1 (header only: its prepare is still to be repaired) and its primary's op 2.
  const { p1b: q1, canonical } = op1Replacement();
  const next = batchOf(4);
  const q2 = prepare(2, OP_SEND, sendDescriptor(next, 4, 3), readPrepare(q1).checksum);
  b.replication.keep(q2, next);
  b.replication.write([write(q2)], b.report);
  assert.equal(b.appends.length, 1, 'op 2 is not appended on top of the old op 1');
  assert.deepEqual(b.done, [1], 'nor acknowledged');
  b.replication.keep(q1, canonical);
  b.replication.write([write(q1)], b.report); // the repaired op 1
  assert.deepEqual(b.cuts, [0], 'the old op 1 is cut');
  assert.deepEqual(b.told, [1], 'and the core is told its writes from op 1 on are gone');
  assert.equal(b.appends.length, 2);
  assert.deepEqual(b.appends[1].batches.map((x) => x.length), [canonical.length, next.length], 'the repaired op 1, then op 2 on it');
  b.appends[1].resolve();
  await settle();
  assert.deepEqual(b.reports, [[1, 1001n], [1, 9001n], [2, 1002n]]);
  assert.equal(b.partition.nextOffset, 6);
  assert.equal(b.failures.length, 0);
});

test('no space for a later batch of an append: the ops before it are reported written, the rest never, and the partition stops (PartitionNoSpace)', async () => {
  const b = backup('persisted');
  const batches = [batchOf(1), batchOf(2), batchOf(3)];
  const ps = batches.map((x, i) => prepare(i + 1, OP_SEND, sendDescriptor(x, batchCount(x), i)));
  ps.forEach((p, i) => b.replication.keep(p, batches[i]));
  b.replication.write(ps.map(write), b.report);
  b.appends[0].resolve(1); // a later staging group found the device full: only op 1's batch is written
  await settle();
  assert.equal(b.failures.length, 1);
  assert.match(b.failures[0].message, /PartitionNoSpace: ops 2\.\.3 were not written/);
  assert.deepEqual(b.reports, [[1, 1001n], [2, NOT_WRITTEN], [3, NOT_WRITTEN]], 'ops 2 and 3 are never acknowledged here');
  assert.equal(b.partition.nextOffset, 1);
});

test('stopped, every write the core asked for is reported not written (held, and the append on its way once it settles): a released group\'s core replica can go back', async () => {
  const b = backup('persisted');
  const batch = batchOf(1);
  const p1 = prepare(1, OP_SEND, sendDescriptor(batch, 1, 1));
  b.replication.keep(p1, batch);
  b.replication.write([write(p1), write(prepare(3, OP_SEND))], b.report); // op 1 appending, op 3 held behind a gap
  b.replication.write([write(p1)], b.report); // a retransmission of op 1 while its append runs
  b.replication.stop();
  assert.deepEqual(b.reports.toSorted((x, y) => x[0] - y[0]), [[1, NOT_WRITTEN], [3, NOT_WRITTEN]], 'the held ones at once');
  b.appends[0].resolve();
  await settle();
  assert.deepEqual(b.reports.slice(2), [[1, NOT_WRITTEN]], 'the append\'s once it settled');
});

function batchCount(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getUint32(CoreJournalBatch.B_COUNT, true);
}

function offsetDescriptor(kind: number, id: number, offset: number): Uint8Array {
  const d = new Uint8Array(24);
  const v = new DataView(d.buffer);
  v.setUint8(0, kind);
  v.setUint32(4, id, true);
  v.setBigUint64(8, BigInt(offset), true);
  return d;
}
