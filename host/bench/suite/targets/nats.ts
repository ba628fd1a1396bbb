// NATS JetStream (Debian nats-server, started with -js and a temp store), through the `nats` npm client. A stream
// `S<s>` holds subjects `bench.<s>.<p>`, one per partition; a batch is `messagesPerBatch` js.publish calls in
// flight at once, acknowledged when every PubAck is in. Consumers read an ordered consumer per subject; a consumer
// group is one durable pull consumer that the members fetch from (each message to one member).
import { AckPolicy, connect, StorageType, type Consumer as NatsConsumer, type JetStreamClient, type NatsConnection } from 'nats';
import fs from 'node:fs';
import { freePort } from '../../../node/free-port.js';
import { MissingServerBinary, findBinary, startServer, versionOf, type ServerProcess } from '../server-process.js';
import type { Consumer, Destination, Producer, Target, Workload } from './target.js';

// A fetch that finds fewer messages than asked for returns after this long with what it has.
const FETCH_EXPIRES_MS = 1000;

export class NatsTarget implements Target {
  readonly name = 'nats';
  readonly version: string;
  readonly durability: string;
  private server: ServerProcess | null = null;
  private port = 0;
  private partitions = 1;
  private readonly binary: string;
  private readonly payload: Uint8Array;

  constructor(private readonly w: Workload) {
    const binary = findBinary('nats-server');
    if (!binary) throw new MissingServerBinary('nats-server is not installed (apt-get install nats-server)');
    this.binary = binary;
    this.version = versionOf(binary, ['--version']);
    // 2.9 has no jetstream.sync_interval (it came in 2.10): the file store acknowledges after its write to the
    // page cache and fsyncs on its own timer (2 min), so neither durability setting makes each ack durable.
    const sync = /v2\.(\d+)\./.exec(this.version);
    this.durability = sync && Number(sync[1]) >= 10 && w.durability === 'fsync'
      ? 'file store, sync_interval always: fsync on every write'
      : 'file store, default sync: acknowledged after the write to the page cache, fsynced every 2 min (2.9 has no sync_interval always)';
    this.payload = new Uint8Array(w.messageSize).fill(0x61);
  }

  get serverPid(): number | null { return this.server?.pid ?? null; }

  private syncAlways(): boolean { return this.durability.includes('sync_interval always:'); }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = await startServer('nats', this.binary, (dir) => {
      const args = ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(this.port)];
      return this.syncAlways() ? [...args, '-c', this.writeSyncConfig(dir)] : args;
    }, async () => {
      const nc = await connect({ servers: `127.0.0.1:${this.port}`, timeout: 1000, reconnect: false });
      await nc.close();
      return true;
    });
  }

  private writeSyncConfig(dir: string): string {
    const file = `${dir}/sync.conf`;
    fs.writeFileSync(file, 'jetstream { sync_interval: always }\n');
    return file;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }

  private connect(): Promise<NatsConnection> {
    return connect({ servers: `127.0.0.1:${this.port}`, reconnect: false, timeout: 10_000 });
  }

  async createStreams(streams: number, partitions: number, withGroup: boolean): Promise<void> {
    this.partitions = partitions;
    const nc = await this.connect();
    try {
      const jsm = await nc.jetstreamManager();
      for (let s = 0; s < streams; s++) {
        await jsm.streams.add({ name: `S${s}`, subjects: [`bench.${s}.*`], storage: StorageType.File });
        if (withGroup) await jsm.consumers.add(`S${s}`, { durable_name: 'bench', ack_policy: AckPolicy.None });
      }
    } finally {
      await nc.close();
    }
  }

  async producer(): Promise<Producer> {
    const nc = await this.connect();
    const js: JetStreamClient = nc.jetstream({ timeout: 120_000 });
    let next = 0;
    return {
      send: async (to: Destination) => {
        const partition = to.partition === 'balanced' ? next++ % this.partitions : to.partition;
        const subject = `bench.${to.stream}.${partition}`;
        const acks = [];
        for (let i = 0; i < this.w.messagesPerBatch; i++) acks.push(js.publish(subject, this.payload));
        await Promise.all(acks);
      },
      close: () => nc.close(),
    };
  }

  async consumer(): Promise<Consumer> {
    const nc = await this.connect();
    const js = nc.jetstream();
    const ordered = new Map<string, NatsConsumer>();
    const groups = new Map<number, NatsConsumer>();
    const drain = async (consumer: NatsConsumer): Promise<number> => {
      let n = 0;
      for await (const m of await consumer.fetch({ max_messages: this.w.messagesPerBatch, expires: FETCH_EXPIRES_MS })) {
        void m;
        n += 1;
      }
      return n;
    };
    return {
      poll: async (stream, partition) => {
        const key = `${stream}.${partition}`;
        let c = ordered.get(key);
        if (!c) {
          c = await js.consumers.get(`S${stream}`, { filterSubjects: `bench.${key}` });
          ordered.set(key, c);
        }
        return drain(c);
      },
      pollGroup: async (stream) => {
        let c = groups.get(stream);
        if (!c) {
          c = await js.consumers.get(`S${stream}`, 'bench');
          groups.set(stream, c);
        }
        return drain(c);
      },
      close: () => nc.close(),
    };
  }
}
