// The existence oracle is closed (access.ts): a caller without the permission gets the same answer (41) for a
// stream or topic that exists and one that does not, by name and by id, in every command that names one; a
// caller who may act there still learns "not found".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writer } from '../../../host/shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../../host/shared/wire/codes.js';
import { writeIdentifier, type Consumer } from '../../../host/shared/wire/primitives.js';
import { accessStream, accessTopic } from '../../../host/node/metadata/access.js';
import { rootPermissions, type GlobalPermissions, type Permissions } from '../../../host/node/metadata/permissions.js';
import { readStreamsCommand } from '../../../host/node/metadata/stream-reads.js';
import { applyStreamsOp } from '../../../host/node/metadata/streams-apply.js';
import { prepareStreamsOp } from '../../../host/node/metadata/streams-prepare.js';
import { resolvePollTarget, resolveSendTarget, type PollPurpose } from '../../../host/node/metadata/targets.js';
import type { Session } from '../../../host/node/metadata/types.js';
import { UserStatus } from '../../../host/node/metadata/users.js';
import { Harness, body, hex, id } from './streams-helpers.js';

const O = Operation;
const NOBODY = 7; // no permissions
const STREAM_ONE = 8; // every per-stream permission on stream 1 ("s"), nothing global
const GLOBAL = 9; // every global permission

function grants(global: Partial<GlobalPermissions>, streams: Permissions['streams'] = new Map()): Permissions {
  const none = Object.fromEntries(Object.keys(rootPermissions().global).map((k) => [k, false])) as unknown as GlobalPermissions;
  return { global: { ...none, ...global }, streams };
}

function setup(): Harness {
  const h = new Harness();
  h.ok(O.createStream, body.createStream('other')); // id 0
  h.ok(O.createStream, body.createStream('s')); // id 1
  h.ok(O.createTopic, body.createTopic('s', 2, 't')); // 1/0
  h.ok(O.createConsumerGroup, body.createGroup('s', 't', 'g'));
  const user = (id: number, permissions: Permissions) => h.state.users.insert({
    id, username: `user-${id}`, passwordHash: '', status: UserStatus.active, createdAt: 0, permissions, options: new Uint8Array(0), tokens: new Map(),
  });
  user(NOBODY, grants({}));
  const all = { manageStream: true, readStream: true, manageTopics: true, readTopics: true, pollMessages: true, sendMessages: true, topics: new Map() };
  user(STREAM_ONE, grants({}, new Map([[1, all]])));
  user(GLOBAL, rootPermissions());
  return h;
}

const as = (userId: number): Session => ({ userId, client: BigInt(0x100 + userId), connectionId: userId });
const ids = (s: number | string, t?: number | string): Uint8Array => {
  const w = writeIdentifier(new Writer(), id(s));
  return (t === undefined ? w : writeIdentifier(w, id(t))).finish();
};
const group = (s: number | string, t: number | string, g: number | string) => writeIdentifier(new Writer(ids(s, t).length + 8).bytes(ids(s, t)), id(g)).finish();

// Every command that names a stream (and topic), as "status or body" for one (stream, topic) pair.
function answers(h: Harness, userId: number, s: number | string, t: number | string): Record<string, string | number> {
  const session = as(userId);
  const read = (code: number, bytes: Uint8Array) => {
    const r = readStreamsCommand(h.state, session, code, bytes);
    return r.ok ? `body ${hex(r.body)}` : r.status;
  };
  const prepare = (operation: number, bytes: Uint8Array) => {
    const p = prepareStreamsOp(h.state, session, operation, bytes);
    return p.ok ? 'proposed' : p.status;
  };
  const consumer: Consumer = { kind: 'consumer', id: id(1) };
  const member: Consumer = { kind: 'group', id: id('g') };
  const target = (purpose: PollPurpose, c: Consumer) => {
    const r = resolvePollTarget(h.state, session, c, id(s), id(t), 0, purpose);
    return r.ok ? 'resolved' : r.status;
  };
  const send = resolveSendTarget(h.state, session, id(s), id(t), { kind: 'balanced' });
  const out: Record<string, string | number> = {
    getStream: read(200, ids(s)), getTopics: read(301, ids(s)), getTopic: read(300, ids(s, t)),
    getGroups: read(601, ids(s, t)), getGroup: read(600, group(s, t, 'g')), syncGroup: read(606, group(s, t, 'g')),
    updateStream: prepare(O.updateStream, body.updateStream(s, 'renamed')), deleteStream: prepare(O.deleteStream, body.stream(s)),
    purgeStream: prepare(O.purgeStream, body.stream(s)), createTopic: prepare(O.createTopic, body.createTopic(s, 1, 'new')),
    deleteTopic: prepare(O.deleteTopic, body.topic(s, t)), purgeTopic: prepare(O.purgeTopic, body.topic(s, t)),
    createPartitions: prepare(O.createPartitions, body.partitions(s, t, 1)), createGroup: prepare(O.createConsumerGroup, body.createGroup(s, t, 'h')),
    joinGroup: prepare(O.joinConsumerGroup, body.group(s, t, 'g')),
    send: send.ok ? 'resolved' : send.status,
  };
  for (const purpose of ['poll', 'get-offset', 'store-offset', 'delete-offset'] as const) {
    out[`${purpose} consumer`] = target(purpose, consumer);
    out[`${purpose} group`] = target(purpose, member);
  }
  return out;
}

