// The session object's numbering rules (iggy-client-wire.md §4.3), without a socket.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../host/client/session.js';

test('request numbers: zero for Register, current for reads, consumed by metadata ops', () => {
  const s = new Session();
  assert.notEqual(s.clientId, 0n);
  assert.ok(s.clientId < 1n << 128n);
  assert.deepEqual([s.requestNumber('current'), s.requestNumber('zero')], [1n, 0n], 'the counter starts at 1');
  s.beginRegister();
  s.bind(7n);
  assert.deepEqual(['next', 'current', 'next', 'next', 'current'].map((r) => s.requestNumber(r as 'next' | 'current')), [1n, 2n, 2n, 3n, 4n]);
});

test('a second Register, bound or not, starts over with a fresh client id; bind refuses 0 and double binds', () => {
  const s = new Session();
  const first = s.clientId;
  s.beginRegister();
  assert.equal(s.clientId, first, 'the first Register keeps the initial id');
  s.beginRegister(); // the first one was consumed (e.g. rejected): a new id
  assert.notEqual(s.clientId, first);
  assert.throws(() => s.bind(0n), /must be > 0/);
  s.bind(3n);
  assert.throws(() => s.bind(4n), /already bound/);
  s.requestNumber('next');
  const bound = s.clientId;
  s.beginRegister();
  assert.deepEqual([s.bound, s.requestNumber('current')], [false, 1n]);
  assert.notEqual(s.clientId, bound);
  s.bind(5n);
  s.reset();
  assert.deepEqual([s.session, s.bound], [null, false]);
});
