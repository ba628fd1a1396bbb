// MetadataLog on real files (small journals, so checkpoints happen): order, bodies, group commit, duplicates,
// sessions, internal ops, checkpoint + drain + reopen, and the refusals at boot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { writeSnapshot } from '../../host/node/consensus/snapshot-file.js';
import { PrepareJournal, sealPrepare } from '../../host/node/io/prepare-journal.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { ReplyStatus } from '../../host/shared/vsr-abi.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, digest, requestBody } from './consensus-state.js';
import { tempDir } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 64, quiet: true };
const CLIENT = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321n; // a u128 wire client id

function open(shard: ShardCore, dir: string, state: ToyState, options = OPTIONS): Promise<MetadataLog> {
  return MetadataLog.open(dir, shard.core, shard.memory, shard.sc, state, options);
}

// Counts journal appends (one fdatasync each) while `fn` runs.
async function countAppends<T>(fn: () => Promise<T>): Promise<{ result: T; appends: number }> {
  const original = PrepareJournal.prototype.append;
  let appends = 0;
  PrepareJournal.prototype.append = function (this: PrepareJournal, prepares: Uint8Array[]) {
    appends++;
    return original.call(this, prepares);
  };
  try {
    return { result: await fn(), appends };
  } finally {
    PrepareJournal.prototype.append = original;
  }
}

async function proposeRange(log: MetadataLog, session: bigint, from: number, to: number, perTurn: number) {
  const results = [];
  for (let n = from; n <= to; n += perTurn) {
    const batch = [];
    for (let k = n; k < Math.min(n + perTurn, to + 1); k++) {
      batch.push(log.propose({ client: CLIENT, session, request: BigInt(k), operation: 128 + (k % 20), body: requestBody(k), userId: k % 5 }));
    }
    results.push(...await Promise.all(batch));
  }
  return results;
}

test('200 proposals commit in order, apply sees the real bodies (100 KiB ones too), reopen replays the same ops', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const state = new ToyState();
  const log = await open(shard, dir, state);
  const { session, status } = await log.register(CLIENT);
  assert.equal(status, 0);
  const results = await proposeRange(log, session, 1, 200, 13);
  assert.deepEqual(results.map((r) => r.status), new Array(200).fill(0));
  const ops = results.map((r) => r.op);
  assert.deepEqual(ops, Array.from({ length: 200 }, (_, i) => i + 2), 'ops follow the Register, in request order');
  assert.deepEqual(results.map((r) => Buffer.from(r.applied!.payload).readUInt32LE()), ops, 'each result is its own apply');
  assert.equal(state.applied.length, 200);
  for (const [i, a] of state.applied.entries()) {
    const body = requestBody(i + 1);
    assert.deepEqual([a.op, a.operation, a.length, a.digest, a.userId, a.client], [i + 2, 128 + ((i + 1) % 20), body.length, digest(body), (i + 1) % 5, CLIENT.toString(16)]);
    if (i > 0) assert.ok(a.timestampMicros > state.applied[i - 1].timestampMicros);
  }
  assert.ok(state.applied.some((a) => a.length === 100 * 1024));
  assert.equal(log.commitNumber, 201);
  log.close();

  const again = new ToyState();
  const reopened = await open(shard, dir, again);
  assert.deepEqual(again.applied, state.applied, 'snapshot + replay rebuild the identical CommittedOp sequence');
  assert.ok(again.replayed.length > 0 && again.replayed.length < 200, `replayed ${again.replayed.length} journaled ops after the checkpoint`);
  assert.deepEqual(again.replayed, state.applied.slice(-again.replayed.length), 'same ops, timestamps, clients, users, bodies');
  assert.equal(reopened.commitNumber, 201);
  const { session: next } = await reopened.register(CLIENT + 1n);
  assert.equal(next, 202n, 'numbering continues after the replay');
  reopened.close();
});

