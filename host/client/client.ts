// IggyClient: one method per command code of iggy-client-wire.md §3.3 over one lock-step connection. The header
// of each request is chosen from the command table (operation, request-number rule, session), and each reply goes
// through the SDK decode order of §2.3: eviction, status, operation, result section, payload.
import { encodeRequestHeader, type ServerFrame } from '../shared/wire/header.js';
import { ErrorCode, Operation, commandByCode, isKnownOperation, isResultFramed, type RequestRule } from '../shared/wire/codes.js';
import { parseResult } from '../shared/wire/result.js';
import { WireError } from '../shared/wire/buffer.js';
import type { Partitioning, PollingStrategy, TlvEntry } from '../shared/wire/primitives.js';
import type { Permissions } from '../shared/wire/permissions.js';
import { Connection, DEFAULT_REQUEST_TIMEOUT_MS, type TlsOptions } from './connection.js';
import { ConnectionClosed, EvictionError, IggyError, ReconnectFailed, RequestOutcomeUnknown, RequestTimeout } from './errors.js';
import { backoffMs, isRetrySafe, leaderToFollow, reconnectCandidates, reconnectPolicy, type ReconnectOptions, type ReconnectPolicy } from './reconnect.js';
import { Code } from './codes.js';
import { Session } from './session.js';
import { readPollReply, type MessageInput, type PolledMessages } from './batch.js';
import * as req from './requests.js';
import * as res from './responses.js';
import type { MessagingClient } from './messaging-client.js';

export interface ConnectOptions {
  address: string; // host:port of the TCP listener
  username?: string;
  password?: string;
  token?: string; // a personal access token; used when no username is given
  timeoutMs?: number; // per request; default 30 s like the SDKs
  // Ping this often while idle, as the SDKs do every 5 s: the server evicts consumer-group members that stay
  // silent for 36 s. 0 turns it off.
  heartbeatMs?: number;
  tls?: TlsOptions; // connect with TLS, checking the server's certificate against tls.ca
  // On a dropped connection: reconnect (capped backoff), log in again with the credentials above, resend the
  // request in flight when that is safe (reconnect.ts isRetrySafe) and fail it with RequestOutcomeUnknown when not.
  // Off by default: the protocol tests want to see every drop.
  reconnect?: ReconnectOptions | boolean;
  onReconnect?: (address: string, attempt: number) => void; // after each successful reconnect
  // Move to the leader the cluster metadata names when it is another node (iggy-client-wire.md §4.1 step 5) [true]
  followLeader?: boolean;
}

export const DEFAULT_HEARTBEAT_MS = 5_000;

const orNull = <T>(body: Uint8Array, read: (b: Uint8Array) => T): T | null => (body.length === 0 ? null : read(body));

type Credentials = { kind: 'password'; username: string; password: string } | { kind: 'token'; token: string };

// How a public call may be repeated after a drop: 'never' (logins, raw frames) or by the command's code.
type RetryRule = 'never' | { code: number; autoCommit?: boolean; strategy?: string };

export class IggyClient implements MessagingClient {
  private readonly session = new Session();
  private _userId: number | null = null;
  // The answer to the GetClusterMetadata the client sends after each login (as the SDKs do), or null if refused.
  cluster: res.ClusterMetadata | null = null;

  private pendingCalls = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private credentials: Credentials | null = null;
  private closing = false;
  private _reconnects = 0;
  private readonly policy: ReconnectPolicy | null;

  private constructor(private _connection: Connection, private _address = '', private readonly options: ConnectOptions = { address: _address }) {
    this.policy = reconnectPolicy(options.reconnect);
  }

