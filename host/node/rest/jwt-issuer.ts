// The HTTP API's tokens (JWT, HS256, signed with `jose`): an access token and a refresh token per login. The
// secret is configured (--jwt-secret) or generated once and kept in the data directory (mode 0600), so tokens
// survive a restart. A token's `cred` claim fingerprints the credential it was issued for (the password hash or the
// personal access token's hash), so a session reopened from it is judged like the login it came from
// (jwt-sessions.ts). Logout and refresh revoke tokens by id (`jti`) until they expire; the list is kept in the data
// directory too. An access token names the refresh token issued with it (`rjti`, `rexp`), so logout revokes both.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { logger } from '../../shared/log.js';

const log = logger('http');
const SECRET_FILE = 'http-jwt-secret';
const REVOKED_FILE = 'http-revoked-tokens.json';
const ISSUER = 'iggy.apache.org'; // issuer and audience as Iggy's tokens carry them
// Below this a configured secret is too weak for HS256 (RFC 7518 §3.2: a key of at least the hash's size).
export const MIN_SECRET_BYTES = 32;

export interface JwtSettings {
  secret: string | null;
  accessExpirySeconds: number;
  refreshExpirySeconds: number;
  dataDir: string;
}

export type TokenKind = 'access' | 'refresh';

export interface TokenId {
  jti: string;
  exp: number; // s since the epoch
}

export interface TokenClaims extends TokenId {
  userId: number;
  cred: string; // 'p:' or 't:' + fingerprint
  refresh?: TokenId; // an access token's: the refresh token issued with it
}

export interface IssuedToken { token: string; expiry: number } // expiry in s since the epoch, as Iggy's IdentityInfo

export class TokenProblem extends Error {}

export function fingerprint(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 22);
}

export class JwtIssuer {
  private readonly revoked = new Map<string, number>(); // jti -> exp

  private constructor(private readonly key: Uint8Array, private readonly settings: JwtSettings) {
    this.loadRevoked();
  }

  static open(settings: JwtSettings): JwtIssuer {
    return new JwtIssuer(settings.secret !== null ? Buffer.from(settings.secret, 'utf8') : storedSecret(settings.dataDir), settings);
  }

  // The token and its id (the id is not shown to the caller: it is in the token). An access token is issued after
  // its refresh token and names it (`refresh`), so that logging out with the one revokes the other.
  async issue(kind: TokenKind, userId: number, cred: string, refresh?: TokenId): Promise<{ issued: IssuedToken; jti: string }> {
    const seconds = kind === 'access' ? this.settings.accessExpirySeconds : this.settings.refreshExpirySeconds;
    const expiry = Math.floor(Date.now() / 1000) + seconds;
    const jti = randomUUID();
    const link = refresh ? { rjti: refresh.jti, rexp: refresh.exp } : {};
    const token = await new SignJWT({ cred, typ: kind, ...link }).setProtectedHeader({ alg: 'HS256' }).setSubject(String(userId))
      .setJti(jti).setIssuer(ISSUER).setAudience(ISSUER).setIssuedAt().setExpirationTime(expiry).sign(this.key);
    return { issued: { token, expiry }, jti };
  }

  // The claims of a valid token of `kind`, or TokenProblem saying what is wrong with it.
  async verify(token: string, kind: TokenKind): Promise<TokenClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER, audience: ISSUER }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenProblem(`the ${kind} token expired`);
      throw new TokenProblem(`the ${kind} token is not valid (${(error as Error).message})`);
    }
    const userId = Number(payload.sub);
    if (payload.typ !== kind || !Number.isInteger(userId) || typeof payload.cred !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
      throw new TokenProblem(`not an ${kind} token`);
    }
    if (this.revoked.has(payload.jti)) throw new TokenProblem(`the ${kind} token was revoked (logged out or refreshed)`);
    const refresh = typeof payload.rjti === 'string' && typeof payload.rexp === 'number' ? { jti: payload.rjti, exp: payload.rexp } : undefined;
    return { userId, cred: payload.cred, jti: payload.jti, exp: payload.exp, ...(refresh ? { refresh } : {}) };
  }

  revoke(...tokens: TokenId[]): void {
    for (const { jti, exp } of tokens) this.revoked.set(jti, exp);
    this.saveRevoked();
  }

  // Revokes a token unless it already was, in one synchronous step: of two requests verified concurrently with one
  // refresh token (verify awaits), only the first to get here uses it.
  claim(token: TokenId): boolean {
    if (this.revoked.has(token.jti)) return false;
    this.revoke(token);
    return true;
  }

  private loadRevoked(): void {
    const file = path.join(this.settings.dataDir, REVOKED_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return; // none yet
    }
    try {
      const now = Date.now() / 1000;
      for (const [jti, exp] of Object.entries(JSON.parse(text) as Record<string, number>)) if (exp > now) this.revoked.set(jti, exp);
    } catch (error) {
      // Unreadable: refuse every token issued before (a new secret would too), rather than accept revoked ones.
      throw new Error(`${file} is damaged (${(error as Error).message}); remove it and ${SECRET_FILE} to invalidate every issued token`);
    }
  }

  // Expired entries are dropped as the list is written: a token past its expiry is refused anyway.
  private saveRevoked(): void {
    const now = Date.now() / 1000;
    for (const [jti, exp] of this.revoked) if (exp <= now) this.revoked.delete(jti);
    const file = path.join(this.settings.dataDir, REVOKED_FILE);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.revoked)), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
}

function storedSecret(dataDir: string): Uint8Array {
  const file = path.join(dataDir, SECRET_FILE);
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(64);
  fs.writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  log.info(`generated the HTTP API's JWT secret in ${file} (mode 0600); set --jwt-secret to choose one`);
  return secret;
}
