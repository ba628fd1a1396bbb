// REST token refresh and logout without a server: the refresh route run twice at once with one refresh token
// (both verified before either issues tokens) mints exactly one pair, and logout with an access token revokes the
// refresh token issued with it, in the revocation list a restart reads back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { JwtIssuer, TokenProblem } from '../../../host/node/rest/jwt-issuer.js';
import { JwtSessions } from '../../../host/node/rest/jwt-sessions.js';
import type { LocalSession } from '../../../host/node/rest/local-session.js';
import type { Call } from '../../../host/node/rest/route.js';
import { AUTH_ROUTES } from '../../../host/node/rest/routes-auth.js';
import type { ClientRequests } from '../../../host/node/server/client-requests.js';
import type { UsersState } from '../../../host/node/metadata/users.js';
import { tempDir } from '../helpers.js';

const dataDir = tempDir('jwt-refresh');
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
const settings = { secret: 'a-jwt-secret-of-at-least-32-bytes', accessExpirySeconds: 3600, refreshExpirySeconds: 7200, dataDir };
// Refresh and logout use only the issuer; sessions (the request handler, the users) are not reached.
const sessionsOf = (issuer: JwtIssuer) => new JwtSessions(null as unknown as ClientRequests, () => new Map() as unknown as UsersState, issuer);
const refreshRoute = AUTH_ROUTES.find((r) => r.path === '/users/refresh-token')!;
const refreshCall = (sessions: JwtSessions, token: string) =>
  ({ body: new TextEncoder().encode(JSON.stringify({ token })), sessions, address: '127.0.0.1:1' }) as unknown as Call;

test('two refreshes at once with one refresh token: exactly one gets new tokens, the other 401', async () => {
  const sessions = sessionsOf(JwtIssuer.open(settings));
  const { issued } = await sessions.issuer.issue('refresh', 7, 'p:x');
  // The schedule that loses a use: both requests' verify (async) returns before either route goes on to refresh.
  const verify = sessions.issuer.verify.bind(sessions.issuer);
  let verified = 0;
  let bothVerified!: () => void;
  const gate = new Promise<void>((resolve) => { bothVerified = resolve; });
  sessions.issuer.verify = async (token, kind) => {
    const claims = await verify(token, kind);
    if (++verified === 2) bothVerified();
    await gate;
    return claims;
  };
  const results = await Promise.allSettled([refreshRoute.handle(refreshCall(sessions, issued.token)), refreshRoute.handle(refreshCall(sessions, issued.token))]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.equal(refused.reason.status, 401);
  assert.match(refused.reason.message, /revoked/);
});

test('logout revokes the refresh token issued with the access token, also after a restart', async () => {
  const sessions = sessionsOf(JwtIssuer.open(settings));
  const first = await sessions.issuer.issue('refresh', 7, 'p:x');
  const pair = (await refreshRoute.handle(refreshCall(sessions, first.issued.token))).json as { access_token: { token: string }; refresh_token: { token: string } };
  const claims = await sessions.issuer.verify(pair.access_token.token, 'access');
  const ended = { command: async () => ({ ok: true }) } as unknown as LocalSession;
  await sessions.logout(claims, ended);
  await assert.rejects(sessions.issuer.verify(pair.refresh_token.token, 'refresh'), (e: Error) => e instanceof TokenProblem && /revoked/.test(e.message));
  const restarted = JwtIssuer.open(settings);
  await assert.rejects(restarted.verify(pair.refresh_token.token, 'refresh'), /revoked/);
  await assert.rejects(restarted.verify(pair.access_token.token, 'access'), /revoked/);
});
