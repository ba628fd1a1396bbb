// The client's request bodies and reply decoders against the layouts of iggy-client-wire.md §7 - §8 and the batch
// vector of §13.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, WireError, Writer, utf8 } from '../../host/shared/wire/buffer.js';
import { encodePermissions, globalPermissions, readPermissions, type Permissions } from '../../host/shared/wire/permissions.js';
import { buildBatch, readBatch, readPollReply, batchChecksum } from '../../host/client/batch.js';
import * as req from '../../host/client/requests.js';
import * as res from '../../host/client/responses.js';
import { EvictionError, IggyError } from '../../host/client/errors.js';
import { u64Option } from '../../host/client/options.js';
import { xxh3_64 } from '../../host/client/xxh3.js';

const bytes = (...parts: (number | string | number[])[]): number[] =>
  parts.flatMap((p) => (typeof p === 'number' ? [p] : typeof p === 'string' ? [...utf8.encode(p)] : p));
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: bigint): number[] => [...new Uint8Array(new BigUint64Array([v]).buffer)];

describe('batches (§8.2, §13)', () => {
  it('builds the one-message batch of §13 byte for byte', () => {
    const batch = buildBatch([{ id: 1n, payload: 'hi', originTimestamp: 1000n }]);
    assert.equal(batch.length, 306);
    assert.deepEqual([...batch.subarray(0, 52)], [
      ...new Array(24).fill(0), 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0x32, 0x01, 0, 0, 0, 0, 0, 0,
      0x65, 0xdd, 0x92, 0x38, 0xd9, 0xca, 0x28, 0x31, 0x01, 0, 0, 0,
    ]);
    assert.ok(batch.subarray(52, 256).every((b) => b === 0), 'reserved bytes are zero');
    assert.deepEqual([...batch.subarray(256)], [
      0xdc, 0x8e, 0x00, 0xca, 0x42, 0x0b, 0x92, 0xa9, 0x01, ...new Array(15).fill(0), 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 2, 0, 0, 0, ...new Array(8).fill(0), 0x68, 0x69,
    ]);
  });

  it('timestamps deltas, offset deltas, headers and random ids', () => {
    const header = u64Option('k', 5n);
    const batch = buildBatch([
      { payload: 'a', originTimestamp: 2000n, headers: [header] },
      { payload: new Uint8Array([1, 2, 3]), originTimestamp: 1500n, id: 42n },
    ]);
    const messages = readBatch(batch, true);
    assert.deepEqual(messages.map((m) => [m.offset, m.originTimestamp]), [[0n, 2000n], [1n, 1500n]]);
    assert.deepEqual(messages[0].headers, [header]);
    assert.equal(messages[1].id, 42n);
    assert.notEqual(messages[0].id, 0n, 'an absent id becomes a random UUID');
    assert.equal(new DataView(batch.buffer).getBigUint64(24, true), 1500n, 'batch origin is the minimum');
  });

  it('decodes a poll reply and, when asked, rejects bad frame (4027) and batch (4039) checksums', () => {
    const batch = buildBatch([{ id: 7n, payload: 'x' }, { id: 8n, payload: 'yz' }]);
    const stored = batch.slice();
    const view = new DataView(stored.buffer);
    view.setBigUint64(8, 10n, true); // base offset
    view.setBigUint64(16, 99n, true); // broker timestamp
    const frameSums = [stored.subarray(256, 264), stored.subarray(256 + 49, 256 + 49 + 8)];
    view.setBigUint64(40, batchChecksum(stored, frameSums), true);
    const head = new Writer().u32(3).u64(11n).u32(2).finish();
    const body = Uint8Array.from([...head, ...stored]);
    const polled = readPollReply(body, true);
    assert.deepEqual([polled.partitionId, polled.currentOffset, polled.count], [3, 11n, 2]);
    assert.deepEqual(polled.messages.map((m) => [m.offset, m.id, m.timestamp, utf8.encode('').length + m.payload.length]), [[10n, 7n, 99n, 1], [11n, 8n, 99n, 2]]);
    assert.deepEqual(readPollReply(new Writer().u32(0).u64(0n).u32(0).finish()).messages, []);

    const badFrame = body.slice();
    badFrame[16 + 256 + 48] ^= 1; // first payload byte
    assert.throws(() => readPollReply(badFrame, true), (e: IggyError) => e.code === 4027);
    assert.equal(readPollReply(badFrame, false).messages.length, 2, 'verification is optional');
    const badBatch = body.slice();
    badBatch[16 + 16] ^= 1; // base timestamp, covered only by the batch checksum
    assert.throws(() => readPollReply(badBatch, true), (e: IggyError) => e.code === 4039);
    assert.throws(() => readPollReply(new Writer().u32(0).u64(0n).u32(1).finish()), /announces 1 messages/);
    assert.throws(() => readPollReply(body.subarray(0, body.length - 1)), WireError);
  });
});