  static async connect(options: ConnectOptions): Promise<IggyClient> {
    reconnectPolicy(options.reconnect); // a bad policy is refused before anything is dialled
    const client = new IggyClient(await Connection.open(options.address, timeoutOf(options), options.tls), options.address, options);
    client.startHeartbeat(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    try {
      if (options.username !== undefined) await client.login(options.username, options.password ?? '');
      else if (options.token !== undefined) await client.loginWithToken(options.token);
      await client.exclusive(() => client.moveToLeader());
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get connection(): Connection { return this._connection; }
  get address(): string { return this._address; } // where the client is connected now (the leader, once moved)
  get reconnects(): number { return this._reconnects; }
  get clientId(): bigint { return this.session.clientId; }
  get sessionNumber(): bigint | null { return this.session.session; }
  get userId(): number | null { return this._userId; }

  close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    return this._connection.close();
  }

  // Unref'd: a heartbeat alone never keeps the process alive. Its failures are not the caller's: the next real
  // call reports a dead connection. With reconnect on, a heartbeat on a dropped connection is what reconnects an
  // idle client (a consumer waiting for messages notices a restart this way).
  private startHeartbeat(ms: number): void {
    if (ms <= 0) return;
    this.heartbeat = setInterval(() => {
      if (this.pendingCalls === 0 && (this.policy || !this._connection.isClosed)) this.ping().catch(() => undefined);
    }, ms);
    this.heartbeat.unref();
    if (!this.policy) void this._connection.closed.then(() => clearInterval(this.heartbeat));
  }

  // --- the request path

  // Public calls run one after another, each with its header chosen when its turn comes: a login (Logout +
  // Register + GetClusterMetadata) is never interleaved with calls numbered for the session it replaces.
  private exclusive<T>(job: () => Promise<T>, retry: RetryRule = 'never'): Promise<T> {
    this.pendingCalls += 1;
    const result = this.tail.then(() => this.withReconnect(job, retry)).finally(() => { this.pendingCalls -= 1; });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private tail: Promise<unknown> = Promise.resolve();

  // A call that finds the connection already gone reconnects first (nothing of it was sent, so any call may go).
  // A call whose connection drops under it is sent again on the new connection only when that is safe.
  private async withReconnect<T>(job: () => Promise<T>, retry: RetryRule): Promise<T> {
    if (!this.policy) return job();
    for (let drops = 0; ; drops++) {
      if (this._connection.isClosed) await this.reconnect();
      try {
        return await job();
      } catch (error) {
        if (!isDrop(error) || this.closing) throw error;
        await this.reconnect();
        if (retry === 'never' || !isRetrySafe(retry.code, retry) || drops >= this.policy.retries) {
          throw new RequestOutcomeUnknown(commandByCode(retry === 'never' ? 0 : retry.code)?.name ?? 'request', retry === 'never' ? 0 : retry.code, error as Error);
        }
      }
    }
  }

  // Dials the candidates in turn with capped backoff, then logs in again as before and follows the leader. An
  // answer that refuses the credentials (an eviction, an Iggy error) ends it: retrying would not change it.
  private async reconnect(): Promise<void> {
    const policy = this.policy!;
    const candidates = reconnectCandidates(this.cluster, [this._address, this.options.address]);
    let last: Error = new ConnectionClosed('not connected');
    for (let attempt = 1; attempt <= policy.retries; attempt++) {
      if (this.closing) throw new ConnectionClosed('by the client');
      await delay(backoffMs(policy, attempt));
      const address = candidates[(attempt - 1) % candidates.length];
      try {
        await this.adopt(await Connection.open(address, timeoutOf(this.options), this.options.tls), address);
        await this.moveToLeader();
        this._reconnects += 1;
        this.options.onReconnect?.(this._address, attempt);
        return;
      } catch (error) {
        if (error instanceof EvictionError || error instanceof IggyError) throw error;
        last = error as Error;
      }
    }
    throw new ReconnectFailed(policy.retries, last);
  }

  // Takes over a freshly opened connection: the old session died with the old socket, so the client starts a new
  // one (new client id) and logs in with the credentials of the last successful login, if any.
  private async adopt(connection: Connection, address: string): Promise<void> {
    const old = this._connection;
    this._connection = connection;
    this._address = address;
    if (old !== connection) await old.close();
    this.session.reset();
    this._userId = null;
    this.cluster = null;
    if (!this.credentials) return;
    try {
      await this.register(registerBody(this.credentials));
    } catch (error) {
      if (error instanceof EvictionError || error instanceof IggyError) await connection.close();
      throw error;
    }
  }

  // After a login: when the metadata names another node as leader, moves there (one hop: the leader's own
  // metadata names itself).
  private async moveToLeader(): Promise<void> {
    if (this.options.followLeader === false) return;
    const leader = leaderToFollow(this.cluster, this._address);
    if (!leader) return;
    await this.adopt(await Connection.open(leader, timeoutOf(this.options), this.options.tls), leader);
  }

  // Sends a complete frame as is and returns the server's answer undecoded.
  raw(frame: Uint8Array): Promise<ServerFrame> {
    return this.exclusive(() => this._connection.request(frame));
  }

  // Sends `body` under command `code` with the header the SDKs would use (unknown codes go as NonReplicated with
  // the code at @196) and returns the decoded payload, or throws IggyError / EvictionError.
  rawCommand(code: number, body: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    return this.exclusive(() => this.command(code, body));
  }

  private command(code: number, body: Uint8Array): Promise<Uint8Array> {
    const info = commandByCode(code);
    const operation = info?.operation ?? Operation.nonReplicated;
    const rule: RequestRule = info?.rule ?? 'current';
    return this.exchange(operation, rule, body, operation === Operation.nonReplicated ? code : 0);
  }

  private async exchange(operation: number, rule: RequestRule, body: Uint8Array, code: number): Promise<Uint8Array> {
    // A replicated op needs a bound session and a request number > 0; the reference server silently drops a frame
    // without them, which would cost the caller the whole timeout. Refused here instead, as the SDKs do.
    if (operation !== Operation.register && operation !== Operation.nonReplicated && !this.session.bound) {
      throw new IggyError(ErrorCode.unauthenticated, `operation ${operation} needs a logged-in session`);
    }
    const header = encodeRequestHeader({
      client: this.session.clientId,
      request: this.session.requestNumber(rule),
      operation,
      session: operation === Operation.register ? 0n : this.session.session ?? 0n,
      code,
      body,
    });
    return this.decode(await this._connection.request([header, body]));
  }

  private decode(frame: ServerFrame): Uint8Array {
    if (frame.kind === 'eviction') {
      this.session.reset();
      this._userId = null;
      throw new EvictionError(frame.reason, frame.versionMax, frame.versionMin);
    }
    if (frame.status !== 0) throw new IggyError(frame.status);
    if (!isKnownOperation(frame.operation)) throw new IggyError(ErrorCode.invalidCommand, `reply operation ${frame.operation}`);
    if (!isResultFramed(frame.operation, frame.body.length)) return frame.body;
    let result;
    try {
      result = parseResult(frame.body);
    } catch (error) {
      throw new IggyError(ErrorCode.invalidCommand, (error as WireError).message);
    }
    if (!result.ok) throw new IggyError(result.code);
    return result.payload;
  }

  // Decoding errors of a payload surface as IggyError 3, like every other undecodable reply.
  private async commandRead<T>(code: number, body: Uint8Array, read: (b: Uint8Array) => T): Promise<T> {
    const payload = await this.command(code, body);
    try {
      return read(payload);
    } catch (error) {
      if (error instanceof WireError) throw new IggyError(error.code, `reply to code ${code}: ${error.message}`);
      throw error;
    }
  }

  private call<T>(code: number, body: Uint8Array, read: (b: Uint8Array) => T, retry: RetryRule = { code }): Promise<T> {
    return this.exclusive(() => this.commandRead(code, body, read), retry);
  }

  private run(code: number, body: Uint8Array = req.empty()): Promise<void> {
    return this.call(code, body, () => undefined);
  }

  // --- session (§4)

  // Login is Register (code 40, operation 1); an explicit login while logged in first logs out, then registers
  // with a fresh client id on the same socket. The SDKs ask for the cluster metadata right after.
  // A successful login's credentials are kept for logging in again after a reconnect (when that is on).
  login(username: string, password: string): Promise<res.LoginResult> {
    return this.loginAs({ kind: 'password', username, password });
  }

  loginWithToken(token: string): Promise<res.LoginResult> {
    return this.loginAs({ kind: 'token', token });
  }

  private loginAs(credentials: Credentials): Promise<res.LoginResult> {
    return this.exclusive(async () => {
      const login = await this.register(registerBody(credentials));
      this.credentials = credentials;
      return login;
    });
  }

  private async register(body: Uint8Array): Promise<res.LoginResult> {
    if (this.session.bound) await this.endSession();
    this.session.beginRegister();
    const login = await this.readOrInvalid('Register reply', await this.exchange(Operation.register, 'zero', body, 0), res.readLogin);
    this.session.bind(login.session);
    this._userId = login.userId;
    this.cluster = await this.commandRead(Code.getClusterMetadata, req.empty(), res.readClusterMetadata).catch((error) => {
      if (error instanceof IggyError) return null;
      throw error;
    });
    return login;
  }

  private async readOrInvalid<T>(what: string, payload: Uint8Array, read: (b: Uint8Array) => T): Promise<T> {
    try {
      return read(payload);
    } catch (error) {
      throw new IggyError(ErrorCode.invalidCommand, `${what}: ${(error as Error).message}`);
    }
  }

  // Logout is operation 3 with a consumed request number; afterwards the session and client id are dropped. Without
  // a bound session there is nothing to end, and no valid header to send it with.
  logout(): Promise<void> {
    this.credentials = null;
    return this.exclusive(() => this.endSession());
  }

  private async endSession(): Promise<void> {
    if (!this.session.bound) return;
    try {
      await this.command(Code.logout, req.empty());
    } finally {
      this.session.reset();
      this._userId = null;
    }
  }

  // --- system (§7.1, §7.3)

  ping(): Promise<void> { return this.run(Code.ping); }
  getStats(): Promise<res.Stats> { return this.call(Code.getStats, req.empty(), res.readStats); }

  getSnapshotFile(types: number[] = [req.SnapshotType.all], compression: number = req.SnapshotCompression.deflated): Promise<Uint8Array> {
    return this.call(Code.getSnapshotFile, req.snapshot(types, compression), (b) => b);
  }

  getClusterMetadata(): Promise<res.ClusterMetadata> { return this.call(Code.getClusterMetadata, req.empty(), res.readClusterMetadata); }

  describeOptions(scope: number): Promise<res.OptionDescription[]> {
    return this.call(Code.describeOptions, req.describeOptions(scope), res.readOptionDescriptions);
  }

  getMe(): Promise<res.ClientDetails> { return this.call(Code.getMe, req.empty(), res.readClientDetails); }

  getClient(clientId: number): Promise<res.ClientDetails | null> {
    return this.call(Code.getClient, req.getClient(clientId), (b) => orNull(b, res.readClientDetails));
  }

  getClients(): Promise<res.ClientInfo[]> { return this.call(Code.getClients, req.empty(), res.readClients); }

  // --- users (§7.9)

  getUser(user: req.Id): Promise<res.UserDetails | null> {
    return this.call(Code.getUser, req.identifier(user), (b) => orNull(b, res.readUserDetails));
  }

  getUsers(): Promise<res.UserInfo[]> { return this.call(Code.getUsers, req.empty(), res.readUsers); }
  createUser(user: req.CreateUserInput): Promise<res.UserDetails> { return this.call(Code.createUser, req.createUser(user), res.readUserDetails); }
  deleteUser(user: req.Id): Promise<void> { return this.run(Code.deleteUser, req.identifier(user)); }
  updateUser(user: req.Id, update: req.UpdateUserInput): Promise<void> { return this.run(Code.updateUser, req.updateUser(user, update)); }

  updatePermissions(user: req.Id, permissions: Permissions | null): Promise<void> {
    return this.run(Code.updatePermissions, req.updatePermissions(user, permissions));
  }

  changePassword(user: req.Id, current: string, next: string): Promise<void> {
    return this.run(Code.changePassword, req.changePassword(user, current, next));
  }

  // --- personal access tokens (§7.10)

  getTokens(): Promise<res.TokenInfo[]> { return this.call(Code.getTokens, req.empty(), res.readTokens); }

  // `expiry` is a duration in µs: 0 = server default, 2^64 - 1 = never. Returns the raw token (shown only once).
  createToken(name: string, expiry = 0n): Promise<string> { return this.call(Code.createToken, req.createToken(name, expiry), res.readRawToken); }
  deleteToken(name: string): Promise<void> { return this.run(Code.deleteToken, req.tokenName(name)); }

  // --- messages (§8)

  sendMessages(send: req.SendInput): Promise<res.SendConfirmation[]> {
    return this.call(Code.sendMessages, req.sendMessages(send), (b) => (b.length === 0 ? [] : res.readSendConfirmations(b)));
  }

  pollMessages(poll: req.PollInput & { verifyChecksums?: boolean }): Promise<PolledMessages> {
    const retry = { code: Code.pollMessages, autoCommit: poll.autoCommit, strategy: poll.strategy.kind };
    return this.call(Code.pollMessages, req.pollMessages(poll), (b) => readPollReply(b, poll.verifyChecksums ?? false), retry);
  }

  flushUnsavedBuffer(stream: req.Id, topic: req.Id, partitionId: number, fsync = false): Promise<void> {
    return this.run(Code.flushUnsavedBuffer, req.flushUnsavedBuffer(stream, topic, partitionId, fsync));
  }

  // --- consumer offsets (§7.8)

  getOffset(target: req.OffsetTarget): Promise<res.ConsumerOffset | null> {
    return this.call(Code.getOffset, req.getOffset(target), (b) => orNull(b, res.readOffset));
  }

  storeOffset(target: req.OffsetTarget, offset: bigint, ack = 1): Promise<void> {
    return this.run(Code.storeOffset, req.storeOffset(target, offset, ack));
  }

  deleteOffset(target: req.OffsetTarget, ack = 1): Promise<void> {
    return this.run(Code.deleteOffset, req.deleteOffset(target, ack));
  }

  // --- streams (§7.4)

  getStream(stream: req.Id): Promise<res.StreamDetails | null> {
    return this.call(Code.getStream, req.identifier(stream), (b) => orNull(b, res.readStreamDetails));
  }

  getStreams(): Promise<res.Stream[]> { return this.call(Code.getStreams, req.empty(), res.readStreams); }
  createStream(name: string, options: TlvEntry[] = []): Promise<res.Stream> { return this.call(Code.createStream, req.createStream(name, options), res.readStream); }
  deleteStream(stream: req.Id): Promise<void> { return this.run(Code.deleteStream, req.identifier(stream)); }
  updateStream(stream: req.Id, name: string, options: TlvEntry[] = []): Promise<void> { return this.run(Code.updateStream, req.updateStream(stream, name, options)); }
  purgeStream(stream: req.Id): Promise<void> { return this.run(Code.purgeStream, req.identifier(stream)); }

  // --- topics, partitions, segments (§7.5, §7.6)

  getTopic(stream: req.Id, topic: req.Id): Promise<res.TopicDetails | null> {
    return this.call(Code.getTopic, req.streamAndTopic(stream, topic), (b) => orNull(b, res.readTopicDetails));
  }

  getTopics(stream: req.Id): Promise<res.Topic[]> { return this.call(Code.getTopics, req.identifier(stream), res.readTopics); }

  createTopic(topic: { stream: req.Id; name: string; partitionsCount: number; options?: TlvEntry[] }): Promise<res.TopicDetails> {
    return this.call(Code.createTopic, req.createTopic(topic.stream, topic.partitionsCount, topic.name, topic.options), res.readTopicDetails);
  }

  deleteTopic(stream: req.Id, topic: req.Id): Promise<void> { return this.run(Code.deleteTopic, req.streamAndTopic(stream, topic)); }

  updateTopic(topic: { stream: req.Id; topic: req.Id; name: string; options?: TlvEntry[] }): Promise<void> {
    return this.run(Code.updateTopic, req.updateTopic(topic.stream, topic.topic, topic.name, topic.options));
  }

  purgeTopic(stream: req.Id, topic: req.Id): Promise<void> { return this.run(Code.purgeTopic, req.streamAndTopic(stream, topic)); }
  createPartitions(stream: req.Id, topic: req.Id, count: number): Promise<void> { return this.run(Code.createPartitions, req.partitionsCount(stream, topic, count)); }
  deletePartitions(stream: req.Id, topic: req.Id, count: number): Promise<void> { return this.run(Code.deletePartitions, req.partitionsCount(stream, topic, count)); }

  deleteSegments(stream: req.Id, topic: req.Id, partitionId: number, segmentsCount: number): Promise<void> {
    return this.run(Code.deleteSegments, req.deleteSegments(stream, topic, partitionId, segmentsCount));
  }

  // --- consumer groups (§7.7, §9.2)

  getGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<res.ConsumerGroupDetails | null> {
    return this.call(Code.getGroup, req.group(stream, topic, group), (b) => orNull(b, res.readGroupDetails));
  }

  getGroups(stream: req.Id, topic: req.Id): Promise<res.ConsumerGroup[]> { return this.call(Code.getGroups, req.streamAndTopic(stream, topic), res.readGroups); }

  createGroup(stream: req.Id, topic: req.Id, name: string): Promise<res.ConsumerGroupDetails> {
    return this.call(Code.createGroup, req.createGroup(stream, topic, name), res.readGroupDetails);
  }

  deleteGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { return this.run(Code.deleteGroup, req.group(stream, topic, group)); }
  joinGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { return this.run(Code.joinGroup, req.group(stream, topic, group)); }
  leaveGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<void> { return this.run(Code.leaveGroup, req.group(stream, topic, group)); }

  // null when the caller is not a member of the group.
  syncGroup(stream: req.Id, topic: req.Id, group: req.Id): Promise<res.GroupAssignment | null> {
    return this.call(Code.syncGroup, req.group(stream, topic, group), (b) => orNull(b, res.readAssignment));
  }
}

export { Code };
export type { MessageInput, PolledMessages, Partitioning, PollingStrategy, TlvEntry, Permissions };

function timeoutOf(options: ConnectOptions): number {
  return options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
}

function registerBody(c: Credentials): Uint8Array {
  return c.kind === 'password' ? req.registerWithPassword(c.username, c.password) : req.registerWithToken(c.token);
}

// A dropped connection, as opposed to an answer: the socket closed or a reply never came (which closes it).
function isDrop(error: unknown): boolean {
  return error instanceof ConnectionClosed || error instanceof RequestTimeout;
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
