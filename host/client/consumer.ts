// A high-level consumer over one client (IggyClient or HttpClient: messaging-client.ts): one partition as a single
// consumer, or the partitions a consumer group assigns (join, sync, poll each owned partition in turn, re-sync
// when told the assignment moved: iggy-client-wire.md §9.2). An async iterator yields the messages; offsets are committed after each poll (the
// server's auto-commit), on an interval, or only when the caller says.
//
// Positions are the consumer's own: after the first poll of a partition (strategy Next: the stored offset + 1),
// every poll asks for `last yielded + 1` by offset. So a reconnect (a server restart, a leader change) resumes
// exactly where the caller is, whatever was committed, and a message at an offset already yielded is dropped:
// no duplicates and no gaps per partition. After the group's assignment changed (a new generation), every
// partition starts from the group's stored offset again (another member may have moved it on), still never
// yielding an offset twice.
import { ErrorCode } from '../shared/wire/codes.js';
import type { Message } from './batch.js';
import type { MessagingClient } from './messaging-client.js';
import { IggyError } from './errors.js';
import type { ConsumerInput, Id, PollInput } from './requests.js';

export type AutoCommit =
  | { kind: 'poll' } // the server stores the last offset of every poll (Iggy's "when polling messages")
  | { kind: 'interval'; ms: number } // the last yielded offsets are stored every `ms` and on close()
  | { kind: 'manual' }; // only commit() stores

export interface ConsumerOptions {
  stream: Id;
  topic: Id;
  group?: Id; // consume as this consumer group; without it, a single consumer of `partition`
  createGroup?: boolean; // create the group (by name) when it does not exist [true]
  partition?: number; // the single consumer's partition [0]
  consumerId?: number; // the single consumer's id [0, Iggy's Consumer.Single]
  startOffset?: bigint; // the single consumer starts here instead of at its stored offset + 1
  autoCommit?: AutoCommit; // [poll]
  batchSize?: number; // messages per poll [100]
  pollIntervalMs?: number; // the wait after a round of empty polls [100]
  resyncMs?: number; // re-read the group assignment at least this often, as the SDKs do [5000]
  verifyChecksums?: boolean; // recompute message checksums on arrival [false]
}

export interface ConsumedMessage extends Message { partitionId: number }

// A poll of a group member came back with the "re-sync" sentinel partition id (§8.4).
const RESYNC_PARTITION = 0xffff_ffff;
const RESYNC_CODES: number[] = [ErrorCode.consumerGroupMemberNotFound, ErrorCode.consumerGroupPartitionNotOwned];
// A commit of a partition the member no longer owns is refused with status 20 (§9.2); it is another member's now.
const NOT_OURS_CODES: number[] = [ErrorCode.resourceNotFound, ErrorCode.consumerGroupPartitionNotOwned, ErrorCode.consumerGroupMemberNotFound];

export class Consumer implements AsyncIterable<ConsumedMessage> {
  private readonly consumer: ConsumerInput;
  private readonly autoCommit: AutoCommit;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly resyncMs: number;
  private partitions: number[] = [];
  private syncedAt = -Infinity;
  private generation = -1n; // of the group's assignment at the last sync
  private turn = 0; // which owned partition polls next
  private readonly next = new Map<number, bigint>(); // partition -> next offset to ask for (known after a poll)
  private readonly yielded = new Map<number, bigint>(); // partition -> last offset handed to the caller
  private readonly committed = new Map<number, bigint>(); // partition -> last offset stored on the server
  private interval: NodeJS.Timeout | undefined;
  private closed = false;
  private wakeSleeper: (() => void) | null = null;
  private commitFailure: Error | null = null;

