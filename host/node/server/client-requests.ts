// The home shard's side of every client request (iggy-client-wire.md §2–§9): header checks, the session gate,
// then one of: session handshake, a read answered from this shard's committed metadata, a metadata op proposed
// to shard 0's metadata group, or a partition op forwarded to the partition's owner shard. Every request gets
// exactly one Reply or one Eviction, in order.
import { joinPieces } from '../../shared/copy.js';
import { Lifecycle, Variant } from '../../shared/frames.js';
import { Reader, WireError } from '../../shared/wire/buffer.js';
import { COMMANDS, ErrorCode, EvictionReason, Operation, commandByCode, isMetadataOperation, isPartitionOperation, isResultFramed } from '../../shared/wire/codes.js';
import { Command as WireCommand, HEADER_SIZE, decodeRequestHeader, encodeEviction, encodeReply, frameCommand, requestHeaderProblem, requestOperation, type RequestHeader } from '../../shared/wire/header.js';
import { readConsumer, readIdentifier, readOptionalPartition, readPartitioning, readPollingStrategy, type PollingStrategy } from '../../shared/wire/primitives.js';
import { resultRejection, resultSuccess } from '../../shared/wire/result.js';
import { logger } from '../../shared/log.js';
import { METRIC } from '../../shared/layout.js';
import type { Answer, ConnectionHandler, ServedConnection } from '../net/client-connection.js';
import { prepareOp, readCommand } from '../metadata/machine.js';
import { allowed } from '../metadata/permissions.js';
import { groupsOfClient, resolvePollTarget, resolveSendTarget } from '../metadata/streams-api.js';
import { credentialAfter, sessionRevoked, type Credential } from '../metadata/session-credentials.js';
import { InternalOperation, type ApplyResult, type CommittedOp, type Session } from '../metadata/types.js';
import { decodeSendMessages, emptyPollReply } from '../data/send-api.js';
import { MAX_BODY_BYTES } from '../consensus/metadata-log.js';
import type { ShardContext } from './context.js';
import type { LoginThrottleSettings } from './login-throttle.js';
import { LoginGate } from './login-gate.js';
import { LogLimiter } from '../../shared/log-limiter.js';
import type { ShardMetrics } from './shard-metrics.js';
import type { Producer } from './mailbox.js';
import { handleRegister, openSession, type Binding } from './register.js';
import { systemRead } from './system-reads.js';
import { actsOnData } from './data-ops.js';
import {
  Method, PROPOSE_NOT_PRIMARY, SEND_REPLY_BYTES, decodePartitionReply, decodeProposeReply, encodePartitionRequest, encodePropose, encodeSendRequestInPlace, encodeSharedSendRequest,
  readStats, type ConsumerRef, type PartitionRequest,
} from './shard-protocol.js';
import { namespaceOf } from '../metadata/namespace.js';
import { REPLY_NO_SESSION, REPLY_OK, REPLY_REQUEST_TOO_OLD, REPLY_SESSION_MISMATCH, Rep } from '../../shared/vsr-abi.js';

const log = logger('requests');
const EMPTY = new Uint8Array(0);
const STRATEGY_KIND = { offset: 1, timestamp: 2, first: 3, last: 4, next: 5 } as const;
const LEGACY_LOGIN_CODES = new Set([38, 44]);
const POLL_MESSAGES = COMMANDS.find((c) => c.name === 'message.poll')!.code;
// Partition id of the empty poll a group member gets for a partition it does not own: the SDKs re-sync (§8.4).
const NOT_A_MEMBER_PARTITION = 0xffff_ffff;

// Where a partition request goes: the partition's ids (its owner) and namespace.
interface ForwardTarget {
  streamId: number;
  topicId: number;
  partitionId: number;
  namespace: bigint;
}

interface Conn {
  connection: ServedConnection;
  binding: Binding | null;
  lastSeen: number; // ms, the last request
  stale: boolean; // evicted for silence: the next request is answered with Eviction StaleClient
  inFlight: Promise<unknown> | null; // the request being answered (a connection's requests run one at a time)
  loginFailures: number; // failed logins on this connection (login-throttle.ts)
}

