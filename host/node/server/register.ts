// The session handshake (iggy-client-wire.md §4): Register with a password or a personal access token. The
// credentials are checked here against the committed users; the session itself is opened by shard 0's
// metadata group (a VSR Register), whose number the client echoes from then on.
import { Lifecycle, Variant } from '../../shared/frames.js';
import { Writer, utf8 } from '../../shared/wire/buffer.js';
import { EvictionReason } from '../../shared/wire/codes.js';
import type { RequestHeader } from '../../shared/wire/header.js';
import { resultSuccess } from '../../shared/wire/result.js';
import { SERVER_PROTOCOL_VERSION, SERVER_PROTOCOL_VERSION_MIN, authenticateRegister } from '../metadata/users-api.js';
import type { AssignmentViews } from '../metadata/groups.js';
import type { Credential, SessionCredential } from '../metadata/session-credentials.js';
import type { ShardContext } from './context.js';
import { decodeRegisterReply, encodeRegister } from './shard-protocol.js';

// A logged-in connection: its VSR session and what it logged in with (it ends when that is revoked).
export interface Binding extends SessionCredential {
  session: bigint;
  views: AssignmentViews; // the group assignments its Syncs returned (../metadata/groups.ts)
}

export type RegisterResult =
  | { kind: 'bound'; binding: Binding; body: Uint8Array }
  | { kind: 'evict'; reason: number; versionMax?: number; versionMin?: number; username?: string };

export async function handleRegister(ctx: ShardContext, current: Binding | null, h: RequestHeader, body: Uint8Array): Promise<RegisterResult> {
  const login = await authenticateRegister(ctx.state.users, body, Date.now() * 1000);
  if (!login.ok) {
    if (login.reason === EvictionReason.incompatibleProtocol) {
      return { kind: 'evict', reason: login.reason, versionMax: SERVER_PROTOCOL_VERSION, versionMin: SERVER_PROTOCOL_VERSION_MIN };
    }
    return { kind: 'evict', reason: login.reason, username: login.username };
  }
  // Still bound on this connection (no logout in between): the reference replays the live session, now held by
  // the credential just shown.
  if (current && current.userId === login.userId) {
    const binding = { ...current, credential: login.credential };
    return { kind: 'bound', binding, body: registered(binding) };
  }
  const binding = await openSession(ctx, h.client, login.userId, login.credential);
  if (!binding) return { kind: 'evict', reason: EvictionReason.sessionError };
  return { kind: 'bound', binding, body: registered(binding) };
}

// The VSR Register in shard 0's metadata group: the session every later request of `client` echoes. Also how an
// HTTP caller's session is opened for the user and credential its token was issued for (../rest/jwt-sessions.ts).
export async function openSession(ctx: ShardContext, client: bigint, userId: number, credential: Credential): Promise<Binding | null> {
  const reply = decodeRegisterReply(await ctx.rpc.call(0, Variant.lifecycle, Lifecycle.metadataSubmit, encodeRegister(client)));
  if (reply.status !== 0 || reply.session === 0n) return null;
  return { client, session: reply.session, userId, credential, views: new WeakMap() };
}

// Result-framed LoginRegisterResponse: u32 user_id, u64 session, u32 server_protocol_version, WireName version.
function registered(b: Binding): Uint8Array {
  const version = utf8.encode('shardlog');
  const payload = new Writer(32).u32(b.userId).u64(b.session).u32(SERVER_PROTOCOL_VERSION).u8(version.length).bytes(version).finish();
  return resultSuccess(payload);
}
