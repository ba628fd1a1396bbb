// Which session serves a request carrying a token: the one its login opened (a Register through the request
// handler, as a binary client's), or, when that is gone (a restart, a session evicted or dropped for room), a new
// one opened for the same user and the same credential, provided the committed users still vouch for it
// (sessionRevoked). A changed password or a deleted token thus ends HTTP sessions as it ends binary ones.
import { createHash } from 'node:crypto';
import { registerWithToken } from '../../client/requests.js';
import { readLogin } from '../../client/responses.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import type { Credential } from '../metadata/session-credentials.js';
import type { UsersState } from '../metadata/users.js';
import type { ClientRequests } from '../server/client-requests.js';
import { type IssuedToken, type JwtIssuer, type TokenClaims, fingerprint } from './jwt-issuer.js';
import { LocalSession, type Outcome } from './local-session.js';
import { HttpError, refusal } from './rest-errors.js';
import { Code } from './commands.js';

// Sessions kept for tokens; past this the least recently used is closed (its token reopens one when it comes back).
const MAX_SESSIONS = 1024;
// HTTP sessions' connection ids, apart from the TCP connections' (which count up from the shard number).
const ID_BASE = 0x4000_0000;

export interface Identity {
  user_id: number;
  access_token: IssuedToken;
  refresh_token: IssuedToken;
}

export class JwtSessions {
  private readonly byJti = new Map<string, LocalSession>();
  private readonly expiries = new Map<string, number>(); // jti -> exp (s): a session outlives its token by nothing
  private readonly opening = new Map<string, Promise<LocalSession>>();
  private seq = 0;

  constructor(private readonly requests: ClientRequests, private readonly users: () => UsersState, readonly issuer: JwtIssuer) {}

  // Login (code 40, password) or token login (code 45): the Register runs through the request handler on a new
  // session (login throttle and all); the tokens issued name the credential it bound.
  async login(code: number, body: Uint8Array, address: string): Promise<Identity> {
    const session = this.open(address);
    const outcome = await session.register(code, body);
    const binding = outcome.ok ? this.requests.bindingOf(session.id) : null;
    if (!outcome.ok || !binding) {
      session.close();
      throw refusal(outcome.ok ? ErrorCode.unauthenticated : outcome.code, 'login refused');
    }
    const { identity, accessJti } = await this.identity(readLogin(outcome.payload).userId, credentialClaim(binding.credential));
    this.byJti.set(accessJti, session);
    this.expiries.set(accessJti, identity.access_token.expiry);
    this.trim();
    return identity;
  }

  // New tokens for a valid refresh token, which is revoked (used once) before anything is awaited: a second request
  // with the same token, verified meanwhile, finds it revoked here.
  async refresh(claims: TokenClaims): Promise<Identity> {
    if (!this.issuer.claim(claims)) throw new HttpError(401, ErrorCode.unauthenticated, 'the refresh token was revoked (logged out or refreshed)', 'token');
    return (await this.identity(claims.userId, claims.cred)).identity;
  }

  async sessionFor(claims: TokenClaims, address: string): Promise<LocalSession> {
    const kept = this.byJti.get(claims.jti);
    if (kept?.bound) {
      this.byJti.delete(claims.jti); // re-inserted: the map's order is the least recently used first
      this.byJti.set(claims.jti, kept);
      return kept;
    }
    // Requests with one token that arrive together share the one session being opened.
    const opening = this.opening.get(claims.jti);
    if (opening) return opening;
    const reopened = this.reopen(claims, address).finally(() => this.opening.delete(claims.jti));
    this.opening.set(claims.jti, reopened);
    return reopened;
  }

  private async reopen(claims: TokenClaims, address: string): Promise<LocalSession> {
    this.drop(claims.jti);
    const credential = this.credentialOf(claims);
    const session = this.open(address);
    const bound = await this.requests.openTrusted(session, session.clientId, claims.userId, credential);
    if (typeof bound === 'string') {
      session.close();
      throw new HttpError(401, ErrorCode.unauthenticated, `the token's session cannot be opened: ${bound}`);
    }
    session.adopt(bound.session);
    this.byJti.set(claims.jti, session);
    this.expiries.set(claims.jti, claims.exp);
    this.trim();
    return session;
  }

