// Redis Streams (Debian redis-server), through ioredis. A partition is a stream key `bench:<s>:<p>`; a batch is
// one pipeline of `messagesPerBatch` XADDs (Redis answers a pipeline read in one event-loop turn, and with
// appendfsync always it fsyncs the AOF before replying to any of it). Consumers XREAD from the last id they saw;
// a consumer group is XREADGROUP … NOACK over all the stream's keys (NOACK: the auto-commit of the others).
import { Redis } from 'ioredis';
import { freePort } from '../../../node/free-port.js';
import { MissingServerBinary, findBinary, startServer, versionOf, type ServerProcess } from '../server-process.js';
import type { Consumer, Destination, Producer, Target, Workload } from './target.js';

const APPENDFSYNC: Record<Workload['durability'], string> = { fsync: 'always', relaxed: 'everysec' };

export class RedisTarget implements Target {
  readonly name = 'redis';
  readonly version: string;
  readonly durability: string;
  private server: ServerProcess | null = null;
  private port = 0;
  private partitions = 1;
  private readonly binary: string;
  private readonly payload: Buffer;

  constructor(private readonly w: Workload) {
    const binary = findBinary('redis-server');
    if (!binary) throw new MissingServerBinary('redis-server is not installed (apt-get install redis-server)');
    this.binary = binary;
    this.version = versionOf(binary, ['--version']);
    this.durability = w.durability === 'fsync'
      ? 'appendonly yes, appendfsync always: a pipeline is answered after its AOF write is fsynced'
      : 'appendonly yes, appendfsync everysec: answered before the fsync, synced every 1 s';
    this.payload = Buffer.alloc(w.messageSize, 0x61);
  }

  get serverPid(): number | null { return this.server?.pid ?? null; }

  // No RDB snapshots and no AOF rewrites during the run: both fork and rewrite the whole data set, which shardlog
  // never does; leaving them on would charge Redis for compaction the others do not perform.
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = await startServer('redis', this.binary, (dir) => [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes',
      '--appendfsync', APPENDFSYNC[this.w.durability], '--auto-aof-rewrite-percentage', '0', '--protected-mode', 'no',
      '--daemonize', 'no', '--logfile', '',
    ], async () => {
      const c = this.client(false);
      try { return (await c.ping()) === 'PONG'; } finally { c.disconnect(); }
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }

  // The readiness probe does not retry (the start loop does) and its refusals are expected, not logged.
  private client(retry = true): Redis {
    const c = new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 0, ...(retry ? {} : { retryStrategy: () => null }) });
    if (!retry) c.on('error', () => undefined);
    return c;
  }

  private key(stream: number, partition: number): string { return `bench:${stream}:${partition}`; }

  async createStreams(streams: number, partitions: number, withGroup: boolean): Promise<void> {
    this.partitions = partitions;
    if (!withGroup) return; // a Redis stream exists once written to
    const c = this.client();
    try {
      for (let s = 0; s < streams; s++) {
        for (let p = 0; p < partitions; p++) await c.call('XGROUP', 'CREATE', this.key(s, p), 'bench', '0', 'MKSTREAM');
      }
    } finally { c.disconnect(); }
  }

  async producer(): Promise<Producer> {
    const c = this.client();
    let next = 0;
    return {
      send: async (to: Destination) => {
        const partition = to.partition === 'balanced' ? next++ % this.partitions : to.partition;
        const key = this.key(to.stream, partition);
        const pipeline = c.pipeline();
        for (let i = 0; i < this.w.messagesPerBatch; i++) pipeline.xadd(key, '*', 'd', this.payload);
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error);
        if (!replies || failed) throw new Error(`redis XADD failed: ${failed?.[0]?.message ?? 'no reply'}`);
      },
      close: async () => { c.disconnect(); },
    };
  }

  async consumer(member: number): Promise<Consumer> {
    const c = this.client();
    const lastIds = new Map<string, string>();
    const count = this.w.messagesPerBatch;
    return {
      poll: async (stream, partition) => {
        const key = this.key(stream, partition);
        const reply = await c.callBuffer('XREAD', 'COUNT', count, 'STREAMS', key, lastIds.get(key) ?? '0') as [Buffer, [Buffer, Buffer[]][]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length > 0) lastIds.set(key, entries[entries.length - 1][0].toString());
        return entries.length;
      },
      pollGroup: async (stream) => {
        const keys = Array.from({ length: this.partitions }, (_, p) => this.key(stream, p));
        const reply = await c.callBuffer('XREADGROUP', 'GROUP', 'bench', `c${member}`, 'COUNT', Math.ceil(count / keys.length), 'NOACK',
          'STREAMS', ...keys, ...keys.map(() => '>')) as [Buffer, [Buffer, Buffer[]][]][] | null;
        return (reply ?? []).reduce((sum, [, entries]) => sum + entries.length, 0);
      },
      close: async () => { c.disconnect(); },
    };
  }
}
