// Users ops 141..147 through prepare (home shard) and apply (every shard): successes, the prepare statuses, and
// the committed rejections of iggy-client-wire.md §5.4.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { namedId, numericId, readName } from '../../../host/shared/wire/primitives.js';
import { verifyPasswordLogin, verifyTokenLogin } from '../../../host/node/metadata/login.js';
import { type Permissions, decodePermissions, encodePermissions, rootPermissions } from '../../../host/node/metadata/permissions.js';
import { InternalOperation } from '../../../host/node/metadata/types.js';
import { readUsersCommand } from '../../../host/node/metadata/user-reads.js';
import { encodePrepared } from '../../../host/node/metadata/users-prepared.js';
import { bootstrapRootBody, prepareUsersOp } from '../../../host/node/metadata/users-prepare.js';
import { createMetadataState } from '../../../host/node/metadata/state.js';
import {
  Pipeline, T0, baseState, changePasswordBody, createPatBody, createUserBody, deletePatBody, identifierBody, sessionOf,
  updatePermissionsBody, updateUserBody,
} from './users-fixtures.js';

const ROOT = 0;
const ALICE = 1;

// stream 7: read_stream + poll, topic 3: manage_topic; global: read_users.
const PERMS_BLOB = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
const PERMS: Permissions = decodePermissions(PERMS_BLOB);
const MANAGE_USERS = (): Permissions => ({ global: { ...rootPermissions().global, manageServers: false, manageStreams: false }, streams: new Map() });

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: number): number[] => [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
const ascii = (s: string): number[] => [...Buffer.from(s)];

async function setup() {
  const state = await baseState();
  const p = new Pipeline(state);
  p.op = 2;
  return { state, p, users: state.users };
}

async function grantManageUsers(p: Pipeline, userId: number): Promise<void> {
  const r = await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(userId), MANAGE_USERS()), ROOT);
  assert.equal(r.result, 0);
}

describe('CreateUser (141)', () => {
  it('commits a user with a scrypt hash and answers UserDetails echoing the permissions byte for byte', async () => {
    const { p, users } = await setup();
    const r = await p.run(Operation.createUser, createUserBody('bob', 'bob-pw', 1, PERMS), ROOT);
    assert.equal(r.result, 0);
    assert.deepEqual([...r.payload], [
      ...u32(2), ...u64(p.clock), 1, 3, ...ascii('bob'), ...u32(0),
      1, ...u32(PERMS_BLOB.length), ...PERMS_BLOB,
    ]);
    const bob = users.byUsername('bob')!;
    assert.equal(bob.id, 2);
    assert.match(bob.passwordHash, /^scrypt\$/);
    assert.ok(p.lastPrepared?.ok);
    assert.equal(Buffer.from(p.lastPrepared.body).includes(Buffer.from('bob-pw')), false, 'the raw password never reaches the log');
  });

  it('ends UserDetails with four zero bytes when the user has no permissions', async () => {
    const { p } = await setup();
    const r = await p.run(Operation.createUser, createUserBody('carol', 'carol-pw', 2), ROOT);
    assert.equal(r.result, 0);
    assert.deepEqual([...r.payload], [...u32(2), ...u64(p.clock), 2, 5, ...ascii('carol'), ...u32(0), 0, 0, 0, 0]);
  });

  it('rejects a taken username at commit with 46 and an invalid one with 43', async () => {
    const { p } = await setup();
    assert.equal((await p.run(Operation.createUser, createUserBody('alice', 'other-pw'), ROOT)).result, 46);
    const invalid = encodePrepared({ operation: 141, username: 'ab', passwordHash: 'scrypt$x', status: 1, permissions: null, options: new Uint8Array(0) });
    assert.equal(p.apply(Operation.createUser, invalid, ROOT).result, 43);
  });

  it('answers bounds and malformed bodies with a status before consensus', async () => {
    const { p } = await setup();
    const status = async (body: Uint8Array, user = ROOT) => (await p.run(Operation.createUser, body, user)).status;
    assert.equal(await status(createUserBody('ab', 'pw-ok')), 43);
    assert.equal(await status(createUserBody('x'.repeat(51), 'pw-ok')), 43);
    assert.equal(await status(createUserBody('dave', 'pw')), 44);
    assert.equal(await status(createUserBody('dave', 'p'.repeat(101))), 44);
    assert.equal(await status(createUserBody('dave', 'pw-ok', 3)), 45);
    assert.equal(await status(createUserBody('dave', 'pw-ok').subarray(0, 8)), 3);
    const hasPermissions2 = createUserBody('dave', 'pw-ok');
    hasPermissions2[hasPermissions2.length - 1] = 2;
    assert.equal(await status(hasPermissions2), 3);
    const option = Uint8Array.from([2, ...u32(1), 0x6b, 2, ...u32(1), 0x76]);
    assert.equal(await status(createUserBody('dave', 'pw-ok', 1, null, option)), 4041);
    assert.equal(await status(createUserBody('dave', 'pw-ok', 1, null, Uint8Array.from([1, ...u32(1), 0x6b, 2, ...u32(1), 0x76]))), 3, 'non-string key');
    assert.equal(await status(createUserBody('dave', 'pw-ok', 1, null, Uint8Array.from([2, ...u32(1)]))), 3, 'truncated options');
    assert.equal(await status(createUserBody('dave', 'pw-ok', 1, null, new Uint8Array(100_001))), 4043);
    assert.equal(await status(createUserBody('dave', 'pw-ok'), ALICE), 41);
    assert.equal(p.log.length, 0, 'nothing was proposed');
  });

  it('lets a user with manage_users create, and refuses at commit once the grant is gone (41)', async () => {
    const { p, state } = await setup();
    await grantManageUsers(p, ALICE);
    assert.equal((await p.run(Operation.createUser, createUserBody('erin', 'erin-pw'), ALICE)).result, 0);
    const pending = await prepareUsersOp(state, sessionOf(ALICE), Operation.createUser, createUserBody('gina', 'gina-pw'));
    assert.ok(pending.ok);
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(ALICE), null), ROOT)).result, 0);
    assert.equal(p.apply(Operation.createUser, pending.body, ALICE).result, 41);
    assert.equal(state.users.byUsername('gina'), undefined);
  });
});

