// The users snapshot round trip, replay determinism of the committed log, and the users read commands.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, WireError } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { namedId, numericId, readName } from '../../../host/shared/wire/primitives.js';
import { verifyTokenLogin } from '../../../host/node/metadata/login.js';
import { decodePermissions } from '../../../host/node/metadata/permissions.js';
import { createMetadataState } from '../../../host/node/metadata/state.js';
import { readUsersCommand } from '../../../host/node/metadata/user-reads.js';
import { applyUsersOp } from '../../../host/node/metadata/users-apply.js';
import { decodeUsersSnapshot, encodeUsersSnapshot } from '../../../host/node/metadata/users-snapshot.js';
import {
  Pipeline, T0, baseState, createPatBody, createUserBody, identifierBody, sessionOf, updatePermissionsBody, updateUserBody,
} from './users-fixtures.js';

const PERMS = decodePermissions(Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: number): number[] => [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
const ascii = (s: string): number[] => [...Buffer.from(s)];

// Everything a snapshot must carry: permissions with stream/topic entries, tokens, an inactive user, a deleted id.
async function busyState() {
  const state = await baseState();
  const p = new Pipeline(state);
  const must = async (operation: number, body: Uint8Array, userId: number) => {
    const r = await p.run(operation, body, userId);
    assert.equal(r.result, 0, `operation ${operation} failed: ${JSON.stringify(r)}`);
    return r;
  };
  await must(Operation.createUser, createUserBody('bob', 'bob-pw', 1, PERMS), 0);
  await must(Operation.createUser, createUserBody('gone', 'gone-pw'), 0);
  await must(Operation.deleteUser, identifierBody(namedId('gone')), 0);
  await must(Operation.updateUser, updateUserBody(namedId('alice'), 'alicia', 2), 0);
  await must(Operation.updatePermissions, updatePermissionsBody(namedId('alicia'), PERMS), 0);
  const pat = await must(Operation.createPersonalAccessToken, createPatBody('bob-ci', 5_000_000n), 2);
  await must(Operation.createPersonalAccessToken, createPatBody('bob-forever', 0n), 2);
  return { state, p, token: readName(new Reader(pat.reply!)) };
}

describe('users snapshot', () => {
  it('round-trips exactly: same bytes, same users, working indexes, next id kept past a deleted user', async () => {
    const { state, token } = await busyState();
    const bytes = encodeUsersSnapshot(state.users);
    const copy = decodeUsersSnapshot(bytes);
    assert.deepEqual(encodeUsersSnapshot(copy), bytes);
    assert.deepEqual(copy.all(), state.users.all());
    assert.equal(copy.nextId, 4);
    assert.equal(copy.byUsername('alicia')?.status, 2);
    assert.equal(copy.byUsername('alice'), undefined);
    assert.equal(copy.get(3), undefined);
    assert.deepEqual(verifyTokenLogin(copy, Buffer.from(token), T0), { ok: true, userId: 2 });
  });

  it('refuses a snapshot of another version, truncated, with trailing bytes or out-of-order ids', async () => {
    const { state } = await busyState();
    const bytes = encodeUsersSnapshot(state.users);
    const bad = [Uint8Array.from([2, ...bytes.subarray(1)]), bytes.subarray(0, bytes.length - 1), Uint8Array.from([...bytes, 0])];
    const noNext = bytes.slice();
    noNext.set(u32(1), 1); // next id 1 while users 0..2 exist
    bad.push(noNext);
    for (const [i, b] of bad.entries()) assert.throws(() => decodeUsersSnapshot(b), WireError, `case ${i}`);
    assert.deepEqual(encodeUsersSnapshot(decodeUsersSnapshot(encodeUsersSnapshot(createMetadataState().users))), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('is deterministic: replaying the committed log on fresh states gives the same results and bytes', async () => {
    const { state, p } = await busyState();
    const base = await baseState();
    const start = encodeUsersSnapshot(base.users);
    const replicas = [0, 1].map(() => {
      const replica = createMetadataState();
      replica.users = decodeUsersSnapshot(start);
      return replica;
    });
    const results = replicas.map((replica) => p.log.map((op) => applyUsersOp(replica, op)));
    assert.deepEqual(results[0], results[1]);
    assert.ok(results[0].every((r) => r.result === 0));
    for (const replica of replicas) assert.deepEqual(encodeUsersSnapshot(replica.users), encodeUsersSnapshot(state.users));
  });
});

describe('users reads (31, 32, 41)', () => {
  it('GetUsers concatenates UserResponse in id order for read_users holders only', async () => {
    const state = await baseState();
    const all = readUsersCommand(state, sessionOf(0), 32, new Uint8Array(0));
    const root = state.users.get(0)!;
    const alice = state.users.get(1)!;
    assert.deepEqual(all, {
      ok: true,
      body: Uint8Array.from([
        ...u32(0), ...u64(root.createdAt), 1, 4, ...ascii('iggy'), ...u32(0),
        ...u32(1), ...u64(alice.createdAt), 1, 5, ...ascii('alice'), ...u32(0),
      ]),
    });
    assert.deepEqual(readUsersCommand(state, sessionOf(1), 32, new Uint8Array(0)), { ok: false, status: 41, message: 'GetUsers needs the read_users permission' });
  });

  it('GetUser: yourself always, others with read_users, unknown users empty, and 41 before "not found"', async () => {
    const state = await baseState();
    const self = readUsersCommand(state, sessionOf(1), 31, identifierBody(namedId('alice')));
    assert.ok(self.ok);
    assert.deepEqual([...self.body.subarray(0, 4)], u32(1));
    const rootView = readUsersCommand(state, sessionOf(0), 31, identifierBody(numericId(1)));
    assert.deepEqual(rootView, self, 'by name and by id read the same');
    assert.equal(readUsersCommand(state, sessionOf(1), 31, identifierBody(numericId(0))).ok, false);
    const hidden = readUsersCommand(state, sessionOf(1), 31, identifierBody(numericId(9)));
    assert.deepEqual([hidden.ok, !hidden.ok && hidden.status], [false, 41]);
    assert.deepEqual(readUsersCommand(state, sessionOf(0), 31, identifierBody(numericId(9))), { ok: true, body: new Uint8Array(0) });
    const rootDetails = readUsersCommand(state, sessionOf(0), 31, identifierBody(numericId(0)));
    assert.ok(rootDetails.ok);
    assert.deepEqual([...rootDetails.body.subarray(rootDetails.body.length - 16)], [1, ...u32(11), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('answers malformed bodies and unknown codes with a status', async () => {
    const state = await baseState();
    const status = (code: number, body: Uint8Array) => {
      const r = readUsersCommand(state, sessionOf(0), code, body);
      return r.ok ? 0 : r.status;
    };
    assert.equal(status(31, new Uint8Array(0)), 3);
    assert.equal(status(31, Uint8Array.from([3, 1, 0])), 6);
    assert.equal(status(31, Uint8Array.from([1, 4, 0])), 3);
    assert.equal(status(200, new Uint8Array(0)), 3);
  });
});