test('proposals of one event-loop turn share one journal append; flush() makes them durable at once', async () => {
  const shard = await shardCore();
  const state = new ToyState();
  const log = await open(shard, tempDir('shardlog-metadata-'), state);
  const { session } = await log.register(CLIENT);
  const { result, appends } = await countAppends(() => proposeRange(log, session, 1, 20, 20));
  assert.equal(result.length, 20);
  assert.equal(appends, 1);
  const pending = log.propose({ client: CLIENT, session, request: 21n, operation: 130, body: requestBody(21), userId: 1 });
  assert.equal(log.flush(), 1);
  assert.equal(state.applied.length, 21, 'applied by flush(), before the promise settles');
  assert.equal((await pending).op, 22);
  log.close();
});

test('a duplicate (same client, session, request) is applied once and answered with the cached result', async () => {
  const shard = await shardCore();
  const state = new ToyState();
  const log = await open(shard, tempDir('shardlog-metadata-'), state);
  const { session } = await log.register(CLIENT);
  const request = { client: CLIENT, session, request: 1n, operation: 131, body: requestBody(1), userId: 3 };
  const [a, b] = await Promise.all([log.propose(request), log.propose(request)]); // a retry while in flight
  const c = await log.propose(request); // a retry after the commit
  assert.equal(state.applied.length, 1);
  for (const r of [a, b, c]) {
    assert.equal(r.status, 0);
    assert.equal(r.op, 2);
    assert.equal(Buffer.from(r.applied!.payload).readUInt32LE(), 2);
  }
  const old = await log.propose({ ...request, request: 0n });
  assert.equal(ReplyStatus[old.status], 'RequestTooOld');
  const wrong = await log.propose({ ...request, session: session + 5n, request: 2n });
  assert.equal(ReplyStatus[wrong.status], 'SessionMismatch');
  const stranger = await log.propose({ ...request, client: 77n });
  assert.equal(ReplyStatus[stranger.status], 'NoSession');
  assert.equal(state.applied.length, 1);
  await assert.rejects(log.propose({ ...request, request: 3n, body: new Uint8Array((1 << 20) + 1) }), { name: 'MetadataBodyTooLarge' });
  log.close();
});

test('register: sessions are positive and increase; a repeated Register gets the same session', async () => {
  const shard = await shardCore();
  const log = await open(shard, tempDir('shardlog-metadata-'), new ToyState());
  const sessions: bigint[] = [];
  for (let i = 0n; i < 6n; i++) sessions.push((await log.register(CLIENT + i)).session);
  for (let i = 1; i < sessions.length; i++) assert.ok(sessions[i] > sessions[i - 1] && sessions[0] > 0n, `${sessions}`);
  assert.deepEqual(await log.register(CLIENT + 2n), { status: 0, session: sessions[2] });
  log.close();
});

test('internal ops run under the server client (client 0n) and keep working across a reopen', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const state = new ToyState();
  const log = await open(shard, dir, state);
  const [x, y] = await Promise.all([log.internal(68, Buffer.from('root'), 0), log.internal(66, Buffer.alloc(16, 1), 0)]);
  assert.deepEqual([x.status, y.status], [0, 0]);
  assert.ok(y.op > x.op);
  assert.deepEqual(state.applied.map((a) => [a.operation, a.client]), [[68, '0'], [66, '0']]);
  log.close();
  const again = new ToyState();
  const reopened = await open(shard, dir, again);
  const z = await reopened.internal(66, Buffer.alloc(16, 2), 0);
  assert.equal(z.status, 0);
  assert.equal(z.op, y.op + 1, 'the replayed internal session continues without a new Register');
  reopened.close();
});

