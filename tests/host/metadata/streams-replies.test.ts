// Reply bytes of the streams creates and reads against layouts written out by hand from iggy-client-wire.md
// §7.1, §7.4, §7.5, §7.7, and the not-found / permission shapes of §5.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader, Writer } from '../../../host/shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../../host/shared/wire/codes.js';
import { readName } from '../../../host/shared/wire/primitives.js';
import { readStreamsCommand } from '../../../host/node/metadata/stream-reads.js';
import { namespaceOf } from '../../../host/node/metadata/targets.js';
import { Harness, OTHER_USER, ROOT, T0, ascii, body, le32, le64 } from './streams-helpers.js';

const O = Operation;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const bytes = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

// One options entry: String key TLV then the value TLV (§6.3).
function tlv(key: string, kind: number, value: number[]): number[] {
  return [2, ...le32(key.length), ...ascii(key), kind, ...le32(value.length), ...value];
}

const DERIVED_DEFAULTS = [
  ...tlv('compression_algorithm', 2, ascii('none')),
  ...tlv('message_expiry', 12, le64(U64_MAX)),
  ...tlv('max_topic_size', 12, le64(U64_MAX)),
  ...tlv('segment_size', 12, le64(1n << 30n)),
  ...tlv('enforce_fsync', 3, [0]),
  ...tlv('messages_required_to_save', 11, le32(1024)),
  ...tlv('size_of_messages_required_to_save', 12, le64(1n << 20n)),
  ...tlv('preallocate_segments', 3, [0]),
];

function topicHeader(id: number, at: number, partitions: number, name: string, sizes: [number, number] = [0, 0]): number[] {
  return [
    ...le32(id), ...le64(at), ...le32(partitions), ...le64(U64_MAX), 1, ...le64(U64_MAX), ...le64(sizes[0]), ...le64(sizes[1]),
    name.length, ...ascii(name), ...le32(0), ...le32(DERIVED_DEFAULTS.length), ...DERIVED_DEFAULTS,
  ];
}

function read(h: Harness, code: number, request: Uint8Array, session = ROOT) {
  return readStreamsCommand(h.state, session, code, request);
}

test('CreateStream replies StreamResponse byte for byte', () => {
  const h = new Harness();
  const payload = h.ok(O.createStream, body.createStream('s1'));
  assert.deepEqual(payload, bytes(le32(0), le64(T0 + 1), le32(0), le64(0), le64(0), [2], ascii('s1'), le32(0)));
  assert.equal(payload.length, 33 + 2 + 4);
});

test('CreateTopic replies TopicDetails byte for byte (header, both option blocks, 40-byte partitions)', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s1'));
  const payload = h.ok(O.createTopic, body.createTopic(0, 2, 't'));
  const at = T0 + 2;
  const partition = (id: number) => [...le32(id), ...le64(at), ...le32(1), ...le64(0), ...le64(0), ...le64(0)];
  assert.deepEqual(payload, bytes(topicHeader(0, at, 2, 't'), partition(0), partition(1)));
});

test('CreateTopic echoes the explicit options and resolves them into the header and the derived block', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s1'));
  const explicit = new Writer().u8(2).u32(21).bytes(new TextEncoder().encode('compression_algorithm')).u8(2).u32(4).bytes(new TextEncoder().encode('gzip')).finish();
  const payload = h.ok(O.createTopic, new Writer().bytes(body.createTopic(0, 0, 't')).bytes(explicit).finish());
  const r = new Reader(payload, 24);
  assert.equal(r.u8(), 2, 'compression byte @24 is gzip');
  r.offset = 49;
  assert.equal(readName(r), 't');
  assert.equal(r.u32(), explicit.length);
  assert.deepEqual(r.bytes(explicit.length), explicit);
  const derived = r.bytes(r.u32());
  assert.ok(Buffer.from(derived).includes(Buffer.from('gzip')));
  assert.equal(r.remaining, 0);
});

test('CreateConsumerGroup replies ConsumerGroupDetails with no members; Get/Sync show the round-robin deal', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('s'));
  h.ok(O.createTopic, body.createTopic('s', 3, 't'));
  assert.deepEqual(h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g')), bytes(le32(0), le32(3), le32(0), [1], ascii('g')));
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g'), { client: ROOT.client });
  h.ok(O.joinConsumerGroup, body.group('s', 't', 'g'), { client: OTHER_USER.client });
  const details = read(h, 600, body.group('s', 't', 'g'));
  assert.deepEqual(details, { ok: true, body: bytes(le32(0), le32(3), le32(2), [1], ascii('g'), le32(0), le32(2), le32(0), le32(2), le32(1), le32(1), le32(1)) });
  assert.deepEqual(read(h, 606, body.group('s', 't', 'g')), { ok: true, body: bytes(le64(2), le32(2), le32(0), le32(2)) });
  const stranger = { ...ROOT, client: 0xdeadn };
  assert.deepEqual(read(h, 606, body.group('s', 't', 'g'), stranger), { ok: true, body: new Uint8Array(0) }, 'not a member: empty');
  assert.deepEqual(read(h, 601, body.topic('s', 't')), { ok: true, body: bytes(le32(0), le32(3), le32(2), [1], ascii('g')) });
});

