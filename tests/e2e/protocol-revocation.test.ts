// Revocation over a real server: a session ends once the op that deletes or deactivates its user, changes the
// password it logged in with or deletes its token is applied (reads 40, replicated ops Eviction 1, the counter
// counts it); the session that changed its own password goes on; permission changes apply to the next request;
// and a user without rights gets 41 alike for streams and topics that exist and ones that do not.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { EvictionError } from '../../host/client/errors.js';
import { globalPermissions } from '../../host/shared/wire/permissions.js';
import { code, eventually, servingMetric, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

const evicted = (reason: number) => (e: unknown) => e instanceof EvictionError && e.reason === reason;
const UNAUTHENTICATED = 40;
const UNAUTHORIZED = 41;
const NO_SESSION = 1;

describe('protocol: session revocation and the existence oracle', () => {
  let s: ProtocolServer;
  let root: IggyClient;
  const open: IggyClient[] = [];
  before(async () => {
    s = await startProtocolServer();
    root = await s.connect();
  });
  after(async () => {
    for (const c of open) await c.close();
    await root?.close();
    await s?.stop();
  });

  const readers = globalPermissions(false, { readStreams: true, readTopics: true, pollMessages: true });
  const as = async (login: { username: string; password: string } | { token: string }) => {
    const c = await IggyClient.connect({ address: s.address, timeoutMs: 10_000, ...login });
    open.push(c);
    return c;
  };
  const newUser = async (password = 'pw-1') => {
    const username = unique('user');
    const user = await root.createUser({ username, password, permissions: readers });
    return { id: user.id, username, password };
  };
  // Logged out: a read is answered 40; a replicated op on the session it still holds, Eviction 1.
  const loggedOut = async (c: IggyClient, what: string) => {
    await assert.rejects(c.getStreams(), code(UNAUTHENTICATED), `${what}: a read`);
    await assert.rejects(c.createToken(unique('t'), 0n), evicted(NO_SESSION), `${what}: a replicated op`);
  };

  it('deleting a user logs its sessions out on their next request, and counts them', async () => {
    const u = await newUser();
    const [a, b] = [await as(u), await as(u)];
    await a.getStreams();
    const revokedBefore = await servingMetric(s, 'client_sessions_revoked_total');
    await root.deleteUser(u.id);
    await loggedOut(a, 'first session');
    await loggedOut(b, 'second session');
    assert.equal(await servingMetric(s, 'client_sessions_revoked_total'), revokedBefore + 2);
    await a.ping(); // the connection stays usable, as before a login
  });

  it('deactivating a user ends its sessions; activating it again does not bring them back', async () => {
    const u = await newUser();
    const a = await as(u);
    await root.updateUser(u.id, { status: 2 });
    await root.updateUser(u.id, { status: 1 });
    await loggedOut(a, 'after deactivation');
    const again = await as(u);
    await again.getStreams();
  });

  it('a password change ends the other password sessions; the session that made it and token sessions go on', async () => {
    const u = await newUser();
    const [self, other] = [await as(u), await as(u)];
    const viaToken = await as({ token: await self.createToken(unique('pat'), 0n) });
    await self.changePassword(u.id, 'pw-1', 'pw-2');
    await self.getStreams();
    await loggedOut(other, 'another password session');
    await viaToken.getStreams();
    // Changed by an admin: now the one that changed it before ends too.
    await root.changePassword(u.id, 'pw-2', 'pw-3');
    await loggedOut(self, 'the session that changed it, after an admin changed it again');
    await viaToken.getStreams();
  });

  it('deleting a token ends the sessions that logged in with it, not those of other tokens', async () => {
    const u = await newUser();
    const owner = await as(u);
    const [first, second] = [unique('pat'), unique('pat')];
    const one = await as({ token: await owner.createToken(first, 0n) });
    const two = await as({ token: await owner.createToken(second, 0n) });
    await owner.deleteToken(first);
    await loggedOut(one, 'the deleted token\'s session');
    await two.getStreams();
    await owner.getStreams();
  });

  it('a revoked session leaves its consumer groups', async () => {
    const stream = await root.createStream(unique('rev'));
    const topic = await root.createTopic({ stream: stream.id, name: 't', partitionsCount: 2 });
    await root.createGroup(stream.id, topic.id, 'g');
    const u = await newUser();
    const member = await as(u);
    await member.joinGroup(stream.id, topic.id, 'g');
    assert.equal((await root.getGroup(stream.id, topic.id, 'g'))?.membersCount, 1);
    await root.deleteUser(u.id);
    await eventually('the revoked member to leave its group', async () => (await root.getGroup(stream.id, topic.id, 'g'))?.membersCount === 0);
    await root.deleteStream(stream.id);
  });

  it('permission changes apply to the next request of an existing session', async () => {
    const u = await newUser();
    const a = await as(u);
    await a.getStreams();
    await root.updatePermissions(u.id, globalPermissions(false));
    await assert.rejects(a.getStreams(), code(UNAUTHORIZED));
    await root.updatePermissions(u.id, readers);
    await a.getStreams();
  });

  it('a user without rights gets 41 alike for existing and missing stream and topic names, in every kind of command', async () => {
    const name = unique('secret');
    const stream = await root.createStream(name);
    const topic = await root.createTopic({ stream: stream.id, name: 't', partitionsCount: 1 });
    await root.createGroup(stream.id, topic.id, 'g');
    const username = unique('nobody');
    await root.createUser({ username, password: 'pw-1' });
    const nobody = await as({ username, password: 'pw-1' });
    const commands = (s: string | number, t: string | number): [string, () => Promise<unknown>][] => [
      ['getStream', () => nobody.getStream(s)],
      ['getTopics', () => nobody.getTopics(s)],
      ['getTopic', () => nobody.getTopic(s, t)],
      ['getGroups', () => nobody.getGroups(s, t)],
      ['poll', () => nobody.pollMessages({ stream: s, topic: t, partition: 0, strategy: { kind: 'first' }, count: 1 })],
      ['send', () => nobody.sendMessages({ stream: s, topic: t, messages: [{ payload: 'x' }] })],
      ['getOffset', () => nobody.getOffset({ stream: s, topic: t, partition: 0 })],
      ['storeOffset', () => nobody.storeOffset({ stream: s, topic: t, partition: 0 }, 0n)],
      ['createTopic', () => nobody.createTopic({ stream: s, name: 'x', partitionsCount: 1 })],
      ['deleteTopic', () => nobody.deleteTopic(s, t)],
      ['joinGroup', () => nobody.joinGroup(s, t, 'g')],
    ];
    for (const [s2, t2] of [[name, 't'], [stream.id, topic.id], [unique('missing'), 't'], [999_999, 0], [name, 'missing']] as const) {
      for (const [command, run] of commands(s2, t2)) await assert.rejects(run(), code(UNAUTHORIZED), `${command} on ${s2}/${t2}`);
    }
    await root.deleteStream(stream.id);
  });
});
