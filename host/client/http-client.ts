// HttpClient: the SDK over shardlog's (and Iggy's) HTTP REST API, on an undici Pool (keep-alive connections reused
// across requests, `connections` of them at most). The same methods and return types as IggyClient for what the
// REST API has; a refusal is the same IggyError, with the Iggy code the server's JSON error carries (`id`).
// Login with a password or a personal access token yields a JWT pair; the access token is refreshed (the refresh
// token is used once) shortly before it expires, and when refreshing fails the client logs in again with the
// credentials it has. Group membership and GetMe use shardlog's own routes (Iggy's REST API has none: its HTTP
// client refuses them); stream options and checksum verification, which the JSON cannot carry, fail with
// IggyError FeatureUnavailable.
import { Pool } from 'undici';
import { ErrorCode } from '../shared/wire/codes.js';
import type { Permissions } from '../shared/wire/permissions.js';
import type { TlvEntry } from '../shared/wire/primitives.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, parseAddress, type TlsOptions } from './connection.js';
import { ConnectionClosed, IggyError, RequestTimeout } from './errors.js';
import type { PolledMessages } from './batch.js';
import { fromJson, messageJson, partitioningJson, permissionsJson, polledOf, u64Of, userOf } from './http-json.js';
import type { MessagingClient } from './messaging-client.js';
import * as req from './requests.js';
import type * as res from './responses.js';

export interface HttpConnectOptions {
  address: string; // host:port of the HTTP listener, or a URL (http://… or https://…)
  username?: string;
  password?: string;
  token?: string; // a personal access token; used when no username is given
  tls?: TlsOptions; // HTTPS, checking the server's certificate against tls.ca
  timeoutMs?: number; // per request [30 s]
  connections?: number; // the pool's keep-alive connections [8]
  refreshBeforeMs?: number; // refresh the access token this long before it expires [60 s]
}

interface Tokens { access: string; accessExpiryMs: number; refresh: string }
interface Identity { user_id: number; access_token: { token: string; expiry: number }; refresh_token: { token: string; expiry: number } }
type Credentials = { kind: 'password'; username: string; password: string } | { kind: 'token'; token: string };
type Query = Record<string, string | number | boolean | undefined | null>;

const path = (...ids: req.Id[]): string => ids.map((id) => encodeURIComponent(String(id))).join('/');
const topicPath = (stream: req.Id, topic: req.Id): string => `/streams/${path(stream)}/topics/${path(topic)}`;
const memberPath = (stream: req.Id, topic: req.Id, group: req.Id): string => `${topicPath(stream, topic)}/consumer-groups/${path(group)}/members/me`;
const consumerKind = (c: req.ConsumerInput | undefined) => (c?.kind === 'group' ? 'consumer_group' : 'consumer');

export class HttpClient implements MessagingClient {
  private tokens: Tokens | null = null;
  private credentials: Credentials | null = null;
  private refreshing: Promise<void> | null = null;
  private _userId: number | null = null;

  private constructor(private readonly pool: Pool, readonly origin: string, private readonly options: HttpConnectOptions) {}