  constructor(private readonly client: MessagingClient, private readonly options: ConsumerOptions) {
    this.autoCommit = options.autoCommit ?? { kind: 'poll' };
    this.batchSize = positiveInt('batchSize', options.batchSize ?? 100);
    this.pollIntervalMs = positiveInt('pollIntervalMs', options.pollIntervalMs ?? 100, 0);
    this.resyncMs = positiveInt('resyncMs', options.resyncMs ?? 5_000);
    if (options.group !== undefined) {
      if (options.partition !== undefined || options.consumerId !== undefined || options.startOffset !== undefined) throw new RangeError('a group consumer takes its partitions from the group: drop partition/consumerId/startOffset');
      this.consumer = { kind: 'group', id: options.group };
    } else {
      this.consumer = { kind: 'consumer', id: positiveInt('consumerId', options.consumerId ?? 0, 0) };
      this.partitions = [positiveInt('partition', options.partition ?? 0, 0)];
      if (options.startOffset !== undefined) this.next.set(this.partitions[0], options.startOffset);
    }
    if (this.autoCommit.kind === 'interval') {
      positiveInt('autoCommit.ms', this.autoCommit.ms);
      this.interval = setInterval(() => { this.commit().catch((error) => { this.commitFailure = error; }); }, this.autoCommit.ms);
      this.interval.unref();
    }
  }

  // The partitions this consumer reads now (for a group: its last assignment).
  get assignment(): readonly number[] { return this.partitions; }

  // A message counts as consumed (for commits and resumption) once it is handed out; a loop that breaks leaves the
  // rest of its batch for the next iteration.
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumedMessage> {
    for (const [partition, offset] of this.yielded) this.next.set(partition, offset + 1n);
    while (!this.closed) {
      const messages = await this.pollRound();
      if (messages.length === 0) await this.sleep(this.pollIntervalMs);
      for (const m of messages) {
        if (this.closed) return;
        this.yielded.set(m.partitionId, m.offset);
        yield m;
      }
    }
  }

  // One round: polls the owned partitions in turn until one has messages (or each was empty once), at most `max`
  // messages [batchSize]. All of them count as consumed.
  async poll(max = this.batchSize): Promise<ConsumedMessage[]> {
    const messages = await this.pollRound(positiveInt('max', max));
    for (const m of messages) this.yielded.set(m.partitionId, m.offset);
    return messages;
  }

  private async pollRound(max = this.batchSize): Promise<ConsumedMessage[]> {
    this.throwCommitFailure();
    if (this.consumer.kind === 'group' && (this.partitions.length === 0 || performance.now() - this.syncedAt > this.resyncMs)) await this.sync();
    for (let tried = 0; tried < this.partitions.length && !this.closed; tried++) {
      const partition = this.partitions[this.turn++ % this.partitions.length];
      const messages = await this.pollPartition(partition, max);
      if (messages === 'resync') {
        await this.sync();
        return [];
      }
      if (messages.length > 0) return messages;
    }
    return [];
  }

  // Stores, per partition, the last offset handed to the caller (not yet stored). A group partition whose position
  // a new generation dropped waits for its next poll: until then the group's stored offset may be past it.
  async commit(): Promise<void> {
    for (const [partition, offset] of [...this.yielded]) {
      if (this.consumer.kind === 'group' && !this.next.has(partition)) continue;
      if (this.committed.get(partition) !== offset) await this.store(partition, offset);
    }
  }

  private async store(partition: number, offset: bigint): Promise<void> {
    try {
      await this.client.storeOffset({ consumer: this.consumer, stream: this.options.stream, topic: this.options.topic, partition }, offset);
      this.committed.set(partition, offset);
    } catch (error) {
      if (!(this.consumer.kind === 'group' && error instanceof IggyError && NOT_OURS_CODES.includes(error.code))) throw error;
    }
  }