describe('UpdateUser (142)', () => {
  it('renames and deactivates; the old name no longer resolves', async () => {
    const { p, users } = await setup();
    assert.equal((await p.run(Operation.updateUser, updateUserBody(namedId('alice'), 'alicia', 2), ROOT)).result, 0);
    assert.equal(users.byUsername('alice'), undefined);
    assert.equal(users.byUsername('alicia')?.id, ALICE);
    assert.equal(users.get(ALICE)?.status, 2);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ALICE), null, 1), ROOT)).result, 0);
    assert.equal(users.get(ALICE)?.status, 1);
  });

  it('rejects unknown users (20), taken names (46), invalid names (43), non-managers (41)', async () => {
    const { p } = await setup();
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(9), 'zed', null), ROOT)).result, 20);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ALICE), 'iggy', null), ROOT)).result, 46);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ALICE), 'alice', null), ROOT)).result, 0, 'own name is no conflict');
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ALICE), 'al', null), ROOT)).status, 43);
    const invalid = encodePrepared({ operation: 142, user: numericId(ALICE), username: 'al', status: null, options: new Uint8Array(0) });
    assert.equal(p.apply(Operation.updateUser, invalid, ROOT).result, 43);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ROOT), 'root2', null), ALICE)).status, 41);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(numericId(ALICE), null, 7), ROOT)).status, 45);
  });
});

describe('DeleteUser (143)', () => {
  it('deletes by name with its tokens; root is 48, unknown 20, non-managers 41', async () => {
    const { p, users } = await setup();
    const created = await p.run(Operation.createPersonalAccessToken, createPatBody('alice-pat', 0n), ALICE);
    assert.equal(created.result, 0);
    const token = readName(new Reader(created.reply!));
    assert.equal((await p.run(Operation.deleteUser, identifierBody(numericId(ROOT)), ALICE)).status, 41);
    assert.equal((await p.run(Operation.deleteUser, identifierBody(namedId('alice')), ROOT)).result, 0);
    assert.equal(users.get(ALICE), undefined);
    assert.deepEqual(verifyTokenLogin(users, Buffer.from(token), T0), { ok: false, reason: 10 });
    assert.equal((await p.run(Operation.deleteUser, identifierBody(namedId('alice')), ROOT)).result, 20);
    assert.equal((await p.run(Operation.deleteUser, identifierBody(numericId(ROOT)), ROOT)).result, 48);
    assert.equal((await p.run(Operation.deleteUser, Uint8Array.from([1, 3, 0, 0, 0]), ROOT)).status, 6, 'bad identifier length');
    assert.equal((await p.run(Operation.createUser, createUserBody('hank', 'hank-pw'), ROOT)).result, 0);
    assert.equal(users.byUsername('hank')?.id, 2, 'ids are not reused');
  });
});

