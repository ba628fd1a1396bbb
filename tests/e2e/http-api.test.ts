// The REST API over a real server with undici: the life of a stream (create, send, poll, offsets, delete), tokens
// (login, refresh, logout, personal access tokens, tampered and expired ones), the same refusal as the binary
// protocol for a user without rights, and bad input answered with a status and a JSON error naming the field, with
// nothing of the request applied.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { IggyClient } from '../../host/client/client.js';
import { ErrorCode } from '../../host/shared/wire/codes.js';
import { code, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';
import { Rest } from './helpers/rest.js';

const SECRET = 'a test secret that is long enough for HS256 use';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('http: REST API', () => {
  let s: ProtocolServer;
  let rest: Rest;
  before(async () => {
    s = await startProtocolServer(['--jwt-secret', SECRET, '--http-max-request-bytes', String(256 << 10), '--http-cors-origins', 'https://ui.example']);
    rest = new Rest(`http://127.0.0.1:${s.httpPort}`);
    assert.equal((await rest.login()).status, 200);
  });
  after(async () => {
    await s?.stop();
  });

  it('create a stream and topic, send, poll, store and read an offset, delete, by id and by name', async () => {
    const name = unique('http-stream');
    const created = await rest.call('POST', '/streams', { name });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.name, name);
    const topic = await rest.call('POST', `/streams/${name}/topics`, { name: 'orders', partitions_count: 2, message_expiry: 3_600_000_000, max_topic_size: 0, compression_algorithm: 'none' });
    assert.equal(topic.status, 201, topic.text);
    assert.equal(topic.json.partitions.length, 2);
    assert.equal(topic.json.message_expiry, 3_600_000_000, 'the option reached the topic');

    const messages = ['one', 'two', 'three'].map((p) => ({ payload: b64(p) }));
    const sent = await rest.call('POST', `/streams/${name}/topics/orders/messages`, { partitioning: { kind: 'partition_id', value: b64('\x01\x00\x00\x00') }, messages });
    assert.equal(sent.status, 201, sent.text);
    assert.deepEqual(sent.json.map((c: { partition_id: number; base_offset: number }) => [c.partition_id, c.base_offset]), [[1, 0]]);
    const polled = await rest.call('GET', `/streams/${created.json.id}/topics/${topic.json.id}/messages?consumer_id=7&partition_id=1&kind=offset&value=0&count=10`);
    assert.equal(polled.status, 200, polled.text);
    assert.deepEqual(polled.json.messages.map((m: { payload: string }) => Buffer.from(m.payload, 'base64').toString()), ['one', 'two', 'three']);
    assert.deepEqual(polled.json.messages.map((m: { header: { offset: number } }) => m.header.offset), [0, 1, 2]);

    assert.equal((await rest.call('GET', `/streams/${name}/topics/orders/consumer-offsets?consumer_id=7&partition_id=1`)).status, 404);
    assert.equal((await rest.call('PUT', `/streams/${name}/topics/orders/consumer-offsets`, { consumer_id: 7, partition_id: 1, offset: 1 })).status, 204);
    const offset = await rest.call('GET', `/streams/${name}/topics/orders/consumer-offsets?consumer_id=7&partition_id=1`);
    assert.deepEqual(offset.json, { partition_id: 1, current_offset: 2, stored_offset: 1 });
    const next = await rest.call('GET', `/streams/${name}/topics/orders/messages?consumer_id=7&partition_id=1&kind=next&count=10`);
    assert.deepEqual(next.json.messages.map((m: { header: { offset: number } }) => m.header.offset), [2], 'next resumes after the stored offset');
    assert.equal((await rest.call('DELETE', `/streams/${name}/topics/orders/consumer-offsets/7?partition_id=1`)).status, 204);
    assert.equal((await rest.call('GET', `/streams/${name}/topics/orders/consumer-offsets?consumer_id=7&partition_id=1`)).status, 404);

    // What HTTP wrote, the binary protocol reads (one server state, one path).
    const binary = await s.connect();
    try {
      const polledBinary = await binary.pollMessages({ stream: name, topic: 'orders', partition: 1, strategy: { kind: 'offset', value: 0n }, count: 10 });
      assert.equal(polledBinary.messages.length, 3);
    } finally {
      await binary.close();
    }

    assert.equal((await rest.call('POST', `/streams/${name}/topics/orders/partitions`, { partitions_count: 2 })).status, 204);
    assert.equal((await rest.call('GET', `/streams/${name}/topics/orders`)).json.partitions_count, 4);
    assert.equal((await rest.call('DELETE', `/streams/${name}/topics/orders/partitions?partitions_count=1`)).status, 204);
    assert.equal((await rest.call('GET', `/streams/${name}/topics/orders`)).json.partitions_count, 3);
    const group = await rest.call('POST', `/streams/${name}/topics/orders/consumer-groups`, { name: 'readers' });
    assert.equal(group.status, 201, group.text);
    assert.equal((await rest.call('GET', `/streams/${name}/topics/orders/consumer-groups/readers`)).json.name, 'readers');
    assert.equal((await rest.call('DELETE', `/streams/${name}`)).status, 204);
    const gone = await rest.call('GET', `/streams/${name}`);
    assert.equal(gone.status, 404);
    assert.deepEqual([gone.json.id, gone.json.code, gone.json.field], [ErrorCode.streamIdNotFound, 'stream_id_not_found', 'stream_id']);
  });

  it('requests that arrive together with one token all succeed (its session runs them one at a time, in order)', async () => {
    const names = Array.from({ length: 5 }, () => unique('together'));
    const created = await Promise.all(names.map((name) => rest.call('POST', '/streams', { name })));
    assert.deepEqual(created.map((c) => c.status), [201, 201, 201, 201, 201], created.map((c) => c.text).join('\n'));
    assert.equal((await rest.call('POST', `/streams/${names[0]}/topics`, { name: 't', partitions_count: 1 })).status, 201);
    const sends = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      rest.call('POST', `/streams/${names[0]}/topics/t/messages`, { partitioning: { kind: 'partition_id', value: 0 }, messages: [{ payload: b64(`m${i}`) }] })));
    assert.deepEqual(new Set(sends.map((r) => r.status)), new Set([201]));
    assert.equal((await rest.call('GET', `/streams/${names[0]}/topics/t`)).json.messages_count, 10);
    await Promise.all(names.map((name) => rest.call('DELETE', `/streams/${name}`)));
  });

  it('CORS: the configured origin is allowed (preflight and answers), another origin gets no CORS headers', async () => {
    const preflight = await request(`${rest.base}/streams`, { method: 'OPTIONS', headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' } });
    await preflight.body.text();
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://ui.example');
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
    const other = await request(`${rest.base}/ping`, { headers: { origin: 'https://elsewhere.example' } });
    await other.body.text();
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('system routes: ping without a token, stats, clients, cluster metadata, a snapshot zip', async () => {
    assert.equal((await rest.call('GET', '/ping', undefined, { token: null })).text, 'pong');
    assert.equal(typeof (await rest.call('GET', '/stats')).json.streams_count, 'number');
    assert.equal((await rest.call('GET', '/clients')).status, 200);
    assert.ok((await rest.call('GET', '/cluster/metadata')).json.nodes.length >= 1);
    assert.ok((await rest.call('GET', '/options/topic')).json.some((o: { key: string }) => o.key === 'message_expiry'));
    assert.equal((await rest.call('GET', '/options/planet')).json.field, 'scope');
    const zip = await rest.call('POST', '/snapshot', { compression: 'deflated', snapshot_types: ['test'] });
    assert.equal(zip.status, 200);
    assert.equal(zip.text.slice(0, 2), 'PK', 'a ZIP file');
  });

  it('a refresh token refreshes once when several requests carry it at once; logout revokes the refresh token too', async () => {
    const user = new Rest(rest.base);
    const login = await user.login();
    const tries = await Promise.all(Array.from({ length: 6 }, () => user.call('POST', '/users/refresh-token', { token: login.json.refresh_token.token }, { token: null })));
    assert.equal(tries.filter((r) => r.status === 200).length, 1, tries.map((r) => r.text).join('\n'));
    for (const r of tries.filter((t) => t.status !== 200)) assert.deepEqual([r.status, r.json.field], [401, 'token'], r.text);
    const winner = tries.find((r) => r.status === 200)!.json;

    assert.equal((await user.call('DELETE', '/users/logout', undefined, { token: winner.access_token.token })).status, 204);
    const after = await user.call('POST', '/users/refresh-token', { token: winner.refresh_token.token }, { token: null });
    assert.equal(after.status, 401, 'the refresh token issued with a logged-out access token mints nothing');
    assert.match(after.json.reason, /revoked/);
  });

  it('tokens: missing, malformed, tampered, expired and logged-out tokens are refused with 401; refresh and PAT login work', async () => {
    const refused = async (token: string | null, why: RegExp) => {
      const answer = await rest.call('GET', '/streams', undefined, { token });
      assert.equal(answer.status, 401, answer.text);
      assert.deepEqual([answer.json.id, answer.json.code, answer.json.field], [ErrorCode.unauthenticated, 'unauthenticated', 'authorization']);
      assert.match(answer.json.reason, why);
    };
    await refused(null, /missing/);
    await refused('not.a.jwt', /not valid/);
    const [head, payload, signature] = rest.token!.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    await refused([head, Buffer.from(JSON.stringify({ ...claims, sub: '12345' })).toString('base64url'), signature].join('.'), /not valid/);
    const expired = await new SignJWT({ cred: claims.cred, typ: 'access' }).setProtectedHeader({ alg: 'HS256' }).setSubject('0')
      .setJti('expired-one').setIssuer('iggy.apache.org').setAudience('iggy.apache.org').setIssuedAt(1).setExpirationTime(2).sign(Buffer.from(SECRET));
    await refused(expired, /expired/);
    const wrongKey = await new SignJWT({ cred: claims.cred, typ: 'access' }).setProtectedHeader({ alg: 'HS256' }).setSubject('0')
      .setJti('forged').setIssuer('iggy.apache.org').setAudience('iggy.apache.org').setExpirationTime('1h').sign(Buffer.from('another secret that is long enough for HS256'));
    await refused(wrongKey, /not valid/);

    const other = new Rest(rest.base);
    const login = await other.login();
    const refreshed = await other.call('POST', '/users/refresh-token', { token: login.json.refresh_token.token }, { token: null });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal((await other.call('GET', '/streams', undefined, { token: refreshed.json.access_token.token })).status, 200);
    assert.equal((await other.call('POST', '/users/refresh-token', { token: login.json.refresh_token.token }, { token: null })).status, 401, 'a refresh token is used once');
    assert.equal((await other.call('DELETE', '/users/logout')).status, 204);
    await refused(other.token, /revoked/);

    const pat = await rest.call('POST', '/personal-access-tokens', { name: unique('pat'), expiry: 3600 });
    assert.equal(pat.status, 201, pat.text);
    const patLogin = await rest.call('POST', '/personal-access-tokens/login', { token: pat.json.token }, { token: null });
    assert.equal(patLogin.status, 200, patLogin.text);
    assert.equal((await rest.call('GET', '/streams', undefined, { token: patLogin.json.access_token.token })).status, 200);
    assert.equal((await rest.call('GET', '/streams', undefined, { token: pat.json.token })).status, 200, 'a raw personal access token as the bearer, as Iggy');
    const badPat = await rest.call('GET', '/streams', undefined, { token: 'no-such-personal-access-token' });
    assert.deepEqual([badPat.status, badPat.json.field], [401, 'authorization']);
    const badLogin = await rest.call('POST', '/users/login', { username: 'iggy', password: 'wrong' }, { token: null });
    assert.equal(badLogin.status, 401);
    assert.equal(badLogin.json.code, 'invalid_credentials');
  });

  it('a user without rights gets the same refusal over HTTP as over the binary protocol, and a deleted user loses its token', async () => {
    const username = unique('reader');
    const created = await rest.call('POST', '/users', { username, password: 'pw-1', status: 'active', permissions: { global: { read_streams: true } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.permissions.global.read_streams, true);
    const user = new Rest(rest.base);
    assert.equal((await user.login(username, 'pw-1')).status, 200);
    assert.equal((await user.call('GET', '/streams')).status, 200, 'reading is allowed');
    const http = await user.call('POST', '/streams', { name: unique('not-allowed') });
    const binary = await IggyClient.connect({ address: s.address, username, password: 'pw-1', timeoutMs: 10_000 });
    try {
      await assert.rejects(binary.createStream(unique('not-allowed')), code(ErrorCode.unauthorized));
    } finally {
      await binary.close();
    }
    assert.equal(http.status, 403);
    assert.deepEqual([http.json.id, http.json.code], [ErrorCode.unauthorized, 'unauthorized']);

    assert.equal((await rest.call('DELETE', `/users/${created.json.id}`)).status, 204);
    const after = await user.call('GET', '/streams');
    assert.equal(after.status, 401, 'the session of a deleted user ends, as a binary one does');
  });

  it('bad input: a status and a JSON error naming the field, and nothing applied', async () => {
    const before = (await rest.call('GET', '/streams')).json.length;
    const expect = async (method: 'POST' | 'GET' | 'PUT' | 'DELETE', path: string, body: unknown, status: number, errorCode: string, field: string, raw?: string | Buffer) => {
      const answer = await rest.call(method, path, body, raw === undefined ? {} : { raw });
      assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
      assert.equal(answer.json.code, errorCode, answer.text);
      assert.equal(answer.json.field, field, answer.text);
      assert.equal(typeof answer.json.id, 'number');
    };
    await expect('POST', '/streams', undefined, 400, 'invalid_format', 'body', '{"name": ');
    await expect('POST', '/streams', undefined, 400, 'invalid_format', 'body', '[1, 2]');
    await expect('POST', '/streams', { name: 42 }, 400, 'invalid_format', 'name');
    await expect('POST', '/streams', { name: 'x'.repeat(300) }, 400, 'invalid_format', 'body');
    const name = unique('bad-input');
    assert.equal((await rest.call('POST', '/streams', { name })).status, 201);
    await expect('POST', `/streams/${name}/topics`, { name: 't', partitions_count: 'two' }, 400, 'invalid_format', 'partitions_count');
    await expect('POST', `/streams/${name}/topics`, { name: 't', partitions_count: -1 }, 400, 'invalid_format', 'partitions_count');
    await expect('POST', `/streams/${name}/topics`, { name: 't', partitions_count: 1, message_expiry: 'soon' }, 400, 'invalid_format', 'message_expiry');
    await expect('POST', `/streams/${name}/topics`, { name: 't', partitions_count: 1, compression_algorithm: 'zip' }, 400, 'invalid_format', 'compression_algorithm');
    await expect('GET', '/streams/no-such-stream', undefined, 404, 'stream_id_not_found', 'stream_id');
    await expect('POST', '/streams/4000000/topics', { name: 't', partitions_count: 1 }, 404, 'stream_id_not_found', 'stream_id');
    await expect('GET', `/streams/${name}/topics/nope`, undefined, 404, 'topic_id_not_found', 'topic_id');
    assert.equal((await rest.call('POST', `/streams/${name}/topics`, { name: 't', partitions_count: 1 })).status, 201);
    await expect('POST', `/streams/${name}/topics/t/messages`, { messages: [{ payload: 'not base64!' }] }, 400, 'invalid_format', 'messages[0].payload');
    await expect('POST', `/streams/${name}/topics/t/messages`, { messages: [] }, 400, 'invalid_messages_count', 'messages');
    await expect('POST', `/streams/${name}/topics/t/messages`, { partitioning: { kind: 'sideways' }, messages: [{ payload: b64('x') }] }, 400, 'invalid_format', 'partitioning.kind');
    await expect('POST', `/streams/${name}/topics/t/messages`, { messages: [{ payload: b64('fine') }, { payload: 7 }] }, 400, 'invalid_format', 'messages[1].payload');
    await expect('GET', `/streams/${name}/topics/t/messages?partition_id=0&kind=sideways`, undefined, 400, 'invalid_format', 'kind');
    await expect('GET', `/streams/${name}/topics/t/messages?partition_id=0&count=lots`, undefined, 400, 'invalid_format', 'count');
    const big = JSON.stringify({ messages: [{ payload: 'A'.repeat(300 << 10) }] });
    await expect('POST', `/streams/${name}/topics/t/messages`, undefined, 413, 'request_body_too_large', 'body', big);
    await expect('GET', '/no/such/route', undefined, 404, 'route_not_found', null as unknown as string);

    const topic = (await rest.call('GET', `/streams/${name}/topics/t`)).json;
    assert.equal(topic.messages_count, 0, 'no message of a refused send was kept');
    assert.equal((await rest.call('GET', '/streams')).json.length, before + 1, 'only the one valid stream was created');
    assert.equal((await rest.call('GET', `/streams/${name}`)).json.topics_count, 1, 'no topic of a refused create');
  });
});
