// Data-path target resolution: partition choice on send, consumer and partition of polls and offsets, and the
// error shape each command uses for a target that does not resolve (iggy-client-wire.md §8.1, §8.4–8.6, §9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Operation } from '../../../host/shared/wire/codes.js';
import type { Consumer } from '../../../host/shared/wire/primitives.js';
import { xxh32 } from '../../../host/shared/xxh32.js';
import { namespaceOf, resolvePollTarget, resolveSendTarget, singleConsumerId } from '../../../host/node/metadata/targets.js';
import { partitionsOf } from '../../../host/node/metadata/streams-queries.js';
import { readCommand } from '../../../host/node/metadata/machine.js';
import type { Session } from '../../../host/node/metadata/types.js';
import { Harness, OTHER_USER, ROOT, body, id } from './streams-helpers.js';

const O = Operation;
const text = (s: string) => new TextEncoder().encode(s);
const single = (x: number | string): Consumer => ({ kind: 'consumer', id: id(x) });
const group = (x: number | string): Consumer => ({ kind: 'group', id: id(x) });

function setup(): Harness {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('other'));
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 0, 'empty'));
  h.ok(O.createTopic, body.createTopic('s', 3, 't'));
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g'));
  return h;
}

test('namespaceOf packs stream << 32 | topic << 20 | partition', () => {
  assert.equal(namespaceOf(0, 0, 0), 0n);
  assert.equal(namespaceOf(1, 2, 3), (1n << 32n) | (2n << 20n) | 3n);
  assert.equal(namespaceOf((1 << 20) - 1, 4095, 999_999), 0xfffff_fff_f423fn);
});

test('send: PartitionId as given, MessagesKey = XXH32(key) mod count, Balanced cycles per topic', () => {
  const h = setup();
  const send = (p: Parameters<typeof resolveSendTarget>[4]) => resolveSendTarget(h.state, ROOT, id('s'), id('t'), p);
  assert.deepEqual(send({ kind: 'partition', partition: 2 }), { ok: true, streamId: 1, topicId: 1, partitionId: 2, namespace: namespaceOf(1, 1, 2) });
  for (const key of ['abc', 'user-17', 'x']) {
    const r = send({ kind: 'key', key: text(key) });
    assert.ok(r.ok);
    assert.equal(r.partitionId, xxh32(text(key)) % 3);
  }
  assert.equal((send({ kind: 'key', key: text('abc') }) as { partitionId: number }).partitionId, 0x32d153ff % 3);
  const balanced = Array.from({ length: 7 }, () => (send({ kind: 'balanced' }) as { partitionId: number }).partitionId);
  assert.deepEqual(balanced, [0, 1, 2, 0, 1, 2, 0]);
});

test('send failures: unknown stream / topic / partition and a topic without partitions are 20; no permission is 41', () => {
  const h = setup();
  const status = (r: ReturnType<typeof resolveSendTarget>) => (r.ok ? 0 : r.status);
  assert.equal(status(resolveSendTarget(h.state, ROOT, id('zz'), id('t'), { kind: 'balanced' })), ErrorCode.resourceNotFound);
  assert.equal(status(resolveSendTarget(h.state, ROOT, id('s'), id('zz'), { kind: 'balanced' })), ErrorCode.resourceNotFound);
  assert.equal(status(resolveSendTarget(h.state, ROOT, id('s'), id('t'), { kind: 'partition', partition: 3 })), ErrorCode.resourceNotFound);
  for (const p of [{ kind: 'balanced' } as const, { kind: 'key', key: text('k') } as const, { kind: 'partition', partition: 0 } as const]) {
    assert.equal(status(resolveSendTarget(h.state, ROOT, id('s'), id('empty'), p)), ErrorCode.resourceNotFound);
  }
  assert.equal(status(resolveSendTarget(h.state, OTHER_USER, id('s'), id('t'), { kind: 'balanced' })), ErrorCode.unauthorized);
});

test('poll with a single consumer: numeric id as is, string id hashed, no partition means 0', () => {
  const h = setup();
  assert.deepEqual(resolvePollTarget(h.state, ROOT, single(42), id('s'), id('t'), null, 'poll'),
    { ok: true, streamId: 1, topicId: 1, partitionId: 0, namespace: namespaceOf(1, 1, 0), consumerKind: 1, consumerId: 42 });
  const named = resolvePollTarget(h.state, ROOT, single('reader'), id(1), id(1), 2, 'poll');
  assert.ok(named.ok);
  assert.equal(named.consumerId, xxh32(text('reader')));
  assert.equal(singleConsumerId(id('abc')), 0x32d153ff);
  assert.equal(named.partitionId, 2);
});

test('error codes per purpose for a missing stream / topic / partition, and 41 without poll_messages', () => {
  const h = setup();
  const status = (purpose: Parameters<typeof resolvePollTarget>[6], s: string, t: string, p: number | null) => {
    const r = resolvePollTarget(h.state, ROOT, single(1), id(s), id(t), p, purpose);
    return r.ok ? 'ok' : r.status;
  };
  assert.deepEqual(['poll', 'get-offset', 'store-offset', 'delete-offset'].map((p) => [
    status(p as 'poll', 'zz', 't', 0), status(p as 'poll', 's', 'zz', 0), status(p as 'poll', 's', 't', 3), status(p as 'poll', 's', 'empty', null),
  ]), [
    [1009, 2010, 3007, 3007],
    [0, 0, 3007, 3007],
    [20, 20, 20, 20],
    [20, 20, 20, 20],
  ]);
  const denied = resolvePollTarget(h.state, OTHER_USER, single(1), id('s'), id('t'), 0, 'poll');
  assert.equal(denied.ok ? 0 : denied.status, ErrorCode.unauthorized);
});