describe('ChangePassword (144)', () => {
  it('lets a user change their own password without manage_users; the new one logs in, the old one not', async () => {
    const { p, users } = await setup();
    const r = await p.run(Operation.changePassword, changePasswordBody(namedId('alice'), 'alice-pw', 'alice-new'), ALICE);
    assert.equal(r.result, 0);
    assert.ok(p.lastPrepared?.ok);
    const body = Buffer.from(p.lastPrepared.body);
    assert.equal(body.includes(Buffer.from('alice-new')) || body.includes(Buffer.from('alice-pw')), false, 'only hashes are proposed');
    const [fresh, stale] = await Promise.all([
      verifyPasswordLogin(users, 'alice', Buffer.from('alice-new')), verifyPasswordLogin(users, 'alice', Buffer.from('alice-pw')),
    ]);
    assert.deepEqual(fresh, { ok: true, userId: ALICE });
    assert.deepEqual(stale, { ok: false, reason: 9 });
  });

  it('answers a wrong current password 42, someone else\'s password without manage_users 41, unknown 20, short 44', async () => {
    const { p } = await setup();
    assert.equal((await p.run(Operation.changePassword, changePasswordBody(numericId(ALICE), 'nope', 'alice-new'), ALICE)).status, 42);
    assert.equal((await p.run(Operation.changePassword, changePasswordBody(numericId(ROOT), 'iggy', 'hacked'), ALICE)).status, 41);
    assert.equal((await p.run(Operation.changePassword, changePasswordBody(numericId(5), 'x', 'y-long'), ROOT)).status, 20);
    assert.equal((await p.run(Operation.changePassword, changePasswordBody(numericId(ALICE), 'alice-pw', 'ab'), ALICE)).status, 44);
    assert.equal(p.log.length, 0);
  });

  it('refuses at commit with 42 when the password changed after it was verified, and 20 when the user is gone', async () => {
    const { p, state } = await setup();
    const first = await prepareUsersOp(state, sessionOf(ALICE), Operation.changePassword, changePasswordBody(numericId(ALICE), 'alice-pw', 'first-pw'));
    const second = await prepareUsersOp(state, sessionOf(ROOT), Operation.changePassword, changePasswordBody(numericId(ALICE), 'alice-pw', 'second-pw'));
    assert.ok(first.ok && second.ok);
    assert.equal(p.apply(Operation.changePassword, first.body, ALICE).result, 0);
    assert.equal(p.apply(Operation.changePassword, second.body, ROOT).result, 42);
    assert.equal((await p.run(Operation.deleteUser, identifierBody(numericId(ALICE)), ROOT)).result, 0);
    assert.equal(p.apply(Operation.changePassword, second.body, ROOT).result, 20);
  });
});

describe('UpdatePermissions (145)', () => {
  it('replaces and clears permissions; GetUser reads them back byte for byte', async () => {
    const { p, state } = await setup();
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(ALICE), PERMS), ROOT)).result, 0);
    const read = readUsersCommand(state, sessionOf(ROOT), 31, identifierBody(numericId(ALICE)));
    assert.ok(read.ok);
    assert.deepEqual([...read.body.subarray(read.body.length - PERMS_BLOB.length - 5)], [1, ...u32(PERMS_BLOB.length), ...PERMS_BLOB]);
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(namedId('alice'), null), ROOT)).result, 0);
    assert.equal(state.users.get(ALICE)?.permissions, null);
  });

  it('rejects root (49), unknown users (20), non-managers (41)', async () => {
    const { p } = await setup();
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(ROOT), PERMS), ROOT)).result, 49);
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(4), PERMS), ROOT)).result, 20);
    assert.equal((await p.run(Operation.updatePermissions, updatePermissionsBody(numericId(ALICE), PERMS), ALICE)).status, 41);
  });
});

