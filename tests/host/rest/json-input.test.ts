// The REST API's input readers: each wrong value is refused as 400 naming its field; right ones come back typed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base64, bool, int, parseBody, pathId, permissions, u64 } from '../../../host/node/rest/json-input.js';
import { HttpError } from '../../../host/node/rest/rest-errors.js';

const refused = (field: string) => (e: unknown) => e instanceof HttpError && e.status === 400 && e.field === field;

test('base64: both alphabets, padding optional; anything else is refused', () => {
  for (const [text, bytes] of [['', ''], ['aGVsbG8=', 'hello'], ['aGVsbG8', 'hello'], ['YQ==', 'a'], ['YQ', 'a']] as const) {
    assert.equal(base64(text, 'p').toString(), bytes);
  }
  assert.deepEqual([...base64('-_-_', 'p')], [...Buffer.from('+/+/', 'base64')]);
  for (const bad of ['not base64!', 'aGV sbG8=', 'a', 'aGVs=bG8', '====', 'aGk*', 'é', 'YQ===']) assert.throws(() => base64(bad, 'p'), refused('p'), bad);
  assert.throws(() => base64(42, 'p'), refused('p'));
});

test('numbers: whole, in range, from JSON numbers or decimal strings; u64 past 2^53 as strings', () => {
  assert.equal(int({ n: 5 }, 'n', 0, 10), 5);
  assert.equal(int({ n: '7' }, 'n', 0, 10), 7);
  assert.equal(int({}, 'n', 0, 10, 3), 3);
  for (const v of [11, -1, 1.5, 'x', true, '1e3']) assert.throws(() => int({ n: v }, 'n', 0, 10), refused('n'), String(v));
  assert.throws(() => int({}, 'n', 0, 10), refused('n'));
  assert.equal(u64({ v: '18446744073709551615' }, 'v'), 2n ** 64n - 1n);
  for (const v of ['18446744073709551616', -1, 2 ** 60, 'x']) assert.throws(() => u64({ v }, 'v'), refused('v'), String(v));
  assert.equal(bool({ b: 'true' }, 'b', false), true);
  assert.throws(() => bool({ b: 1 }, 'b', false), refused('b'));
});

test('bodies and path identifiers', () => {
  assert.throws(() => parseBody(null), refused('body'));
  assert.throws(() => parseBody(Buffer.from('{"a":')), refused('body'));
  assert.throws(() => parseBody(Buffer.from('"text"')), refused('body'));
  assert.deepEqual(parseBody(Buffer.from('{"a":1}')), { a: 1 });
  assert.equal(pathId('12', 'stream_id'), 12);
  assert.equal(pathId('my%20stream', 'stream_id'), 'my stream');
  assert.throws(() => pathId('4294967296', 'stream_id'), refused('stream_id'));
  assert.throws(() => pathId('%E0%A4%A', 'stream_id'), refused('stream_id'));
});

test("permissions: Iggy's JSON to the wire's shape; unknown flags and non-numeric ids are refused by path", () => {
  const p = permissions({ global: { read_streams: true }, streams: { 3: { poll_messages: true, topics: { 4: { send_messages: true } } } } }, 'permissions')!;
  assert.equal(p.global.readStreams, true);
  assert.equal(p.global.manageUsers, false);
  assert.deepEqual([p.streams[0].streamId, p.streams[0].pollMessages, p.streams[0].topics[0].topicId, p.streams[0].topics[0].sendMessages], [3, true, 4, true]);
  assert.throws(() => permissions({ global: { fly: true } }, 'permissions'), refused('permissions.global.fly'));
  assert.throws(() => permissions({ streams: { abc: {} } }, 'permissions'), refused('permissions.streams.abc'));
  assert.equal(permissions(undefined, 'permissions'), null);
});
