// The auth matrix (issue 19): commands over both protocols × who asks, each cell the expected answer, on one server
// with many clients. Principals: nobody logged in; a wrong password (the login is refused, the command then runs
// on the unauthenticated connection); a revoked credential (binary: a deleted personal access token; HTTP: an access
// token after logout); an expired and a tampered JWT (HTTP only: the binary protocol has no JWT); a user without
// rights; a user with every right on another stream only; root. Every command targets stream A (or a fresh
// resource beside it, for the destructive ones), on which only root has rights.
// Answers: `ok`, `status N` (the reply's Iggy code), `evicted N` (eviction reason), `HTTP N`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, decodeJwt } from 'jose';
import { request } from 'undici';
import { IggyClient } from '../../host/client/client.js';
import { EvictionError, IggyError } from '../../host/client/errors.js';
import type { Permissions } from '../../host/shared/wire/permissions.js';
import { COMMANDS, ErrorCode, EvictionReason, Operation } from '../../host/shared/wire/codes.js';
import { encodeRequest } from '../../host/shared/wire/header.js';
import { FUZZ_SERVER_ARGS } from '../../host/torture/fuzz.js';
import { startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const SECRET = 'auth-matrix-secret-of-at-least-32-bytes!';
const BINARY = ['none', 'wrong-password', 'revoked-pat', 'no-rights', 'other-stream', 'root'] as const;
const HTTP = ['none', 'wrong-password', 'revoked-jwt', 'expired-jwt', 'tampered-jwt', 'no-rights', 'other-stream', 'root'] as const;
type HttpPrincipal = typeof HTTP[number];

interface Ctx { a: number; t: number; n: number; fresh: number }
interface Command {
  name: string;
  prep?: (root: IggyClient, n: number) => Promise<number>; // a fresh resource id for destructive commands
  binary?: (c: IggyClient, x: Ctx) => Promise<unknown>;
  http?: (x: Ctx) => [method: string, path: string, body?: unknown];
}

const NONE = { manageServers: false, readServers: false, manageUsers: false, readUsers: false, manageStreams: false, readStreams: false, manageTopics: false, readTopics: false, pollMessages: false, sendMessages: false };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const freshStream = (root: IggyClient, n: number) => root.createStream(`fresh-${n}`).then((s) => s.id);
const freshTopic = (a: number) => (root: IggyClient, n: number) => root.createTopic({ stream: a, name: `fresh-${n}`, partitionsCount: 1 }).then((t) => t.id);
const freshUser = (root: IggyClient, n: number) => root.createUser({ username: `fresh-${n}`, password: 'fresh-password' }).then((u) => u.id);
const offsetTarget = (x: Ctx) => ({ consumer: { kind: 'consumer' as const, id: 1 }, stream: x.a, topic: x.t, partition: 0 });

function commands(a: number): Command[] {
  return [
    { name: 'ping', binary: (c) => c.ping(), http: () => ['GET', '/ping'] },
    { name: 'stats', binary: (c) => c.getStats(), http: () => ['GET', '/stats'] },
    { name: 'cluster metadata', binary: (c) => c.getClusterMetadata(), http: () => ['GET', '/cluster/metadata'] },
    { name: 'me', binary: (c) => c.getMe() },
    { name: 'clients', binary: (c) => c.getClients(), http: () => ['GET', '/clients'] },
    { name: 'get streams', binary: (c) => c.getStreams(), http: () => ['GET', '/streams'] },
    { name: 'get stream A', binary: (c, x) => c.getStream(x.a), http: (x) => ['GET', `/streams/${x.a}`] },
    { name: 'create stream', binary: (c, x) => c.createStream(`made-b-${x.n}`), http: (x) => ['POST', '/streams', { name: `made-h-${x.n}` }] },
    { name: 'update stream', prep: freshStream, binary: (c, x) => c.updateStream(x.fresh, `renamed-b-${x.n}`), http: (x) => ['PUT', `/streams/${x.fresh}`, { name: `renamed-h-${x.n}` }] },
    { name: 'delete stream', prep: freshStream, binary: (c, x) => c.deleteStream(x.fresh), http: (x) => ['DELETE', `/streams/${x.fresh}`] },
    { name: 'purge stream A', binary: (c, x) => c.purgeStream(x.a), http: (x) => ['DELETE', `/streams/${x.a}/purge`] },
    { name: 'get topics', binary: (c, x) => c.getTopics(x.a), http: (x) => ['GET', `/streams/${x.a}/topics`] },
    { name: 'get topic', binary: (c, x) => c.getTopic(x.a, x.t), http: (x) => ['GET', `/streams/${x.a}/topics/${x.t}`] },
    { name: 'create topic', binary: (c, x) => c.createTopic({ stream: x.a, name: `made-b-${x.n}`, partitionsCount: 1 }), http: (x) => ['POST', `/streams/${x.a}/topics`, { name: `made-h-${x.n}`, partitions_count: 1 }] },
    { name: 'delete topic', prep: freshTopic(a), binary: (c, x) => c.deleteTopic(x.a, x.fresh), http: (x) => ['DELETE', `/streams/${x.a}/topics/${x.fresh}`] },
    { name: 'purge topic', binary: (c, x) => c.purgeTopic(x.a, x.t), http: (x) => ['DELETE', `/streams/${x.a}/topics/${x.t}/purge`] },
    { name: 'create partitions', binary: (c, x) => c.createPartitions(x.a, x.t, 1), http: (x) => ['POST', `/streams/${x.a}/topics/${x.t}/partitions`, { partitions_count: 1 }] },
    { name: 'delete partitions', prep: freshTopic(a), binary: (c, x) => c.deletePartitions(x.a, x.fresh, 1), http: (x) => ['DELETE', `/streams/${x.a}/topics/${x.fresh}/partitions?partitions_count=1`] },
    { name: 'send messages', binary: (c, x) => c.sendMessages({ stream: x.a, topic: x.t, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'm' }] }),
      http: (x) => ['POST', `/streams/${x.a}/topics/${x.t}/messages`, { partitioning: { kind: 'partition_id', value: b64('\x00\x00\x00\x00') }, messages: [{ payload: b64('m') }] }] },
    { name: 'poll messages', binary: (c, x) => c.pollMessages({ ...offsetTarget(x), strategy: { kind: 'first' }, count: 1 }),
      http: (x) => ['GET', `/streams/${x.a}/topics/${x.t}/messages?consumer_id=1&partition_id=0&kind=first&count=1`] },
    { name: 'store offset', binary: (c, x) => c.storeOffset(offsetTarget(x), 0n), http: (x) => ['PUT', `/streams/${x.a}/topics/${x.t}/consumer-offsets`, { consumer_id: 1, partition_id: 0, offset: 0 }] },
    { name: 'get offset', binary: (c, x) => c.getOffset(offsetTarget(x)), http: (x) => ['GET', `/streams/${x.a}/topics/${x.t}/consumer-offsets?consumer_id=1&partition_id=0`] },
    { name: 'get groups', binary: (c, x) => c.getGroups(x.a, x.t), http: (x) => ['GET', `/streams/${x.a}/topics/${x.t}/consumer-groups`] },
    { name: 'create group', binary: (c, x) => c.createGroup(x.a, x.t, `made-b-${x.n}`), http: (x) => ['POST', `/streams/${x.a}/topics/${x.t}/consumer-groups`, { name: `made-h-${x.n}` }] },
    { name: 'delete group', prep: (root, n) => root.createGroup(a, 0, `fresh-${n}`).then((g) => g.id), binary: (c, x) => c.deleteGroup(x.a, x.t, x.fresh), http: (x) => ['DELETE', `/streams/${x.a}/topics/${x.t}/consumer-groups/${x.fresh}`] },
    { name: 'join group', prep: (root, n) => root.createGroup(a, 0, `fresh-${n}`).then((g) => g.id), binary: (c, x) => c.joinGroup(x.a, x.t, x.fresh) },
    { name: 'get users', binary: (c) => c.getUsers(), http: () => ['GET', '/users'] },
    { name: 'get user root', binary: (c) => c.getUser(0), http: () => ['GET', '/users/0'] },
    { name: 'create user', binary: (c, x) => c.createUser({ username: `made-b-${x.n}`, password: 'made-password' }), http: (x) => ['POST', '/users', { username: `made-h-${x.n}`, password: 'made-password', status: 'active' }] },
    { name: 'delete user', prep: freshUser, binary: (c, x) => c.deleteUser(x.fresh), http: (x) => ['DELETE', `/users/${x.fresh}`] },
    { name: 'update permissions', prep: freshUser, binary: (c, x) => c.updatePermissions(x.fresh, { global: { ...NONE, readStreams: true }, streams: [] }), http: (x) => ['PUT', `/users/${x.fresh}/permissions`, { permissions: { global: { read_streams: true } } }] },
    { name: 'get own tokens', binary: (c) => c.getTokens(), http: () => ['GET', '/personal-access-tokens'] },
    { name: 'create own token', binary: (c, x) => c.createToken(`tok-b-${x.n}`), http: (x) => ['POST', '/personal-access-tokens', { name: `tok-h-${x.n}`, expiry: 3600 }] },
  ];
}

