// A scripted stand-in for the server: records every request frame the client sends and answers each with
// whatever the test's handler returns (a whole frame, or null to stay silent). Lets the client's framing, numbering
// and error mapping be checked byte for byte without a real server.
import net from 'node:net';
import { FrameSplitter, HEADER_SIZE, decodeRequestHeader, encodeReply, type RequestHeader } from '../../host/shared/wire/header.js';

export interface Received { header: RequestHeader; frame: Uint8Array; body: Uint8Array }

export type Handler = (request: Received) => Uint8Array | null;

export class FakeServer {
  readonly received: Received[] = [];
  readonly sockets: net.Socket[] = [];
  handler: Handler = (r) => reply(r);

  private constructor(private readonly server: net.Server, readonly address: string) {}

  static async start(): Promise<FakeServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeServer(server, `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    server.on('connection', (socket) => fake.serve(socket));
    return fake;
  }

  private serve(socket: net.Socket): void {
    this.sockets.push(socket);
    const splitter = new FrameSplitter();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(new Uint8Array(chunk))) {
        const received = { header: decodeRequestHeader(frame.subarray(0, HEADER_SIZE)), frame, body: frame.subarray(HEADER_SIZE) };
        this.received.push(received);
        const answer = this.handler(received);
        if (answer) socket.write(answer);
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// A reply echoing the request's operation and number, as the server must.
export function reply(r: Received, body?: Uint8Array, status = 0, operation = r.header.operation): Uint8Array {
  return encodeReply({
    client: r.header.client, requestChecksum: 0n, session: r.header.session, commit: 0n, timestamp: 0n,
    request: r.header.request, operation, status, body,
  });
}