test('GetStream / GetStreams / GetTopic / GetTopics layouts, with sizes from the partition stats', () => {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('a'));
  h.ok(O.createStream, body.createStream('b'));
  h.ok(O.createTopic, body.createTopic('a', 2, 't'));
  h.state.partitionStats.set(namespaceOf(0, 0, 1), { currentOffset: 9, messagesCount: 10, sizeBytes: 700, segmentsCount: 2 });
  const streamA = [...le32(0), ...le64(T0 + 1), ...le32(1), ...le64(700), ...le64(10), 1, ...ascii('a'), ...le32(0)];
  const streamB = [...le32(1), ...le64(T0 + 2), ...le32(0), ...le64(0), ...le64(0), 1, ...ascii('b'), ...le32(0)];
  const header = topicHeader(0, T0 + 3, 2, 't', [700, 10]);
  assert.deepEqual(read(h, 200, body.stream('a')), { ok: true, body: bytes(streamA, header) });
  assert.deepEqual(read(h, 201, new Uint8Array(0)), { ok: true, body: bytes(streamA, streamB) });
  assert.deepEqual(read(h, 301, body.stream(0)), { ok: true, body: bytes(le32(1), header) });
  const p0 = [...le32(0), ...le64(T0 + 3), ...le32(1), ...le64(0), ...le64(0), ...le64(0)];
  const p1 = [...le32(1), ...le64(T0 + 3), ...le32(2), ...le64(9), ...le64(700), ...le64(10)];
  assert.deepEqual(read(h, 300, body.topic('a', 't')), { ok: true, body: bytes(header, p0, p1) });
});

test('not-found shapes: empty bodies for single reads, count 0 for GetTopics, 1009 / 2010 for group reads', () => {
  const h = new Harness().withGroup(1);
  const empty = { ok: true, body: new Uint8Array(0) };
  assert.deepEqual(read(h, 200, body.stream('zz')), empty);
  assert.deepEqual(read(h, 300, body.topic('zz', 't')), empty);
  assert.deepEqual(read(h, 300, body.topic('s', 'zz')), empty);
  assert.deepEqual(read(h, 301, body.stream('zz')), { ok: true, body: bytes(le32(0)) });
  assert.deepEqual(read(h, 600, body.group('s', 't', 'zz')), empty);
  assert.deepEqual(read(h, 606, body.group('s', 't', 'zz')), empty);
  for (const code of [600, 606]) {
    assert.equal(status(read(h, code, body.group('zz', 't', 'g'))), ErrorCode.streamIdNotFound);
    assert.equal(status(read(h, code, body.group('s', 'zz', 'g'))), ErrorCode.topicIdNotFound);
  }
  assert.equal(status(read(h, 601, body.topic('zz', 't'))), ErrorCode.streamIdNotFound);
  assert.equal(status(read(h, 601, body.topic('s', 'zz'))), ErrorCode.topicIdNotFound);
});

const status = (r: ReturnType<typeof read>): number => (r.ok ? 0 : r.status);

test('reads without the permission are 41; truncated bodies are 3', () => {
  const h = new Harness().withGroup(1);
  const requests: [number, Uint8Array][] = [
    [200, body.stream('s')], [201, new Uint8Array(0)], [300, body.topic('s', 't')], [301, body.stream('s')],
    [600, body.group('s', 't', 'g')], [601, body.topic('s', 't')], [606, body.group('s', 't', 'g')],
  ];
  for (const [code, request] of requests) {
    assert.equal(status(read(h, code, request, OTHER_USER)), ErrorCode.unauthorized, `code ${code}`);
    if (request.length > 0) assert.equal(status(read(h, code, request.subarray(0, request.length - 1))), ErrorCode.invalidCommand, `code ${code}`);
  }
  assert.equal(status(read(h, 1, new Uint8Array(0))), ErrorCode.invalidCommand);
});

test('DescribeOptions lists the topic keys with defaults; streams and users have none; unknown scope is 3', () => {
  const h = new Harness();
  const topic = read(h, 13, Uint8Array.of(1));
  assert.ok(topic.ok);
  const r = new Reader(topic.body);
  const keys: string[] = [];
  for (let n = r.u32(); n > 0; n--) {
    keys.push(readName(r));
    const kind = r.u8();
    const value = r.bytes(r.u32());
    if (keys.at(-1) === 'segment_size') assert.deepEqual([kind, ...value], [12, ...le64(1n << 30n)]);
    assert.ok(r.u32() > 0, 'description present');
    r.offset += new DataView(topic.body.buffer, topic.body.byteOffset).getUint32(r.offset - 4, true);
  }
  assert.equal(r.remaining, 0);
  assert.deepEqual(keys, ['compression_algorithm', 'message_expiry', 'max_topic_size', 'segment_size', 'enforce_fsync',
    'messages_required_to_save', 'size_of_messages_required_to_save', 'preallocate_segments']);
  assert.deepEqual(read(h, 13, Uint8Array.of(2)), { ok: true, body: bytes(le32(0)) });
  assert.deepEqual(read(h, 13, Uint8Array.of(3)), { ok: true, body: bytes(le32(0)) });
  assert.equal(status(read(h, 13, Uint8Array.of(4))), ErrorCode.invalidCommand);
  assert.equal(status(read(h, 13, new Uint8Array(0))), ErrorCode.invalidCommand);
});
