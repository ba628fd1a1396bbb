// The §10.3 permissions blob (byte-exact, hand-built) and the allowed() matrix against the reference permissioner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireError } from '../../../host/shared/wire/buffer.js';
import {
  type GlobalPermissions, type PermissionAction, type Permissions, allowed, decodePermissions, encodePermissions, rootPermissions,
} from '../../../host/node/metadata/permissions.js';
import { type User, UsersState } from '../../../host/node/metadata/users.js';

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

// global: manage_servers=1 read_servers=0 manage_users=0 read_users=1 manage_streams=0 read_streams=1
//         manage_topics=0 read_topics=0 poll=1 send=0
// stream 7: read_stream, poll; topics 3 (manage_topic, send) and 9 (read_topic, poll)
// stream 0x01020304: manage_stream, no topics
const BLOB = Uint8Array.from([
  1, 0, 0, 1, 0, 1, 0, 0, 1, 0,
  1,
  ...u32(7), 0, 1, 0, 0, 1, 0,
  1,
  ...u32(3), 1, 0, 0, 1,
  1,
  ...u32(9), 0, 1, 1, 0,
  0,
  1,
  ...u32(0x01020304), 1, 0, 0, 0, 0, 0,
  0,
  0,
]);

function wireCode(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a WireError');
}