// Login failures the throttle counts: guesses at a password or token (not malformed or incompatible bodies).
const CREDENTIAL_FAILURES: ReadonlySet<number> = new Set([EvictionReason.invalidCredentials, EvictionReason.invalidToken, EvictionReason.userInactive]);
// The throttle's log lines (a guesser makes many): one per kind per this, then a line with how many were left out.
const THROTTLE_LOG_EVERY_MS = 10_000;

// A consumer group member silent this many heartbeat intervals is evicted (Iggy: 1.2 × the 30 s interval).
const STALE_FACTOR = 1.2;

export class ClientRequests implements ConnectionHandler {
  private readonly connections = new Map<number, Conn>();
  private readonly staleTimer: NodeJS.Timeout;
  private readonly throttle: LoginGate; // the node's failed-login throttle, on shard 0
  private readonly throttleLogs = new LogLimiter(log, 1, THROTTLE_LOG_EVERY_MS);

  constructor(
    private readonly ctx: ShardContext, private readonly heartbeatMs: number, private readonly metrics: ShardMetrics,
    private readonly throttleSettings: LoginThrottleSettings,
  ) {
    this.throttle = new LoginGate(ctx.rpc);
    const staleMs = heartbeatMs * STALE_FACTOR;
    this.staleTimer = setInterval(() => this.evictStaleMembers(staleMs), Math.max(100, Math.min(5_000, staleMs / 4)));
    this.staleTimer.unref();
  }

  attach(connection: ServedConnection): void {
    this.metrics.add(METRIC.clientsOpen);
    this.metrics.add(METRIC.clientsTotal);
    this.connections.set(connection.id, { connection, binding: null, lastSeen: Date.now(), stale: false, inFlight: null, loginFailures: 0 });
  }

  stop(): void {
    clearInterval(this.staleTimer);
  }

  // A group member whose client stopped talking (the SDKs ping every 5 s) holds partitions nobody polls: it
  // leaves its groups (the others get its partitions) and its session ends. Clients that are in no group may idle.
  private evictStaleMembers(staleMs: number): void {
    const now = Date.now();
    for (const conn of this.connections.values()) {
      const binding = conn.binding;
      if (!binding || now - conn.lastSeen < staleMs) continue;
      if (groupsOfClient(this.ctx.state, binding.client).length === 0) continue;
      this.bind(conn, null);
      conn.stale = true;
      log.info(`client ${conn.connection.id} (${conn.connection.address}) silent for ${now - conn.lastSeen} ms: evicted from its consumer groups`);
      void this.leaveGroups(binding.client);
    }
  }

  // After this shard applied a committed users op: sessions it revoked end now (every shard that serves
  // connections runs this; requests wait for their shard to catch up, so none runs on a revoked session after).
  // The session that changed its own password goes on under the new one.
  sessionsAfter(op: CommittedOp, result: ApplyResult): void {
    if (op.operation < Operation.createUser || op.operation > Operation.deletePersonalAccessToken) return;
    const now = Date.now() * 1000;
    for (const conn of this.connections.values()) {
      if (!conn.binding) continue;
      conn.binding.credential = credentialAfter(this.ctx.state.users, op, result.result, conn.binding);
      this.endIfRevoked(conn, now);
    }
  }

  // The gate every request passes first (also for sessions bound while their revocation was being applied, and
  // tokens that expired since): a revoked session is logged out, so the request is answered as unauthenticated.
  private endIfRevoked(conn: Conn, nowMicros: number): void {
    const binding = conn.binding;
    if (!binding) return;
    const why = sessionRevoked(this.ctx.state.users, binding, nowMicros);
    if (!why) return;
    this.bind(conn, null);
    this.metrics.add(METRIC.sessionsRevoked);
    log.info(`client ${conn.connection.id} (${conn.connection.address}): session of user ${binding.userId} ended: ${why}`);
    // Like a departed client, once its request in flight is done (a Join on its way would otherwise stay).
    void Promise.resolve(conn.inFlight).catch(() => undefined).then(() => this.leaveGroups(binding.client))
      .catch((error: unknown) => log.warn(`connection ${conn.connection.id}: leaving its consumer groups failed: ${(error as Error).message}`));
  }