async function binaryAnswer(op: () => Promise<unknown>): Promise<string> {
  try {
    await op();
    return 'ok';
  } catch (error) {
    if (error instanceof EvictionError) return `evicted ${error.reason}`;
    if (error instanceof IggyError) return `status ${error.code}`;
    return `${(error as Error).name}`;
  }
}

async function httpAnswer(base: string, token: string | null, method: string, path: string, body?: unknown): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await request(`${base}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await res.body.text();
  return `HTTP ${res.statusCode}`;
}

describe('auth matrix (binary and HTTP)', () => {
  let s: ProtocolServer;
  let root: IggyClient;
  let a: number; // stream A: only root has rights on it
  let t: number;
  let base: string;
  let n = 0;
  const users = { 'no-rights': { username: 'no-rights', password: 'no-rights-pw' }, 'other-stream': { username: 'other-stream', password: 'other-stream-pw' } };
  const table = new Map<string, Map<string, string>>();
  const cell = (row: string, column: string, answer: string) => {
    if (!table.has(row)) table.set(row, new Map());
    table.get(row)!.set(column, answer);
  };

  before(async () => {
    s = await startProtocolServer([...FUZZ_SERVER_ARGS, '--jwt-secret', SECRET]);
    base = `http://${s.server.httpAddress}`;
    root = await s.connect();
    a = (await root.createStream('stream-a')).id;
    t = (await root.createTopic({ stream: a, name: 't', partitionsCount: 1 })).id;
    await root.sendMessages({ stream: a, topic: t, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'kept' }] });
    const b = (await root.createStream('stream-b')).id;
    const all = { manageStream: true, readStream: true, manageTopics: true, readTopics: true, pollMessages: true, sendMessages: true, topics: [] };
    const other: Permissions = { global: NONE, streams: [{ streamId: b, ...all }] };
    await root.createUser({ ...users['no-rights'], permissions: { global: NONE, streams: [] } });
    await root.createUser({ ...users['other-stream'], permissions: other });
  });
  after(async () => {
    await root?.close();
    await s?.stop();
  });

  it('binary: every command × principal answers as the table says', async () => {
    const logins = new Map<string, string>();
    for (const principal of BINARY) {
      const c = await IggyClient.connect({ address: s.address, timeoutMs: 10_000, heartbeatMs: 0 });
      const login = async () => {
        if (principal === 'root') await c.login('iggy', 'iggy');
        else if (principal === 'no-rights' || principal === 'other-stream') await c.login(users[principal].username, users[principal].password);
      };
      if (principal === 'wrong-password') logins.set(principal, await binaryAnswer(() => c.login('iggy', 'not-the-password')));
      if (principal === 'revoked-pat') {
        const token = await root.createToken('to-revoke');
        await root.deleteToken('to-revoke');
        logins.set(principal, await binaryAnswer(() => c.loginWithToken(token)));
      }
      await login();
      for (const command of commands(a)) {
        if (!command.binary) continue;
        n += 1;
        const x = { a, t, n, fresh: command.prep ? await command.prep(root, n) : -1 };
        cell(command.name, `bin:${principal}`, await binaryAnswer(() => command.binary!(c, x)));
        if (c.sessionNumber === null) await login(); // an eviction ended the session: the next cell starts as it did
      }
      await c.close();
    }
    assert.deepEqual(Object.fromEntries(logins), { 'wrong-password': 'evicted 9', 'revoked-pat': 'evicted 10' });
    compare('bin:');
  });

  it('HTTP: every command × principal answers as the table says', async () => {
    const login = async (username: string, password: string) => {
      const res = await request(`${base}/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      const body = (await res.body.json()) as { access_token?: { token: string } };
      return { status: res.statusCode, token: body.access_token?.token ?? null };
    };
    const rootLogin = await login('iggy', 'iggy');
    const revoked = await login('iggy', 'iggy');
    assert.equal((await request(`${base}/users/logout`, { method: 'DELETE', headers: { authorization: `Bearer ${revoked.token}` } })).statusCode, 204);
    // Expired: the server's own token with its expiry moved into the past, signed with the server's secret.
    const claims = decodeJwt(rootLogin.token!);
    const expired = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const resigned = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    assert.equal(await httpAnswer(base, resigned, 'GET', '/stats'), 'HTTP 200', 'the same token re-signed unexpired is accepted: the expired one is refused for its expiry');
    // Tampered: the claims changed (an extra claim), the signature kept.
    const [h, , sig] = rootLogin.token!.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, userId: 0, sub: '0', extra: 1 })).toString('base64url')}.${sig}`;
    const wrong = await login('iggy', 'not-the-password');
    assert.equal(wrong.status, 401);
    const tokens: Record<HttpPrincipal, string | null> = {
      none: null, 'wrong-password': null, 'revoked-jwt': revoked.token, 'expired-jwt': expired, 'tampered-jwt': tampered,
      'no-rights': (await login(users['no-rights'].username, users['no-rights'].password)).token,
      'other-stream': (await login(users['other-stream'].username, users['other-stream'].password)).token,
      root: rootLogin.token,
    };
    for (const principal of HTTP) {
      for (const command of commands(a)) {
        if (!command.http) continue;
        n += 1;
        const x = { a, t, n, fresh: command.prep ? await command.prep(root, n) : -1 };
        const [method, path, body] = command.http(x);
        cell(command.name, `http:${principal}`, await httpAnswer(base, tokens[principal], method, path, body));
      }
    }
    compare('http:');
  });

  it('binary, every command code before login (raw frames, so the server decides, not the SDK): Ping and Logout answer 0 (§4.2: Logout without a session is never an error), Register without a body is eviction 15, other reads 40, replicated ops eviction 1', async () => {
    const c = await IggyClient.connect({ address: s.address, timeoutMs: 10_000, heartbeatMs: 0 });
    try {
      const wrong: string[] = [];
      for (const command of COMMANDS) {
        const replicated = command.operation !== Operation.nonReplicated && command.operation !== Operation.register && command.operation !== Operation.logout;
        const frame = encodeRequest({
          client: 0x0a07_0000_0000_0001n + BigInt(command.code), operation: command.operation, code: command.operation === Operation.nonReplicated ? command.code : 0,
          session: replicated || command.operation === Operation.logout ? 1n : 0n, request: command.operation === Operation.register ? 0n : 1n,
        });
        const answer = await c.raw(frame);
        const got = answer.kind === 'eviction' ? `evicted ${answer.reason}` : answer.status === 0 ? 'ok' : `status ${answer.status}`;
        const expected = command.code === 1 || command.operation === Operation.logout ? 'ok'
          : command.operation === Operation.register || command.code === 38 || command.code === 44 ? `evicted ${EvictionReason.malformedLogin}`
            : replicated ? `evicted ${EvictionReason.noSession}`
              : `status ${ErrorCode.unauthenticated}`;
        if (got !== expected) wrong.push(`${command.code} ${command.name} (op ${command.operation}): ${got}, expected ${expected}`);
      }
      assert.deepEqual(wrong, []);
    } finally {
      await c.close();
    }
  });

  function compare(prefix: string): void {
    const expected = prefix === 'bin:' ? EXPECTED_BINARY : EXPECTED_HTTP;
    const columns = prefix === 'bin:' ? BINARY : HTTP;
    const actual: Record<string, string> = {};
    for (const [row, cells] of table) {
      if (!cells.has(`${prefix}${columns[0]}`)) continue;
      actual[row] = columns.map((col) => short(cells.get(`${prefix}${col}`) ?? '-').padEnd(3)).join(' ').trimEnd();
    }
    assert.deepEqual(actual, expected);
  }
});