  static async connect(options: HttpConnectOptions): Promise<HttpClient> {
    const origin = originOf(options.address, options.tls !== undefined);
    const timeout = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const pool = new Pool(origin, {
      connections: options.connections ?? 8,
      headersTimeout: timeout, bodyTimeout: timeout,
      connect: options.tls ? { ...options.tls, servername: options.tls.servername ?? serverNameOf(origin) } : undefined,
    });
    const client = new HttpClient(pool, origin, options);
    try {
      if (options.username !== undefined) await client.login(options.username, options.password ?? '');
      else if (options.token !== undefined) await client.loginWithToken(options.token);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get userId(): number | null { return this._userId; }
  get accessToken(): string | null { return this.tokens?.access ?? null; }

  async close(): Promise<void> {
    await this.pool.close();
  }

  // --- session: JWTs

  async login(username: string, password: string): Promise<res.LoginResult> {
    return this.loginAs({ kind: 'password', username, password });
  }

  async loginWithToken(token: string): Promise<res.LoginResult> {
    return this.loginAs({ kind: 'token', token });
  }

  private async loginAs(credentials: Credentials): Promise<res.LoginResult> {
    const [route, body] = credentials.kind === 'password'
      ? ['/users/login', { username: credentials.username, password: credentials.password }]
      : ['/personal-access-tokens/login', { token: credentials.token }];
    this.adopt(await this.send<Identity>('POST', route, { body, anonymous: true }));
    this.credentials = credentials;
    return { userId: this._userId!, session: 0n, serverProtocolVersion: 0, serverVersion: '' };
  }

  // Revokes the access token; the client keeps no credentials afterwards.
  async logout(): Promise<void> {
    const had = this.tokens !== null;
    try {
      if (had) await this.send('DELETE', '/users/logout');
    } finally {
      this.tokens = null;
      this.credentials = null;
      this._userId = null;
    }
  }

  // New tokens for the refresh token now (the client does this by itself before the access token expires).
  refreshToken(): Promise<void> {
    this.refreshing ??= this.renew().finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  private async renew(): Promise<void> {
    if (!this.tokens) throw new IggyError(ErrorCode.unauthenticated, 'not logged in');
    try {
      this.adopt(await this.send<Identity>('POST', '/users/refresh-token', { body: { token: this.tokens.refresh }, anonymous: true }));
    } catch (error) {
      // A refresh token refused (expired, revoked, a restarted server with another secret): log in again if we can.
      if (!(error instanceof IggyError) || !this.credentials) throw error;
      await this.loginAs(this.credentials);
    }
  }

  private adopt(identity: Identity): void {
    this.tokens = { access: identity.access_token.token, accessExpiryMs: identity.access_token.expiry * 1000, refresh: identity.refresh_token.token };
    this._userId = identity.user_id;
  }

  private async bearer(): Promise<string> {
    if (!this.tokens) throw new IggyError(ErrorCode.unauthenticated, 'not logged in (login or loginWithToken first)');
    if (this.tokens.accessExpiryMs - Date.now() < (this.options.refreshBeforeMs ?? 60_000)) await this.refreshToken();
    return this.tokens.access;
  }

  // --- transport

  private async send<T>(method: string, route: string, o: { body?: unknown; query?: Query; anonymous?: boolean; raw?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = {};
    if (!o.anonymous) headers.authorization = `Bearer ${await this.bearer()}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    let reply;
    try {
      reply = await this.pool.request({
        method: method as 'GET', path: route + queryString(o.query), headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      });
    } catch (error) {
      throw transportError(error as Error, this.options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    }
    if (reply.statusCode === 204) {
      await reply.body.dump();
      return undefined as T;
    }
    if (o.raw && reply.statusCode < 300) return new Uint8Array(await reply.body.arrayBuffer()) as T;
    const text = await reply.body.text();
    if (reply.statusCode >= 300) throw httpRefusal(reply.statusCode, text);
    const type = String(reply.headers['content-type'] ?? '');
    return (type.startsWith('application/json') ? JSON.parse(text) : text) as T;
  }

  private get<T>(route: string, query?: Query): Promise<T> { return this.send<T>('GET', route, { query }); }

  // A single-object read: null for 404, as IggyClient's "not found".
  private async maybe<T>(route: string, query?: Query): Promise<T | null> {
    try {
      return await this.get<T>(route, query);
    } catch (error) {
      if (error instanceof HttpRefusal && error.status === 404) return null;
      throw error;
    }
  }

  // --- system

  async ping(): Promise<void> { await this.send('GET', '/ping', { anonymous: true }); }
  async getStats(): Promise<res.Stats> { return fromJson(await this.get('/stats')); }
  async getClusterMetadata(): Promise<res.ClusterMetadata> { return fromJson(await this.get('/cluster/metadata')); }
  async getClients(): Promise<res.ClientInfo[]> { return fromJson(await this.get('/clients')); }
  async getClient(clientId: number): Promise<res.ClientDetails | null> { return fromJson(await this.maybe(`/clients/${clientId}`)); }
  async getMe(): Promise<res.ClientDetails> { return fromJson(await this.get('/me')); }

  getSnapshotFile(types: string[] = ['all'], compression: 'stored' | 'deflated' = 'deflated'): Promise<Uint8Array> {
    return this.send('POST', '/snapshot', { body: { compression, snapshot_types: types }, raw: true });
  }

  // --- users, permissions, tokens

  async getUsers(): Promise<res.UserInfo[]> { return (await this.get<Record<string, unknown>[]>('/users')).map(userOf); }

  async getUser(user: req.Id): Promise<res.UserDetails | null> {
    const found = await this.maybe<Record<string, unknown>>(`/users/${path(user)}`);
    return found && userOf(found);
  }

  async createUser(u: req.CreateUserInput): Promise<res.UserDetails> {
    const body = { username: u.username, password: u.password, status: statusName(u.status), permissions: permissionsJson(u.permissions) };
    return userOf(await this.send('POST', '/users', { body }));
  }

  async deleteUser(user: req.Id): Promise<void> { await this.send('DELETE', `/users/${path(user)}`); }

  async updateUser(user: req.Id, u: req.UpdateUserInput): Promise<void> {
    await this.send('PUT', `/users/${path(user)}`, { body: { username: u.username, status: statusName(u.status) } });
  }

  async updatePermissions(user: req.Id, permissions: Permissions | null): Promise<void> {
    await this.send('PUT', `/users/${path(user)}/permissions`, { body: { permissions: permissionsJson(permissions) } });
  }

  async changePassword(user: req.Id, current: string, next: string): Promise<void> {
    await this.send('PUT', `/users/${path(user)}/password`, { body: { current_password: current, new_password: next } });
  }

  async getTokens(): Promise<res.TokenInfo[]> {
    const list = await this.get<{ name: string; expiry_at: number | string | null }[]>('/personal-access-tokens');
    return list.map((t) => ({ name: t.name, expiryAt: t.expiry_at === null ? 0n : u64Of(t.expiry_at) }));
  }

  // `expiry` in µs as IggyClient's (0 = the server's default); the REST API takes whole seconds.
  async createToken(name: string, expiry = 0n): Promise<string> {
    return (await this.send<{ token: string }>('POST', '/personal-access-tokens', { body: { name, expiry: expiry / 1_000_000n } })).token;
  }

  async deleteToken(name: string): Promise<void> { await this.send('DELETE', `/personal-access-tokens/${encodeURIComponent(name)}`); }

  // --- streams, topics, partitions

  async getStreams(): Promise<res.Stream[]> { return fromJson(await this.get('/streams')); }
  async getStream(stream: req.Id): Promise<res.StreamDetails | null> { return fromJson(await this.maybe(`/streams/${path(stream)}`)); }

  async createStream(name: string, options: TlvEntry[] = []): Promise<res.Stream> {
    if (options.length > 0) return unavailable('stream options over HTTP');
    return fromJson(await this.send('POST', '/streams', { body: { name } }));
  }

  async updateStream(stream: req.Id, name: string): Promise<void> { await this.send('PUT', `/streams/${path(stream)}`, { body: { name } }); }
  async deleteStream(stream: req.Id): Promise<void> { await this.send('DELETE', `/streams/${path(stream)}`); }
  async purgeStream(stream: req.Id): Promise<void> { await this.send('DELETE', `/streams/${path(stream)}/purge`); }

  async getTopics(stream: req.Id): Promise<res.Topic[]> { return fromJson(await this.get(`/streams/${path(stream)}/topics`)); }
  async getTopic(stream: req.Id, topic: req.Id): Promise<res.TopicDetails | null> { return fromJson(await this.maybe(topicPath(stream, topic))); }

  async createTopic(t: { stream: req.Id; name: string; partitionsCount: number; options?: TlvEntry[] }): Promise<res.TopicDetails> {
    const body = { name: t.name, partitions_count: t.partitionsCount, ...topicOptionsJson(t.options) };
    return fromJson(await this.send('POST', `/streams/${path(t.stream)}/topics`, { body }));
  }

  async updateTopic(t: { stream: req.Id; topic: req.Id; name: string; options?: TlvEntry[] }): Promise<void> {
    await this.send('PUT', topicPath(t.stream, t.topic), { body: { name: t.name, ...topicOptionsJson(t.options) } });
  }

  async deleteTopic(stream: req.Id, topic: req.Id): Promise<void> { await this.send('DELETE', topicPath(stream, topic)); }
  async purgeTopic(stream: req.Id, topic: req.Id): Promise<void> { await this.send('DELETE', `${topicPath(stream, topic)}/purge`); }

  async createPartitions(stream: req.Id, topic: req.Id, count: number): Promise<void> {
    await this.send('POST', `${topicPath(stream, topic)}/partitions`, { body: { partitions_count: count } });
  }

  async deletePartitions(stream: req.Id, topic: req.Id, count: number): Promise<void> {
    await this.send('DELETE', `${topicPath(stream, topic)}/partitions`, { query: { partitions_count: count } });
  }

  async deleteSegments(stream: req.Id, topic: req.Id, partitionId: number, segmentsCount: number): Promise<void> {
    await this.send('DELETE', `${topicPath(stream, topic)}/partitions/${partitionId}`, { query: { segments_count: segmentsCount } });
  }

  // --- messages

  async sendMessages(send: req.SendInput): Promise<res.SendConfirmation[]> {
    const body = { partitioning: partitioningJson(send.partitioning), messages: send.messages.map(messageJson) };
    return fromJson(await this.send('POST', `${topicPath(send.stream, send.topic)}/messages`, { body }));
  }

  // The JSON carries each message's checksum but not the bytes it covers, so checksums cannot be verified here.
  async pollMessages(poll: req.PollInput & { verifyChecksums?: boolean }): Promise<PolledMessages> {
    if (poll.verifyChecksums) return unavailable('verifyChecksums over HTTP (the JSON reply has no message frames to hash)');
    const strategy = poll.strategy;
    const query: Query = {
      ...targetQuery(poll), kind: strategy.kind, value: 'value' in strategy ? strategy.value.toString() : undefined,
      count: poll.count, auto_commit: poll.autoCommit ?? false,
    };
    return polledOf(await this.get(`${topicPath(poll.stream, poll.topic)}/messages`, query));
  }

  // --- consumer offsets

  async getOffset(target: req.OffsetTarget): Promise<res.ConsumerOffset | null> {
    return fromJson(await this.maybe(`${topicPath(target.stream, target.topic)}/consumer-offsets`, targetQuery(target)));
  }

  async storeOffset(target: req.OffsetTarget, offset: bigint): Promise<void> {
    await this.send('PUT', `${topicPath(target.stream, target.topic)}/consumer-offsets`, { body: { ...targetQuery(target), offset } });
  }

  async deleteOffset(target: req.OffsetTarget): Promise<void> {
    const consumer = target.consumer ?? req.SINGLE_CONSUMER;
    const query = { consumer_kind: consumerKind(consumer), partition_id: target.partition ?? undefined };
    await this.send('DELETE', `${topicPath(target.stream, target.topic)}/consumer-offsets/${path(consumer.id)}`, { query });
  }

  // --- consumer groups

  async getGroups(stream: req.Id, topic: req.Id): Promise<res.ConsumerGroup[]> { return fromJson(await this.get(`${topicPath(stream, topic)}/consumer-groups`)); }

  async getGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<res.ConsumerGroupDetails | null> {
    return fromJson(await this.maybe(`${topicPath(stream, topic)}/consumer-groups/${path(group)}`));
  }

  async createGroup(stream: req.Id, topic: req.Id, name: string): Promise<res.ConsumerGroupDetails> {
    return fromJson(await this.send('POST', `${topicPath(stream, topic)}/consumer-groups`, { body: { name } }));
  }

  async deleteGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { await this.send('DELETE', `${topicPath(stream, topic)}/consumer-groups/${path(group)}`); }
  // Membership is the session of the access token (shardlog's routes; Iggy's REST API has none). A refreshed token
  // opens a new session, which is not a member: syncGroup then answers null and the Consumer joins again.
  async joinGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { await this.send('PUT', memberPath(stream, topic, group)); }
  async leaveGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { await this.send('DELETE', memberPath(stream, topic, group)); }

  // null when the caller is not a member of the group, as IggyClient's.
  async syncGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<res.GroupAssignment | null> {
    try {
      return fromJson(await this.get(memberPath(stream, topic, group)));
    } catch (error) {
      if (error instanceof IggyError && error.code === ErrorCode.consumerGroupMemberNotFound) return null;
      throw error;
    }
  }
}

// A non-2xx answer: the IggyError its JSON names (`id` is the Iggy code), with the HTTP status kept.
export class HttpRefusal extends IggyError {
  constructor(readonly status: number, code: number, reason: string, readonly field: string | null) {
    super(code, reason);
  }
}

function httpRefusal(status: number, text: string): HttpRefusal {
  let body: { id?: unknown; reason?: unknown; field?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not the server's JSON (a proxy's page): the status alone says what happened
  }
  const code = typeof body.id === 'number' ? body.id : ErrorCode.error;
  const reason = typeof body.reason === 'string' ? body.reason : `HTTP ${status}: ${text.slice(0, 200)}`;
  return new HttpRefusal(status, code, reason, typeof body.field === 'string' ? body.field : null);
}

// undici's failures as the binary client's: a timeout is RequestTimeout, anything else on the socket ConnectionClosed.
function transportError(error: Error & { code?: string }, timeoutMs: number): Error {
  if (error.code === 'UND_ERR_HEADERS_TIMEOUT' || error.code === 'UND_ERR_BODY_TIMEOUT') return new RequestTimeout(timeoutMs);
  return Object.assign(new ConnectionClosed(error.message), { cause: error });
}

function unavailable<T>(what: string): Promise<T> {
  return Promise.reject(new IggyError(ErrorCode.featureUnavailable, what));
}

function originOf(address: string, tls: boolean): string {
  if (/^https?:\/\//.test(address)) {
    const url = new URL(address);
    if (tls && url.protocol !== 'https:') throw new RangeError(`address ${address}: TLS options given for a plain http:// address`);
    return url.origin;
  }
  const { host, port } = parseAddress(address);
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

// The host to check the certificate for: none for an IP literal (SNI carries names only), as the TCP client does.
function serverNameOf(origin: string): string | undefined {
  const host = new URL(origin).hostname;
  return /^[\d.]+$/.test(host) || host.startsWith('[') ? undefined : host;
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const entries = Object.entries(q).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

function targetQuery(t: req.OffsetTarget) {
  const consumer = t.consumer ?? req.SINGLE_CONSUMER;
  return { consumer_id: String(consumer.id), consumer_kind: consumerKind(consumer), partition_id: t.partition ?? undefined };
}

const statusName = (s: number | undefined) => (s === undefined ? undefined : s === req.UserStatus.inactive ? 'inactive' : 'active');

// Topic options as the REST API's fields (u64 ones); an option it has no field for is refused rather than dropped.
function topicOptionsJson(options: TlvEntry[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const key = new TextDecoder().decode(o.key);
    if (key === 'message_expiry' || key === 'max_topic_size') out[key] = new DataView(o.value.buffer, o.value.byteOffset, 8).getBigUint64(0, true);
    else if (key === 'compression_algorithm') out[key] = new TextDecoder().decode(o.value);
    else throw new IggyError(ErrorCode.featureUnavailable, `topic option ${key} over HTTP`);
  }
  return out;
}

