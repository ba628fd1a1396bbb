// Register body disambiguation (iggy-client-wire.md §4.2, the §13 vector), protocol compatibility, and the
// password / token checks behind the login evictions (§5.3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, Writer, utf8 } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { namedId, readName } from '../../../host/shared/wire/primitives.js';
import {
  MIN_CLIENT_PROTOCOL_VERSION, SERVER_PROTOCOL_VERSION, authenticateRegister, decodeRegisterBody, packVersion, protocolCompatible,
  verifyPasswordLogin, verifyTokenLogin,
} from '../../../host/node/metadata/login.js';
import { hashPatToken } from '../../../host/node/metadata/pats.js';
import { Pipeline, T0, baseState, createPatBody, updateUserBody } from './users-fixtures.js';

const hex = (s: string): number[] => s.split(' ').map((b) => parseInt(b, 16));
const ascii = (s: string): number[] => [...Buffer.from(s)];

// §13: body = 00 2c 00 00  08 "node-sdk"  0d "0.10.0-edge.4"  04 "iggy"  04 "iggy"  00 00 00 00
const SPEC_REGISTER = Uint8Array.from([
  ...hex('00 2c 00 00'), 0x08, ...ascii('node-sdk'), 0x0d, ...ascii('0.10.0-edge.4'), 0x04, ...ascii('iggy'), 0x04, ...ascii('iggy'), ...hex('00 00 00 00'),
]);

function prefix(version = SERVER_PROTOCOL_VERSION): Writer {
  return new Writer().u32(version).u8(8).bytes(utf8.encode('node-sdk')).u8(5).bytes(utf8.encode('0.1.0'));
}
const tokenBody = (token: string, version?: number): Uint8Array => prefix(version).u8(utf8.encode(token).length).bytes(utf8.encode(token)).u32(0).finish();

describe('protocol version', () => {
  it('packs 0.11.0 as 0x2c00 and accepts exactly 0.11.x', () => {
    assert.equal(SERVER_PROTOCOL_VERSION, 0x2c00);
    assert.equal(MIN_CLIENT_PROTOCOL_VERSION, 11264);
    assert.equal(packVersion(1, 2, 3), (1 << 20) | (2 << 10) | 3);
    for (const ok of [packVersion(0, 11, 0), packVersion(0, 11, 1), packVersion(0, 11, 1023)]) assert.equal(protocolCompatible(ok), true, ok.toString(16));
    for (const bad of [0, packVersion(0, 10, 9), packVersion(0, 12, 0), packVersion(1, 11, 0)]) assert.equal(protocolCompatible(bad), false, bad.toString(16));
  });
});

describe('Register body (§4.2)', () => {
  it('decodes the §13 Node SDK vector as the password shape', () => {
    assert.equal(SPEC_REGISTER.length, 297 - 256);
    const d = decodeRegisterBody(SPEC_REGISTER);
    assert.equal(d.kind, 'password');
    if (d.kind !== 'password') return;
    assert.deepEqual([d.version, d.sdkName, d.sdkVersion, d.username, Buffer.from(d.password).toString(), d.context], [0x2c00, 'node-sdk', '0.10.0-edge.4', 'iggy', 'iggy', '']);
  });

  it('decodes the PAT shape, including an empty token, and keeps a context', () => {
    const d = decodeRegisterBody(tokenBody('tok-123'));
    assert.deepEqual(d.kind === 'token' && [Buffer.from(d.token).toString(), d.context, d.sdkVersion], ['tok-123', '', '0.1.0']);
    const empty = decodeRegisterBody(prefix().u8(0).u32(0).finish());
    assert.deepEqual(empty.kind === 'token' && empty.token.length, 0);
    const withContext = decodeRegisterBody(prefix().u8(1).u8(0x41).u32(3).bytes(utf8.encode('ctx')).finish());
    assert.deepEqual(withContext.kind === 'token' && withContext.context, 'ctx');
    const passwordContext = decodeRegisterBody(prefix().u8(1).u8(0x75).u8(0).u32(2).bytes(utf8.encode('hi')).finish());
    assert.deepEqual(passwordContext.kind === 'password' && [passwordContext.username, passwordContext.password.length, passwordContext.context], ['u', 0, 'hi']);
  });

  it('calls bodies malformed when the prefix or both shapes fail, including a trailing byte or bad UTF-8', () => {
    const malformed = [
      new Uint8Array(0),
      SPEC_REGISTER.subarray(0, 3),
      Uint8Array.from([0, 0x2c, 0, 0, 0, 1, 0x41]), // empty sdk name
      prefix().finish(), // nothing after the prefix
      Uint8Array.from([...SPEC_REGISTER, 0]),
      SPEC_REGISTER.subarray(0, SPEC_REGISTER.length - 1),
      prefix().u8(1).u8(0x75).u8(2).bytes(Uint8Array.from([0xc3, 0x28])).u32(0).finish(), // password not UTF-8
      prefix().u8(1).u8(0xff).u32(0).finish(), // token not UTF-8
      prefix().u8(0).u32(1).finish(), // context runs past the end
    ];
    for (const [i, body] of malformed.entries()) assert.deepEqual(decodeRegisterBody(body), { kind: 'malformed' }, `case ${i}`);
  });

  it('reports an incompatible version before looking at the shapes', () => {
    assert.deepEqual(decodeRegisterBody(tokenBody('t', packVersion(0, 10, 0))), { kind: 'incompatible', version: packVersion(0, 10, 0) });
    assert.deepEqual(decodeRegisterBody(prefix(packVersion(0, 12, 0)).u8(0xee).finish()), { kind: 'incompatible', version: packVersion(0, 12, 0) });
  });
});