  // Ends the iteration, commits what was yielded (unless manual) and leaves the group. The client stays open.
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.interval);
    this.wakeSleeper?.();
    try {
      if (this.autoCommit.kind !== 'manual') await this.commit();
    } finally {
      if (this.consumer.kind === 'group') {
        await this.client.leaveGroup(this.options.stream, this.options.topic, this.consumer.id).catch((error) => {
          if (!(error instanceof IggyError && error.code === ErrorCode.consumerGroupMemberNotFound)) throw error;
        });
      }
    }
  }

  private async pollPartition(partition: number, count: number): Promise<ConsumedMessage[] | 'resync'> {
    const known = this.next.get(partition);
    // A Next poll never auto-commits: if its reply were lost to a dropped connection, the server would already
    // have moved the stored offset past messages nobody received. Its offset is stored once the reply is here;
    // polls by offset commit (the same value again, if resent).
    const poll: PollInput = {
      consumer: this.consumer, stream: this.options.stream, topic: this.options.topic, partition, count,
      strategy: known === undefined ? { kind: 'next' } : { kind: 'offset', value: known },
      autoCommit: this.autoCommit.kind === 'poll' && known !== undefined,
    };
    let polled;
    try {
      polled = await this.client.pollMessages({ ...poll, verifyChecksums: this.options.verifyChecksums });
    } catch (error) {
      if (this.consumer.kind === 'group' && error instanceof IggyError && RESYNC_CODES.includes(error.code)) return 'resync';
      throw error;
    }
    if (polled.partitionId === RESYNC_PARTITION) return 'resync';
    const after = this.yielded.get(partition) ?? -1n;
    const fresh = polled.messages.filter((m) => m.offset > after);
    if (fresh.length === 0) {
      if (polled.messages.length > 0) this.next.set(partition, polled.messages[polled.messages.length - 1].offset + 1n);
      return [];
    }
    const last = fresh[fresh.length - 1].offset;
    this.next.set(partition, last + 1n);
    if (poll.autoCommit) this.committed.set(partition, last);
    else if (this.autoCommit.kind === 'poll') await this.store(partition, last);
    return fresh.map((m) => ({ ...m, partitionId: partition }));
  }

  // Reads the group assignment, joining (and creating the group) when not a member. Partitions that stay keep
  // their positions; a partition that arrives starts from the group's stored offset (strategy Next).
  private async sync(): Promise<void> {
    const { stream, topic } = this.options;
    const group = this.consumer.id;
    let assignment = await this.client.syncGroup(stream, topic, group);
    if (assignment === null) {
      // Not a member (a dropped connection left the group): while out, the others owned these partitions and moved
      // the group's offsets on, so no position of before is kept (polling from one, with auto-commit, would move
      // the stored offset back and hand out again what another member had).
      await this.join();
      this.next.clear();
      assignment = await this.client.syncGroup(stream, topic, group);
    }
    const partitions = assignment?.partitions ?? [];
    // A new generation: a partition in both assignments may still have been another member's in between (moved
    // away and back between two syncs), and that member may have committed past our position. Polling from it
    // with auto-commit would move the group's offset back, so every partition starts from the stored offset
    // again (the yielded offsets still keep duplicates out). The server refuses what we send on such a partition
    // before this sync (a poll comes back as "re-sync"), but not after it: only the client knows its positions.
    if (assignment && assignment.generation !== this.generation) this.next.clear();
    this.generation = assignment?.generation ?? -1n;
    for (const p of this.next.keys()) if (!partitions.includes(p) || !this.partitions.includes(p)) this.next.delete(p);
    this.partitions = partitions;
    this.syncedAt = performance.now();
  }

  private async join(): Promise<void> {
    const { stream, topic } = this.options;
    const group = this.consumer.id;
    try {
      await this.client.joinGroup(stream, topic, group);
    } catch (error) {
      const missing = error instanceof IggyError && error.code === ErrorCode.consumerGroupIdNotFound;
      if (!missing || typeof group !== 'string' || this.options.createGroup === false) throw error;
      await this.client.createGroup(stream, topic, group).catch((e) => {
        if (!(e instanceof IggyError && e.code === ErrorCode.consumerGroupNameAlreadyExists)) throw e;
      });
      await this.client.joinGroup(stream, topic, group);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed || ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wakeSleeper = null; resolve(); }, ms);
      this.wakeSleeper = () => { clearTimeout(timer); this.wakeSleeper = null; resolve(); };
    });
  }

  private throwCommitFailure(): void {
    const failure = this.commitFailure;
    this.commitFailure = null;
    if (failure) throw failure;
  }
}

function positiveInt(what: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`consumer option ${what} must be an integer >= ${min}, got ${value}`);
  return value;
}