  bindingOf(connectionId: number): Binding | null {
    return this.connections.get(connectionId)?.binding ?? null;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  // A departed client leaves its groups once the request it had in flight is done: a Join still on its way to the
  // metadata group would otherwise commit after this and leave a member nobody removes.
  closed(connection: ServedConnection): void {
    const conn = this.connections.get(connection.id);
    this.connections.delete(connection.id);
    if (!conn) return;
    this.metrics.sub(METRIC.clientsOpen);
    const boundAtClose = conn.binding?.client;
    void Promise.resolve(conn.inFlight).catch(() => undefined).then(async () => {
      const clients = new Set([boundAtClose, conn.binding?.client].filter((c): c is bigint => c !== undefined));
      for (const client of clients) await this.leaveGroups(client);
    }).catch((error: unknown) => log.warn(`connection ${connection.id}: leaving its consumer groups failed: ${(error as Error).message}`));
  }

  // A poll without auto-commit reads committed state and stores nothing: a connection may work on several at once
  // (ClientConnection answers them in order). Anything that does not decode as one is not.
  readOnly(frame: Uint8Array): boolean {
    if (frame.length <= HEADER_SIZE || requestOperation(frame) !== Operation.nonReplicated) return false;
    const header = decodeRequestHeader(frame);
    if (header.code !== POLL_MESSAGES) return false;
    try {
      return readPollBody(new Reader(frame.subarray(HEADER_SIZE, header.size))).autoCommit === false;
    } catch {
      return false;
    }
  }

  async request(connection: ServedConnection, frame: Uint8Array): Promise<Answer> {
    const conn = this.connections.get(connection.id);
    if (!conn) throw new Error(`connection ${connection.id} is not attached`);
    conn.lastSeen = Date.now();
    const work = this.answer(conn, frame);
    conn.inFlight = work;
    try {
      const answer = await work;
      this.count(answer);
      return answer;
    } finally {
      if (conn.inFlight === work) conn.inFlight = null;
    }
  }

  // Requests, and those answered with a non-zero status (of a Reply) or an Eviction.
  private count(answer: Answer): void {
    const head = answer instanceof Uint8Array ? answer : Array.isArray(answer) ? answer[0] : answer.pieces[0];
    this.metrics.add(METRIC.requests);
    if (frameCommand(head) === WireCommand.eviction) this.metrics.add(METRIC.evictions);
    else if (new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(Rep.status, true) !== REPLY_OK) this.metrics.add(METRIC.requestErrors);
  }

  private async answer(conn: Conn, frame: Uint8Array): Promise<Answer> {
    const header = decodeRequestHeader(frame);
    if (conn.stale) {
      conn.stale = false;
      return encodeEviction(header.client, EvictionReason.staleClient);
    }
    const problem = requestHeaderProblem(header, frameCommand(frame));
    if (problem) return this.rejectHeader(header, problem);
    const body = frame.subarray(HEADER_SIZE, header.size);
    await this.ctx.caughtUp();
    // A body too large to hash cannot be shown to match its checksum (no client stamps bodies that large).
    const storage = this.ctx.storage;
    if (header.requestChecksum !== 0n && (body.length > storage.windowLen || header.requestChecksum !== storage.xxh3(body))) {
      return this.reply(header, ErrorCode.invalidFormat);
    }
    try {
      return await this.dispatch(conn, header, body);
    } catch (error) {
      if (error instanceof WireError) return this.reply(header, error.code);
      throw error;
    }
  }

  private rejectHeader(h: RequestHeader, problem: string): Answer {
    log.debug(`rejecting request header: ${problem}`);
    if (h.operation !== 0 && h.operation !== 1 && h.operation !== 2 && h.session === 0n) return encodeEviction(h.client, EvictionReason.noSession);
    return encodeEviction(h.client, EvictionReason.invalidRequestOperation);
  }

  private async dispatch(conn: Conn, h: RequestHeader, body: Uint8Array): Promise<Answer> {
    const op = h.operation;
    this.endIfRevoked(conn, Date.now() * 1000);
    if (op === Operation.register) return this.register(conn, h, body);
    if (op === Operation.logout) return this.logout(conn, h);
    if (op === Operation.nonReplicated) return this.nonReplicated(conn, h, body);
    if (!isMetadataOperation(op) && op !== Operation.deleteSegments && !isPartitionOperation(op)) {
      return encodeEviction(h.client, EvictionReason.invalidRequestOperation);
    }
    const binding = conn.binding;
    if (!binding) return encodeEviction(h.client, EvictionReason.noSession);
    if (binding.client !== h.client || binding.session !== h.session) return encodeEviction(h.client, EvictionReason.sessionError);
    const session = this.sessionOf(conn);
    if (isPartitionOperation(op)) return this.partitionOp(session, h, body, conn.connection.reading);
    return this.metadataOp(binding, session, h, body, conn.connection.reading);
  }

  private async register(conn: Conn, h: RequestHeader, body: Uint8Array): Promise<Answer> {
    const address = conn.connection.socket.remoteAddress ?? conn.connection.address;
    if (!await this.throttle.admit(address)) {
      // LoginLockedOut: not even checked, so a right guess looks like every wrong one.
      this.metrics.add(METRIC.loginsThrottled);
      this.throttleLogs.log('login locked out', `LoginLockedOut: logins from ${address} refused for ${this.throttleSettings.lockoutMs} ms after its last try (${this.throttleSettings.lockoutFailures} failed logins); closing client ${conn.connection.id}`, 'warn');
      conn.connection.endAfterAnswer();
      return encodeEviction(h.client, EvictionReason.invalidCredentials);
    }
    const previous = conn.binding;
    const result = await handleRegister(this.ctx, previous, h, body);
    if (result.kind === 'evict') {
      if (CREDENTIAL_FAILURES.has(result.reason)) await this.loginFailed(conn, address, result.username);
      return encodeEviction(h.client, result.reason, result.versionMax, result.versionMin);
    }
    if (result.binding.credential.kind === 'password') await this.throttle.succeeded(this.ctx.state.users.get(result.binding.userId)?.username);
    this.bind(conn, result.binding);
    // A new session replaced a bound one without a Logout: the old client is gone like a disconnected one.
    if (previous && previous.client !== result.binding.client) await this.leaveGroups(previous.client);
    return this.reply(h, 0, result.body, result.binding.session);
  }

  // Binds a session to an attached connection whose caller was authenticated outside the protocol (an HTTP caller
  // with a token this server signed), under the credential the token was issued for: from then on its requests
  // pass the same gate, revocation included, as a Register-bound connection's. Null (and no session) when that
  // credential no longer holds.
  async openTrusted(connection: ServedConnection, client: bigint, userId: number, credential: Credential): Promise<Binding | string> {
    const conn = this.connections.get(connection.id);
    if (!conn) throw new Error(`connection ${connection.id} is not attached`);
    await this.ctx.caughtUp();
    const why = sessionRevoked(this.ctx.state.users, { userId, client, credential }, Date.now() * 1000);
    if (why) return why;
    const binding = await openSession(this.ctx, client, userId, credential);
    if (!binding) return 'no session could be opened';
    this.bind(conn, binding);
    return binding;
  }

  // A failed login is answered after the throttle's delay; the connection's last allowed failure closes it.
  private async loginFailed(conn: Conn, address: string, username: string | undefined): Promise<void> {
    const verdict = await this.throttle.failed(address, username);
    conn.loginFailures += 1;
    this.metrics.add(METRIC.loginFailures);
    this.throttleLogs.log('failed login', `failed login from ${address}${username === undefined ? ' (token)' : ` as ${JSON.stringify(username)}`}`, 'warn');
    const limit = this.throttleSettings.perConnection;
    if (conn.loginFailures >= limit || verdict.lockedOut) {
      this.metrics.add(METRIC.loginsThrottled);
      const why = verdict.lockedOut ? `${address} is locked out for ${this.throttleSettings.lockoutMs} ms` : `${limit} failed logins on it`;
      this.throttleLogs.log('login throttled', `LoginThrottled: closing client ${conn.connection.id} (${conn.connection.address}): ${why}`, 'warn');
      conn.connection.endAfterAnswer();
    }
    if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
  }

  // The connection's limits follow its session: small frames and a login deadline while it has none.
  private bind(conn: Conn, binding: Binding | null): void {
    conn.binding = binding;
    conn.connection.setAuthenticated(binding !== null);
  }

  private sessionOf(conn: Conn): Session {
    const b = conn.binding!;
    return { userId: b.userId, client: b.client, connectionId: conn.connection.id, views: b.views };
  }

  private async logout(conn: Conn, h: RequestHeader): Promise<Answer> {
    const binding = conn.binding;
    this.bind(conn, null);
    if (binding) await this.leaveGroups(binding.client);
    return this.reply(h, 0);
  }

  // A departed client leaves every consumer group it was in (a committed op, so every shard sees the rebalance).
  private async leaveGroups(client: bigint): Promise<void> {
    if (groupsOfClient(this.ctx.state, client).length === 0) return;
    const body = new Uint8Array(16);
    new DataView(body.buffer).setBigUint64(0, client & 0xffff_ffff_ffff_ffffn, true);
    new DataView(body.buffer).setBigUint64(8, client >> 64n, true);
    await this.propose({ client: 0n, session: 0n, request: 0n, operation: InternalOperation.removeConsumerGroupMember, userId: 0, body });
  }

  private async nonReplicated(conn: Conn, h: RequestHeader, body: Uint8Array): Promise<Answer> {
    const code = h.code;
    if (code === 1) return this.reply(h, 0);
    if (LEGACY_LOGIN_CODES.has(code)) return encodeEviction(h.client, EvictionReason.malformedLogin);
    const info = commandByCode(code);
    if (!info) return this.reply(h, ErrorCode.invalidCommand);
    if (info.operation !== Operation.nonReplicated) return this.reply(h, ErrorCode.featureUnavailable);
    if (!conn.binding) return this.reply(h, ErrorCode.unauthenticated);
    const session = this.sessionOf(conn);
    if (code === POLL_MESSAGES) return this.poll(session, h, body, conn.connection.reading);
    if (code === 120) return this.getOffset(session, h, body, conn.connection.reading);
    if (code === 102) return this.reply(h, ErrorCode.featureUnavailable);
    const read = readCommand(this.ctx.state, session, code, body) ?? await systemRead(this.ctx, session, code, body);
    if (!read) return this.reply(h, ErrorCode.invalidCommand);
    return read.ok ? this.reply(h, 0, read.body) : this.reply(h, read.status);
  }

  // --- metadata ops ---------------------------------------------------------------------------------------

  private async metadataOp(binding: Binding, session: Session, h: RequestHeader, body: Uint8Array, producer: Producer): Promise<Answer> {
    const prepared = await prepareOp(this.ctx.state, session, h.operation, body);
    if (!prepared.ok) return this.reply(h, prepared.status);
    // The metadata log refuses larger bodies; trailing bytes are accepted after a decoded body, so a client can
    // send one (a malformed body: a status, not a failed proposal).
    if (prepared.body.length > MAX_BODY_BYTES) return this.reply(h, ErrorCode.invalidCommand);
    const result = await this.propose({ client: binding.client, session: binding.session, request: h.request, operation: h.operation, userId: binding.userId, body: prepared.body }, producer);
    if (result.status === REPLY_NO_SESSION) return encodeEviction(h.client, EvictionReason.noSession);
    if (result.status === REPLY_SESSION_MISMATCH) return encodeEviction(h.client, EvictionReason.sessionError);
    if (result.status === REPLY_REQUEST_TOO_OLD) return encodeEviction(h.client, EvictionReason.sessionTooLow);
    if (result.status === PROPOSE_NOT_PRIMARY) return this.reply(h, ErrorCode.transientNotAccepted);
    if (result.status !== 0) return this.reply(h, ErrorCode.transientNotCommitted);
    if (actsOnData(h.operation)) await this.ctx.appliedEverywhere(result.op);
    const payload = result.result === 0 ? (prepared.reply ?? result.payload) : null;
    if (h.operation === Operation.deleteSegments) return this.reply(h, result.result);
    return this.reply(h, 0, payload ? resultSuccess(payload) : resultRejection(result.result));
  }

  // A client's proposal waits with its connection paused while the metadata group holds new proposals back (a
  // shard too far behind on committed ops, ShardContext.metadataRoom); internal ones wait at the group itself.
  private async propose(p: Parameters<typeof encodePropose>[0], producer: Producer | null = null) {
    const room = producer && this.ctx.metadataRoom(producer);
    if (room) await room;
    const bytes = await this.ctx.rpc.call(0, Variant.lifecycle, Lifecycle.metadataSubmit, encodePropose(p));
    const reply = decodeProposeReply(bytes);
    if (reply.status === 0) await this.ctx.applied(reply.op);
    return reply;
  }

  // --- partition ops --------------------------------------------------------------------------------------

  // `producer` is the client's connection: paused while its request waits for room towards the owner shard.
  private async partitionOp(session: Session, h: RequestHeader, body: Uint8Array, producer: Producer): Promise<Answer> {
    if (h.operation === Operation.sendMessages) return this.send(session, h, body, producer);
    const r = new Reader(body);
    const { consumer, stream, topic, partition } = readOffsetHead(r);
    const store = h.operation === Operation.storeConsumerOffset;
    const offset = store ? Number(r.u64('offset')) : 0;
    r.u8('ack');
    const target = resolvePollTarget(this.ctx.state, session, consumer, stream, topic, partition, store ? 'store-offset' : 'delete-offset');
    if (!target.ok) return this.reply(h, target.status || ErrorCode.resourceNotFound);
    const ref: ConsumerRef = { kind: target.consumerKind, id: target.consumerId };
    const request: PartitionRequest = store
      ? { method: Method.storeOffset, target: this.targetOf(target), consumer: ref, offset }
      : { method: Method.deleteOffset, target: this.targetOf(target), consumer: ref };
    const reply = await this.forward(target, Variant.consensus, 1, request, producer);
    return reply.status === 0 ? this.reply(h, 0, resultSuccess()) : this.reply(h, 0, resultRejection(reply.status));
  }

  private async send(session: Session, h: RequestHeader, body: Uint8Array, producer: Producer): Promise<Answer> {
    const decoded = decodeSendMessages(body);
    if (decoded.batch.length > this.ctx.settings.maxBatchBytes) {
      throw new WireError(`batch of ${decoded.batch.length} B exceeds the limit of ${this.ctx.settings.maxBatchBytes} B (--max-batch-bytes)`, ErrorCode.invalidMessagesCount);
    }
    const target = resolveSendTarget(this.ctx.state, session, decoded.stream, decoded.topic, decoded.partitioning);
    if (!target.ok) return this.reply(h, target.status);
    // A batch assembled in the frame arena goes to another shard's owner by reference (the frame is held until
    // this request is answered); otherwise as bytes, written into the frame's headroom in front of the batch.
    const u8 = this.ctx.storage.u8;
    const shared = decoded.batch.buffer === u8.buffer && this.ctx.ownerOf(target.streamId, target.topicId, target.partitionId) !== this.ctx.shard;
    const request = shared ? encodeSharedSendRequest(this.targetOf(target), u8, decoded.batch) : encodeSendRequestInPlace(this.targetOf(target), decoded.batch);
    const reply = await this.forward(target, Variant.consensus, 1, request, producer);
    if (reply.status !== 0) return this.reply(h, reply.status);
    this.ctx.acceptStats(namespaceOf(target.streamId, target.topicId, target.partitionId), readStats(new Reader(reply.body, SEND_REPLY_BYTES)));
    return this.reply(h, 0, reply.body.subarray(0, SEND_REPLY_BYTES));
  }

  private async poll(session: Session, h: RequestHeader, body: Uint8Array, producer: Producer): Promise<Answer> {
    const { consumer, stream, topic, partition, strategy, count, autoCommit } = readPollBody(new Reader(body));
    const target = resolvePollTarget(this.ctx.state, session, consumer, stream, topic, partition, 'poll');
    if (!target.ok) {
      if ('emptyPoll' in target && target.emptyPoll) return this.reply(h, 0, emptyPollReply(NOT_A_MEMBER_PARTITION, 0));
      return this.reply(h, target.status);
    }
    const request: PartitionRequest = {
      method: Method.poll, target: this.targetOf(target), consumer: { kind: target.consumerKind, id: target.consumerId },
      strategy: STRATEGY_KIND[strategy.kind], value: 'value' in strategy ? strategy.value : 0n, count, autoCommit,
    };
    // The owner's reply in pieces (its status word, the head, the records), written to the socket as they are. The
    // records land in the frame arena (read there when this shard owns the partition, assembled there as they come
    // from another shard when large) and go to the socket from there; the region goes back once the socket has them.
    const arena = this.ctx.frameArena;
    const owner = this.ctx.ownerOf(target.streamId, target.topicId, target.partitionId);
    const { pieces, lent } = arena
      ? await this.ctx.rpc.callInto(owner, Variant.lifecycle, Lifecycle.partitionRead, encodePartitionRequest(request), target.namespace, arena, producer)
      : { pieces: await this.forwardPieces(target, Variant.lifecycle, Lifecycle.partitionRead, request, producer), lent: null };
    const { status } = decodePartitionReply(pieces[0]);
    const answer = status === 0 ? this.replyPieces(h, [pieces[0].subarray(4), ...pieces.slice(1)]) : this.reply(h, status);
    if (!lent) return answer;
    if (status !== 0) {
      arena!.release(lent);
      return answer;
    }
    return { pieces: answer as Uint8Array[], done: () => arena!.release(lent) };
  }

  private async getOffset(session: Session, h: RequestHeader, body: Uint8Array, producer: Producer): Promise<Answer> {
    const r = new Reader(body);
    const { consumer, stream, topic, partition } = readOffsetHead(r);
    const target = resolvePollTarget(this.ctx.state, session, consumer, stream, topic, partition, 'get-offset');
    if (!target.ok) return target.status === 0 ? this.reply(h, 0) : this.reply(h, target.status);
    const request: PartitionRequest = { method: Method.getOffset, target: this.targetOf(target), consumer: { kind: target.consumerKind, id: target.consumerId } };
    const reply = await this.forward(target, Variant.lifecycle, Lifecycle.partitionRead, request, producer);
    return reply.status === 0 ? this.reply(h, 0, reply.body) : this.reply(h, reply.status);
  }

  private targetOf(t: { streamId: number; topicId: number; partitionId: number }) {
    return { appliedOp: this.ctx.state.appliedOp, streamId: t.streamId, topicId: t.topicId, partitionId: t.partitionId };
  }

  private async forward(t: ForwardTarget, variant: number, kind: number, request: PartitionRequest | Uint8Array, producer: Producer) {
    return decodePartitionReply(joinPieces(await this.forwardPieces(t, variant, kind, request, producer)));
  }

  // The owner's answer as its handler gave it (pieces, when the owner is this shard) or as it arrived.
  private forwardPieces(t: ForwardTarget, variant: number, kind: number, request: PartitionRequest | Uint8Array, producer: Producer): Promise<Uint8Array[]> {
    const owner = this.ctx.ownerOf(t.streamId, t.topicId, t.partitionId);
    const payload = request instanceof Uint8Array ? request : encodePartitionRequest(request);
    return this.ctx.rpc.callPieces(owner, variant, kind, payload, t.namespace, producer);
  }

  // --- replies --------------------------------------------------------------------------------------------

  private reply(h: RequestHeader, status: number, body: Uint8Array = EMPTY, session = h.session): Uint8Array {
    if (status !== 0) body = EMPTY;
    else if (isResultFramed(h.operation, body.length) && h.operation !== Operation.register && body.length === 0) body = resultSuccess();
    return encodeReply({
      client: h.client, requestChecksum: h.requestChecksum, session, commit: BigInt(this.ctx.state.appliedOp),
      timestamp: h.timestamp, request: h.request, operation: h.operation, status, body,
    });
  }

  // Large bodies (polls) go out as the header and the body's pieces, without another copy.
  private replyPieces(h: RequestHeader, body: Uint8Array[]): Answer {
    const header = encodeReply({
      client: h.client, requestChecksum: h.requestChecksum, session: h.session, commit: BigInt(this.ctx.state.appliedOp),
      timestamp: h.timestamp, request: h.request, operation: h.operation, status: 0,
    });
    const size = body.reduce((sum, piece) => sum + piece.length, HEADER_SIZE);
    new DataView(header.buffer, header.byteOffset).setUint32(48, size, true);
    return [header, ...body];
  }
}

// Consumer, stream, topic and optional partition: the head of poll and consumer-offset bodies (§7.8, §8.4).
function readOffsetHead(r: Reader) {
  return { consumer: readConsumer(r), stream: readIdentifier(r, 'stream id'), topic: readIdentifier(r, 'topic id'), partition: readOptionalPartition(r) };
}

// A PollMessages body (§8.4): the offset head, the strategy, count and auto_commit.
function readPollBody(r: Reader) {
  const head = readOffsetHead(r);
  const strategy: PollingStrategy = readPollingStrategy(r);
  const count = r.u32('count');
  const autoCommit = r.u8('auto commit') === 1;
  return { ...head, strategy, count, autoCommit };
}

