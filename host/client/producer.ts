// A high-level producer over one client (IggyClient or HttpClient: messaging-client.ts): messages are buffered per
// target partition and sent as batches when a batch is full (messages or bytes) or its linger time has passed;
// the buffer is bounded, and send() waits for room when it is full (backpressure instead of unbounded memory). Partitioning strategies: balanced (the
// server's round-robin, per batch), round-robin over the partitions (per message, client side), by each message's
// key (XXH32 mod partitions: the hash the server applies to MessagesKey, so a key lands where a keyed send of
// any Iggy SDK would), or one explicit partition. A message's own `key` or `partition` overrides the strategy.
import { utf8 } from '../shared/wire/buffer.js';
import { xxh32 } from '../shared/xxh32.js';
import type { Partitioning } from '../shared/wire/primitives.js';
import { FRAME_HEADER_SIZE, type MessageInput } from './batch.js';
import type { MessagingClient } from './messaging-client.js';
import type { Id } from './requests.js';

export type PartitionStrategy =
  | { kind: 'balanced' }
  | { kind: 'round-robin' }
  | { kind: 'key' }
  | { kind: 'partition'; partition: number };

export interface ProducerOptions {
  stream: Id;
  topic: Id;
  partitioning?: PartitionStrategy; // [balanced]
  batchMaxMessages?: number; // a batch is sent once it holds this many messages [1000]
  batchMaxBytes?: number; // ... or this many bytes [1 MiB]
  lingerMs?: number; // ... or its first message waited this long [5]
  bufferMaxMessages?: number; // send() waits while this many messages are buffered or in flight [10000]
  bufferMaxBytes?: number; // ... or this many bytes [16 MiB]
}

export interface ProducerMessage extends MessageInput {
  key?: string | Uint8Array; // route by this key (the server's hash)
  partition?: number; // route to this partition
}

// Raised by send() after close(), and by close() itself the second time round.
export class ProducerClosed extends Error {
  constructor() {
    super('the producer is closed');
    this.name = 'ProducerClosed';
  }
}

// A batch could not be delivered. Reported once, by the next send() or flush(); `messages` is how many were lost.
export class ProducerSendFailed extends Error {
  constructor(public messages: number, cause: Error) {
    super(`${messages} message(s) were not delivered: ${cause.message}`, { cause });
    this.name = 'ProducerSendFailed';
  }
}

const DEFAULTS = { batchMaxMessages: 1000, batchMaxBytes: 1 << 20, lingerMs: 5, bufferMaxMessages: 10_000, bufferMaxBytes: 16 << 20 };

type Route = number | 'balanced'; // a partition id, or "let the server choose"

interface Pending { message: MessageInput; bytes: number }

interface Queue { items: Pending[]; bytes: number; timer: NodeJS.Timeout | undefined }

export class Producer {
  private readonly settings: typeof DEFAULTS;
  private readonly strategy: PartitionStrategy;
  private readonly queues = new Map<Route, Queue>();
  private readonly ready: Route[] = []; // routes with a batch to send, in order
  private bufferedMessages = 0; // queued or in flight
  private bufferedBytes = 0;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private sending = false;
  private failure: ProducerSendFailed | null = null;
  private closed = false;
  private roundRobin = 0;