  // A raw personal access token as the bearer: its session is a token Register through the handler (the login
  // throttle counts a wrong one), kept under the token's hash while the token logs in.
  async sessionForPat(token: string, address: string): Promise<LocalSession> {
    const key = `pat:${createHash('sha256').update(token).digest('base64url')}`;
    const kept = this.byJti.get(key);
    if (kept?.bound) return kept;
    const opening = this.opening.get(key);
    if (opening) return opening;
    const registered = (async () => {
      this.drop(key);
      const session = this.open(address);
      const outcome = await session.register(Code.loginRegisterWithToken, registerWithToken(token));
      if (!outcome.ok) {
        session.close();
        throw new HttpError(401, outcome.code, 'Authorization: the personal access token does not log in', 'authorization');
      }
      this.byJti.set(key, session);
      this.trim();
      return session;
    })().finally(() => this.opening.delete(key));
    this.opening.set(key, registered);
    return registered;
  }

  // Logout: the session ends (a Logout through the handler, leaving its consumer groups) and the token is revoked
  // with the refresh token issued with it, which could mint new ones otherwise (a raw personal access token stays
  // valid: it is deleted at DELETE /personal-access-tokens/{name}).
  async logout(claims: TokenClaims | null, session: LocalSession): Promise<Outcome> {
    const outcome = await session.command(Code.logout);
    for (const [key, s] of this.byJti) if (s === session) this.drop(key);
    if (claims) this.issuer.revoke(claims, ...(claims.refresh ? [claims.refresh] : []));
    return outcome;
  }

  private async identity(userId: number, cred: string): Promise<{ identity: Identity; accessJti: string }> {
    const refresh = await this.issuer.issue('refresh', userId, cred);
    const access = await this.issuer.issue('access', userId, cred, { jti: refresh.jti, exp: refresh.issued.expiry });
    return { identity: { user_id: userId, access_token: access.issued, refresh_token: refresh.issued }, accessJti: access.jti };
  }

  // What the token's login bound, found again in the committed users: the current password hash if the
  // fingerprint still matches it, the personal access token whose hash matches; otherwise a credential that
  // sessionRevoked refuses, so the refusal reads the same as a binary session's.
  private credentialOf(claims: TokenClaims): Credential {
    const [kind, print] = [claims.cred.slice(0, 2), claims.cred.slice(2)];
    const user = this.users().get(claims.userId);
    if (kind === 't:') {
      for (const pat of user?.tokens.values() ?? []) if (fingerprint(pat.tokenHash) === print) return { kind: 'token', tokenHash: pat.tokenHash };
      return { kind: 'token', tokenHash: '' };
    }
    if (user && fingerprint(user.passwordHash) === print) return { kind: 'password', passwordHash: user.passwordHash };
    return { kind: 'password', passwordHash: '' };
  }

  private open(address: string): LocalSession {
    this.seq = (this.seq + 1) % ID_BASE;
    return new LocalSession(ID_BASE + this.seq, address, this.requests);
  }

  private drop(jti: string): void {
    const session = this.byJti.get(jti);
    this.expiries.delete(jti);
    if (!session) return;
    this.byJti.delete(jti);
    session.close();
  }

  // Sessions of expired tokens go; past the bound, the least recently used too.
  private trim(): void {
    const now = Date.now() / 1000;
    for (const [jti, exp] of this.expiries) if (exp <= now) this.drop(jti);
    while (this.byJti.size > MAX_SESSIONS) this.drop(this.byJti.keys().next().value!);
  }

  closeAll(): void {
    for (const jti of [...this.byJti.keys()]) this.drop(jti);
  }
}

function credentialClaim(c: Credential): string {
  return c.kind === 'password' ? `p:${fingerprint(c.passwordHash)}` : `t:${fingerprint(c.tokenHash)}`;
}
