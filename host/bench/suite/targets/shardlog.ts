// shardlog itself: a fresh server process per run (host/bin/shardlog-server.mjs, --shards N, temp data dir),
// driven with host/client. Over TCP a batch is built once per producer (the bench measures the server, not the
// client's hashing) and sent with its stream/topic/partition header, as protocol-bench does. Over HTTP each actor
// is an HttpClient (undici, one keep-alive connection) calling sendMessages / pollMessages as a user would: the
// JSON and base64 of every request and reply are part of what is measured, as they are part of the transport.
import fs from 'node:fs';
import path from 'node:path';
import { IggyClient } from '../../../client/client.js';
import { HttpClient } from '../../../client/http-client.js';
import { buildBatch } from '../../../client/batch.js';
import * as req from '../../../client/requests.js';
import { repoRoot } from '../../../node/paths.js';
import { freePort } from '../../../node/free-port.js';
import { startServer, type ServerProcess } from '../server-process.js';
import { OffsetReader, PollPipe } from './poll-pipe.js';
import type { Consumer, Destination, Producer, Target, Workload } from './target.js';

const SEND = 101;
const POLL = 100;
const FSYNC: Record<Workload['durability'], string> = { fsync: 'every-batch', relaxed: 'interval:1000' };

export class ShardlogTarget implements Target {
  readonly name = 'shardlog';
  readonly version: string;
  readonly durability: string;
  private server: ServerProcess | null = null;
  private address = '';
  private httpAddress = '';
  private streamIds: number[] = [];
  private groupIds: number[] = [];
  private batch: Uint8Array;
  private messages: req.SendInput['messages'];

  constructor(private readonly w: Workload) {
    const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    this.version = `shardlog ${version} (--shards ${w.shards}${w.transport === 'http' ? ', HTTP REST API via undici' : ''})`;
    this.durability = w.durability === 'fsync'
      ? '--fsync every-batch: acknowledged after the batch is fdatasynced'
      : '--fsync interval:1000: acknowledged before the fsync, synced every 1 s';
    const payload = new Uint8Array(w.messageSize).fill(0x61);
    this.messages = Array.from({ length: w.messagesPerBatch }, (_, i) => ({ id: BigInt(i + 1), payload }));
    this.batch = buildBatch(this.messages);
  }

  get serverPid(): number | null { return this.server?.pid ?? null; }

