// The pre-consensus check: bodies decode completely, static limits and option rules give their own codes,
// permissions give 41, and the existence of the target is left to the state machine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writer } from '../../../host/shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../../host/shared/wire/codes.js';
import { TlvKind } from '../../../host/shared/wire/primitives.js';
import { prepareStreamsOp } from '../../../host/node/metadata/streams-prepare.js';
import { InternalOperation } from '../../../host/node/metadata/types.js';
import { Harness, OTHER_USER, ROOT, body, tlvString, tlvU64 } from './streams-helpers.js';

const O = Operation;
const h = new Harness().withGroup(1);
const prepare = (operation: number, b: Uint8Array, session = ROOT) => {
  const r = prepareStreamsOp(h.state, session, operation, b);
  return r.ok ? 0 : r.status;
};

const VALID: [number, Uint8Array][] = [
  [O.createStream, body.createStream('new')],
  [O.updateStream, body.updateStream('s', 'n')],
  [O.deleteStream, body.stream('s')],
  [O.purgeStream, body.stream('s')],
  [O.createTopic, body.createTopic('s', 1000, 'x')],
  [O.updateTopic, body.updateTopic('s', 't', 'x')],
  [O.deleteTopic, body.topic('s', 't')],
  [O.purgeTopic, body.topic('s', 't')],
  [O.createPartitions, body.partitions('s', 't', 1000)],
  [O.deletePartitions, body.partitions('s', 't', 1)],
  [O.deleteSegments, new Writer().bytes(body.topic('s', 't')).u32(0).u32(1).finish()],
  [O.createConsumerGroup, body.createGroup('s', 't', 'g9')],
  [O.deleteConsumerGroup, body.group('s', 't', 'g')],
  [O.joinConsumerGroup, body.group('s', 't', 'g')],
  [O.leaveConsumerGroup, body.group('s', 't', 'g')],
];

test('well-formed bodies pass unchanged, targets need not exist; a truncated body is 3', () => {
  for (const [operation, b] of VALID) {
    assert.deepEqual(prepareStreamsOp(h.state, ROOT, operation, b), { ok: true, body: b }, `operation ${operation}`);
    assert.equal(prepare(operation, b.subarray(0, b.length - 1)), ErrorCode.invalidCommand, `operation ${operation} truncated`);
  }
  assert.equal(prepare(O.deleteStream, body.stream('missing')), 0);
  assert.equal(prepare(O.createTopic, body.createTopic(42, 1, 'x')), 0);
});

test('a user without the permission is refused with 41 for every op', () => {
  for (const [operation, b] of VALID) assert.equal(prepare(operation, b, OTHER_USER), ErrorCode.unauthorized, `operation ${operation}`);
});

test('static limits: partitions per request (2015), empty names (1013 / 2014), bad identifiers (6)', () => {
  assert.equal(prepare(O.createTopic, body.createTopic('s', 1001, 'x')), ErrorCode.tooManyPartitions);
  assert.equal(prepare(O.createTopic, body.createTopic('s', 0, 'x')), 0);
  for (const op of [O.createPartitions, O.deletePartitions]) {
    assert.equal(prepare(op, body.partitions('s', 't', 0)), ErrorCode.tooManyPartitions);
    assert.equal(prepare(op, body.partitions('s', 't', 1001)), ErrorCode.tooManyPartitions);
  }
  assert.equal(prepare(O.createStream, Uint8Array.of(0)), ErrorCode.invalidStreamName);
  assert.equal(prepare(O.createStream, Uint8Array.of(2, 0xc3, 0x28)), ErrorCode.invalidStreamName);
  assert.equal(prepare(O.updateStream, new Writer().bytes(body.stream(0)).u8(0).finish()), ErrorCode.invalidStreamName);
  assert.equal(prepare(O.createTopic, new Writer().bytes(body.stream(0)).u32(1).u8(0).finish()), ErrorCode.invalidTopicName);
  assert.equal(prepare(O.updateTopic, new Writer().bytes(body.topic(0, 0)).u8(0).finish()), ErrorCode.invalidTopicName);
  assert.equal(prepare(O.deleteStream, Uint8Array.of(1, 3, 0, 0, 0)), ErrorCode.invalidIdentifier);
  assert.equal(prepare(O.deleteStream, Uint8Array.of(3, 1, 0)), ErrorCode.invalidIdentifier);
  assert.equal(prepare(O.createConsumerGroup, new Writer().bytes(body.topic(0, 0)).u8(0).finish()), ErrorCode.invalidCommand);
});

test('options: stream keys 4041; unknown topic key 4041; bad values 4042; non-String key 4041; duplicates 4042', () => {
  assert.equal(prepare(O.createStream, body.createStream('x', [tlvString('anything', 'v')])), ErrorCode.unsupportedOptionKey);
  const topic = (options: Parameters<typeof body.createTopic>[3]) => prepare(O.createTopic, body.createTopic('s', 1, 'x', options));
  assert.equal(topic([tlvString('replication_factor', '3')]), ErrorCode.unsupportedOptionKey);
  assert.equal(topic([tlvString('compression_algorithm', 'zstd')]), ErrorCode.invalidOptionValue);
  assert.equal(topic([tlvU64('segment_size', 1000n)]), ErrorCode.invalidOptionValue);
  assert.equal(topic([tlvU64('max_topic_size', 1024n)]), ErrorCode.invalidOptionValue, 'below the 1 GiB segment size');
  assert.equal(topic([tlvString('message_expiry', 'soon')]), ErrorCode.invalidOptionValue);
  assert.equal(topic([tlvString('message_expiry', '1h'), tlvString('message_expiry', '2h')]), ErrorCode.invalidOptionValue);
  assert.equal(topic([{ ...tlvU64('segment_size', 512n), valueKind: TlvKind.uint32 }]), ErrorCode.invalidOptionValue);
  assert.equal(topic([{ ...tlvString('enforce_fsync', 'x'), keyKind: TlvKind.raw }]), ErrorCode.unsupportedOptionKey);
  assert.equal(topic([tlvString('compression_algorithm', 'gzip'), tlvString('message_expiry', '7 days'), tlvString('max_topic_size', '2 GiB')]), 0);
  const odd = new Writer().bytes(body.createTopic('s', 1, 'x')).u8(TlvKind.string).u32(1).u8(0x61).finish();
  assert.equal(prepare(O.createTopic, odd), ErrorCode.invalidCommand, 'a key without a value');
  const huge = new Writer().bytes(body.createTopic('s', 1, 'x')).bytes(new Uint8Array(100_001)).finish();
  assert.equal(prepare(O.createTopic, huge), ErrorCode.optionsBlockTooLarge);
});

test('the internal member-removal op cannot be requested by a client', () => {
  assert.equal(prepare(InternalOperation.removeConsumerGroupMember, body.client(1n)), ErrorCode.invalidCommand);
});
