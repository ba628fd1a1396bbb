// Every streams op of the state machine: its success and each business rejection of iggy-client-wire.md §5.4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writer } from '../../../host/shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../../host/shared/wire/codes.js';
import { InternalOperation } from '../../../host/node/metadata/types.js';
import { topicOf, type Stream } from '../../../host/node/metadata/streams.js';
import { streamsCounts } from '../../../host/node/metadata/streams-queries.js';
import { Harness, body, id, tlvString, tlvU64 } from './streams-helpers.js';

const O = Operation;

test('CreateStream assigns 0-based ids, rejects a taken name with 1012 and reuses the lowest freed id', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('a'));
  h.ok(O.createStream, body.createStream('b'));
  h.ok(O.createStream, body.createStream('c'));
  assert.deepEqual([...h.state.streams.streams.keys()], [0, 1, 2]);
  assert.deepEqual(h.apply(O.createStream, body.createStream('b')), { result: ErrorCode.streamNameAlreadyExists, payload: new Uint8Array(0) });
  h.ok(O.deleteStream, body.stream('a'));
  h.ok(O.createStream, body.createStream('d'));
  assert.equal(h.state.streams.stream(id('d'))?.id, 0);
  assert.equal(h.state.streams.stream(id(0))?.name, 'd');
  assert.equal(h.state.streams.stream(id('a')), undefined);
});

test('CreateStream beyond the 2^20 packable stream ids is 1020', () => {
  const h = new Harness();
  const stub = { name: 'x' } as Stream;
  for (let i = 0; i < 1 << 20; i++) h.state.streams.streams.set(i, stub);
  assert.equal(h.apply(O.createStream, body.createStream('one-too-many')).result, ErrorCode.tooManyStreams);
});

test('UpdateStream renames; missing stream 1009, name of another stream 1012, own name allowed', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('a'));
  h.ok(O.createStream, body.createStream('b'));
  h.ok(O.updateStream, body.updateStream('a', 'a2'));
  assert.equal(h.state.streams.stream(id('a2'))?.id, 0);
  assert.equal(h.state.streams.stream(id('a')), undefined);
  assert.equal(h.apply(O.updateStream, body.updateStream(0, 'b')).result, ErrorCode.streamNameAlreadyExists);
  assert.equal(h.apply(O.updateStream, body.updateStream(9, 'z')).result, ErrorCode.streamIdNotFound);
  assert.equal(h.apply(O.updateStream, body.updateStream('nope', 'z')).result, ErrorCode.streamIdNotFound);
  h.ok(O.updateStream, body.updateStream(1, 'b'));
  assert.equal(h.state.streams.stream(id('b'))?.id, 1);
});

test('DeleteStream and PurgeStream: success, 1009 when missing; delete drops topics and stats', () => {
  const h = new Harness().withGroup(2);
  h.state.partitionStats.set(1n, { currentOffset: 1, messagesCount: 2, sizeBytes: 3, segmentsCount: 1 }); // (0,0,1)
  assert.deepEqual(h.apply(O.purgeStream, body.stream('s')), { result: 0, payload: new Uint8Array(0) });
  assert.equal(h.apply(O.purgeStream, body.stream('x')).result, ErrorCode.streamIdNotFound);
  h.ok(O.deleteStream, body.stream(0));
  assert.equal(h.apply(O.deleteStream, body.stream(0)).result, ErrorCode.streamIdNotFound);
  assert.equal(h.state.partitionStats.size, 0);
  assert.deepEqual(streamsCounts(h.state), { streams: 0, topics: 0, partitions: 0, consumerGroups: 0 });
});

test('CreateTopic: ids per stream, names unique per stream (2013), missing stream 1009, 0 partitions allowed', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s1'));
  h.ok(O.createStream, body.createStream('s2'));
  h.ok(O.createTopic, body.createTopic('s1', 0, 't'));
  h.ok(O.createTopic, body.createTopic('s1', 3, 'u'));
  h.ok(O.createTopic, body.createTopic('s2', 1, 't'));
  const s1 = h.state.streams.stream(id('s1'))!;
  assert.equal(topicOf(s1, id('t'))?.partitions.length, 0);
  assert.equal(topicOf(s1, id('u'))?.id, 1);
  assert.equal(topicOf(h.state.streams.stream(id('s2'))!, id('t'))?.id, 0);
  assert.equal(h.apply(O.createTopic, body.createTopic('s1', 1, 'u')).result, ErrorCode.topicNameAlreadyExists);
  assert.equal(h.apply(O.createTopic, body.createTopic('s9', 1, 'v')).result, ErrorCode.streamIdNotFound);
  assert.deepEqual(streamsCounts(h.state), { streams: 2, topics: 3, partitions: 4, consumerGroups: 0 });
});