  async start(): Promise<void> {
    this.address = `127.0.0.1:${await freePort()}`;
    const http = this.httpAddress = `127.0.0.1:${await freePort()}`;
    this.server = await startServer('shardlog', process.execPath, (dir) => [
      ...nodeFlags(), path.join(repoRoot, 'host', 'bin', 'shardlog-server.mjs'), '--shards', String(this.w.shards), '--data-dir', dir,
      '--tcp-address', this.address, '--http-address', http, '--fsync', FSYNC[this.w.durability], '--log-level', 'warn',
    ], async () => {
      const c = await IggyClient.connect({ address: this.address, timeoutMs: 1000, heartbeatMs: 0 });
      try { await c.ping(); } finally { await c.close(); }
      return true;
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }

  private connect(): Promise<IggyClient> {
    return IggyClient.connect({ address: this.address, username: 'iggy', password: 'iggy', heartbeatMs: 0, timeoutMs: 120_000 });
  }

  async createStreams(streams: number, partitions: number, withGroup: boolean): Promise<void> {
    const admin = await this.connect();
    try {
      for (let s = 0; s < streams; s++) {
        const stream = await admin.createStream(`bench-${s}`);
        const topic = await admin.createTopic({ stream: stream.id, name: 't', partitionsCount: partitions });
        this.streamIds.push(stream.id);
        if (withGroup) this.groupIds.push((await admin.createGroup(stream.id, topic.id, 'bench')).id);
      }
    } finally {
      await admin.close();
    }
  }

  private connectHttp(): Promise<HttpClient> {
    return HttpClient.connect({ address: this.httpAddress, username: 'iggy', password: 'iggy', connections: 1, timeoutMs: 120_000 });
  }

  async producer(): Promise<Producer> {
    if (this.w.transport === 'http') return this.httpProducer();
    const client = await this.connect();
    const bodies = new Map<string, Uint8Array>();
    return {
      send: async (to: Destination) => {
        const key = `${to.stream}:${to.partition}`;
        let body = bodies.get(key);
        if (!body) {
          const partitioning = to.partition === 'balanced' ? { kind: 'balanced' as const } : { kind: 'partition' as const, partition: to.partition };
          body = req.sendMessages({ stream: this.streamIds[to.stream], topic: 't', partitioning, messages: this.messages }, this.batch);
          bodies.set(key, body);
        }
        await client.rawCommand(SEND, body);
      },
      close: () => client.close(),
    };
  }

  private async httpProducer(): Promise<Producer> {
    const client = await this.connectHttp();
    return {
      send: async (to: Destination) => {
        const partitioning = to.partition === 'balanced' ? { kind: 'balanced' as const } : { kind: 'partition' as const, partition: to.partition };
        await client.sendMessages({ stream: this.streamIds[to.stream], topic: 't', partitioning, messages: this.messages });
      },
      close: () => client.close(),
    };
  }

  // Over HTTP: the same polls (by offset; a group member polls Next with auto-commit) through HttpClient.
  private async httpConsumer(): Promise<Consumer> {
    const client = await this.connectHttp();
    const offsets = new Map<string, bigint>();
    const joined = new Set<number>();
    const count = this.w.messagesPerBatch;
    return {
      poll: async (stream, partition) => {
        const key = `${stream}:${partition}`;
        const offset = offsets.get(key) ?? 0n;
        const polled = await client.pollMessages({ stream: this.streamIds[stream], topic: 't', partition, strategy: { kind: 'offset', value: offset }, count });
        offsets.set(key, offset + BigInt(polled.messages.length));
        return polled.messages.length;
      },
      pollGroup: async (stream) => {
        if (!joined.has(stream)) {
          await client.joinGroup(this.streamIds[stream], 't', this.groupIds[stream]);
          joined.add(stream);
        }
        const polled = await client.pollMessages({
          consumer: { kind: 'group', id: this.groupIds[stream] }, stream: this.streamIds[stream], topic: 't', partition: null,
          strategy: { kind: 'next' }, count, autoCommit: true,
        });
        return polled.messages.length;
      },
      close: () => client.close(),
    };
  }

  // Over TCP: the group polls (and the end-to-end kind's read-backs) through IggyClient, one at a time; a reading
  // consumer's polls by offset through a PollPipe, Workload.pollsInFlight of them on the wire (poll-pipe.ts).
  async consumer(): Promise<Consumer> {
    if (this.w.transport === 'http') return this.httpConsumer();
    const client = await this.connect();
    const pipe = await PollPipe.open(this.address, 'iggy', 'iggy', 120_000);
    const offsets = new Map<string, bigint>();
    const joined = new Set<number>();
    const count = this.w.messagesPerBatch;
    // The reply's message count sits after partition id (u32) and current offset (u64): readPollReply's layout.
    const countOf = (reply: Uint8Array): number => new DataView(reply.buffer, reply.byteOffset).getUint32(12, true);
    return {
      poll: async (stream, partition) => {
        const key = `${stream}:${partition}`;
        const offset = offsets.get(key) ?? 0n;
        const reply = await client.rawCommand(POLL, req.pollMessages({
          stream: this.streamIds[stream], topic: 't', partition, strategy: { kind: 'offset', value: offset }, count,
        }));
        const n = reply.length >= 16 ? countOf(reply) : 0;
        offsets.set(key, offset + BigInt(n));
        return n;
      },
      pollGroup: async (stream) => {
        if (!joined.has(stream)) {
          await client.joinGroup(this.streamIds[stream], 't', this.groupIds[stream]);
          joined.add(stream);
        }
        const reply = await client.rawCommand(POLL, req.pollMessages({
          consumer: { kind: 'group', id: this.groupIds[stream] }, stream: this.streamIds[stream], topic: 't', partition: null,
          strategy: { kind: 'next' }, count, autoCommit: true,
        }));
        return reply.length >= 16 ? countOf(reply) : 0;
      },
      readAhead: (stream, partition, owed) =>
        new OffsetReader(pipe, this.streamIds[stream], 't', partition, count, this.w.pollsInFlight ?? 1, owed),
      close: async () => {
        await pipe.close();
        await client.close();
      },
    };
  }
}

// SHARDLOG_BENCH_NODE_FLAGS: node flags for the server the tool starts, e.g. "--cpu-prof --cpu-prof-dir=DIR" to
// profile its threads during a run (NODE_OPTIONS may not carry --cpu-prof).
function nodeFlags(): string[] {
  return (process.env.SHARDLOG_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}