describe('login checks', () => {
  it('logs root in with the §13 body and answers wrong password and unknown user alike (9)', async () => {
    const state = await baseState();
    const [ok, wrong, unknown, malformed, incompatible] = await Promise.all([
      authenticateRegister(state.users, SPEC_REGISTER, T0),
      verifyPasswordLogin(state.users, 'iggy', utf8.encode('iggz')),
      verifyPasswordLogin(state.users, 'nobody', utf8.encode('iggy')),
      authenticateRegister(state.users, new Uint8Array(2), T0),
      authenticateRegister(state.users, tokenBody('t', packVersion(0, 9, 0)), T0),
    ]);
    assert.deepEqual(ok, {
      ok: true, userId: 0, info: { version: 0x2c00, sdkName: 'node-sdk', sdkVersion: '0.10.0-edge.4' },
      credential: { kind: 'password', passwordHash: state.users.get(0)!.passwordHash },
    }, 'the session holds the hash its password was checked against');
    assert.deepEqual([wrong, unknown], [{ ok: false, reason: 9 }, { ok: false, reason: 9 }]);
    assert.deepEqual([malformed, incompatible], [{ ok: false, reason: 15 }, { ok: false, reason: 14 }]);
  });

  it('refuses an inactive user (11) only once the password is right', async () => {
    const state = await baseState();
    const p = new Pipeline(state);
    assert.equal((await p.run(Operation.updateUser, updateUserBody(namedId('alice'), null, 2), 0)).result, 0);
    const [right, wrong] = await Promise.all([
      verifyPasswordLogin(state.users, 'alice', utf8.encode('alice-pw')), verifyPasswordLogin(state.users, 'alice', utf8.encode('nope')),
    ]);
    assert.deepEqual([right, wrong], [{ ok: false, reason: 11 }, { ok: false, reason: 9 }]);
  });

  it('logs in with a token until it expires (10), refuses unknown tokens (10) and inactive owners (11)', async () => {
    const state = await baseState();
    const p = new Pipeline(state);
    const created = await p.run(Operation.createPersonalAccessToken, createPatBody('login-pat', 1_000_000n), 1);
    assert.equal(created.result, 0);
    const token = readName(new Reader(created.reply!));
    const expiry = T0 + 1_000_000;
    assert.deepEqual(await authenticateRegister(state.users, tokenBody(token), expiry - 1), {
      ok: true, userId: 1, info: { version: 0x2c00, sdkName: 'node-sdk', sdkVersion: '0.1.0' }, credential: { kind: 'token', tokenHash: hashPatToken(token) },
    });
    assert.deepEqual(await authenticateRegister(state.users, tokenBody(token), expiry), { ok: false, reason: 10 });
    assert.deepEqual(await authenticateRegister(state.users, tokenBody(`${token}x`), T0), { ok: false, reason: 10 });
    assert.deepEqual(verifyTokenLogin(state.users, new Uint8Array(0), T0), { ok: false, reason: 10 });
    assert.equal((await p.run(Operation.updateUser, updateUserBody(namedId('alice'), null, 2), 0)).result, 0);
    assert.deepEqual(verifyTokenLogin(state.users, utf8.encode(token), T0), { ok: false, reason: 11 });
  });
});
