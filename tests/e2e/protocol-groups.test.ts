// Consumer groups over a real server (iggy-client-wire.md §7.7, §9.2, §11): create/get/list, join/sync/leave,
// group polling with auto-commit draining exactly what was sent, two members splitting the partitions and
// draining 1000 messages together, a stale member fenced off a partition that moved away and back, and a
// disconnect leaving the group.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EvictionError, IggyError } from '../../host/client/errors.js';
import { IggyClient } from '../../host/client/client.js';
import { Connection } from '../../host/client/connection.js';
import * as req from '../../host/client/requests.js';
import { Operation } from '../../host/shared/wire/codes.js';
import { encodeRequest } from '../../host/shared/wire/header.js';
import { closeStreamFixture, openStreamFixture, code, eventually, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const RESYNC = 0xffff_ffff;
const TOTAL = 1000;

// Drains a group the way the SDK's group consumer does: sync, poll the assigned partitions round-robin with
// auto-commit, re-sync when told the assignment moved. Stops when `done()` says so or the bound passes.
async function drain(c: IggyClient, stream: number, topic: number, group: number, seen: string[], done: () => boolean, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  let partitions: number[] = [];
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`group drain bound passed with ${seen.length} messages`);
    if (partitions.length === 0) {
      const assignment = await c.syncGroup(stream, topic, group);
      if (assignment === null) await c.joinGroup(stream, topic, group);
      partitions = assignment?.partitions ?? [];
      if (partitions.length === 0) { await new Promise((r) => setImmediate(r)); continue; }
    }
    let resync = false;
    for (const partition of partitions) {
      try {
        const polled = await c.pollMessages({ consumer: { kind: 'group', id: group }, stream, topic, partition, strategy: { kind: 'next' }, count: 37, autoCommit: true });
        if (polled.partitionId === RESYNC) resync = true;
        for (const m of polled.messages) seen.push(`${polled.partitionId}:${m.offset}`);
      } catch (error) {
        if (error instanceof IggyError && (error.code === 5006 || error.code === 5009)) resync = true;
        else throw error;
      }
    }
    if (resync) partitions = [];
  }
}

