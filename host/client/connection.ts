// One TCP connection to the server, lock-step like the SDKs (iggy-client-wire.md §1): one request on the wire at
// a time, the next written only after the previous one's reply (or eviction) arrived, so replies match requests
// purely by order. A request that gets no reply within its bound closes the connection: a late reply would
// otherwise be taken for the next request's.
import net from 'node:net';
import tls from 'node:tls';
import { decodeServerFrame, type ServerFrame } from '../shared/wire/header.js';
import { FrameReader } from './frame-reader.js';
import { ConnectionClosed, IggyError, RequestTimeout } from './errors.js';
import { WireError } from '../shared/wire/buffer.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface Pending {
  frame: Uint8Array[]; // pieces written back to back
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
}

// TLS on the binary listener (iggy-client-wire.md §1): the server's certificate is checked against `ca` (the
// system's roots when absent) for `servername` (default: the address's host name; none for an IP literal).
// `cert`/`key` present a client certificate (a server started with --tls-client-ca asks for one).
export type TlsOptions = Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;

export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`address "${address}" is not host:port`);
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

export class Connection {
  private readonly reader: FrameReader;
  private readonly queue: Pending[] = [];
  private inFlight: Pending | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closedBy: Error | null = null;
  // Resolves once the socket is gone, with the reason: tests wait on it to see the server drop a connection.
  readonly closed: Promise<Error>;

  private constructor(private readonly socket: net.Socket | tls.TLSSocket, reader: FrameReader, private readonly timeoutMs: number) {
    let onClosed!: (e: Error) => void;
    this.closed = new Promise((resolve) => { onClosed = resolve; });
    this.reader = reader;
    socket.setNoDelay(true);
    socket.on('error', (error) => this.fail(new ConnectionClosed(error.message)));
    socket.on('close', () => {
      this.fail(new ConnectionClosed('by the server'));
      onClosed(this.closedBy!);
    });
  }

  static open(address: string, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, secure?: TlsOptions): Promise<Connection> {
    const { host, port } = parseAddress(address);
    return new Promise((resolve, reject) => {
      // Reads go where the reader says (net's onread): frames arrive in their own buffers, not as 'data' chunks.
      let connection: Connection | null = null;
      const reader = new FrameReader((frame) => connection?.deliver(frame));
      const socket = secure
        ? connectTls(host, port, secure, (n) => connection?.receive(n), reader)
        : net.connect({
          host, port,
          onread: { buffer: () => reader.target(), callback: (n: number) => connection?.receive(n) ?? true },
        });
      const refuse = (error: Error) => reject(new ConnectionClosed(`connect to ${address}: ${error.message}`));
      socket.once('error', refuse);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.off('error', refuse);
        connection = new Connection(socket, reader, timeoutMs);
        resolve(connection);
      });
    });
  }

  get isClosed(): boolean {
    return this.closedBy !== null;
  }

  // Sends one complete frame (or its pieces: a header and the body after it) and resolves with the server's answer.
  request(frame: Uint8Array | Uint8Array[]): Promise<ServerFrame> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise((resolve, reject) => {
      this.queue.push({ frame: frame instanceof Uint8Array ? [frame] : frame, resolve, reject });
      this.pump();
    });
  }

  // Writes bytes that expect no answer (a partial frame, garbage): for tests of the server's framing.
  writeRaw(bytes: Uint8Array): void {
    if (this.closedBy) throw this.closedBy;
    this.socket.write(bytes);
  }

  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    this.fail(new ConnectionClosed('by the client'));
    this.socket.destroy();
    return this.closed.then(() => undefined);
  }

  private pump(): void {
    if (this.inFlight || this.closedBy) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    this.timer = setTimeout(() => {
      next.reject(new RequestTimeout(this.timeoutMs));
      this.inFlight = null;
      this.fail(new ConnectionClosed(`after a request got no reply within ${this.timeoutMs} ms`));
      this.socket.destroy();
    }, this.timeoutMs);
    this.socket.cork();
    for (const piece of next.frame) if (piece.length > 0) this.socket.write(piece);
    this.socket.uncork();
  }

  // Returns true: keep reading (net's onread pauses the socket on false).
  private receive(bytes: number): boolean {
    if (this.closedBy) return true;
    try {
      this.reader.arrived(bytes);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.fail(new ConnectionClosed(`unreadable server framing: ${error.message}`));
      this.socket.destroy();
    }
    return true;
  }

  private deliver(bytes: Uint8Array): void {
    const pending = this.inFlight;
    if (!pending) {
      this.fail(new ConnectionClosed('server sent a frame nobody asked for'));
      this.socket.destroy();
      return;
    }
    clearTimeout(this.timer);
    this.inFlight = null;
    try {
      pending.resolve(decodeServerFrame(bytes));
    } catch (error) {
      pending.reject(error instanceof WireError ? new IggyError(error.code, error.message) : (error as Error));
    }
    this.pump();
  }

  private fail(error: Error): void {
    if (this.closedBy) return;
    this.closedBy = error;
    clearTimeout(this.timer);
    const pending = this.inFlight ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = null;
    this.queue.length = 0;
    for (const p of pending) p.reject(error);
  }
}

// A TLS socket delivers decrypted 'data' chunks (no onread): each is copied into the reader's targets, so the
// framing is the same code as on plain TCP.
function connectTls(host: string, port: number, secure: TlsOptions, receive: (n: number) => unknown, reader: FrameReader): tls.TLSSocket {
  const socket = tls.connect({
    ...secure, host, port, rejectUnauthorized: secure.rejectUnauthorized ?? true,
    servername: secure.servername ?? (net.isIP(host) === 0 ? host : undefined),
  });
  socket.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length;) {
      const target = reader.target();
      const n = Math.min(target.length, chunk.length - at);
      chunk.copy(target, 0, at, at + n);
      at += n;
      receive(n);
    }
  });
  return socket;
}
