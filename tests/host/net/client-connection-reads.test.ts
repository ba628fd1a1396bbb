// A connection works on several read-only requests at once (a client's polls sent ahead of their replies) and
// still answers every request in the order it came; a request that is not read-only starts only once everything
// before it is answered, and nothing starts while it is worked on. Answers of requests the connection was still
// working on when it closed give back the memory lent for them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ClientConnection, READS_IN_FLIGHT, type Answer, type ConnectionHandler } from '../../../host/node/net/client-connection.js';
import { BufferBudget } from '../../../host/node/net/connection-limits.js';
import { NetCounters } from '../../../host/node/net/net-counters.js';
import { LogLimiter } from '../../../host/shared/log-limiter.js';
import { logger } from '../../../host/shared/log.js';
import { CoreVsrHeader } from '../../../host/shared/core-abi.generated.js';
import { decodeRequestHeader, encodeReply, encodeRequest } from '../../../host/shared/wire/header.js';
import { waitFor } from '../../e2e/helpers/server.js';

const READ = 100; // the code the handler below calls read-only
const limits = {
  maxFrameBytes: 1 << 20, unauthenticatedFrameBytes: 4096, connectionBufferBytes: 1 << 30, bufferedBytes: 1 << 30,
  frameTimeoutMs: 60_000, loginTimeoutMs: 0, idleTimeoutMs: 0, maxConnections: 10,
};
const request = (n: number, code: number) => encodeRequest({ client: 1n, request: BigInt(n), operation: 2, session: 1n, code });
const answer = (n: number) => encodeReply({ client: 1n, requestChecksum: 0n, session: 1n, commit: 0n, timestamp: 0n, request: BigInt(n), operation: 2, status: 0, body: new Uint8Array(0) });

interface Started {
  n: number;
  // Requests started and not yet resolved when this one started (itself excluded).
  others: number[];
  resolve: (a: Answer) => void;
}

// A server whose handler holds every request until the test resolves it.
async function server(): Promise<{ started: Started[]; client: net.Socket; answered: number[]; connection: () => ClientConnection; close: () => Promise<void> }> {
  const started: Started[] = [];
  const open = new Set<number>();
  let connection: ClientConnection | null = null;
  const handler: ConnectionHandler = {
    request: (_c, frame) => {
      const n = Number(decodeRequestHeader(frame).request);
      return new Promise<Answer>((resolve) => {
        started.push({ n, others: [...open], resolve: (a) => { open.delete(n); resolve(a); } });
        open.add(n);
      });
    },
    readOnly: (frame) => decodeRequestHeader(frame).code === READ,
    closed: () => {},
  };
  const srv = net.createServer((socket) => {
    const counters = new NetCounters();
    connection = new ClientConnection(1, socket, 'test', handler, { limits, counters, budget: new BufferBudget(limits.bufferedBytes, counters), logs: new LogLimiter(logger('test')), arena: null });
    connection.setAuthenticated(true);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const answered: number[] = [];
  let pending = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (; pending.length >= 256; pending = pending.subarray(256)) answered.push(Number(pending.readBigUInt64LE(CoreVsrHeader.Y_REQUEST)));
  });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  return {
    started, client, answered, connection: () => connection!,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

const startedOf = (s: Started[]) => s.map((x) => x.n);

describe('client connection: read-only requests in flight together', () => {
  it('starts consecutive reads together (at most READS_IN_FLIGHT), answers in request order, and runs anything else alone', async () => {
    const s = await server();
    try {
      const reads = READS_IN_FLIGHT + 1;
      for (let n = 1; n <= reads; n++) s.client.write(request(n, READ));
      s.client.write(request(reads + 1, 1)); // not read-only
      s.client.write(request(reads + 2, READ));
      await waitFor('the first reads to start', 5_000, async () => (s.started.length === READS_IN_FLIGHT ? true : undefined));
      assert.deepEqual(s.started[READS_IN_FLIGHT - 1].others, Array.from({ length: READS_IN_FLIGHT - 1 }, (_, i) => i + 1), 'started while the ones before it were still worked on');
      // Answered out of order, written in order: nothing goes out before request 1's answer.
      for (let i = READS_IN_FLIGHT - 1; i >= 1; i--) s.started[i].resolve(answer(s.started[i].n));
      s.started[0].resolve(answer(1));
      await waitFor('the next read to start', 5_000, async () => (s.started.length === READS_IN_FLIGHT + 1 ? true : undefined));
      s.started[READS_IN_FLIGHT].resolve(answer(reads));
      await waitFor('the request that is not read-only to start', 5_000, async () => (s.started.length === reads + 1 ? true : undefined));
      assert.deepEqual(s.started[reads].others, [], 'it starts once every request before it is answered');
      s.started[reads].resolve(answer(reads + 1));
      await waitFor('the last read to start', 5_000, async () => (s.started.length === reads + 2 ? true : undefined));
      assert.deepEqual(s.started[reads + 1].others, [], 'nothing after it started while it was worked on');
      s.started[reads + 1].resolve(answer(reads + 2));
      await waitFor('every answer', 5_000, async () => (s.answered.length === reads + 2 ? true : undefined));
      assert.deepEqual(s.answered, Array.from({ length: reads + 2 }, (_, i) => i + 1), 'answers in the order of the requests');
      assert.deepEqual(startedOf(s.started), Array.from({ length: reads + 2 }, (_, i) => i + 1), 'started in order');
    } finally {
      await s.close();
    }
  });

  it('gives back the memory lent for answers still being worked on when the connection closes', async () => {
    const s = await server();
    try {
      for (let n = 1; n <= 3; n++) s.client.write(request(n, READ));
      await waitFor('three reads to start', 5_000, async () => (s.started.length === 3 ? true : undefined));
      s.client.destroy();
      await waitFor('the connection to close', 5_000, async () => (s.connection().isOpen ? undefined : true));
      const returned: number[] = [];
      for (const x of s.started) x.resolve({ pieces: [answer(x.n)], done: () => returned.push(x.n) });
      await waitFor('every lent answer to come back', 5_000, async () => (returned.length === 3 ? true : undefined));
      assert.deepEqual(returned.sort(), [1, 2, 3]);
    } finally {
      await s.close();
    }
  });
});