test('CreateTopic beyond 4096 topic ids in a stream is 2021', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  for (let i = 0; i < 4096; i++) h.ok(O.createTopic, body.createTopic(0, 0, `t${i}`));
  assert.equal(h.apply(O.createTopic, body.createTopic(0, 0, 'last')).result, ErrorCode.tooManyTopics);
});

test('UpdateTopic renames and replaces options; 1009, 2010, 2013', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 1, 'a', [tlvString('compression_algorithm', 'gzip')]));
  h.ok(O.createTopic, body.createTopic('s', 1, 'b'));
  const s = h.state.streams.stream(id('s'))!;
  assert.equal(topicOf(s, id('a'))?.settings.compression, 2);
  h.ok(O.updateTopic, body.updateTopic('s', 'a', 'a2', [tlvU64('message_expiry', 5_000_000n)]));
  const a = topicOf(s, id('a2'))!;
  assert.equal(a.id, 0);
  assert.equal(a.settings.compression, 1, 'keys left out return to their defaults');
  assert.equal(a.settings.messageExpiry, 5_000_000n);
  assert.equal(topicOf(s, id('a')), undefined);
  assert.equal(h.apply(O.updateTopic, body.updateTopic('s', 'a2', 'b')).result, ErrorCode.topicNameAlreadyExists);
  assert.equal(h.apply(O.updateTopic, body.updateTopic('s', 'zz', 'c')).result, ErrorCode.topicIdNotFound);
  assert.equal(h.apply(O.updateTopic, body.updateTopic('x', 0, 'c')).result, ErrorCode.streamIdNotFound);
});

test('DeleteTopic ignores the trailing u32 Node appends; PurgeTopic succeeds; both 1009 / 2010', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 2, 't'));
  h.ok(O.purgeTopic, body.topic('s', 't'));
  assert.equal(h.apply(O.purgeTopic, body.topic('s', 'x')).result, ErrorCode.topicIdNotFound);
  assert.equal(h.apply(O.purgeTopic, body.topic('x', 't')).result, ErrorCode.streamIdNotFound);
  const withTrailer = new Writer().bytes(body.topic('s', 't')).u32(0).finish();
  h.ok(O.deleteTopic, withTrailer);
  assert.equal(h.apply(O.deleteTopic, withTrailer).result, ErrorCode.topicIdNotFound);
  assert.equal(h.apply(O.deleteTopic, body.topic('x', 0)).result, ErrorCode.streamIdNotFound);
  assert.equal(h.state.streams.stream(id('s'))!.topics.size, 0);
});

test('CreatePartitions appends ids, DeletePartitions removes the highest; 2019 when deleting too many', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 0, 't'));
  h.ok(O.createPartitions, body.partitions('s', 't', 22));
  const topic = topicOf(h.state.streams.stream(id('s'))!, id('t'))!;
  assert.equal(topic.partitions.length, 22);
  assert.equal(topic.partitions[21].createdOp, h.state.appliedOp);
  h.ok(O.deletePartitions, body.partitions('s', 't', 19));
  assert.equal(topic.partitions.length, 3);
  assert.equal(h.apply(O.deletePartitions, body.partitions('s', 't', 4)).result, ErrorCode.invalidPartitionsCount);
  assert.equal(topic.partitions.length, 3);
  for (const op of [O.createPartitions, O.deletePartitions]) {
    assert.equal(h.apply(op, body.partitions('x', 't', 1)).result, ErrorCode.streamIdNotFound);
    assert.equal(h.apply(op, body.partitions('s', 'x', 1)).result, ErrorCode.topicIdNotFound);
  }
});

test('CreatePartitions past partition id 999 999 is 3013', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 1, 't'));
  const topic = topicOf(h.state.streams.stream(id('s'))!, id('t'))!;
  topic.partitions = new Array(999_500).fill(topic.partitions[0]);
  assert.equal(h.apply(O.createPartitions, body.partitions('s', 't', 1000)).result, ErrorCode.partitionIdSpaceExhausted);
  h.ok(O.createPartitions, body.partitions('s', 't', 500));
  assert.equal(topic.partitions.length, 1_000_000);
});