test('checkpoint: snapshot file + superblock checkpoint + drained journal; reopen restores and continues', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const state = new ToyState();
  const log = await open(shard, dir, state);
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 120, 7);
  log.close();
  assert.ok(fs.existsSync(path.join(dir, 'snapshot')));
  const sb = await SuperblockStore.open(dir, shard.sc, true);
  const checkpointOp = sb.state!.checkpointOp;
  sb.close();
  assert.ok(checkpointOp >= 48 && checkpointOp <= 121, `checkpoint at ${checkpointOp}`);
  const journal = await PrepareJournal.open({ dir, slotCount: 64, maxEntryBytes: (1 << 20) + 4096, snapshotOp: checkpointOp, quiet: true }, shard.sc);
  assert.ok(journal.firstOp === null || journal.firstOp === checkpointOp + 1, `journal starts at ${journal.firstOp}`);
  assert.equal(journal.lastOp ?? checkpointOp, 121);
  journal.close();

  const again = new ToyState();
  const reopened = await open(shard, dir, again);
  assert.deepEqual(again.applied, state.applied);
  assert.equal(again.replayed.length, 121 - checkpointOp);
  const { session: fresh } = await reopened.register(CLIENT); // sessions do not outlive the checkpoint's replay
  const more = await proposeRange(reopened, fresh, 1, 60, 9);
  assert.deepEqual(more.map((r) => r.op), Array.from({ length: 60 }, (_, i) => 123 + i));
  reopened.close();
  const third = new ToyState();
  (await open(shard, dir, third)).close();
  assert.deepEqual(third.applied, again.applied);
});

test('boot refuses a corrupt snapshot (SnapshotCorrupt) and a missing one the superblock records (SnapshotMissing)', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const log = await open(shard, dir, new ToyState());
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 60, 10);
  log.close();
  const file = path.join(dir, 'snapshot');
  const good = fs.readFileSync(file);
  for (const at of [0, 20, 70, good.length - 3]) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x10;
    fs.writeFileSync(file, bad);
    await assert.rejects(open(shard, dir, new ToyState()), { name: 'SnapshotCorrupt' }, `flip at byte ${at}`);
  }
  fs.writeFileSync(file, good.subarray(0, good.length - 1));
  await assert.rejects(open(shard, dir, new ToyState()), { name: 'SnapshotCorrupt' }, 'truncated');
  fs.rmSync(file);
  await assert.rejects(open(shard, dir, new ToyState()), { name: 'SnapshotMissing' });
  fs.writeFileSync(file, good);
  (await open(shard, dir, new ToyState())).close();
});

test('boot refuses a journal that does not continue the checkpoint (MetadataLogCorrupt) and a too small journal', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const log = await open(shard, dir, new ToyState());
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 60, 10);
  log.close();
  // Without the snapshot and the superblock that records it, the drained journal starts after a gap.
  for (const name of ['snapshot', 'superblock.a', 'superblock.b']) fs.rmSync(path.join(dir, name), { force: true });
  await assert.rejects(open(shard, dir, new ToyState()), { name: 'MetadataLogCorrupt' });
  await assert.rejects(open(shard, tempDir('shardlog-metadata-'), new ToyState(), { ...OPTIONS, slotCount: 32 }), { name: 'MetadataLogConfig' });
});

test('a journal entry whose real body no longer matches the descriptor its prepare binds is refused', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const log = await open(shard, dir, new ToyState());
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 60, 10);
  log.close();
  const sb = await SuperblockStore.open(dir, shard.sc, true);
  const journal = await PrepareJournal.open({ dir, slotCount: 64, maxEntryBytes: (1 << 20) + 4096, snapshotOp: sb.state!.checkpointOp, quiet: true }, shard.sc);
  sb.close();
  const last = journal.lastOp!;
  assert.ok(last > journal.snapshotOp, 'the journal holds ops after the checkpoint');
  const entry = journal.read(last)!;
  const framed = Buffer.from(entry.subarray(256));
  framed[framed.length - 1] ^= 1; // the real body, well framed and checksummed by the journal
  const forged = sealPrepare(shard.sc, last, journal.read(last - 1), framed, entry[208]);
  journal.truncateFrom(last);
  journal.append([forged]);
  journal.close();
  await assert.rejects(open(shard, dir, new ToyState()), { name: 'MetadataLogCorrupt', message: /does not match the descriptor/ });
});