describe('existence oracle (access.ts)', () => {
  it('a user without permissions gets 41 alike for existing and missing streams and topics, by name and by id', () => {
    const h = setup();
    const existing = answers(h, NOBODY, 's', 't');
    for (const [command, answer] of Object.entries(existing)) assert.equal(answer, ErrorCode.unauthorized, `${command} on an existing topic`);
    for (const [s, t] of [['nope', 't'], [5, 0], ['s', 'nope'], [1, 9], [0, 't']] as const) {
      assert.deepEqual(answers(h, NOBODY, s, t), existing, `stream ${s}, topic ${t}`);
    }
  });

  it('a per-stream grant learns "not found" inside its stream only; elsewhere it is 41 whether the target exists or not', () => {
    const h = setup();
    const missingTopic = answers(h, STREAM_ONE, 's', 'nope');
    assert.equal(missingTopic.getTopic, 'body ', 'an empty body: not found');
    assert.equal(missingTopic.getGroups, ErrorCode.topicIdNotFound);
    assert.equal(missingTopic['poll consumer'], ErrorCode.topicIdNotFound);
    assert.equal(missingTopic.send, ErrorCode.resourceNotFound);
    assert.equal(missingTopic.deleteTopic, 'proposed', 'the committed op answers 2010');
    const elsewhere = answers(h, STREAM_ONE, 'other', 't');
    for (const [command, answer] of Object.entries(elsewhere)) assert.equal(answer, ErrorCode.unauthorized, `${command} on stream "other"`);
    assert.deepEqual(answers(h, STREAM_ONE, 'nope', 't'), elsewhere, 'a missing stream name');
    assert.deepEqual(answers(h, STREAM_ONE, 5, 0), elsewhere, 'a missing stream id without a grant');
  });

  it('a global grant learns which level is missing, as before', () => {
    const h = setup();
    const missing = answers(h, GLOBAL, 'nope', 't');
    assert.equal(missing.getStream, 'body ');
    assert.equal(missing.getTopics, `body ${hex(new Writer().u32(0).finish())}`);
    assert.equal(missing.getGroups, ErrorCode.streamIdNotFound);
    assert.equal(missing['poll consumer'], ErrorCode.streamIdNotFound);
    assert.equal(missing['get-offset consumer'], 0, 'GetConsumerOffset: an empty body');
    assert.equal(missing['store-offset consumer'], ErrorCode.resourceNotFound);
    assert.equal(missing.send, ErrorCode.resourceNotFound);
    assert.equal(answers(h, GLOBAL, 's', 'nope')['poll group'], ErrorCode.topicIdNotFound);
    assert.equal(answers(h, GLOBAL, 's', 't').send, 'resolved');
  });

  it('asks per-stream grants by id for a missing stream named by number, never for one named by a missing name', () => {
    const h = setup();
    const all = { manageStream: true, readStream: true, manageTopics: true, readTopics: true, pollMessages: true, sendMessages: true, topics: new Map() };
    h.state.users.insert({
      id: 10, username: 'stale-grant', passwordHash: '', status: UserStatus.active, createdAt: 0, permissions: grants({}, new Map([[5, all]])),
      options: new Uint8Array(0), tokens: new Map(),
    });
    assert.deepEqual(accessStream(h.state, 10, 'read_streams', id(5)), { ok: false, missing: 'stream' });
    assert.deepEqual(accessStream(h.state, 10, 'read_streams', id('five')), { ok: false, missing: null });
    assert.deepEqual(accessTopic(h.state, 10, 'poll_messages', id(5), id(0)), { ok: false, missing: 'stream' });
    const found = accessTopic(h.state, GLOBAL, 'poll_messages', id('s'), id('t'));
    assert.ok(found.ok && found.stream.id === 1 && found.topic.name === 't');
  });

  it('applying a streams op asks the permission again: a grant revoked (or a user deleted) after prepare refuses it with 41', () => {
    const h = setup();
    const create = body.createTopic('s', 1, 'late');
    assert.ok(prepareStreamsOp(h.state, as(STREAM_ONE), O.createTopic, create).ok, 'allowed when prepared');
    const commit = (userId: number) => applyStreamsOp(h.state, { op: ++h.op, operation: O.createTopic, body: create, timestampMicros: 1, client: 1n, userId });
    h.state.users.get(STREAM_ONE)!.permissions = grants({});
    assert.equal(commit(STREAM_ONE).result, ErrorCode.unauthorized);
    h.state.users.remove(STREAM_ONE);
    assert.equal(commit(STREAM_ONE).result, ErrorCode.unauthorized);
    assert.equal(commit(GLOBAL).result, 0, 'the same op from a user who may');
  });
});