test('DeleteSegments (committed, no metadata change): success, 1009 / 2010 / 3007', () => {
  const h = new Harness().withGroup(1);
  const seg = (s: string, t: string, p: number) => new Writer().bytes(body.topic(s, t)).u32(p).u32(1).finish();
  h.ok(O.deleteSegments, seg('s', 't', 0));
  assert.equal(h.apply(O.deleteSegments, seg('s', 't', 1)).result, ErrorCode.partitionNotFound);
  assert.equal(h.apply(O.deleteSegments, seg('s', 'x', 0)).result, ErrorCode.topicIdNotFound);
  assert.equal(h.apply(O.deleteSegments, seg('x', 't', 0)).result, ErrorCode.streamIdNotFound);
});

test('consumer groups: create (5004 on a taken name), delete (5000), join idempotent, leave (5006), 1009 / 2010', () => {
  const h = new Harness().withGroup(3);
  const topic = topicOf(h.state.streams.stream(id('s'))!, id('t'))!;
  assert.equal(h.apply(O.createConsumerGroup, body.createGroup('s', 't', 'g')).result, ErrorCode.consumerGroupNameAlreadyExists);
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g2'));
  assert.deepEqual([...topic.groups.keys()], [0, 1]);
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g'), { client: 5n });
  h.ok(O.joinConsumerGroup, body.group('s', 't', 0), { client: 5n });
  const g = topic.groups.get(0)!;
  assert.deepEqual(g.members, [{ client: 5n, memberId: 0 }]);
  assert.equal(g.generation, 1, 'a repeated join changes nothing');
  assert.equal(h.apply(O.leaveConsumerGroup, body.group('s', 't', 'g'), { client: 6n }).result, ErrorCode.consumerGroupMemberNotFound);
  h.ok(O.leaveConsumerGroup, body.group('s', 't', 'g'), { client: 5n });
  assert.deepEqual(g.members, []);
  for (const op of [O.deleteConsumerGroup, O.joinConsumerGroup, O.leaveConsumerGroup]) {
    assert.equal(h.apply(op, body.group('s', 't', 'zz')).result, ErrorCode.consumerGroupIdNotFound);
    assert.equal(h.apply(op, body.group('s', 'x', 'g')).result, ErrorCode.topicIdNotFound);
    assert.equal(h.apply(op, body.group('x', 't', 'g')).result, ErrorCode.streamIdNotFound);
  }
  assert.equal(h.apply(O.createConsumerGroup, body.createGroup('s', 'x', 'g')).result, ErrorCode.topicIdNotFound);
  assert.equal(h.apply(O.createConsumerGroup, body.createGroup('x', 't', 'g')).result, ErrorCode.streamIdNotFound);
  h.ok(O.deleteConsumerGroup, body.group('s', 't', 'g'));
  assert.equal(h.apply(O.deleteConsumerGroup, body.group('s', 't', 'g')).result, ErrorCode.consumerGroupIdNotFound);
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g3'));
  assert.equal(topic.groups.get(0)?.name, 'g3', 'the freed group id is reused');
});

test('internal RemoveConsumerGroupMember (66) takes a client out of every group', () => {
  const h = new Harness().withGroup(2);
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g2'));
  h.ok(O.createTopic, body.createTopic('s', 1, 't2'));
  h.ok(O.createConsumerGroup, body.createGroup('s', 't2', 'g'));
  for (const [t, g] of [['t', 'g'], ['t', 'g2'], ['t2', 'g']]) {
    h.ok(O.joinConsumerGroup, body.group('s', t, g), { client: 9n });
    h.ok(O.joinConsumerGroup, body.group('s', t, g), { client: 10n });
  }
  h.ok(InternalOperation.removeConsumerGroupMember, body.client(9n), { client: 0n });
  const stream = h.state.streams.stream(id('s'))!;
  for (const topic of stream.topics.values()) {
    for (const group of topic.groups.values()) assert.deepEqual(group.members.map((m) => m.client), [10n]);
  }
  h.ok(InternalOperation.removeConsumerGroupMember, body.client(12345n), { client: 0n });
});

test('a committed body that does not decode is rejected the same way on every shard', () => {
  const h = new Harness();
  assert.equal(h.apply(O.createStream, new Uint8Array([5, 0x61])).result, ErrorCode.invalidCommand);
  assert.equal(h.state.streams.streams.size, 0);
});