test('an apply that proposes (an internal op) and flushes is answered after the flush under way', async () => {
  const shard = await shardCore();
  const followUps: Promise<unknown>[] = [];
  let log: MetadataLog | null = null;
  class Reacting extends ToyState {
    override apply(e: Parameters<ToyState['apply']>[0]) {
      const result = super.apply(e);
      if (e.operation === 140) {
        followUps.push(log!.internal(66, Buffer.from(`after ${e.op}`), 0));
        assert.equal(log!.flush(), 0);
      }
      return result;
    }
  }
  const state = new Reacting();
  log = await open(shard, tempDir('shardlog-metadata-'), state);
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 40, 8); // requests 12 and 32 are operation 140
  const internal = await Promise.all(followUps) as { status: number }[];
  assert.deepEqual(internal.map((r) => r.status), [0, 0]);
  const reactions = state.applied.filter((a) => a.operation === 66);
  assert.equal(reactions.length, 2);
  assert.ok(reactions.every((a) => a.client === '0'));
  log.close();
});

test('a crash inside a checkpoint (after the snapshot, after the superblock, before the drain) boots to the same state', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-metadata-');
  const state = new ToyState();
  const log = await open(shard, dir, state);
  const { session } = await log.register(CLIENT);
  await proposeRange(log, session, 1, 60, 10);
  const last = log.commitNumber;
  log.close();
  const sb = await SuperblockStore.open(dir, shard.sc, true);
  const before = sb.state!;
  const journal = await PrepareJournal.open({ dir, slotCount: 64, maxEntryBytes: (1 << 20) + 4096, snapshotOp: before.checkpointOp, quiet: true }, shard.sc);
  const checksum = journal.read(last)!.readBigUInt64LE(256 + 4); // the core prepare's checksum inside the entry
  journal.close();
  assert.ok(before.checkpointOp < last);
  // Step 1 done: the snapshot covers `last`, the superblock and the journal do not know yet.
  writeSnapshot(path.join(dir, 'snapshot'), { op: last, checksum, payload: state.snapshot() });
  let again = new ToyState();
  (await open(shard, dir, again)).close();
  assert.deepEqual(again.applied, state.applied);
  assert.equal(again.replayed.length, 0, 'nothing after the snapshot to replay');
  // Step 2 done as well: the superblock records it, the journal still holds the covered ops.
  writeSnapshot(path.join(dir, 'snapshot'), { op: last, checksum, payload: state.snapshot() });
  sb.write({ ...before, commit: last, checkpointOp: last, checkpointChecksum: checksum });
  sb.close();
  again = new ToyState();
  const reopened = await open(shard, dir, again);
  assert.deepEqual(again.applied, state.applied);
  const { session: fresh } = await reopened.register(CLIENT);
  const more = await reopened.propose({ client: CLIENT, session: fresh, request: 1n, operation: 129, body: requestBody(1), userId: 1 });
  assert.equal(more.op, last + 2);
  reopened.close();
});

test('a journal write that fails stops the log and calls the failed hook once; closing a healthy log does not', async () => {
  const shard = await shardCore();
  const healthy = new ToyState();
  const healthyFailures: unknown[] = [];
  const a = await open(shard, tempDir('shardlog-metadata-'), Object.assign(healthy, { failed: (e: unknown) => healthyFailures.push(e) }));
  await a.register(CLIENT);
  a.close();
  assert.deepEqual(healthyFailures, [], 'a close is not a failure');

  const state = new ToyState();
  const failures: unknown[] = [];
  const log = await open(shard, tempDir('shardlog-metadata-'), Object.assign(state, { failed: (e: unknown) => failures.push(e) }));
  const { session } = await log.register(CLIENT);
  const original = PrepareJournal.prototype.append;
  PrepareJournal.prototype.append = () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); };
  try {
    await assert.rejects(log.propose({ client: CLIENT, session, request: 1n, operation: 128, body: requestBody(1), userId: 0 }), /ENOSPC/);
    await assert.rejects(log.propose({ client: CLIENT, session, request: 2n, operation: 128, body: requestBody(2), userId: 0 }), /ENOSPC/);
  } finally {
    PrepareJournal.prototype.append = original;
  }
  log.close();
  assert.equal(failures.length, 1);
  assert.match(String(failures[0]), /ENOSPC/);
});
