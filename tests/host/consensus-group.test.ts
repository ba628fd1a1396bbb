// A single-replica ConsensusGroup (a partition's group) driven like the shard loop drives it: requests in batches,
// one journal write per flush, commits in op order, replies; its arena cost; and recovery from its journal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsensusGroup, ConsensusGroupError, decodeReply, readPrepare, type GroupIo, type GroupReply } from '../../host/node/consensus/group.js';
import { Operation, RecoveryRefused, ReplyStatus } from '../../host/shared/vsr-abi.js';
import { prng } from './helpers.js';
import { shardCore } from './consensus-core.js';

const OPTIONS = { cluster: 7n, group: 42n, slots: 64, clientsMax: 4 };

class RecordingIo implements GroupIo {
  writes: Uint8Array[][] = [];
  commits: { op: number; prepare: Uint8Array }[] = [];
  replies: GroupReply[] = [];
  persisted = 0;
  journalWrite(prepares: Uint8Array[]): void { this.writes.push(prepares); }
  persist(): void { this.persisted++; }
  commit(op: number, prepare: Uint8Array): void { this.commits.push({ op, prepare }); }
  reply(reply: Uint8Array): void { this.replies.push(decodeReply(reply)); }
}

function descriptor(n: number): Uint8Array {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setFloat64(0, n, true);
  b.fill(n & 0xff, 8);
  return b;
}

function register(group: ConsensusGroup, io: RecordingIo, client: bigint): bigint {
  group.submit({ client, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  group.flush();
  const reply = io.replies.at(-1)!;
  assert.equal(reply.status, 0);
  assert.equal(reply.client, client);
  return reply.session;
}

test('a 1-replica group with 64 slots and 4 clients costs < 64 KiB of arena (no DVC store)', async () => {
  const { vsr, memory } = await shardCore();
  const before = vsr.__arena_used();
  ConsensusGroup.create(vsr, memory, OPTIONS, new RecordingIo()); // also allocates the per-instance outbox/inbox
  const first = vsr.__arena_used();
  ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 43n }, new RecordingIo());
  const single = vsr.__arena_used() - first;
  const beforeTriple = vsr.__arena_used();
  vsr.vsrCreate(7n, 44n, 0, 3, 64, 4);
  const triple = vsr.__arena_used() - beforeTriple;
  console.log(`arena per replica (slots 64, clientsMax 4): 1 replica ${single} B (${(single / 1024).toFixed(1)} KiB), 3 replicas ${triple} B; per instance once: ${first - before - single} B`);
  assert.ok(single < 64 * 1024, `single replica costs ${single} B`);
  assert.ok(triple - single > 150 * 1024, `the DVC store (only with peers) is ${triple - single} B`);
});

test('1000 requests from one client in batches: one journalWrite per flush, commits in op order, replies', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const group = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  const session = register(group, io, 9n);
  assert.equal(session, 1n); // the session is the op of the Register
  const random = prng(1000);
  let request = 0;
  let flushes = 1;
  while (request < 1000) {
    const batch = Math.min(1000 - request, 1 + Math.floor(random() * 32));
    for (let i = 0; i < batch; i++) {
      request++;
      group.submit({ client: 9n, session, request: BigInt(request), operation: 128, body: descriptor(request) });
    }
    assert.equal(group.unflushed, batch);
    assert.equal(io.replies.length, request - batch + 1, 'nothing is acknowledged before its journal write');
    assert.equal(group.flush(), batch);
    flushes++;
    assert.equal(io.replies.length, request + 1);
  }
  assert.equal(io.writes.length, flushes);
  assert.deepEqual(io.commits.map((c) => c.op), Array.from({ length: 1001 }, (_, i) => i + 1));
  for (const [i, c] of io.commits.entries()) {
    const p = readPrepare(c.prepare);
    if (i === 0) { assert.equal(p.operation, Operation.Register); continue; }
    assert.equal(p.request, BigInt(i));
    assert.deepEqual(p.body, descriptor(i), `op ${c.op} carries request ${i}'s descriptor`);
  }
  const written = io.writes.flat().map((p) => readPrepare(p).op);
  assert.deepEqual(written, io.commits.map((c) => c.op), 'every commit was journaled first, once');
  for (const [i, r] of io.replies.slice(1).entries()) {
    assert.equal(r.status, 0);
    assert.equal(r.request, BigInt(i + 1));
    assert.equal(r.op, i + 2);
  }
  assert.equal(group.commitNumber, 1001);
});

