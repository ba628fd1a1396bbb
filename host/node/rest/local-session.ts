// An HTTP caller's session on the serving shard: it sends the same frames a binary client would (command code,
// header and body made by the wire codecs) through the same request handler (../server/client-requests.ts), so the
// session gate, the permission checks, the metadata group and the partition owners decide for HTTP exactly as for
// TCP. Its requests run one at a time, as a binary connection's do (the VSR request numbers stay in order).
import { joinPieces } from '../../shared/copy.js';
import { WireError } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation, commandByCode, evictionErrorCode, isResultFramed } from '../../shared/wire/codes.js';
import { decodeServerFrame, encodeRequest } from '../../shared/wire/header.js';
import { parseResult } from '../../shared/wire/result.js';
import { Session } from '../../client/session.js';
import type { Answer, ServedConnection } from '../net/client-connection.js';

// What a command came back with: the payload, or the Iggy error code the binary client would have raised.
export type Outcome = { ok: true; payload: Uint8Array } | { ok: false; code: number };

export interface RequestRunner {
  attach(connection: ServedConnection): void;
  closed(connection: ServedConnection): void;
  request(connection: ServedConnection, frame: Uint8Array): Promise<Answer>;
}

export class LocalSession implements ServedConnection {
  readonly socket: { remoteAddress?: string };
  readonly reading = { pause: () => undefined, resume: () => undefined }; // an HTTP body is already read
  private readonly session = new Session();
  private authenticated = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly id: number, readonly address: string, private readonly runner: RequestRunner) {
    this.socket = { remoteAddress: address };
    runner.attach(this);
  }

  get clientId(): bigint { return this.session.clientId; }
  get bound(): boolean { return this.authenticated && this.session.bound; }

  setAuthenticated(yes: boolean): void {
    this.authenticated = yes;
  }

  // The login throttle closes a connection after too many failures; an HTTP session is simply not kept.
  endAfterAnswer(): void {
    this.authenticated = false;
  }

  // A session opened by the handler itself (openTrusted) uses this number from now on.
  adopt(session: bigint): void {
    this.session.bind(session);
  }

  close(): void {
    this.runner.closed(this);
  }

  // Register (code 40 or 45) on this session: binds it and returns the login payload, or the refusal.
  register(code: number, body: Uint8Array): Promise<Outcome> {
    return this.exclusive(async () => {
      this.session.beginRegister();
      return this.exchange(code, body);
    });
  }

  command(code: number, body: Uint8Array = new Uint8Array(0)): Promise<Outcome> {
    return this.exclusive(() => this.exchange(code, body));
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async exchange(code: number, body: Uint8Array): Promise<Outcome> {
    const info = commandByCode(code);
    if (!info) throw new Error(`unknown command code ${code}`);
    const operation = info.operation;
    const frame = encodeRequest({
      client: this.session.clientId, request: this.session.requestNumber(info.rule), operation,
      session: operation === Operation.register ? 0n : this.session.session ?? 0n,
      code: operation === Operation.nonReplicated ? code : 0, body,
    });
    const reply = decodeServerFrame(await this.collect(await this.runner.request(this, frame)));
    if (reply.kind === 'eviction') {
      this.session.reset();
      this.authenticated = false;
      return { ok: false, code: evictionErrorCode(reply.reason, reply.versionMin, reply.versionMax) };
    }
    if (reply.status !== 0) return { ok: false, code: reply.status };
    if (operation === Operation.register && !this.session.bound) this.session.bind(reply.session);
    if (operation === Operation.logout) this.session.reset();
    if (!isResultFramed(reply.operation, reply.body.length)) return { ok: true, payload: reply.body };
    let result;
    try {
      result = parseResult(reply.body);
    } catch (error) {
      if (error instanceof WireError) return { ok: false, code: ErrorCode.invalidCommand };
      throw error;
    }
    if (!result.ok) return { ok: false, code: result.code };
    return { ok: true, payload: result.payload };
  }

  // The answer as one buffer; memory lent for it (a poll read into the frame arena) goes back once copied.
  private async collect(answer: Answer): Promise<Uint8Array> {
    if (answer instanceof Uint8Array) return answer;
    if (Array.isArray(answer)) return joinPieces(answer);
    try {
      return Buffer.concat(answer.pieces); // a copy, always: the pieces are lent
    } finally {
      answer.done();
    }
  }
}
