// Which committed users ops end a session (session-credentials.ts): deleting or deactivating its user, changing the
// password it logged in with (except for the session that made the change), deleting or outliving its token; and
// which do not (renames, permission changes, a password change for a token session, a refused change).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { namedId, readName } from '../../../host/shared/wire/primitives.js';
import {
  credentialAfter, passwordCredential, sessionRevoked, tokenCredential, type SessionCredential,
} from '../../../host/node/metadata/session-credentials.js';
import {
  Pipeline, T0, baseState, changePasswordBody, createPatBody, deletePatBody, identifierBody, sessionOf, updatePermissionsBody, updateUserBody,
} from './users-fixtures.js';

const ALICE = 1;
const ROOT = 0;

async function aliceWithPassword() {
  const state = await baseState();
  const p = new Pipeline(state);
  const session: SessionCredential = { userId: ALICE, client: sessionOf(ALICE).client, credential: passwordCredential(state.users.get(ALICE)!.passwordHash) };
  // What every serving shard does after applying an op: carry the credential over, then judge it.
  const commit = async (operation: number, bytes: Uint8Array, by: number) => {
    const r = await p.run(operation, bytes, by);
    assert.equal(r.result, 0, `operation ${operation} committed`);
    session.credential = credentialAfter(state.users, p.log[p.log.length - 1], r.result, session);
    return sessionRevoked(state.users, session, p.clock);
  };
  return { state, p, session, commit };
}

describe('session revocation', () => {
  it('a password session ends when an admin changes its password, is deactivated or deleted; not on rename or permissions', async () => {
    const a = await aliceWithPassword();
    assert.equal(sessionRevoked(a.state.users, a.session, T0), null);
    assert.equal(await a.commit(Operation.updateUser, updateUserBody(namedId('alice'), 'alice2', null), ROOT), null, 'renamed');
    assert.equal(await a.commit(Operation.updatePermissions, updatePermissionsBody(namedId('alice2'), null), ROOT), null, 'permissions');
    assert.equal(await a.commit(Operation.changePassword, changePasswordBody(namedId('alice2'), 'alice-pw', 'alice-new'), ROOT), 'the password it logged in with was changed');

    const b = await aliceWithPassword();
    assert.equal(await b.commit(Operation.updateUser, updateUserBody(namedId('alice'), null, 2), ROOT), 'its user was deactivated');
    assert.equal(await b.commit(Operation.updateUser, updateUserBody(namedId('alice'), null, 1), ROOT), null, 'active again: the same credential holds');
    assert.equal(await b.commit(Operation.deleteUser, identifierBody(namedId('alice')), ROOT), 'its user was deleted');
  });

  it('the session that changes its own password goes on under the new one; a refused change carries nothing over', async () => {
    const a = await aliceWithPassword();
    assert.equal(await a.commit(Operation.changePassword, changePasswordBody(namedId('alice'), 'alice-pw', 'alice-new'), ALICE), null);
    assert.equal(a.session.credential.kind === 'password' && a.session.credential.passwordHash, a.state.users.get(ALICE)!.passwordHash);
    // Another password session of alice (a different client) is not the one that changed it.
    const other: SessionCredential = { userId: ALICE, client: 0xdeadn, credential: passwordCredential('the old hash') };
    assert.equal(sessionRevoked(a.state.users, other, T0), 'the password it logged in with was changed');
    const changeOp = a.p.log[a.p.log.length - 1];
    assert.deepEqual(credentialAfter(a.state.users, changeOp, 42, { ...other, client: changeOp.client }), other.credential);
  });

  it('a token session ends when its token is deleted or expires, not when the password changes', async () => {
    const state = await baseState();
    const p = new Pipeline(state);
    const created = await p.run(Operation.createPersonalAccessToken, createPatBody('ci-token', 1_000_000n), ALICE);
    assert.equal(created.result, 0);
    const token = readName(new Reader(created.reply!));
    const session: SessionCredential = { userId: ALICE, client: 0x77n, credential: tokenCredential(Buffer.from(token)) };
    assert.equal(sessionRevoked(state.users, session, p.clock), null);
    assert.equal((await p.run(Operation.changePassword, changePasswordBody(namedId('alice'), 'alice-pw', 'alice-new'), ROOT)).result, 0);
    assert.equal(sessionRevoked(state.users, session, p.clock), null, 'the token still logs in');
    const expiry = state.users.get(ALICE)!.tokens.get('ci-token')!.expiryAt;
    assert.equal(sessionRevoked(state.users, session, Number(expiry)), 'the personal access token it logged in with expired');
    assert.equal((await p.run(Operation.deletePersonalAccessToken, deletePatBody('ci-token'), ALICE)).result, 0);
    assert.equal(sessionRevoked(state.users, session, p.clock), 'the personal access token it logged in with was deleted');
    // A token of another user with the same hash cannot vouch for it either.
    const rootSession: SessionCredential = { ...session, userId: ROOT };
    assert.equal(sessionRevoked(state.users, rootSession, p.clock), 'the personal access token it logged in with was deleted');
  });
});