describe('personal access tokens (146, 147)', () => {
  it('creates a token whose raw form is only in the reply, lists it, logs in with it, deletes it', async () => {
    const { p, state, users } = await setup();
    const r = await p.run(Operation.createPersonalAccessToken, createPatBody('ci-token', 3_600_000_000n), ALICE);
    assert.equal(r.result, 0);
    assert.deepEqual(r.payload, new Uint8Array(0), 'the committed payload is empty; the home shard replies with the token');
    const token = readName(new Reader(r.reply!));
    assert.ok(token.length > 1);
    assert.equal(Buffer.from(p.log.at(-1)!.body).includes(Buffer.from(token)), false, 'the raw token never reaches the log');
    const expiryAt = T0 + 3_600_000_000; // the prepare clock + the duration
    const list = readUsersCommand(state, sessionOf(ALICE), 41, new Uint8Array(0));
    assert.ok(list.ok);
    assert.deepEqual([...list.body], [8, ...ascii('ci-token'), ...u64(expiryAt)]);
    const rootList = readUsersCommand(state, sessionOf(ROOT), 41, new Uint8Array(0));
    assert.deepEqual(rootList, { ok: true, body: new Uint8Array(0) }, 'tokens are per user');
    assert.deepEqual(verifyTokenLogin(users, Buffer.from(token), expiryAt - 1), { ok: true, userId: ALICE });
    assert.deepEqual(verifyTokenLogin(users, Buffer.from(token), expiryAt), { ok: false, reason: 10 });
    assert.equal((await p.run(Operation.deletePersonalAccessToken, deletePatBody('ci-token'), ROOT)).result, 20, "root cannot delete alice's token by name");
    assert.equal((await p.run(Operation.deletePersonalAccessToken, deletePatBody('ci-token'), ALICE)).result, 0);
    assert.deepEqual(verifyTokenLogin(users, Buffer.from(token), T0), { ok: false, reason: 10 });
    assert.equal((await p.run(Operation.deletePersonalAccessToken, deletePatBody('ci-token'), ALICE)).result, 20);
  });

  it('stores expiry 0 and u64::MAX as never (0)', async () => {
    const { p, state } = await setup();
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('never', 0n), ALICE)).result, 0);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('forever', 0xffff_ffff_ffff_ffffn), ALICE)).result, 0);
    assert.deepEqual([...state.users.get(ALICE)!.tokens.values()].map((t) => t.expiryAt), [0n, 0n]);
  });

  it('rejects a repeated name (51), an expiry already past at commit (56), bad names (50), overflowing expiry (56)', async () => {
    const { p } = await setup();
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('dup', 0n), ALICE)).result, 0);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('dup', 0n), ALICE)).result, 51);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('dup', 0n), ROOT)).result, 0, 'names are per user');
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('short-lived', 10n), ALICE)).result, 56);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('ab', 0n), ALICE)).status, 50);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('x'.repeat(31), 0n), ALICE)).status, 50);
    assert.equal((await p.run(Operation.createPersonalAccessToken, createPatBody('huge', 0xffff_ffff_ffff_fff0n), ALICE)).status, 56);
    assert.equal((await p.run(Operation.createPersonalAccessToken, Uint8Array.from([3, 0x61, 0x62, 0x63, 1, 2]), ALICE)).status, 3);
    assert.equal((await p.run(Operation.deletePersonalAccessToken, Uint8Array.from([0]), ALICE)).status, 3);
  });
});

describe('bootstrap root (68) and dispatch', () => {
  it('creates root with every permission once; a second bootstrap is refused', async () => {
    const state = createMetadataState();
    const p = new Pipeline(state);
    const body = await bootstrapRootBody('admin', 'admin-pw');
    assert.equal(p.apply(InternalOperation.bootstrapRoot, body, 0).result, 0);
    const root = state.users.get(0)!;
    assert.deepEqual([root.username, root.status, root.createdAt], ['admin', 1, p.clock]);
    assert.deepEqual(encodePermissions(root.permissions!), encodePermissions(rootPermissions()));
    assert.equal(p.apply(InternalOperation.bootstrapRoot, body, 0).result, 46);
    assert.deepEqual(await verifyPasswordLogin(state.users, 'admin', Buffer.from('admin-pw')), { ok: true, userId: 0 });
  });

  it('answers an undecodable committed body 3 and a foreign operation 3', async () => {
    const { p, state } = await setup();
    assert.equal(p.apply(Operation.deleteUser, Uint8Array.from([99, 1, 4, 1, 0, 0, 0]), ROOT).result, 3, 'unknown body version');
    assert.equal(p.apply(Operation.deleteUser, new Uint8Array(0), ROOT).result, 3);
    const foreign = await prepareUsersOp(state, sessionOf(ROOT), Operation.createStream, new Uint8Array(3));
    assert.deepEqual([foreign.ok, !foreign.ok && foreign.status], [false, 3]);
  });
});