  // `partitionsCount` is needed for round-robin and key routing (Producer.create reads it from the topic).
  constructor(private readonly client: MessagingClient, private readonly options: ProducerOptions, private partitionsCount = 0) {
    this.settings = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value === undefined) continue;
      const min = key === 'lingerMs' ? 0 : 1;
      if (!Number.isInteger(value) || value < min) throw new RangeError(`producer option ${key} must be an integer >= ${min}, got ${value}`);
      this.settings[key] = value;
    }
    this.strategy = options.partitioning ?? { kind: 'balanced' };
    if (this.strategy.kind === 'partition') checkPartition(this.strategy.partition);
  }

  // Reads the topic's partition count (for round-robin and key routing); an unknown stream or topic is an error here.
  static async create(client: MessagingClient, options: ProducerOptions): Promise<Producer> {
    const topic = await client.getTopic(options.stream, options.topic);
    if (!topic) throw new RangeError(`topic ${String(options.topic)} of stream ${String(options.stream)} not found`);
    return new Producer(client, options, topic.partitionsCount);
  }

  // Buffers the messages, waiting for room when the buffer is full. Resolves once they are buffered, not sent:
  // flush() (or close()) is when delivery is known. Rejects with the failure of an earlier batch, once.
  async send(messages: ProducerMessage | ProducerMessage[]): Promise<void> {
    for (const m of Array.isArray(messages) ? messages : [messages]) {
      if (this.closed) throw new ProducerClosed();
      this.throwFailure();
      const pending = this.prepare(m);
      while (!this.hasRoomFor(pending.bytes)) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      if (this.closed) throw new ProducerClosed();
      this.enqueue(this.routeOf(m), pending);
    }
  }

  // Sends everything buffered now (linger or not) and resolves when it is delivered; rejects with a failure.
  async flush(): Promise<void> {
    for (const [route, queue] of this.queues) if (queue.items.length > 0) this.markReady(route);
    if (this.bufferedMessages > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.throwFailure();
  }

  // Flushes, then refuses further sends.
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  get buffered(): { messages: number; bytes: number } {
    return { messages: this.bufferedMessages, bytes: this.bufferedBytes };
  }

  private prepare(m: ProducerMessage): Pending {
    const payload = typeof m.payload === 'string' ? utf8.encode(m.payload) : m.payload;
    const headerBytes = (m.headers ?? []).reduce((sum, h) => sum + 6 + h.key.length + h.value.length, 0);
    const bytes = FRAME_HEADER_SIZE + payload.length + headerBytes;
    const limit = Math.min(this.settings.batchMaxBytes, this.settings.bufferMaxBytes);
    if (bytes > limit) throw new RangeError(`message of ${bytes} bytes is larger than the producer's batch/buffer limit of ${limit} bytes`);
    const { key: _key, partition: _partition, ...message } = m;
    return { message: { ...message, payload }, bytes };
  }

  private routeOf(m: ProducerMessage): Route {
    if (m.partition !== undefined) return checkPartition(m.partition);
    if (m.key !== undefined) return this.partitionOfKey(m.key);
    switch (this.strategy.kind) {
      case 'balanced': return 'balanced';
      case 'partition': return this.strategy.partition;
      case 'round-robin': return this.roundRobin++ % this.needPartitions('round-robin');
      case 'key': throw new RangeError('partitioning by key: the message has no key');
    }
  }

  private partitionOfKey(key: string | Uint8Array): number {
    const bytes = typeof key === 'string' ? utf8.encode(key) : key;
    if (bytes.length < 1 || bytes.length > 255) throw new RangeError(`message key must be 1..255 bytes, got ${bytes.length}`);
    return partitionForKey(bytes, this.needPartitions('key'));
  }

  private needPartitions(what: string): number {
    if (this.partitionsCount < 1) throw new RangeError(`${what} partitioning needs the topic's partition count: create the producer with Producer.create`);
    return this.partitionsCount;
  }

  private hasRoomFor(bytes: number): boolean {
    return this.bufferedMessages + 1 <= this.settings.bufferMaxMessages && this.bufferedBytes + bytes <= this.settings.bufferMaxBytes;
  }

  private enqueue(route: Route, pending: Pending): void {
    let queue = this.queues.get(route);
    if (!queue) this.queues.set(route, (queue = { items: [], bytes: 0, timer: undefined }));
    queue.items.push(pending);
    queue.bytes += pending.bytes;
    this.bufferedMessages += 1;
    this.bufferedBytes += pending.bytes;
    if (this.isFull(queue)) this.markReady(route);
    else queue.timer ??= setTimeout(() => this.markReady(route), this.settings.lingerMs);
  }

  private isFull(queue: Queue): boolean {
    return queue.items.length >= this.settings.batchMaxMessages || queue.bytes >= this.settings.batchMaxBytes;
  }

  private markReady(route: Route): void {
    const queue = this.queues.get(route);
    if (!queue) return;
    clearTimeout(queue.timer);
    queue.timer = undefined;
    if (!this.ready.includes(route)) this.ready.push(route);
    void this.drain();
  }

  // One batch at a time (the client is lock-step anyway), in the order routes became ready.
  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let route = this.ready.shift(); route !== undefined; route = this.ready.shift()) {
        const batch = this.takeBatch(route);
        if (batch.length > 0) await this.deliver(route, batch);
      }
    } finally {
      this.sending = false;
    }
    if (this.bufferedMessages === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private takeBatch(route: Route): Pending[] {
    const queue = this.queues.get(route)!;
    let count = 0;
    let bytes = 0;
    while (count < queue.items.length && count < this.settings.batchMaxMessages && (count === 0 || bytes + queue.items[count].bytes <= this.settings.batchMaxBytes)) {
      bytes += queue.items[count].bytes;
      count += 1;
    }
    const batch = queue.items.splice(0, count);
    queue.bytes -= bytes;
    if (queue.items.length > 0) {
      if (this.isFull(queue)) this.ready.push(route);
      else queue.timer ??= setTimeout(() => this.markReady(route), this.settings.lingerMs);
    }
    return batch;
  }

  private async deliver(route: Route, batch: Pending[]): Promise<void> {
    const partitioning: Partitioning = route === 'balanced' ? { kind: 'balanced' } : { kind: 'partition', partition: route };
    try {
      await this.client.sendMessages({ stream: this.options.stream, topic: this.options.topic, partitioning, messages: batch.map((p) => p.message) });
    } catch (error) {
      this.failure ??= new ProducerSendFailed(0, error as Error);
      this.failure.messages += batch.length;
    } finally {
      this.bufferedMessages -= batch.length;
      this.bufferedBytes -= batch.reduce((sum, p) => sum + p.bytes, 0);
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  private throwFailure(): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = null;
    throw new ProducerSendFailed(failure.messages, failure.cause as Error);
  }
}

// The partition a MessagesKey send of `key` lands on (iggy-client-wire.md §8.6): XXH32, seed 0, mod the count.
export function partitionForKey(key: Uint8Array, partitionsCount: number): number {
  return xxh32(key) % partitionsCount;
}

function checkPartition(partition: number): number {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffff_ffff) throw new RangeError(`partition must be an integer >= 0, got ${partition}`);
  return partition;
}
