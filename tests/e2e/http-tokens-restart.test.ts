// REST tokens across a restart: the secret generated on first start is kept (mode 0600) so a token issued before
// still works (its session is reopened for the same credential), a logged-out token (and the refresh token issued
// with it) stays refused, and a token
// whose password was changed is refused like a binary session of that password.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bootServer, stopServer, tempDir, withTimeout, type RunningServer } from './helpers/server.js';
import { BOOT_BOUND_MS } from './helpers/protocol.js';
import { Rest } from './helpers/rest.js';

// A server on `dataDir` once its REST API answers (on fresh ports if a picked one was taken: bootServer).
async function boot(dataDir: string): Promise<{ server: RunningServer; rest: Rest }> {
  const ping = async (server: RunningServer) => (await new Rest(`http://${server.httpAddress}`).call('GET', '/ping', undefined, { token: null })).status === 200;
  const server = await bootServer(['--shards', '1', '--data-dir', dataDir], {}, { ready: ping, boundMs: BOOT_BOUND_MS });
  return { server, rest: new Rest(`http://${server.httpAddress}`) };
}

describe('http: tokens across a restart', () => {
  const dataDir = tempDir('http-restart');
  let running: RunningServer | null = null;
  after(async () => {
    if (running) await stopServer(running);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the generated secret, reopens sessions for valid tokens, keeps revocations and password changes', async () => {
    const first = await boot(dataDir);
    running = first.server;
    const root = first.rest;
    assert.equal((await root.login()).status, 200);
    const secret = fs.statSync(path.join(dataDir, 'http-jwt-secret'));
    assert.equal(secret.mode & 0o777, 0o600, 'the generated secret is readable by the server user only');
    const created = await root.call('POST', '/users', { username: 'carol', password: 'pw-1', permissions: { global: { read_streams: true } } });
    assert.equal(created.status, 201, created.text);
    const carol = new Rest(root.base);
    assert.equal((await carol.login('carol', 'pw-1')).status, 200);
    const loggedOut = new Rest(root.base);
    const loggedOutLogin = await loggedOut.login();
    assert.equal((await loggedOut.call('DELETE', '/users/logout')).status, 204);

    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM')).code, 0, first.server.output());
    const second = await boot(dataDir);
    running = second.server;
    for (const client of [root, carol, loggedOut]) client.base = second.rest.base;

    assert.equal((await root.call('GET', '/streams')).status, 200, 'a token from before the restart');
    assert.equal((await carol.call('GET', '/streams')).status, 200);
    const revoked = await loggedOut.call('GET', '/streams');
    assert.equal(revoked.status, 401);
    assert.match(revoked.json.reason, /revoked/);
    const refreshAfterLogout = await loggedOut.call('POST', '/users/refresh-token', { token: loggedOutLogin.json.refresh_token.token }, { token: null });
    assert.equal(refreshAfterLogout.status, 401, 'the logged-out login\'s refresh token stays revoked across the restart');
    assert.match(refreshAfterLogout.json.reason, /revoked/);

    const changed = await root.call('PUT', `/users/${created.json.id}/password`, { current_password: 'pw-1', new_password: 'pw-2' });
    assert.equal(changed.status, 204, changed.text);
    const refused = await carol.call('GET', '/streams');
    assert.equal(refused.status, 401, 'the password it logged in with was changed');
    assert.equal((await carol.login('carol', 'pw-2')).status, 200);
    assert.equal((await carol.call('GET', '/streams')).status, 200);
  });
});