test('a retried committed request gets the cached reply and writes nothing; an older one is RequestTooOld', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const group = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  const session = register(group, io, 5n);
  for (const r of [1n, 2n]) group.submit({ client: 5n, session, request: r, operation: 128, body: descriptor(Number(r)) });
  group.flush();
  group.submit({ client: 5n, session, request: 2n, operation: 128, body: descriptor(2) });
  assert.equal(group.unflushed, 0);
  assert.deepEqual(io.replies.at(-1), { client: 5n, request: 2n, status: 0, session, op: 3, operation: 128 });
  group.submit({ client: 5n, session, request: 1n, operation: 128, body: descriptor(1) });
  assert.equal(ReplyStatus[io.replies.at(-1)!.status], 'RequestTooOld');
  group.submit({ client: 6n, session: 1n, request: 1n, operation: 128, body: descriptor(1) });
  assert.equal(ReplyStatus[io.replies.at(-1)!.status], 'NoSession');
  assert.equal(io.commits.length, 3);
  assert.throws(() => group.submit({ client: 5n, session, request: 3n, operation: 128, body: new Uint8Array(257) }),
    (e: unknown) => e instanceof ConsensusGroupError && e.code === 'BodyTooLarge');
});

test('recovery replays the journal through the core: same commits, numbering and sessions continue', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const group = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  const session = register(group, io, 5n);
  for (let r = 1; r <= 100; r++) {
    group.submit({ client: 5n, session, request: BigInt(r), operation: 128, body: descriptor(r) });
    if (r % 7 === 0) group.flush();
  }
  group.flush();
  const journal = io.writes.flat();
  for (const [name, from, entries] of [['whole journal', null, journal], ['after a checkpoint at op 60', 60, journal.slice(60)]] as const) {
    const again = new RecordingIo();
    const restarted = ConsensusGroup.create(vsr, memory, OPTIONS, again); // the same group, restarted
    const checkpoint = from === null ? null : { op: from, checksum: readPrepare(journal[from - 1]).checksum };
    restarted.recover(checkpoint, entries);
    assert.deepEqual(again.commits.map((c) => Buffer.from(c.prepare).toString('hex')),
      io.commits.slice(from ?? 0).map((c) => Buffer.from(c.prepare).toString('hex')), name);
    assert.equal(again.replies.length, 0, `${name}: a replay acknowledges nothing`);
    assert.equal(restarted.commitNumber, 101);
    restarted.submit({ client: 5n, session, request: 101n, operation: 128, body: descriptor(101) });
    restarted.flush();
    const reply = again.replies.at(-1)!;
    if (from === null) assert.deepEqual([reply.status, reply.op], [0, 102], name);
    // The client table is rebuilt by the replay only: a session registered before the checkpoint is gone.
    else assert.equal(ReplyStatus[reply.status], 'NoSession', name);
  }
});

test('recovery refuses (RecoveryLostOps, naming group and ops) a journal that lacks ops its superblock committed', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const group = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 77n }, io);
  const session = register(group, io, 5n);
  for (let r = 1; r <= 20; r++) group.submit({ client: 5n, session, request: BigInt(r), operation: 128, body: descriptor(r) });
  group.flush();
  const journal = io.writes.flat(); // ops 1..21, all committed
  const state = { view: 0, logView: 0, commit: 21, commitChecksum: readPrepare(journal[20]).checksum, logHead: 0, logHeadChecksum: 0n };
  const cases = [
    ['a hole at ops 8..9', [...journal.slice(0, 7), ...journal.slice(9)], 8, 21],
    ['a journal that ends at op 15', journal.slice(0, 15), 16, 21],
  ] as const;
  for (const [name, entries, from, to] of cases) {
    const again = new RecordingIo();
    const restarted = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 77n }, again);
    assert.throws(() => restarted.recover(null, entries, state), (e: unknown) => e instanceof RecoveryRefused
      && e.name === 'RecoveryLostOps' && e.group === 77n && e.from === from && e.to === to
      && e.message.startsWith(`group 77: ops ${from}..${to} may have been acknowledged`), name);
    assert.equal(again.replies.length, 0, `${name}: nothing acknowledged`);
  }
  // Control: the whole journal recovers.
  const whole = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 77n }, new RecordingIo());
  whole.recover(null, journal, state);
  assert.equal(whole.commitNumber, 21);
  // Another group's journal is none of this group's (the core takes no prepare of another group id).
  const stranger = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 78n }, new RecordingIo());
  assert.throws(() => stranger.recover(null, journal, state), (e: unknown) => e instanceof RecoveryRefused && e.name === 'RecoveryLostOps');
});