const short = (answer: string) => answer.replace(/^(status|HTTP) /, '').replace(/^evicted /, 'ev');

// The expected answer of each cell: `ok`, an Iggy status code (binary), an HTTP status, `evN` an eviction. The rules:
// nobody logged in (and a refused login: wrong password, revoked token, expired or tampered JWT) gets Unauthenticated
// (40 / 401) for everything but Ping; a user without rights and a user with rights on another stream only get
// Unauthorized (41 / 403) for everything on stream A, for the server's and the users' reads and writes, and for
// listing streams (Iggy's global read_streams); both may read the cluster metadata, themselves and their own tokens.
// none wrong-password revoked-pat no-rights other-stream root
const EXPECTED_BINARY: Record<string, string> = {
  'ping':               'ok  ok  ok  ok  ok  ok',
  'stats':              '40  40  40  41  41  ok',
  'cluster metadata':   '40  40  40  ok  ok  ok',
  'me':                 '40  40  40  ok  ok  ok',
  'clients':            '40  40  40  41  41  ok',
  'get streams':        '40  40  40  41  41  ok',
  'get stream A':       '40  40  40  41  41  ok',
  'create stream':      '40  40  40  41  41  ok',
  'update stream':      '40  40  40  41  41  ok',
  'delete stream':      '40  40  40  41  41  ok',
  'purge stream A':     '40  40  40  41  41  ok',
  'get topics':         '40  40  40  41  41  ok',
  'get topic':          '40  40  40  41  41  ok',
  'create topic':       '40  40  40  41  41  ok',
  'delete topic':       '40  40  40  41  41  ok',
  'purge topic':        '40  40  40  41  41  ok',
  'create partitions':  '40  40  40  41  41  ok',
  'delete partitions':  '40  40  40  41  41  ok',
  'send messages':      '40  40  40  41  41  ok',
  'poll messages':      '40  40  40  41  41  ok',
  'store offset':       '40  40  40  41  41  ok',
  'get offset':         '40  40  40  41  41  ok',
  'get groups':         '40  40  40  41  41  ok',
  'create group':       '40  40  40  41  41  ok',
  'delete group':       '40  40  40  41  41  ok',
  'join group':         '40  40  40  41  41  ok',
  'get users':          '40  40  40  41  41  ok',
  'get user root':      '40  40  40  41  41  ok',
  'create user':        '40  40  40  41  41  ok',
  'delete user':        '40  40  40  41  41  ok',
  'update permissions': '40  40  40  41  41  ok',
  'get own tokens':     '40  40  40  ok  ok  ok',
  'create own token':   '40  40  40  ok  ok  ok',
};
// none wrong-password revoked-jwt expired-jwt tampered-jwt no-rights other-stream root
const EXPECTED_HTTP: Record<string, string> = {
  'ping':               '200 200 200 200 200 200 200 200',
  'stats':              '401 401 401 401 401 403 403 200',
  'cluster metadata':   '401 401 401 401 401 200 200 200',
  'clients':            '401 401 401 401 401 403 403 200',
  'get streams':        '401 401 401 401 401 403 403 200',
  'get stream A':       '401 401 401 401 401 403 403 200',
  'create stream':      '401 401 401 401 401 403 403 201',
  'update stream':      '401 401 401 401 401 403 403 204',
  'delete stream':      '401 401 401 401 401 403 403 204',
  'purge stream A':     '401 401 401 401 401 403 403 204',
  'get topics':         '401 401 401 401 401 403 403 200',
  'get topic':          '401 401 401 401 401 403 403 200',
  'create topic':       '401 401 401 401 401 403 403 201',
  'delete topic':       '401 401 401 401 401 403 403 204',
  'purge topic':        '401 401 401 401 401 403 403 204',
  'create partitions':  '401 401 401 401 401 403 403 204',
  'delete partitions':  '401 401 401 401 401 403 403 204',
  'send messages':      '401 401 401 401 401 403 403 201',
  'poll messages':      '401 401 401 401 401 403 403 200',
  'store offset':       '401 401 401 401 401 403 403 204',
  'get offset':         '401 401 401 401 401 403 403 200',
  'get groups':         '401 401 401 401 401 403 403 200',
  'create group':       '401 401 401 401 401 403 403 201',
  'delete group':       '401 401 401 401 401 403 403 204',
  'get users':          '401 401 401 401 401 403 403 200',
  'get user root':      '401 401 401 401 401 403 403 200',
  'create user':        '401 401 401 401 401 403 403 201',
  'delete user':        '401 401 401 401 401 403 403 204',
  'update permissions': '401 401 401 401 401 403 403 204',
  'get own tokens':     '401 401 401 401 401 200 200 200',
  'create own token':   '401 401 401 401 401 201 201 201',
};
