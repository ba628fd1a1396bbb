// Consumer group assignment: partition i -> member i mod n in join order, and the generation moves on every
// change a member must re-sync for (iggy-client-wire.md §9.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Operation } from '../../../host/shared/wire/codes.js';
import { heldSinceView, partitionsOfMember } from '../../../host/node/metadata/groups.js';
import { decodeStreamsSnapshot, encodeStreamsSnapshot } from '../../../host/node/metadata/streams-snapshot.js';
import { clearAllMembers, groupsOfClient } from '../../../host/node/metadata/streams-queries.js';
import { groupOf, topicOf } from '../../../host/node/metadata/streams.js';
import { InternalOperation } from '../../../host/node/metadata/types.js';
import { Harness, body, id } from './streams-helpers.js';

const O = Operation;
const G = body.group('s', 't', 'g');

function deal(h: Harness): { generation: number; owned: Record<string, number[] | null> } {
  const topic = topicOf(h.state.streams.stream(id('s'))!, id('t'))!;
  const group = groupOf(topic, id('g'))!;
  const owned: Record<string, number[] | null> = {};
  for (const client of [1n, 2n, 3n]) owned[String(client)] = partitionsOfMember(topic, group, client);
  return { generation: group.generation, owned };
}

test('partitions are dealt round-robin in join order and rebalanced on join, leave and removal', () => {
  const h = new Harness().withGroup(7);
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  assert.deepEqual(deal(h), { generation: 1, owned: { 1: [0, 1, 2, 3, 4, 5, 6], 2: null, 3: null } });
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  h.ok(O.joinConsumerGroup, G, { client: 3n });
  assert.deepEqual(deal(h), { generation: 3, owned: { 1: [0, 3, 6], 2: [1, 4], 3: [2, 5] } });
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  assert.equal(deal(h).generation, 3, 'a repeated join is not a membership change');
  h.ok(O.leaveConsumerGroup, G, { client: 1n });
  assert.deepEqual(deal(h), { generation: 4, owned: { 1: null, 2: [0, 2, 4, 6], 3: [1, 3, 5] } });
  h.ok(InternalOperation.removeConsumerGroupMember, body.client(3n), { client: 0n });
  assert.deepEqual(deal(h), { generation: 5, owned: { 1: null, 2: [0, 1, 2, 3, 4, 5, 6], 3: null } });
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  assert.deepEqual(deal(h), { generation: 6, owned: { 1: [1, 3, 5], 2: [0, 2, 4, 6], 3: null } });
});

test('more members than partitions leaves the late joiners without partitions', () => {
  const h = new Harness().withGroup(2);
  for (const client of [1n, 2n, 3n]) h.ok(O.joinConsumerGroup, G, { client });
  assert.deepEqual(deal(h).owned, { 1: [0], 2: [1], 3: [] });
});

test('adding or deleting partitions re-deals them and bumps the generation of groups with members', () => {
  const h = new Harness().withGroup(2);
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'idle'));
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  h.ok(O.createPartitions, body.partitions('s', 't', 3));
  assert.deepEqual(deal(h), { generation: 3, owned: { 1: [0, 2, 4], 2: [1, 3], 3: null } });
  h.ok(O.deletePartitions, body.partitions('s', 't', 4));
  assert.deepEqual(deal(h), { generation: 4, owned: { 1: [0], 2: [], 3: null } });
  const idle = groupOf(topicOf(h.state.streams.stream(id('s'))!, id('t'))!, id('idle'))!;
  assert.equal(idle.generation, 0);
});

test('member ids reuse the lowest free id', () => {
  const h = new Harness().withGroup(1);
  for (const client of [1n, 2n, 3n]) h.ok(O.joinConsumerGroup, G, { client });
  h.ok(O.leaveConsumerGroup, G, { client: 1n });
  h.ok(O.joinConsumerGroup, G, { client: 4n });
  const group = groupOf(topicOf(h.state.streams.stream(id('s'))!, id('t'))!, id('g'))!;
  assert.deepEqual(group.members, [{ client: 2n, memberId: 1 }, { client: 3n, memberId: 2 }, { client: 4n, memberId: 0 }]);
});

test('groupsOfClient lists memberships; clearAllMembers empties every group and bumps its generation', () => {
  const h = new Harness().withGroup(1);
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g2'));
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g2'), { client: 1n });
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  assert.deepEqual(groupsOfClient(h.state, 1n), [{ streamId: 0, topicId: 0, groupId: 0 }, { streamId: 0, topicId: 0, groupId: 1 }]);
  assert.deepEqual(groupsOfClient(h.state, 2n), [{ streamId: 0, topicId: 0, groupId: 0 }]);
  assert.deepEqual(groupsOfClient(h.state, 3n), []);
  const before = deal(h).generation;
  clearAllMembers(h.state);
  assert.deepEqual(groupsOfClient(h.state, 1n), []);
  assert.deepEqual(deal(h), { generation: before + 1, owned: { 1: null, 2: null, 3: null } });
});

// Per partition: [holder client, since generation].
function held(h: Harness): [bigint | null, number][] {
  const group = groupOf(topicOf(h.state.streams.stream(id('s'))!, id('t'))!, id('g'))!;
  return group.held.map((x) => [x.client, x.since]);
}

test('each partition records since which generation its holder has it: kept across changes that leave it, new when it moves', () => {
  const h = new Harness().withGroup(3);
  assert.deepEqual(held(h), [[null, 0], [null, 0], [null, 0]]);
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  assert.deepEqual(held(h), [[1n, 1], [1n, 1], [1n, 1]]);
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  assert.deepEqual(held(h), [[1n, 1], [2n, 2], [1n, 1]], 'only partition 1 moved');
  h.ok(O.leaveConsumerGroup, G, { client: 2n });
  assert.deepEqual(held(h), [[1n, 1], [1n, 3], [1n, 1]], 'back to member 1, but since generation 3');
  h.ok(O.createPartitions, body.partitions('s', 't', 1));
  assert.deepEqual(held(h), [[1n, 1], [1n, 3], [1n, 1], [1n, 4]]);
  h.ok(O.deletePartitions, body.partitions('s', 't', 2));
  assert.deepEqual(held(h), [[1n, 1], [1n, 3]]);
  const group = groupOf(topicOf(h.state.streams.stream(id('s'))!, id('t'))!, id('g'))!;
  assert.equal(heldSinceView(group, 0, 2), true, 'held since 1: a view of 2 is current for it');
  assert.equal(heldSinceView(group, 1, 2), false, 'held since 3: a view of 2 predates it');
  assert.equal(heldSinceView(group, 1, 3), true);
  assert.equal(heldSinceView(group, 1, undefined), true, 'a session that never synced has no view to be stale');
  assert.equal(heldSinceView(group, 7, 99), false, 'no such partition');
});

test('a group restored from a snapshot counts every partition as held since the restored generation', () => {
  const h = new Harness().withGroup(2);
  h.ok(O.joinConsumerGroup, G, { client: 1n });
  h.ok(O.joinConsumerGroup, G, { client: 2n });
  h.ok(O.joinConsumerGroup, G, { client: 3n });
  const restored = decodeStreamsSnapshot(encodeStreamsSnapshot(h.state.streams));
  const group = groupOf(topicOf(restored.stream(id('s'))!, id('t'))!, id('g'))!;
  assert.deepEqual(group.held, [{ client: 1n, since: 3 }, { client: 2n, since: 3 }]);
});