test('group consumer: owned partitions resolve to the group id, others give the empty-poll sentinel or 20', () => {
  const h = setup();
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g'), { client: ROOT.client });
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g'), { client: 77n });
  // ROOT owns 0 and 2, client 77 owns 1.
  const at = (p: number | null, purpose: Parameters<typeof resolvePollTarget>[6], g: number | string = 'g') =>
    resolvePollTarget(h.state, ROOT, group(g), id('s'), id('t'), p, purpose);
  assert.deepEqual(at(2, 'poll'), { ok: true, streamId: 1, topicId: 1, partitionId: 2, namespace: namespaceOf(1, 1, 2), consumerKind: 2, consumerId: 0 });
  assert.equal((at(null, 'poll') as { partitionId: number }).partitionId, 0, 'no partition: the first one the member owns');
  assert.deepEqual(at(1, 'poll'), { ok: false, status: 0, emptyPoll: true });
  assert.ok(at(1, 'get-offset').ok, 'reading a group offset needs no ownership');
  assert.ok(at(0, 'store-offset').ok);
  assert.equal((at(1, 'store-offset') as { status: number }).status, ErrorCode.resourceNotFound);
  assert.equal((at(1, 'delete-offset') as { status: number }).status, ErrorCode.resourceNotFound);
  assert.equal((at(5, 'poll') as { status: number }).status, ErrorCode.partitionNotFound);
  assert.equal((at(0, 'poll', 'nope') as { status: number }).status, ErrorCode.consumerGroupIdNotFound);
  assert.equal((at(0, 'store-offset', 'nope') as { status: number }).status, ErrorCode.resourceNotFound);
  const stranger = resolvePollTarget(h.state, { ...ROOT, client: 5n }, group(0), id('s'), id('t'), 0, 'poll');
  assert.deepEqual(stranger, { ok: false, status: 0, emptyPoll: true }, 'a non-member owns nothing');
  const strangerGet = resolvePollTarget(h.state, { ...ROOT, client: 5n }, group(0), id('s'), id('t'), null, 'get-offset');
  assert.deepEqual(strangerGet.ok ? null : strangerGet.status, 0);
});

test('a member whose partition moved away and back since its last sync is refused on it until it syncs again', () => {
  const h = setup();
  const views = new WeakMap();
  const member = { ...ROOT, views };
  const G = body.group('s', 't', 'g');
  const sync = () => assert.ok(readCommand(h.state, member, 606, G)?.ok);
  const at = (p: number, purpose: Parameters<typeof resolvePollTarget>[6], session: Session = member) =>
    resolvePollTarget(h.state, session, group('g'), id('s'), id('t'), p, purpose);
  h.ok(O.joinConsumerGroup, G, { client: ROOT.client });
  sync(); // holds 0, 1, 2 at generation 1
  assert.ok(at(1, 'store-offset').ok);
  h.ok(O.joinConsumerGroup, G, { client: 77n }); // partition 1 goes to 77 (generation 2) ...
  h.ok(O.leaveConsumerGroup, G, { client: 77n }); // ... and comes back (generation 3), unseen by the member
  assert.equal((at(1, 'store-offset') as { status: number }).status, ErrorCode.resourceNotFound);
  assert.equal((at(1, 'delete-offset') as { status: number }).status, ErrorCode.resourceNotFound);
  assert.deepEqual(at(1, 'poll'), { ok: false, status: 0, emptyPoll: true }, 'a poll is told to re-sync');
  assert.ok(at(1, 'get-offset').ok, 'reading the offset is no commit');
  assert.ok(at(0, 'store-offset').ok && at(2, 'poll').ok, 'partitions held all along are the member\'s as it knows them');
  assert.ok(at(1, 'store-offset', ROOT).ok, 'a session that never synced is not fenced');
  sync();
  assert.ok(at(1, 'store-offset').ok && at(1, 'poll').ok, 'after a sync its view is current');
});

test('partitionsOf lists every partition with its namespace and creating op', () => {
  const h = setup();
  const list = partitionsOf(h.state);
  assert.deepEqual(list.map((p) => [p.streamId, p.topicId, p.partitionId, p.namespace]), [
    [1, 1, 0, namespaceOf(1, 1, 0)], [1, 1, 1, namespaceOf(1, 1, 1)], [1, 1, 2, namespaceOf(1, 1, 2)],
  ]);
  h.ok(O.deleteTopic, body.topic('s', 't'));
  h.ok(O.createTopic, body.createTopic('s', 1, 't2'));
  const again = partitionsOf(h.state);
  assert.equal(again.length, 1);
  assert.equal(again[0].topicId, 1, 'the freed topic id is reused');
  assert.notEqual(again[0].createdOp, list[0].createdOp, 'but the creating op tells the partitions apart');
});