describe('request bodies', () => {
  it('SendMessages: metadata length, identifiers, partitioning, count, then the batch (§8.1)', () => {
    const batch = buildBatch([{ id: 1n, payload: 'hi', originTimestamp: 1000n }]);
    const body = req.sendMessages({ stream: 1, topic: 's', partitioning: { kind: 'partition', partition: 2 }, messages: [{ payload: 'hi' }] }, batch);
    const meta = bytes(1, 4, u32(1), 2, 1, 's', 2, 4, u32(2), u32(1));
    assert.deepEqual([...body.subarray(0, 4 + meta.length)], [...u32(meta.length), ...meta]);
    assert.deepEqual(body.subarray(4 + meta.length), batch);
  });

  it('PollMessages and the offset commands (§8.4, §7.8)', () => {
    const poll = req.pollMessages({ consumer: { kind: 'group', id: 'g' }, stream: 1, topic: 2, partition: null, strategy: { kind: 'offset', value: 5n }, count: 10, autoCommit: true });
    assert.deepEqual([...poll], bytes(2, 2, 1, 'g', 1, 4, u32(1), 1, 4, u32(2), 0, u32(0), 1, u64(5n), u32(10), 1));
    const store = req.storeOffset({ stream: 1, topic: 2, partition: 0 }, 2n, 1);
    assert.deepEqual([...store], bytes(1, 1, 4, u32(0), 1, 4, u32(1), 1, 4, u32(2), 1, u32(0), u64(2n), 1));
    assert.deepEqual([...req.deleteOffset({ stream: 1, topic: 2 }, 1)].slice(-6), [0, 0, 0, 0, 0, 1]);
  });

  it('users, topics, partitions, segments, groups, tokens (§7.4 - §7.10)', () => {
    const perms = globalPermissions(false, { readStreams: true });
    const user = req.createUser({ username: 'u', password: 'pw', permissions: perms });
    const blob = encodePermissions(perms);
    assert.deepEqual([...user], bytes(1, 'u', 2, 'pw', 1, 1, u32(blob.length), [...blob]));
    assert.deepEqual([...req.createUser({ username: 'u', password: '', status: 2 })], bytes(1, 'u', 0, 2, 0));
    assert.deepEqual([...req.updateUser(3, { status: 2 })], bytes(1, 4, u32(3), 0, 1, 2));
    assert.deepEqual([...req.updateUser('a', { username: 'b' })], bytes(2, 1, 'a', 1, 1, 'b', 0));
    assert.deepEqual([...req.changePassword(0, 'a', 'bc')], bytes(1, 4, u32(0), 1, 'a', 2, 'bc'));
    assert.deepEqual([...req.updatePermissions(0, null)], bytes(1, 4, u32(0), 0));
    assert.deepEqual([...req.createTopic(0, 3, 't')], bytes(1, 4, u32(0), u32(3), 1, 't'));
    const expiry = u64Option('message_expiry', 42n);
    assert.deepEqual([...req.updateTopic(0, 1, 't', [expiry])], bytes(1, 4, u32(0), 1, 4, u32(1), 1, 't', 2, u32(14), 'message_expiry', 12, u32(8), u64(42n)));
    assert.deepEqual([...req.partitionsCount(0, 1, 22)], bytes(1, 4, u32(0), 1, 4, u32(1), u32(22)));
    assert.deepEqual([...req.deleteSegments(0, 1, 2, 3)], bytes(1, 4, u32(0), 1, 4, u32(1), u32(2), u32(3)));
    assert.deepEqual([...req.createGroup(0, 1, 'g')], bytes(1, 4, u32(0), 1, 4, u32(1), 1, 'g'));
    assert.deepEqual([...req.createToken('t', 0n)], bytes(1, 't', u64(0n)));
    assert.deepEqual([...req.snapshot([100], 2)], [2, 1, 100]);
    assert.throws(() => req.createStream(''), /name must be 1..255 bytes/);
    assert.throws(() => req.identifier('x'.repeat(256)), (e: WireError) => e.code === 6);
  });

  it('the permissions blob round-trips with stream and topic overrides (§10.3)', () => {
    const p: Permissions = {
      ...globalPermissions(true, { manageServers: false }),
      streams: [
        { streamId: 1, manageStream: false, readStream: true, manageTopics: false, readTopics: true, pollMessages: true, sendMessages: false,
          topics: [{ topicId: 2, manageTopic: false, readTopic: true, pollMessages: false, sendMessages: true }, { topicId: 3, manageTopic: true, readTopic: true, pollMessages: true, sendMessages: true }] },
        { streamId: 9, manageStream: true, readStream: true, manageTopics: true, readTopics: true, pollMessages: true, sendMessages: true, topics: [] },
      ],
    };
    const blob = encodePermissions(p);
    assert.equal(blob.length, 10 + 1 + (4 + 6 + 1 + 2 * (4 + 4 + 1) + 1) + (4 + 6 + 1 + 1));
    assert.deepEqual(readPermissions(new Reader(blob)), p);
    const bad = blob.slice();
    bad[0] = 2;
    assert.throws(() => readPermissions(new Reader(bad)), /not 0 or 1/);
  });
});