test('a submit from inside io.commit runs after the outbox walk; 33 unflushed requests flush the first 32 by themselves', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const group = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  const session = register(group, io, 3n);
  let echoed = false;
  io.commit = (op, prepare) => {
    io.commits.push({ op, prepare });
    const p = readPrepare(prepare);
    // An apply that proposes (e.g. an internal op): answered by the next flush, not in the middle of this one.
    if (p.request === 1n && !echoed) {
      echoed = true;
      group.submit({ client: 3n, session, request: 2n, operation: 128, body: descriptor(2) });
      assert.equal(group.flush(), 0, 'no nested flush');
    }
  };
  group.submit({ client: 3n, session, request: 1n, operation: 128, body: descriptor(1) });
  group.flush();
  assert.equal(group.unflushed, 1);
  group.flush();
  assert.deepEqual(io.replies.slice(1).map((r) => [r.request, r.op, r.status]), [[1n, 2, 0], [2n, 3, 0]]);
  const writes = io.writes.length;
  for (let r = 3; r <= 35; r++) group.submit({ client: 3n, session, request: BigInt(r), operation: 128, body: descriptor(r) });
  assert.equal(io.writes.length, writes + 1, 'the 33rd request found the pipeline full and flushed it');
  assert.equal(io.writes.at(-1)!.length, 32);
  assert.equal(group.unflushed, 1);
  group.flush();
  assert.equal(group.commitNumber, 36);
});

test('released groups give their replicas back: 5000 create/release cycles (beyond 4096 groups) keep the arena flat', async () => {
  const { vsr, memory } = await shardCore();
  const io = new RecordingIo();
  const first = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  register(first, io, 1n); // a used replica: its reuse must not carry its state over
  first.release();
  const used = vsr.__arena_used();
  for (let i = 0; i < 5000; i++) {
    const io2 = new RecordingIo();
    const group = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 1000n + BigInt(i) }, io2);
    assert.equal(group.handle, first.handle, 'the released replica is handed out again');
    assert.equal(register(group, io2, 5n), 1n, 'a fresh session numbering: the first op of a new log');
    group.release();
  }
  assert.equal(vsr.__arena_used(), used, 'nothing new allocated');
  assert.throws(() => first.submit({ client: 1n, session: 1n, request: 1n, operation: 128, body: new Uint8Array(0) }), /used after release/);
  const other = ConsensusGroup.create(vsr, memory, { ...OPTIONS, slots: 128 }, new RecordingIo());
  assert.notEqual(other.handle, first.handle, 'another shape gets its own replica');
});

test('a group released while its asynchronous journal write is on its way keeps its replica until the write is done', async () => {
  const { vsr, memory } = await shardCore();
  let finish!: () => void;
  const io = new RecordingIo();
  io.journalWrite = () => new Promise<void>((resolve) => { finish = resolve; }) as unknown as void;
  const group = ConsensusGroup.create(vsr, memory, OPTIONS, io);
  group.submit({ client: 1n, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  group.flush();
  group.release();
  const meanwhile = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 50n }, new RecordingIo());
  assert.notEqual(meanwhile.handle, group.handle, 'not handed out while its write is on its way');
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(io.commits.length, 0, 'the write of a released group commits nothing');
  const after = ConsensusGroup.create(vsr, memory, { ...OPTIONS, group: 51n }, new RecordingIo());
  assert.equal(after.handle, group.handle);
});

test('a group that does not fit the arena is a named error (ArenaFull), not a trap', async () => {
  const { vsr, memory } = await shardCore(256 << 10);
  assert.throws(() => ConsensusGroup.create(vsr, memory, OPTIONS, new RecordingIo()), (e: Error) => e instanceof ConsensusGroupError && e.code === 'ArenaFull' && /--arena-bytes/.test(e.message));
});