describe('permissions blob (§10.3)', () => {
  it('decodes a hand-built blob with per-stream and per-topic entries', () => {
    const p = decodePermissions(BLOB);
    assert.deepEqual(p.global, {
      manageServers: true, readServers: false, manageUsers: false, readUsers: true, manageStreams: false,
      readStreams: true, manageTopics: false, readTopics: false, pollMessages: true, sendMessages: false,
    });
    assert.deepEqual([...p.streams.keys()], [7, 0x01020304]);
    const s7 = p.streams.get(7)!;
    assert.deepEqual([s7.manageStream, s7.readStream, s7.manageTopics, s7.readTopics, s7.pollMessages, s7.sendMessages], [false, true, false, false, true, false]);
    assert.deepEqual([...s7.topics.keys()], [3, 9]);
    assert.deepEqual(s7.topics.get(3), { manageTopic: true, readTopic: false, pollMessages: false, sendMessages: true });
    assert.deepEqual(s7.topics.get(9), { manageTopic: false, readTopic: true, pollMessages: true, sendMessages: false });
    assert.equal(p.streams.get(0x01020304)!.manageStream, true);
    assert.equal(p.streams.get(0x01020304)!.topics.size, 0);
  });

  it('re-encodes byte for byte, keeping the stream and topic order of the blob', () => {
    assert.deepEqual(encodePermissions(decodePermissions(BLOB)), BLOB);
  });

  it('encodes global-only permissions as 11 bytes ending in has_streams 0', () => {
    const bytes = encodePermissions(rootPermissions());
    assert.deepEqual([...bytes], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('rejects a boolean other than 0/1, a repeated stream or topic, truncation and trailing bytes with code 3', () => {
    const badFlag = BLOB.slice();
    badFlag[2] = 2;
    assert.equal(wireCode(() => decodePermissions(badFlag)), 3);
    const badHasNext = BLOB.slice();
    badHasNext[BLOB.length - 1] = 7;
    assert.equal(wireCode(() => decodePermissions(badHasNext)), 3);
    const twice = Uint8Array.from([...new Array(10).fill(0), 1, ...u32(5), 0, 0, 0, 0, 0, 0, 0, 1, ...u32(5), 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(wireCode(() => decodePermissions(twice)), 3);
    const topicTwice = Uint8Array.from([...new Array(10).fill(0), 1, ...u32(5), 0, 0, 0, 0, 0, 0, 1, ...u32(1), 0, 0, 0, 0, 1, ...u32(1), 0, 0, 0, 0, 0, 0]);
    assert.equal(wireCode(() => decodePermissions(topicTwice)), 3);
    for (let cut = 0; cut < BLOB.length; cut++) assert.equal(wireCode(() => decodePermissions(BLOB.subarray(0, cut))), 3, `cut at ${cut}`);
    assert.equal(wireCode(() => decodePermissions(Uint8Array.from([...BLOB, 0]))), 3);
  });
});

const NONE: GlobalPermissions = {
  manageServers: false, readServers: false, manageUsers: false, readUsers: false, manageStreams: false,
  readStreams: false, manageTopics: false, readTopics: false, pollMessages: false, sendMessages: false,
};

function usersWith(entries: Array<[number, Permissions | null]>): UsersState {
  const users = new UsersState();
  for (const [id, permissions] of entries) {
    const user: User = { id, username: `u${id}`, passwordHash: 'x', status: 1, createdAt: 0, permissions, options: new Uint8Array(0), tokens: new Map() };
    users.insert(user);
  }
  return users;
}

const globalOnly = (g: Partial<GlobalPermissions>): Permissions => ({ global: { ...NONE, ...g }, streams: new Map() });
const stream = (flags: Partial<{ manageStream: boolean; readStream: boolean; manageTopics: boolean; readTopics: boolean; pollMessages: boolean; sendMessages: boolean }>, topics: Array<[number, Partial<{ manageTopic: boolean; readTopic: boolean; pollMessages: boolean; sendMessages: boolean }>]> = []) => ({
  manageStream: false, readStream: false, manageTopics: false, readTopics: false, pollMessages: false, sendMessages: false, ...flags,
  topics: new Map(topics.map(([id, t]) => [id, { manageTopic: false, readTopic: false, pollMessages: false, sendMessages: false, ...t }])),
});

const ACTIONS: PermissionAction[] = [
  'manage_servers', 'read_servers', 'manage_users', 'read_users', 'manage_streams', 'read_streams',
  'manage_topics', 'read_topics', 'poll_messages', 'send_messages',
];

// Which actions a user may perform on stream 7 / topic 3 (the scope every row below is asked about).
function granted(users: UsersState, id: number, streamId?: number, topicId?: number): string[] {
  return ACTIONS.filter((a) => allowed(users, id, a, streamId, topicId));
}

describe('allowed() matrix', () => {
  const users = usersWith([
    [1, null],
    [2, globalOnly({ manageUsers: true })],
    [3, globalOnly({ readUsers: true })],
    [4, globalOnly({ manageStreams: true })],
    [5, globalOnly({ readStreams: true })],
    [6, globalOnly({ manageServers: true })],
    [7, globalOnly({ pollMessages: true })],
    [8, globalOnly({ manageTopics: true })],
    [10, { global: NONE, streams: new Map([[7, stream({ manageStream: true })]]) }],
    [11, { global: NONE, streams: new Map([[7, stream({ readStream: true })]]) }],
    [12, { global: NONE, streams: new Map([[7, stream({ manageTopics: true })]]) }],
    [13, { global: NONE, streams: new Map([[7, stream({}, [[3, { manageTopic: true }]])]]) }],
    [14, { global: NONE, streams: new Map([[7, stream({}, [[3, { readTopic: true }]])]]) }],
    [15, { global: NONE, streams: new Map([[7, stream({ sendMessages: true })]]) }],
  ]);

  it('root may do everything, even with no stored record; unknown users and users without permissions nothing', () => {
    const empty = new UsersState();
    assert.deepEqual(granted(empty, 0), ACTIONS);
    assert.deepEqual(granted(users, 99, 7, 3), []);
    assert.deepEqual(granted(users, 1, 7, 3), []);
  });

  it('global grants: manage_* implies read_*, manage_streams implies manage_topics, poll/send stand alone', () => {
    assert.deepEqual(granted(users, 2), ['manage_users', 'read_users']);
    assert.deepEqual(granted(users, 3), ['read_users']);
    assert.deepEqual(granted(users, 4, 7, 3), ['manage_streams', 'read_streams', 'manage_topics', 'read_topics']);
    assert.deepEqual(granted(users, 5, 7, 3), ['read_streams', 'read_topics']);
    assert.deepEqual(granted(users, 6), ['manage_servers', 'read_servers']);
    assert.deepEqual(granted(users, 7, 7, 3), ['poll_messages']);
    assert.deepEqual(granted(users, 8, 7, 3), ['manage_topics', 'read_topics']);
  });

  it('per-stream entries grant only on their stream, with the reference rules', () => {
    assert.deepEqual(granted(users, 10, 7, 3), ['manage_streams', 'read_streams', 'send_messages']);
    assert.deepEqual(granted(users, 10, 8, 3), []);
    assert.deepEqual(granted(users, 10), [], 'stream grants say nothing about unscoped actions (create stream, list streams)');
    assert.deepEqual(granted(users, 11, 7, 3), ['read_streams', 'poll_messages']);
    assert.deepEqual(granted(users, 12, 7, 3), ['manage_topics', 'read_topics', 'poll_messages', 'send_messages']);
    assert.deepEqual(granted(users, 12, 7), ['manage_topics', 'read_topics', 'poll_messages', 'send_messages'], 'create topic on stream 7');
    assert.deepEqual(granted(users, 15, 7, 3), ['send_messages']);
  });

  it('per-topic entries grant only on their topic', () => {
    assert.deepEqual(granted(users, 13, 7, 3), ['manage_topics', 'read_topics', 'poll_messages', 'send_messages']);
    assert.deepEqual(granted(users, 13, 7, 4), []);
    assert.deepEqual(granted(users, 13, 7), [], 'a topic grant does not allow creating topics in the stream');
    assert.deepEqual(granted(users, 14, 7, 3), ['read_topics', 'poll_messages']);
    assert.deepEqual(granted(users, 14, 8, 3), []);
  });
});