describe('reply decoders', () => {
  const name = (s: string): number[] => [utf8.encode(s).length, ...utf8.encode(s)];
  const str32 = (s: string): number[] => [...u32(utf8.encode(s).length), ...utf8.encode(s)];
  const streamResponse = bytes(u32(4), u64(11n), u32(1), u64(100n), u64(6n), name('s1'), u32(0));
  const topicHeader = bytes(u32(0), u64(12n), u32(1), u64(2n ** 64n - 1n), 1, u64(0n), u64(5n), u64(6n), name('t'), u32(0), u32(0));
  const partition = bytes(u32(0), u64(13n), u32(1), u64(5n), u64(200n), u64(6n));

  it('streams and topics, exact length', () => {
    assert.deepEqual(res.readStream(Uint8Array.from(streamResponse)), { id: 4, createdAt: 11n, topicsCount: 1, sizeBytes: 100n, messagesCount: 6n, name: 's1', options: [] });
    const details = res.readStreamDetails(Uint8Array.from([...streamResponse, ...topicHeader]));
    assert.equal(details.topics[0].name, 't');
    assert.equal(details.topics[0].messageExpiry, 2n ** 64n - 1n);
    assert.throws(() => res.readStream(Uint8Array.from([...streamResponse, 0])), /trailing/);
    assert.deepEqual(res.readStreams(Uint8Array.from([...streamResponse, ...streamResponse])).map((s) => s.id), [4, 4]);
    const topic = res.readTopicDetails(Uint8Array.from([...topicHeader, ...partition]));
    assert.deepEqual(topic.partitions, [{ id: 0, createdAt: 13n, segmentsCount: 1, currentOffset: 5n, sizeBytes: 200n, messagesCount: 6n }]);
    assert.throws(() => res.readTopicDetails(Uint8Array.from(topicHeader)), /truncated/);
    assert.equal(res.readTopics(Uint8Array.from([...u32(2), ...topicHeader, ...topicHeader])).length, 2);
  });

  it('cluster metadata, clients, users, tokens, groups, offsets, confirmations', () => {
    const cluster = res.readClusterMetadata(Uint8Array.from(bytes(str32('single-node'), u32(1), str32('iggy-node'), str32('127.0.0.1'), 0x9a, 0x1f, 0x90, 0x1f, 0xb8, 0x0b, 0x9c, 0x1f, 0, 0)));
    assert.deepEqual(cluster, { name: 'single-node', nodes: [{ name: 'iggy-node', ip: '127.0.0.1', tcpPort: 8090, quicPort: 8080, httpPort: 3000, websocketPort: 8092, role: 0, status: 0 }] });
    const client = bytes(u32(5), u32(0xffffffff), 1, str32('127.0.0.1:5000'), u32(1));
    assert.deepEqual(res.readClientDetails(Uint8Array.from([...client, ...u32(1), ...u32(2), ...u32(3)])).consumerGroups, [{ streamId: 1, topicId: 2, groupId: 3 }]);
    assert.equal(res.readClients(Uint8Array.from(client))[0].userId, null);
    const user = bytes(u32(1), u64(9n), 1, name('u'), u32(0));
    assert.equal(res.readUserDetails(Uint8Array.from([...user, 0, 0, 0, 0])).permissions, null);
    const perms = globalPermissions(true);
    const blob = encodePermissions(perms);
    assert.deepEqual(res.readUserDetails(Uint8Array.from([...user, 1, ...u32(blob.length), ...blob])).permissions, perms);
    assert.deepEqual(res.readTokens(Uint8Array.from(bytes(name('a'), u64(0n), name('b'), u64(7n)))), [{ name: 'a', expiryAt: 0n }, { name: 'b', expiryAt: 7n }]);
    assert.equal(res.readRawToken(Uint8Array.from(name('secret'))), 'secret');
    const group = bytes(u32(0), u32(3), u32(1), name('g'), u32(9), u32(2), u32(0), u32(2));
    assert.deepEqual(res.readGroupDetails(Uint8Array.from(group)).members, [{ id: 9, partitionsCount: 2, partitions: [0, 2] }]);
    assert.deepEqual(res.readAssignment(Uint8Array.from(bytes(u64(4n), u32(1), u32(2)))), { generation: 4n, partitions: [2] });
    assert.throws(() => res.readAssignment(Uint8Array.from(bytes(u64(4n), u32(1), u32(2), 0))), /trailing/);
    assert.deepEqual(res.readOffset(Uint8Array.from(bytes(u32(0), u64(5n), u64(2n)))), { partitionId: 0, currentOffset: 5n, storedOffset: 2n });
    assert.deepEqual(res.readSendConfirmations(Uint8Array.from(bytes(u32(1), u32(1), u32(2), u32(0), u64(6n)))), [{ streamId: 1, topicId: 2, partitionId: 0, baseOffset: 6n }]);
    assert.throws(() => res.readSendConfirmations(Uint8Array.from(bytes(u32(1), u32(1), u32(2), u32(0), u64(6n), 0))), /trailing/);
    assert.deepEqual(res.readLogin(Uint8Array.from(bytes(u32(0), u64(3n), u32(11264), name('0.1.0')))).session, 3n);
  });

  it('Stats through the disk fields, tolerating later additions', () => {
    const w = new Writer().u32(77).f32(1.5).f32(2.5);
    for (let i = 0; i < 8; i++) w.u64(BigInt(i));
    w.u32(1).u32(2).u32(3).u32(4).u64(5n).u32(6).u32(7);
    for (const s of ['host', 'linux', '6', 'k', '0.1.0']) w.u32(s.length).bytes(utf8.encode(s));
    w.u32(0).u32(1).u32(1).u32(2).u32(3).u64(4n).u64(5n).f32(0.5).u32(2).u64(10n).u64(20n).u64(1n).u64(2n);
    const stats = res.readStats(w.finish());
    assert.deepEqual([stats.processId, stats.cpuUsage, stats.streamsCount, stats.consumerGroupsCount, stats.kernelVersion], [77, 1.5, 1, 7, 'k']);
    assert.deepEqual([stats.cacheMetrics[0].hitRatio, stats.threadsCount, stats.totalDiskSpace], [0.5, 2, 20n]);
    assert.throws(() => res.readStats(new Uint8Array(50)), /truncated/);
  });

  it('the checksum helper hashes what §2.5 says', () => {
    const batch = buildBatch([{ id: 1n, payload: 'hi', originTimestamp: 1000n }]);
    const covered = Uint8Array.from([...batch.subarray(0, 40), ...batch.subarray(48, 52), ...batch.subarray(256, 264)]);
    assert.equal(new DataView(batch.buffer).getBigUint64(40, true), xxh3_64(covered));
  });
});

describe('named errors', () => {
  it('IggyError carries the code and its name; EvictionError maps reasons like the SDKs (§5.3)', () => {
    const e = new IggyError(1012);
    assert.deepEqual([e.code, e.name, e.message], [1012, 'StreamNameAlreadyExists', 'StreamNameAlreadyExists (1012)']);
    assert.equal(new IggyError(9999).name, 'Error9999');
    const expected: Record<number, number> = { 0: 3, 1: 40, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 40, 8: 40, 9: 42, 10: 53, 11: 40, 12: 40, 13: 30, 15: 4, 99: 40 };
    for (const [reason, code] of Object.entries(expected)) {
      const ev = new EvictionError(Number(reason));
      assert.deepEqual([ev.reason, ev.code], [Number(reason), code], `reason ${reason}`);
    }
    assert.equal(new EvictionError(14, 11269, 11264).code, 14003, 'a version window is reported');
    assert.equal(new EvictionError(14, 0, 0).code, 40, 'no window');
    assert.match(new EvictionError(9).message, /InvalidCredentials/);
  });
});
