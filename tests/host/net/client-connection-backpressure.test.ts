// A client connection whose request waits for room towards another shard stops reading its socket, and stays
// stopped past the answer until the wait is over (the read-ahead rule alone would resume it as soon as its queue
// of frames is short).
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ClientConnection, type Answer } from '../../../host/node/net/client-connection.js';
import { BufferBudget } from '../../../host/node/net/connection-limits.js';
import { NetCounters } from '../../../host/node/net/net-counters.js';
import { LogLimiter } from '../../../host/shared/log-limiter.js';
import { logger } from '../../../host/shared/log.js';
import { encodeRequest, encodeReply } from '../../../host/shared/wire/header.js';
import { waitFor } from '../../e2e/helpers/server.js';

const request = (n: number) => encodeRequest({ client: 1n, request: BigInt(n), operation: 0, session: 0n, code: 1 });
const limits = {
  maxFrameBytes: 1 << 20, unauthenticatedFrameBytes: 4096, connectionBufferBytes: 1 << 30, bufferedBytes: 1 << 30,
  frameTimeoutMs: 60_000, loginTimeoutMs: 0, idleTimeoutMs: 0, maxConnections: 10,
};
const answer = (n: number): Answer => encodeReply({ client: 1n, requestChecksum: 0n, session: 0n, commit: 0n, timestamp: 0n, request: BigInt(n), operation: 0, status: 0, body: new Uint8Array(0) });

describe('client connection backpressure', () => {
  it('reading.pause() keeps the socket paused after the request is answered, until reading.resume()', async () => {
    const handled: number[] = [];
    let connection: ClientConnection | null = null;
    const server = net.createServer((socket) => {
      const counters = new NetCounters();
      const env = { limits, counters, budget: new BufferBudget(limits.bufferedBytes, counters), logs: new LogLimiter(logger('test')), arena: null };
      connection = new ClientConnection(1, socket, 'test', {
        request: async (c: ClientConnection) => {
          const n = handled.length + 1;
          handled.push(n);
          if (n === 1) c.reading.pause(); // the request waited for room: its producer is paused ...
          return answer(n);
        },
        closed: () => {},
      }, env);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    let received = 0;
    client.on('data', (chunk) => { received += chunk.length; });
    try {
      client.write(request(1));
      await waitFor('the first answer', 5_000, async () => (received >= 256 ? true : undefined));
      assert.ok(connection!.socket.isPaused(), 'answered, but the socket must stay paused while the pause is held');
      client.write(request(2));
      connection!.reading.resume(); // ... and resumed once its request was queued
      assert.ok(!connection!.socket.isPaused(), 'resumed');
      await waitFor('the second request', 5_000, async () => (handled.length === 2 ? true : undefined));
      assert.deepEqual(handled, [1, 2]);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