describe('protocol: consumer groups', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  let topic: number;
  before(async () => {
    ({ s, c, stream, topic } = await openStreamFixture('groups', 'g', 3));
    for (let batch = 0; batch < TOTAL / 100; batch++) {
      await c.sendMessages({ stream, topic, messages: Array.from({ length: 100 }, (_, i) => ({ payload: `m-${batch}-${i}` })) });
    }
  });
  after(() => closeStreamFixture({ s, c }));

  it('create / get by id and name / list; duplicates 5004; missing group null, missing stream 1009', async () => {
    const name = unique('cg');
    const created = await c.createGroup(stream, topic, name);
    assert.deepEqual({ ...created, id: 0 }, { id: 0, name, partitionsCount: 3, membersCount: 0, members: [] });
    const byId = await c.getGroup(stream, topic, created.id);
    assert.deepEqual(byId, created);
    assert.deepEqual(await c.getGroup(stream, topic, name), created);
    assert.deepEqual((await c.getGroups(stream, topic)).find((g) => g.id === created.id), { id: created.id, name, partitionsCount: 3, membersCount: 0 });
    await assert.rejects(c.createGroup(stream, topic, name), code(5004));
    await assert.rejects(c.createGroup(999_999, topic, unique('x')), code(1009));
    await assert.rejects(c.createGroup(stream, 999, unique('x')), code(2010));
    assert.equal(await c.getGroup(stream, topic, 999), null);
    await assert.rejects(c.getGroup(999_999, topic, 0), code(1009));
    await assert.rejects(c.getGroup(stream, 999, 0), code(2010));
    await assert.rejects(c.getGroups(999_999, topic), code(1009));
    await assert.rejects(c.syncGroup(999_999, topic, 0), code(1009));
    await c.deleteGroup(stream, topic, created.id);
    await assert.rejects(c.deleteGroup(stream, topic, created.id), code(5000));
    await assert.rejects(c.joinGroup(stream, topic, created.id), code(5000));
  });

  it('join (idempotent) / sync / membership in getMe / leave (then 5006) / sync after leave is null', async () => {
    const g = await c.createGroup(stream, topic, unique('members'));
    assert.equal(await c.syncGroup(stream, topic, g.id), null, 'not a member yet');
    await c.joinGroup(stream, topic, g.id);
    await c.joinGroup(stream, topic, g.id);
    const details = await c.getGroup(stream, topic, g.id);
    assert.equal(details?.membersCount, 1);
    assert.deepEqual(details?.members[0].partitions.sort(), [0, 1, 2]);
    const assignment = await c.syncGroup(stream, topic, g.id);
    assert.deepEqual(assignment?.partitions.sort(), [0, 1, 2]);
    assert.ok((await c.getMe()).consumerGroups.some((x) => x.streamId === stream && x.topicId === topic && x.groupId === g.id));
    await c.leaveGroup(stream, topic, g.id);
    await assert.rejects(c.leaveGroup(stream, topic, g.id), code(5006));
    assert.equal(await c.syncGroup(stream, topic, g.id), null);
    assert.equal((await c.getGroup(stream, topic, g.id))?.membersCount, 0);
    await c.deleteGroup(stream, topic, g.id);
  });

  it('one member drains all 1000 messages over 3 partitions with auto-commit, then polls 0 (the SDK group test)', async () => {
    const g = await c.createGroup(stream, topic, unique('drain'));
    await c.joinGroup(stream, topic, g.id);
    const seen: string[] = [];
    await drain(c, stream, topic, g.id, seen, () => seen.length >= TOTAL);
    assert.equal(seen.length, TOTAL);
    assert.equal(new Set(seen).size, TOTAL, 'no message twice');
    for (const partition of [0, 1, 2]) {
      const polled = await c.pollMessages({ consumer: { kind: 'group', id: g.id }, stream, topic, partition, strategy: { kind: 'next' }, count: 10, autoCommit: true });
      assert.equal(polled.count, 0, `partition ${partition} is drained`);
    }
    await c.leaveGroup(stream, topic, g.id);
    await c.deleteGroup(stream, topic, g.id);
  });

  it('two concurrent members split the partitions and drain 1000 messages between them; a disconnect leaves', async () => {
    const g = await c.createGroup(stream, topic, unique('pair'));
    const a = await s.connect();
    const b = await s.connect();
    try {
      await a.joinGroup(stream, topic, g.id);
      await b.joinGroup(stream, topic, g.id);
      await eventually('both members hold partitions', async () => {
        const [pa, pb] = [await a.syncGroup(stream, topic, g.id), await b.syncGroup(stream, topic, g.id)];
        return (pa?.partitions.length ?? 0) > 0 && (pb?.partitions.length ?? 0) > 0 && (pa!.partitions.length + pb!.partitions.length === 3);
      });
      const [pa, pb] = [await a.syncGroup(stream, topic, g.id), await b.syncGroup(stream, topic, g.id)];
      assert.deepEqual([...pa!.partitions, ...pb!.partitions].sort(), [0, 1, 2], 'disjoint and complete');
      const seenA: string[] = [];
      const seenB: string[] = [];
      const done = () => seenA.length + seenB.length >= TOTAL;
      await Promise.all([drain(a, stream, topic, g.id, seenA, done), drain(b, stream, topic, g.id, seenB, done)]);
      assert.equal(seenA.length + seenB.length, TOTAL);
      assert.equal(new Set([...seenA, ...seenB]).size, TOTAL, 'no message delivered to both');
      assert.ok(seenA.length > 0 && seenB.length > 0, 'both members consumed');
      await b.close();
      await eventually('the closed member left the group', async () => (await c.getGroup(stream, topic, g.id))?.membersCount === 1);
      assert.deepEqual((await a.syncGroup(stream, topic, g.id))?.partitions.sort(), [0, 1, 2], 'the survivor owns everything');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a member whose partition moved away and back since its last sync cannot move the group\'s offset back until it syncs', async () => {
    const g = await c.createGroup(stream, topic, unique('fence'));
    const a = await s.connect();
    const b = await s.connect();
    const at = { consumer: { kind: 'group' as const, id: g.id }, stream, topic, partition: 1 };
    const stored = async () => (await c.getOffset(at))?.storedOffset;
    try {
      await a.joinGroup(stream, topic, g.id);
      assert.deepEqual((await a.syncGroup(stream, topic, g.id))?.partitions.sort(), [0, 1, 2]);
      await a.storeOffset(at, 10n);
      await b.joinGroup(stream, topic, g.id); // partition 1 moves to b ...
      assert.deepEqual((await b.syncGroup(stream, topic, g.id))?.partitions, [1]);
      await b.storeOffset(at, 20n);
      await b.leaveGroup(stream, topic, g.id); // ... and back to a, which has not synced since
      await assert.rejects(a.storeOffset(at, 11n), code(20));
      const polled = await a.pollMessages({ ...at, strategy: { kind: 'offset', value: 11n }, count: 5, autoCommit: true });
      assert.deepEqual([polled.partitionId, polled.count], [RESYNC, 0], 'its poll is told to re-sync');
      assert.equal(await stored(), 20n, 'the stale member moved nothing');
      await a.storeOffset({ ...at, partition: 0 }, 3n); // a partition it held all along is its own
      assert.deepEqual((await a.syncGroup(stream, topic, g.id))?.partitions.sort(), [0, 1, 2]);
      await a.storeOffset(at, 11n); // with a current view, a deliberate rewind is the member's to make
      assert.equal(await stored(), 11n);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a client that disconnects while its Join is still in flight does not stay a member', async () => {
    const g = await c.createGroup(stream, topic, unique('ghost'));
    for (let i = 0; i < 6; i++) {
      const conn = await Connection.open(s.address, 5_000);
      const client = 0x5151_0000n + BigInt(i) + 1n;
      const login = await conn.request(encodeRequest({ client, request: 0n, operation: Operation.register, session: 0n, body: req.registerWithPassword('iggy', 'iggy') }));
      assert.ok(login.kind === 'reply' && login.status === 0);
      const session = new DataView(login.body.buffer, login.body.byteOffset).getBigUint64(8, true); // after the result count and user id
      conn.writeRaw(encodeRequest({ client, request: 1n, operation: Operation.joinConsumerGroup, session, body: req.group(stream, topic, g.id) }));
      await conn.close(); // without waiting for the reply
    }
    await eventually('every departed client left the group', async () => (await c.getGroup(stream, topic, g.id))?.membersCount === 0);
  });

  it('a Register as another user without a Logout first ends the old client\'s group memberships', async () => {
    const g = await c.createGroup(stream, topic, unique('relogin'));
    const other = { username: unique('bob').slice(0, 40), password: 'bob-password' };
    await c.createUser(other);
    const conn = await Connection.open(s.address, 5_000);
    try {
      const first = 0x6161_0001n;
      const login = await conn.request(encodeRequest({ client: first, request: 0n, operation: Operation.register, session: 0n, body: req.registerWithPassword('iggy', 'iggy') }));
      assert.ok(login.kind === 'reply' && login.status === 0);
      const session = new DataView(login.body.buffer, login.body.byteOffset).getBigUint64(8, true);
      const join = await conn.request(encodeRequest({ client: first, request: 1n, operation: Operation.joinConsumerGroup, session, body: req.group(stream, topic, g.id) }));
      assert.ok(join.kind === 'reply' && join.status === 0);
      assert.equal((await c.getGroup(stream, topic, g.id))?.membersCount, 1);
      const relogin = await conn.request(encodeRequest({ client: first + 1n, request: 0n, operation: Operation.register, session: 0n, body: req.registerWithPassword(other.username, other.password) }));
      assert.ok(relogin.kind === 'reply' && relogin.status === 0);
      assert.equal((await c.getGroup(stream, topic, g.id))?.membersCount, 0, 'the replaced client is no member any more');
    } finally {
      await conn.close();
    }
  });
});

describe('protocol: stale consumer group members', () => {
  let s: ProtocolServer;
  before(async () => {
    s = await startProtocolServer(['--client-heartbeat-ms', '300']);
  });
  after(async () => {
    await s?.stop();
  });

  it('a member silent for 1.2 heartbeats leaves its group and its next request is eviction 13 (StaleClient)', async () => {
    const root = await s.connect();
    const silent = await IggyClient.connect({ address: s.address, username: 'iggy', password: 'iggy', heartbeatMs: 0 });
    const idle = await IggyClient.connect({ address: s.address, username: 'iggy', password: 'iggy', heartbeatMs: 0 });
    try {
      const stream = (await root.createStream(unique('stale'))).id;
      const topic = (await root.createTopic({ stream, name: 't', partitionsCount: 2 })).id;
      const group = (await root.createGroup(stream, topic, 'g')).id;
      await silent.joinGroup(stream, topic, group);
      assert.equal((await root.getGroup(stream, topic, group))?.membersCount, 1);
      await eventually('the silent member was removed', async () => (await root.getGroup(stream, topic, group))?.membersCount === 0);
      await assert.rejects(silent.ping(), (e) => e instanceof EvictionError && e.reason === 13 && e.code === 30);
      await silent.ping(); // the connection stays usable; the client may log in again
      await idle.getStreams(); // silent too, but in no group: its session is untouched
    } finally {
      await Promise.all([root.close(), silent.close(), idle.close()]);
    }
  });
});
