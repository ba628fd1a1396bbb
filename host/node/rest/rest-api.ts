// The HTTP REST API on the serving shard (Iggy's routes and JSON): the main thread's HTTP listener hands every
// request other than /health and /metrics here (../http.ts). Each route turns its input into the command a binary
// client would send and runs it on the caller's session through the binary request handler (local-session.ts), so
// permissions, consensus and the partition owners are the binary protocol's own; then renders the reply as JSON.
import { ErrorCode } from '../../shared/wire/codes.js';
import { logger } from '../../shared/log.js';
import { WireError } from '../../shared/wire/buffer.js';
import type { ClientRequests } from '../server/client-requests.js';
import type { UsersState } from '../metadata/users.js';
import { JwtIssuer, TokenProblem, type JwtSettings, type TokenClaims } from './jwt-issuer.js';
import { JwtSessions } from './jwt-sessions.js';
import type { LocalSession } from './local-session.js';
import { HttpError, HttpErrorId, badInput, refusal } from './rest-errors.js';
import { toJson } from './json-output.js';
import { ROUTES } from './routes.js';
import type { Call, Route, RouteReply } from './route.js';
import type { Hash64 } from '../../client/batch.js';

const log = logger('http');

// What the main thread forwards, and what goes back.
export interface RestRequest {
  id: number;
  method: string;
  path: string;
  query: string;
  authorization: string | null;
  body: Uint8Array | null;
  address: string;
}

export interface RestReply {
  id: number;
  route?: string; // the matched route as `METHOD /path/:param` (bounded, for http_requests_total); absent: none matched
  status: number;
  contentType: string;
  body: Uint8Array | string;
}

interface Compiled extends Route {
  pattern: RegExp;
  names: string[];
}

export class RestApi {
  private readonly routes: Compiled[];
  private readonly sessions: JwtSessions;

  constructor(requests: ClientRequests, users: () => UsersState, jwt: JwtSettings, private readonly hash: Hash64) {
    this.sessions = new JwtSessions(requests, users, JwtIssuer.open(jwt));
    this.routes = ROUTES.map((r) => {
      const names: string[] = [];
      const source = r.path.split('/').map((s) => (s.startsWith(':') ? (names.push(s.slice(1)), '([^/]+)') : s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))).join('/');
      return { ...r, names, pattern: new RegExp(`^${source}/?$`) };
    });
  }

  async handle(req: RestRequest): Promise<RestReply> {
    const matched: { route?: string } = {};
    try {
      const reply = await this.dispatch(req, matched);
      const id = req.id;
      const route = matched.route;
      if (reply.status === 204) return { id, route, status: 204, contentType: 'text/plain', body: '' };
      if (reply.bytes) return { id, route, status: reply.status, contentType: reply.contentType ?? 'application/octet-stream', body: reply.bytes };
      if (reply.jsonText !== undefined) return { id, route, status: reply.status, contentType: 'application/json', body: reply.jsonText };
      if (reply.text !== undefined) return { id, route, status: reply.status, contentType: 'text/plain; charset=utf-8', body: reply.text };
      return { id, route, status: reply.status, contentType: 'application/json', body: JSON.stringify(toJson(reply.json)) };
    } catch (error) {
      const refused = asHttpError(error);
      if (refused.status >= 500) log.warn(`${req.method} ${req.path}: ${refused.message}`);
      return { id: req.id, route: matched.route, status: refused.status, contentType: 'application/json', body: JSON.stringify(refused.toJSON()) };
    }
  }

  close(): void {
    this.sessions.closeAll();
  }

  private async dispatch(req: RestRequest, matched: { route?: string }): Promise<RouteReply> {
    let methodMismatch = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(req.path);
      if (!m) continue;
      if (route.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      const params = Object.fromEntries(route.names.map((n, i) => [n, m[i + 1]]));
      matched.route = `${route.method} ${route.path}`;
      return route.handle(await this.call(route, req, params));
    }
    if (methodMismatch) throw new HttpError(405, HttpErrorId.methodNotAllowed, `${req.method} is not allowed on ${req.path}`);
    throw new HttpError(404, HttpErrorId.notFound, `no route ${req.method} ${req.path}`);
  }

  private async call(route: Route, req: RestRequest, params: Record<string, string>): Promise<Call> {
    const auth = route.public ? null : await this.authenticate(req.authorization, req.address);
    const claims = auth?.claims ?? null;
    const session = auth?.session ?? null;
    return {
      params, query: new URLSearchParams(req.query), body: req.body, address: req.address, claims, sessions: this.sessions, hash: this.hash,
      get session(): LocalSession {
        if (!session) throw new Error('a public route has no session');
        return session;
      },
      run: async (code, body, what) => {
        if (!session) throw new Error('a public route has no session');
        const outcome = await session.command(code, body);
        if (!outcome.ok) throw refusal(outcome.code, what);
        return outcome.payload;
      },
    };
  }

  // The bearer is an access token (a JWT) or, as Iggy accepts, a raw personal access token.
  private async authenticate(header: string | null, address: string): Promise<{ claims: TokenClaims | null; session: LocalSession }> {
    const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) throw new HttpError(401, ErrorCode.unauthenticated, header ? 'Authorization: expected "Bearer <access token>"' : 'Authorization: missing (log in at POST /users/login)', 'authorization');
    if (!m[1].includes('.')) return { claims: null, session: await this.sessions.sessionForPat(m[1], address) };
    let claims: TokenClaims;
    try {
      claims = await this.sessions.issuer.verify(m[1], 'access');
    } catch (error) {
      if (error instanceof TokenProblem) throw new HttpError(401, ErrorCode.unauthenticated, error.message, 'authorization');
      throw error;
    }
    return { claims, session: await this.sessions.sessionFor(claims, address) };
  }
}

// Encoders refuse values the wire cannot carry (a name over 255 bytes) with RangeError or WireError: bad input.
function asHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof RangeError || error instanceof WireError) return badInput('body', error.message);
  return new HttpError(500, ErrorCode.error, `internal error: ${(error as Error).message}`);
}
