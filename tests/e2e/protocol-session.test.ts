// Session lifecycle over a real server (iggy-client-wire.md §4, §11): ping before login, Register, the cluster
// metadata read after it, re-login with a fresh client id, logout. (The root credential override by flag and
// environment is covered by protocol-restart, which must boot with it anyway.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EvictionError, IggyError } from '../../host/client/errors.js';
import { ROOT, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

describe('protocol: session', () => {
  let s: ProtocolServer;
  before(async () => { s = await startProtocolServer(); });
  after(() => s?.stop());

  it('ping works before login; other reads before login are status 40', async () => {
    const c = await s.connect(null);
    try {
      await c.ping();
      for (const read of [() => c.getStreams(), () => c.getClusterMetadata(), () => c.getMe(), () => c.getTokens(), () => c.getUsers()]) {
        await assert.rejects(read(), (e: IggyError) => e instanceof IggyError && e.code === 40);
      }
      await c.ping(); // the statuses did not cost the connection
    } finally {
      await c.close();
    }
  });

  it('login as root returns user 0 and a positive session, and fetches the cluster metadata', async () => {
    const c = await s.connect(null);
    try {
      const login = await c.login(ROOT.username, ROOT.password);
      assert.equal(login.userId, 0);
      assert.ok(login.session > 0n);
      assert.equal(c.cluster?.nodes.length, 1);
      await c.ping();
      assert.ok(Array.isArray(await c.getStreams()));
    } finally {
      await c.close();
    }
  });

  it('bad credentials are eviction 9 (error 42) and the socket can register again', async () => {
    const c = await s.connect(null);
    try {
      await assert.rejects(c.login('iggy', 'wrong'), (e: EvictionError) => e instanceof EvictionError && e.reason === 9 && e.code === 42);
      await assert.rejects(c.login('nobody', 'iggy'), (e: EvictionError) => e.reason === 9);
      assert.equal((await c.login(ROOT.username, ROOT.password)).userId, 0);
    } finally {
      await c.close();
    }
  });

  it('a second login registers a new session; the per-connection client id stays the same', async () => {
    const c = await s.connect();
    try {
      const first = await c.getMe();
      const firstSession = c.sessionNumber!;
      const firstVsrId = c.clientId;
      const again = await c.login(ROOT.username, ROOT.password);
      assert.ok(again.session > firstSession, 'session numbers increase with every login');
      assert.notEqual(c.clientId, firstVsrId, 'a fresh VSR client id');
      const second = await c.getMe();
      assert.equal(second.clientId, first.clientId, 'the connection id survives logout + login');
      assert.equal(second.userId, 0);
    } finally {
      await c.close();
    }
  });

  it('getMe equals getClient of the same id; getClients lists this connection; unknown id is null', async () => {
    const c = await s.connect();
    try {
      const me = await c.getMe();
      assert.deepEqual(await c.getClient(me.clientId), me);
      assert.equal(me.transport, 1, 'tcp');
      assert.match(me.address, /^127\.0\.0\.1:\d+$/);
      const all = await c.getClients();
      assert.ok(all.some((x) => x.clientId === me.clientId && x.userId === 0));
      assert.equal(await c.getClient(0xfffffff0), null);
    } finally {
      await c.close();
    }
  });

  it('logout ends the session: reads are status 40 again, ping still works', async () => {
    const c = await s.connect();
    try {
      await c.logout();
      assert.equal(c.sessionNumber, null);
      await c.ping();
      await assert.rejects(c.getStreams(), (e: IggyError) => e.code === 40);
      const me = await s.connect();
      const listed = await me.getClients();
      await me.close();
      assert.ok(listed.some((x) => x.userId === null), 'a logged-out connection shows user u32::MAX');
    } finally {
      await c.close();
    }
  });

  it('12 concurrent calls on one client, 3 of them logins, all succeed (the SDK parallel test)', async () => {
    const c = await s.connect();
    try {
      const name = unique('parallel');
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        if (i % 4 === 3) calls.push(c.login(ROOT.username, ROOT.password));
        else if (i === 0) calls.push(c.createStream(name));
        else calls.push(i % 2 ? c.getStats() : c.getMe());
      }
      const results = await Promise.allSettled(calls);
      assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
      assert.ok((await c.getStream(name)) !== null);
      await c.deleteStream(name);
    } finally {
      await c.close();
    }
  });
});
