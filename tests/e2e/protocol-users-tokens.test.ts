// Users, permissions and personal access tokens over a real server (iggy-client-wire.md §7.9, §7.10, §10, §11).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { EvictionError } from '../../host/client/errors.js';
import { UserStatus } from '../../host/client/requests.js';
import { globalPermissions, type Permissions } from '../../host/shared/wire/permissions.js';
import { code, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const evicted = (reason: number) => (e: unknown) => e instanceof EvictionError && e.reason === reason;
const NEVER = 2n ** 64n - 1n;

describe('protocol: users and tokens', () => {
  let s: ProtocolServer;
  let root: IggyClient;
  before(async () => {
    s = await startProtocolServer();
    root = await s.connect();
  });
  after(async () => {
    await root?.close();
    await s?.stop();
  });

  const as = (username: string, password: string = 'pw-1') => IggyClient.connect({ address: s.address, username, password, timeoutMs: 10_000 });

  it('create with permissions, list, get by name and id, update, change password, update permissions, delete', async () => {
    const username = unique('user');
    const permissions: Permissions = {
      ...globalPermissions(false, { readStreams: true, readTopics: true }),
      streams: [{ streamId: 1, manageStream: false, readStream: true, manageTopics: false, readTopics: true, pollMessages: true, sendMessages: false,
        topics: [{ topicId: 2, manageTopic: false, readTopic: true, pollMessages: true, sendMessages: true }] }],
    };
    const created = await root.createUser({ username, password: 'pw-1', status: UserStatus.active, permissions });
    assert.deepEqual([created.username, created.status, created.permissions], [username, 1, permissions]);
    assert.ok(created.id > 0, 'root is user 0');
    const users = await root.getUsers();
    assert.ok(users.some((u) => u.id === 0 && u.username === 'iggy'));
    assert.ok(users.some((u) => u.id === created.id && u.username === username));
    const byName = await root.getUser(username);
    assert.deepEqual(byName, await root.getUser(created.id));
    assert.deepEqual(byName?.permissions, permissions, 'permissions round-trip byte for byte');

    const renamed = unique('renamed');
    await root.updateUser(created.id, { username: renamed, status: UserStatus.inactive });
    assert.deepEqual([(await root.getUser(created.id))?.username, (await root.getUser(created.id))?.status], [renamed, 2]);
    await assert.rejects(as(renamed, 'pw-1'), evicted(11), 'inactive users cannot log in');
    await root.updateUser(created.id, { status: UserStatus.active });

    await assert.rejects(root.changePassword(created.id, 'wrong', 'pw-2'), code(42));
    await root.changePassword(created.id, 'pw-1', 'pw-2');
    await assert.rejects(as(renamed, 'pw-1'), evicted(9));
    const user = await as(renamed, 'pw-2');
    assert.equal(user.userId, created.id);
    await user.close();

    const wider = globalPermissions(true, { manageServers: false });
    await root.updatePermissions(created.id, wider);
    assert.deepEqual((await root.getUser(created.id))?.permissions, wider);
    await root.updatePermissions(created.id, null);
    assert.equal((await root.getUser(created.id))?.permissions, null);

    await root.deleteUser(created.id);
    assert.equal(await root.getUser(created.id), null);
    await assert.rejects(as(renamed, 'pw-2'), evicted(9));
  });

  it('user rejections: duplicate 46, missing 20, root cannot be deleted (48) or re-permissioned (49)', async () => {
    const username = unique('dup');
    const u = await root.createUser({ username, password: 'pw-1' });
    await assert.rejects(root.createUser({ username, password: 'pw-1' }), code(46));
    await assert.rejects(root.updateUser(u.id, { username: 'iggy' }), code(46));
    await assert.rejects(root.deleteUser(999_999), code(20));
    await assert.rejects(root.updateUser(999_999, { status: 2 }), code(20));
    await assert.rejects(root.changePassword(999_999, 'abc', 'bcd'), code(20));
    await assert.rejects(root.updatePermissions(999_999, null), code(20));
    await assert.rejects(root.deleteUser(0), code(48));
    await assert.rejects(root.updatePermissions(0, globalPermissions(false)), code(49));
    assert.equal(await root.getUser('no-such-user'), null);
    await root.deleteUser(u.id);
  });

  it('permissions are enforced: no send permission is 41 on send; granted poll works', async () => {
    const stream = await root.createStream(unique('perm'));
    const topic = await root.createTopic({ stream: stream.id, name: 't', partitionsCount: 1 });
    await root.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'hello' }] });
    const username = unique('reader');
    await root.createUser({ username, password: 'pw-1', permissions: globalPermissions(false, { readStreams: true, readTopics: true, pollMessages: true }) });
    const reader = await as(username, 'pw-1');
    try {
      await assert.rejects(reader.sendMessages({ stream: stream.id, topic: topic.id, messages: [{ payload: 'no' }] }), code(41));
      await assert.rejects(reader.createStream(unique('nope')), code(41));
      await assert.rejects(reader.createUser({ username: unique('nope'), password: 'xyz' }), code(41));
      const polled = await reader.pollMessages({ stream: stream.id, topic: topic.id, partition: 0, strategy: { kind: 'first' }, count: 1 });
      assert.equal(new TextDecoder().decode(polled.messages[0].payload), 'hello');
      assert.ok((await reader.getStreams()).some((x) => x.id === stream.id));
    } finally {
      await reader.close();
    }
    const nobody = unique('nobody');
    await root.createUser({ username: nobody, password: 'pw-1' });
    const none = await as(nobody, 'pw-1');
    try {
      await assert.rejects(none.getStreams(), code(41));
      await assert.rejects(none.getUsers(), code(41));
      await assert.rejects(none.getUser(0), code(41));
      await assert.rejects(none.pollMessages({ stream: stream.id, topic: topic.id, partition: 0, strategy: { kind: 'first' }, count: 1 }), code(41));
      await none.ping();
    } finally {
      await none.close();
    }
    await root.deleteStream(stream.id);
  });

  it('tokens: create (raw token revealed once), list, PAT login, duplicate 51, delete, deleted token is eviction 10', async () => {
    const name = unique('pat');
    const token = await root.createToken(name, NEVER);
    assert.ok(token.length > 1);
    const listed = await root.getTokens();
    assert.deepEqual(listed.find((t) => t.name === name), { name, expiryAt: 0n }, 'never expires');
    await assert.rejects(root.createToken(name, NEVER), code(51));

    const viaToken = await IggyClient.connect({ address: s.address, token });
    try {
      assert.equal(viaToken.userId, 0);
      assert.ok((await viaToken.getTokens()).some((t) => t.name === name), 'the token acts as its owner');
    } finally {
      await viaToken.close();
    }
    await assert.rejects(IggyClient.connect({ address: s.address, token: 'not-a-token' }), (e: unknown) => e instanceof EvictionError && e.reason === 10 && e.code === 53);

    await root.deleteToken(name);
    assert.ok(!(await root.getTokens()).some((t) => t.name === name));
    await assert.rejects(root.deleteToken(name), code(20));
    await assert.rejects(IggyClient.connect({ address: s.address, token }), evicted(10));
  });

  it('a token with an expiry reports an absolute expiry time; tokens belong to their user', async () => {
    const username = unique('owner');
    const user = await root.createUser({ username, password: 'pw-1', permissions: globalPermissions(true) });
    const owner = await as(username, 'pw-1');
    try {
      const before = BigInt(Date.now()) * 1000n;
      const token = await owner.createToken('mine', 3_600_000_000n);
      const [info] = await owner.getTokens();
      assert.equal(info.name, 'mine');
      assert.ok(info.expiryAt >= before + 3_600_000_000n - 1_000_000n && info.expiryAt <= BigInt(Date.now()) * 1000n + 3_600_000_000n + 1_000_000n);
      assert.ok(!(await root.getTokens()).some((t) => t.name === 'mine'), 'not listed for root');
      const viaToken = await IggyClient.connect({ address: s.address, token });
      assert.equal(viaToken.userId, user.id);
      await viaToken.close();
    } finally {
      await owner.close();
    }
  });
});
