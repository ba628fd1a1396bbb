// What a route is given and gives back (rest-api.ts matches and calls it; routes-*.ts are the routes).
import type { Hash64 } from '../../client/batch.js';
import type { TokenClaims } from './jwt-issuer.js';
import type { JwtSessions } from './jwt-sessions.js';
import type { LocalSession } from './local-session.js';

export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Uint8Array | null;
  address: string;
  session: LocalSession; // the caller's (for public routes: none, and using it throws)
  claims: TokenClaims | null; // null for public routes and a raw personal access token as the bearer
  sessions: JwtSessions;
  hash: Hash64; // xxh3-64 of the core, for the batches of sends
  // Runs command `code` on the caller's session; the payload, or the refusal as the binary protocol gave it.
  run(code: number, body: Uint8Array, what: string): Promise<Uint8Array>;
}

// `json` is converted by toJson (snake_case keys, u64s, bytes); `jsonText` is a body the route wrote itself.
export type RouteReply = { status: number; json?: unknown; jsonText?: string; bytes?: Uint8Array; text?: string; contentType?: string };

export interface Route {
  method: string;
  path: string; // segments; ':name' is a parameter
  public?: boolean;
  handle(call: Call): Promise<RouteReply>;
}

export const noContent: RouteReply = { status: 204 };
