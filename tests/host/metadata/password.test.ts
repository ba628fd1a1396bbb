// Salted scrypt password hashes and personal access token material.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, isPasswordHash, verifyPassword } from '../../../host/node/metadata/password.js';
import { U64_MAX, generatePatToken, hashPatToken, patExpired, patExpiryAt } from '../../../host/node/metadata/pats.js';

describe('password hashing', () => {
  it('stores a self-describing salted scrypt string that verifies only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('s3cret'), hashPassword(new TextEncoder().encode('s3cret'))]);
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, b, 'a fresh salt per hash');
    assert.ok(isPasswordHash(a));
    const [right, rightBytes, wrong, empty] = await Promise.all([
      verifyPassword('s3cret', a), verifyPassword(new TextEncoder().encode('s3cret'), b), verifyPassword('s3creT', a), verifyPassword('', a),
    ]);
    assert.deepEqual([right, rightBytes, wrong, empty], [true, true, false, false]);
  });

  it('refuses stored strings it did not write, including absurd parameters, without deriving', async () => {
    for (const stored of ['', 'iggy', 'scrypt$16384$8$1$$', 'bcrypt$16384$8$1$AAAA$AAAA', 'scrypt$16383$8$1$AAAA$AAAA', 'scrypt$4194304$8$1$AAAA$AAAA', 'scrypt$16384$x$1$AAAA$AAAA']) {
      assert.equal(isPasswordHash(stored), false, stored);
      assert.equal(await verifyPassword('iggy', stored), false, stored);
    }
  });
});

describe('personal access token material', () => {
  it('generates 32 random bytes as base64url and stores their sha256 hex', () => {
    const t1 = generatePatToken();
    const t2 = generatePatToken();
    assert.match(t1, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(t1, t2);
    assert.equal(Buffer.from(t1, 'base64url').length, 32);
    assert.equal(hashPatToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hashPatToken(new TextEncoder().encode(t1)), hashPatToken(t1));
  });

  it('turns a duration into an absolute expiry: 0 and u64::MAX never expire, overflow is refused', () => {
    assert.equal(patExpiryAt(0n, 5_000), 0n);
    assert.equal(patExpiryAt(U64_MAX, 5_000), 0n);
    assert.equal(patExpiryAt(1_000_000n, 5_000), 1_005_000n);
    assert.equal(patExpiryAt(U64_MAX - 1n, 5_000), null);
  });

  it('expires at expiry_at itself, never when expiry_at is 0', () => {
    const pat = { name: 'n', tokenHash: 'h', expiryAt: 2_000n };
    assert.equal(patExpired(pat, 1_999), false);
    assert.equal(patExpired(pat, 2_000), true);
    assert.equal(patExpired({ ...pat, expiryAt: 0n }, Number.MAX_SAFE_INTEGER), false);
  });
});
