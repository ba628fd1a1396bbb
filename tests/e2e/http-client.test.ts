// The SDK's HttpClient (undici, the REST API) against a real server, imported as a user imports it: the life of a
// stream (create, send, poll, offsets, delete) with the same results as the binary client gives for the same
// data; the access token refreshed before expiry; the Producer and Consumer over HTTP; refusals as IggyError with
// the server's code (a wrong password, a PAT login, an unknown stream, a user without rights); consumer-group
// membership of the token's session (join, sync, leave) and a group Consumer over HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { Consumer, ErrorCode, HttpClient, HttpRefusal, IggyClient, IggyError, Producer, globalPermissions, type ConsumedMessage } from 'shardlog/client';
import { closeStreamFixture, openStreamFixture, unique, type StreamFixture } from './helpers/protocol.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const refusedWith = (code: number) => (e: unknown) => e instanceof IggyError && e.code === code;

describe('SDK: HttpClient over the REST API', () => {
  let f: StreamFixture;
  let http: HttpClient;
  before(async () => {
    f = await openStreamFixture('sdk-http', 'events', 2);
    http = await HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, username: 'iggy', password: 'iggy', connections: 2 });
  });
  after(async () => {
    await http?.close();
    await closeStreamFixture(f);
  });

  it('create -> send -> poll -> offsets -> delete, and the replies match the binary client\'s', async () => {
    const name = unique('http-life');
    const stream = await http.createStream(name);
    assert.equal(stream.name, name);
    assert.equal(typeof stream.createdAt, 'bigint', 'u64 fields come back as bigint, as from IggyClient');
    const topic = await http.createTopic({ stream: name, name: 'orders', partitionsCount: 2 });
    assert.equal(topic.partitions.length, 2);

    const sent = await http.sendMessages({ stream: name, topic: 'orders', partitioning: { kind: 'partition', partition: 1 }, messages: [{ payload: 'one' }, { payload: 'two', id: 42n }, { payload: new Uint8Array([0, 255]) }] });
    assert.deepEqual(sent.map((c) => [c.partitionId, c.baseOffset]), [[1, 0n]]);
    await http.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'key', key: new TextEncoder().encode('k') }, messages: [{ payload: 'keyed' }] });

    const polled = await http.pollMessages({ stream: name, topic: 'orders', partition: 1, consumer: { kind: 'consumer', id: 7 }, strategy: { kind: 'offset', value: 0n }, count: 3 });
    assert.deepEqual(polled.messages.slice(0, 3).map((m) => m.offset), [0n, 1n, 2n]);
    assert.deepEqual(polled.messages.slice(0, 2).map((m) => text(m.payload)), ['one', 'two']);
    assert.deepEqual([...polled.messages[2].payload], [0, 255]);
    assert.equal(polled.messages[1].id, 42n);
    const binary = await f.c.pollMessages({ stream: name, topic: 'orders', partition: 1, strategy: { kind: 'offset', value: 0n }, count: 3 });
    assert.deepEqual(polled.messages.map((m) => [m.offset, m.id, m.checksum, m.timestamp]), binary.messages.map((m) => [m.offset, m.id, m.checksum, m.timestamp]));

    const target = { stream: name, topic: 'orders', partition: 1, consumer: { kind: 'consumer' as const, id: 7 } };
    assert.equal(await http.getOffset(target), null, 'no offset stored yet');
    await http.storeOffset(target, 1n);
    assert.deepEqual(await http.getOffset(target), await f.c.getOffset(target));
    assert.equal((await http.getOffset(target))!.storedOffset, 1n);
    await http.deleteOffset(target);
    assert.equal(await http.getOffset(target), null);

    assert.deepEqual((await http.getStream(name))!.topics.map((t) => t.name), ['orders']);
    await http.deleteTopic(name, 'orders');
    await http.deleteStream(name);
    assert.equal(await http.getStream(name), null);
    assert.equal(await f.c.getStream(name), null, 'the binary protocol sees it gone');
  });

  it('refreshes the access token before it expires and keeps working', async () => {
    // A refresh margin longer than the token's life: every call refreshes first, so the test sees refreshes happen.
    const eager = await HttpClient.connect({ address: `http://127.0.0.1:${f.s.httpPort}`, username: 'iggy', password: 'iggy', refreshBeforeMs: 366 * 86_400_000 });
    try {
      const first = eager.accessToken;
      await eager.getStreams();
      assert.notEqual(eager.accessToken, first, 'a token within the refresh margin was replaced before the call');
      const second = eager.accessToken;
      assert.ok((await eager.getStats()).streamsCount >= 1);
      assert.notEqual(eager.accessToken, second);
    } finally {
      await eager.close();
    }
  });

  it('users, personal access tokens (and logging in with one), cluster metadata', async () => {
    const username = unique('http-user');
    const user = await http.createUser({ username, password: 'secret-1', status: 1, permissions: globalPermissions(false, { readStreams: true }) });
    assert.equal(user.username, username);
    assert.equal(user.permissions?.global.readStreams, true);
    assert.equal(user.permissions?.global.manageStreams, false);
    assert.equal((await http.getUser(username))!.id, user.id);

    const limited = await HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, username, password: 'secret-1' });
    try {
      await assert.rejects(limited.createStream(unique('nope')), (e: unknown) => refusedWith(ErrorCode.unauthorized)(e) && (e as HttpRefusal).status === 403);
      const raw = await limited.createToken('cli', 0n);
      assert.deepEqual((await limited.getTokens()).map((t) => t.name), ['cli']);
      const byToken = await HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, token: raw });
      try {
        assert.equal(byToken.userId, user.id);
        assert.ok(Array.isArray(await byToken.getStreams()));
      } finally {
        await byToken.close();
      }
      await limited.deleteToken('cli');
    } finally {
      await limited.close();
    }
    await http.deleteUser(username);
    assert.equal(await http.getUser(username), null);
    const cluster = await http.getClusterMetadata();
    assert.equal(cluster.nodes.length, 1);
    assert.equal(cluster.nodes[0].tcpPort, f.s.tcpPort);
  });

  it('refusals are IggyError with the server\'s code: bad password, unknown stream, name taken, group membership', async () => {
    await assert.rejects(HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, username: 'iggy', password: 'wrong' }), refusedWith(ErrorCode.invalidCredentials));
    await assert.rejects(HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, token: 'not-a-token' }), (e: unknown) => e instanceof HttpRefusal && e.status === 401);
    // The binary protocol's refusal of the same request, code for code.
    const missing = { stream: unique('missing'), topic: 1, messages: [{ payload: 'x' }] };
    const binaryCode = await f.c.sendMessages(missing).then(() => -1, (e: IggyError) => e.code);
    assert.ok(binaryCode > 0);
    await assert.rejects(http.sendMessages(missing), refusedWith(binaryCode));
    await assert.rejects(http.deleteStream(missing.stream), refusedWith(ErrorCode.streamIdNotFound));
    const name = unique('taken');
    await http.createStream(name);
    await assert.rejects(http.createStream(name), refusedWith(ErrorCode.streamNameAlreadyExists));
    await http.deleteStream(name);
    await assert.rejects(http.pollMessages({ stream: f.stream, topic: f.topic, partition: 0, strategy: { kind: 'first' }, count: 1, verifyChecksums: true }), refusedWith(ErrorCode.featureUnavailable), 'the JSON has no frames to hash');
    await assert.rejects(http.joinGroup(f.stream, f.topic, unique('no-group')), refusedWith(ErrorCode.consumerGroupIdNotFound));
    const anonymous = await HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}` });
    try {
      await anonymous.ping();
      await assert.rejects(anonymous.getStreams(), refusedWith(ErrorCode.unauthenticated), 'no login, no token: refused before anything is sent');
    } finally {
      await anonymous.close();
    }
  });

  it('/metrics counts HTTP requests by route and status (bounded labels: the route, not the path)', async () => {
    const metric = async (route: string, status: number) => {
      const text = await (await request(`http://127.0.0.1:${f.s.httpPort}/metrics`)).body.text();
      const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{route="${route}",status="${status}"}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const missing = unique('metric-missing');
    const before = [await metric('GET /streams/:stream', 404), await metric('GET /streams', 200), await metric('unmatched', 404)];
    assert.equal(await http.getStream(missing), null);
    assert.equal(await http.getStream(`${missing}-2`), null);
    await http.getStreams();
    assert.equal((await request(`http://127.0.0.1:${f.s.httpPort}/no/such/route`)).statusCode, 404);
    assert.deepEqual([await metric('GET /streams/:stream', 404), await metric('GET /streams', 200), await metric('unmatched', 404)], [before[0] + 2, before[1] + 1, before[2] + 1]);
    assert.ok(await metric('GET /metrics', 200) >= 1, 'the scrapes themselves are counted');
  });

  it('group membership is the token\'s session: two HTTP members split the partitions, a group Consumer reads them all', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('http-group'), partitionsCount: 2 })).id;
    await http.createGroup(f.stream, topic, 'g');
    const other = await HttpClient.connect({ address: `127.0.0.1:${f.s.httpPort}`, username: 'iggy', password: 'iggy' });
    try {
      assert.equal(await http.syncGroup(f.stream, topic, 'g'), null, 'not a member yet');
      await http.joinGroup(f.stream, topic, 'g');
      await other.joinGroup(f.stream, topic, 'g');
      const mine = (await http.syncGroup(f.stream, topic, 'g'))!.partitions;
      const theirs = (await other.syncGroup(f.stream, topic, 'g'))!.partitions;
      assert.deepEqual([...mine, ...theirs].sort(), [0, 1], 'each partition to one member');
      assert.equal((await http.getGroup(f.stream, topic, 'g'))!.membersCount, 2);
      const me = await http.getMe();
      assert.deepEqual(me.consumerGroups.map((g) => g.topicId), [topic], 'GET /me: the session is the member');
      await other.leaveGroup(f.stream, topic, 'g');
      await http.leaveGroup(f.stream, topic, 'g');
      assert.equal((await http.getGroup(f.stream, topic, 'g'))!.membersCount, 0);
    } finally {
      await other.close();
    }

    for (const partition of [0, 1]) await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'partition', partition }, messages: [{ payload: `p${partition}-a` }, { payload: `p${partition}-b` }] });
    const consumer = new Consumer(http, { stream: f.stream, topic, group: 'g', pollIntervalMs: 10 });
    const got: string[] = [];
    for await (const m of consumer) {
      got.push(text(m.payload));
      if (got.length === 4) break;
    }
    await consumer.close();
    assert.deepEqual(got.sort(), ['p0-a', 'p0-b', 'p1-a', 'p1-b']);
    assert.equal((await f.c.getOffset({ stream: f.stream, topic, partition: 1, consumer: { kind: 'group', id: 'g' } }))?.storedOffset, 1n, 'the group committed');
  });

  it('Producer and Consumer over HTTP: batches sent, every message read once in order, offsets committed', async () => {
    const topic = (await f.c.createTopic({ stream: f.stream, name: unique('http-pc'), partitionsCount: 2 })).id;
    const producer = await Producer.create(http, { stream: f.stream, topic, partitioning: { kind: 'partition', partition: 1 }, batchMaxMessages: 50, lingerMs: 1000 });
    const payloads = Array.from({ length: 120 }, (_, i) => `m${i}`);
    await producer.send(payloads.map((payload) => ({ payload })));
    await producer.close();

    const consumer = new Consumer(http, { stream: f.stream, topic, partition: 1, consumerId: 3, batchSize: 40, pollIntervalMs: 10 });
    const got: ConsumedMessage[] = [];
    for await (const m of consumer) {
      got.push(m);
      if (got.length === payloads.length) break;
    }
    await consumer.close();
    assert.deepEqual(got.map((m) => text(m.payload)), payloads);
    assert.deepEqual(got.map((m) => m.offset), payloads.map((_, i) => BigInt(i)));
    const stored = await f.c.getOffset({ stream: f.stream, topic, partition: 1, consumer: { kind: 'consumer', id: 3 } });
    assert.equal(stored?.storedOffset, 119n, 'the consumer committed the last message it yielded');

    // The same consumer id over the binary client resumes after it: the two transports share the server's offsets.
    const binary = new Consumer(f.c as IggyClient, { stream: f.stream, topic, partition: 1, consumerId: 3 });
    await f.c.sendMessages({ stream: f.stream, topic, partitioning: { kind: 'partition', partition: 1 }, messages: [{ payload: 'after' }] });
    const next = await binary.poll();
    await binary.close();
    assert.deepEqual(next.map((m) => [m.offset, text(m.payload)]), [[120n, 'after']]);
  });
});
