// The torture workload: producers, single consumers (one per partition, positions by offset, explicit offset
// commits, restarting from their stored offset) and the members of one consumer group (the SDK's Consumer, its
// commits recorded on their way to the wire), each its own IggyClient with reconnect on, each recording every
// operation in the history. A gate lets the nemesis quiesce them (no operation in flight) around a fault that
// must not race with writes (a bit flip in a stopped node's files, which is undone afterwards).
import { Consumer } from '../client/consumer.js';
import { IggyClient } from '../client/client.js';
import { EvictionError, IggyError, RequestOutcomeUnknown } from '../client/errors.js';
import { ErrorCode } from '../shared/wire/codes.js';
import { CommitRecorder } from './commit-recorder.js';
import { outcomeOf, type HistoryWriter, type Key } from './history.js';

// `address`: where the worker connects first (in a cluster, any replica: the SDK follows the leader). `replicas`: a
// cluster's client addresses by replica id, to record which replica answered each send and poll.
export interface Target { address: string; stream: number; topic: number; partitions: number; groupName: string; replicas?: string[] }

const CLIENT_TIMEOUT_MS = 5_000; // a pause of the server longer than this turns in-flight operations into info
const text = (b: Uint8Array) => new TextDecoder().decode(b);
export const keyOf = (t: Target, partition: number): Key => `${t.stream}/${t.topic}/${partition}`;

// A connection dropped during the login (a kill of the replica it reached, while the workers start) is dialled again
// (bounded): its worker's promise is awaited only at the end, so a throw here ended the whole run.
export async function connectClient(address: string): Promise<IggyClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await IggyClient.connect({
        address, username: 'iggy', password: 'iggy', timeoutMs: CLIENT_TIMEOUT_MS, heartbeatMs: 1_000,
        reconnect: { retries: 1_000_000, initialDelayMs: 50, maxDelayMs: 500 },
      });
    } catch (error) {
      if (!(error instanceof RequestOutcomeUnknown) || attempt >= CONNECT_ATTEMPTS) throw error;
      await idle(200);
    }
  }
}

const CONNECT_ATTEMPTS = 50;

// After an error that says this replica cannot take the request (a backup or a primary changing view: 57/58; a
// session the new primary does not know: an eviction, then Unauthenticated), the client's connection is closed:
// its next call reconnects (the last leader the metadata named, then the other replicas) and follows the leader.
// A single node never answers these but an eviction, after which a new login is what it needs too.
export function relocateAfter(client: IggyClient, error: unknown): boolean {
  const moves = error instanceof EvictionError || (error instanceof IggyError && (
    error.code === ErrorCode.transientNotAccepted || error.code === ErrorCode.transientNotCommitted || error.code === ErrorCode.unauthenticated));
  if (moves) void client.connection.close().catch(() => {});
  return moves;
}

// Which replica answered the client's last call (its connection's address in the cluster's list), for the history;
// nothing on a single node.
export function servedBy(t: Target, client: IggyClient): { replica?: number } {
  const replica = t.replicas?.indexOf(client.address) ?? -1;
  return replica >= 0 ? { replica } : {};
}

// Holds workers before their next operation while closed, and tells when none is in flight.
export class Gate {
  private opened: Promise<void> = Promise.resolve();
  private release: (() => void) | null = null;
  private inFlight = 0;

  close(): void { if (!this.release) this.opened = new Promise((resolve) => { this.release = resolve; }); }
  open(): void { this.release?.(); this.release = null; }

  // Runs one operation once the gate is open, counting it as in flight.
  async pass<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.opened;
      if (!this.release) break;
    }
    this.inFlight += 1;
    try {
      return await op();
    } finally {
      this.inFlight -= 1;
    }
  }

  async drained(boundMs: number): Promise<boolean> {
    const deadline = Date.now() + boundMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.inFlight === 0;
  }
}

// `stop` closes the worker's client: one stuck in an operation (a cluster that does not commit: the SDK reconnects
// and logs in again and again) ends with a ConnectionClosed.
export interface Worker { name: string; done: Promise<void>; stop: () => void }

function holder(): { client?: IggyClient; stop: () => void } {
  const held: { client?: IggyClient; stop: () => void } = { stop: () => { void held.client?.close().catch(() => {}); } };
  return held;
}

const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)); // pacing, not synchronisation

// Sends batches of 1..5 unique values to a partition chosen by `random`, until `running()` is false.
export function producer(name: string, t: Target, history: HistoryWriter, gate: Gate, random: () => number, running: () => boolean): Worker {
  const held = holder();
  const done = (async () => {
    const client = held.client = await connectClient(t.address);
    let seq = 0;
    try {
      while (running()) {
        const partition = Math.floor(random() * t.partitions);
        const key = keyOf(t, partition);
        const values = Array.from({ length: 1 + Math.floor(random() * 5) }, () => `${name}-${seq++}`);
        await gate.pass(async () => {
          history.record({ process: name, type: 'invoke', f: 'send', key, values });
          try {
            const [confirmation] = await client.sendMessages({ stream: t.stream, topic: t.topic, partitioning: { kind: 'partition', partition }, messages: values.map((payload) => ({ payload })) });
            history.record({ process: name, type: 'ok', f: 'send', key, values, offset: String(confirmation.baseOffset), ...servedBy(t, client) });
          } catch (error) {
            const type = outcomeOf(error);
            history.record({ process: name, type, f: 'send', key, values, error: describe(error), ...servedBy(t, client) });
            if (relocateAfter(client, error) || type === 'info') await idle(50);
          }
        });
      }
    } finally {
      await client.close().catch(() => {});
    }
  })();
  return { name, done, stop: held.stop };
}

const RESTART_EVERY_POLLS = 40; // a single consumer also restarts now and then without a fault

// Reads one partition by offset as consumer id `consumerId`, storing its offset every few polls. It (re)starts from
// its stored offset: at the beginning, after any failed operation (as a process restarted after a crash would) and
// every RESTART_EVERY_POLLS polls.
export function singleConsumer(name: string, consumerId: number, partition: number, t: Target, history: HistoryWriter, gate: Gate, running: () => boolean): Worker {
  const key = keyOf(t, partition);
  const target = { consumer: { kind: 'consumer' as const, id: consumerId }, stream: t.stream, topic: t.topic, partition };
  const held = holder();
  const done = (async () => {
    const client = held.client = await connectClient(t.address);
    let next: bigint | null = null; // null: resume from the stored offset first
    let polls = 0;
    const resume = async () => {
      history.record({ process: name, type: 'invoke', f: 'resume', key });
      const stored = await client.getOffset(target);
      history.record({ process: name, type: 'ok', f: 'resume', key, offset: stored ? String(stored.storedOffset) : null, ...servedBy(t, client) });
      return stored ? stored.storedOffset + 1n : 0n;
    };
    const commit = async (offset: bigint) => {
      history.record({ process: name, type: 'invoke', f: 'commit', key });
      try {
        await client.storeOffset(target, offset);
        history.record({ process: name, type: 'ok', f: 'commit', key, offset: String(offset), ...servedBy(t, client) });
      } catch (error) {
        history.record({ process: name, type: outcomeOf(error), f: 'commit', key, error: describe(error) });
        throw error;
      }
    };
    try {
      while (running()) {
        const got = await gate.pass(async () => {
          try {
            next ??= await resume();
            const polled = await client.pollMessages({ ...target, strategy: { kind: 'offset', value: next }, count: 100 });
            if (polled.messages.length === 0) return 0;
            history.record({ process: name, type: 'ok', f: 'poll', key, messages: polled.messages.map((m) => [String(m.offset), text(m.payload)]), ...servedBy(t, client) });
            next = polled.messages[polled.messages.length - 1].offset + 1n;
            if (++polls % 5 === 0) await commit(next - 1n);
            if (polls % RESTART_EVERY_POLLS === 0) next = null;
            return polled.messages.length;
          } catch (error) {
            relocateAfter(client, error);
            next = null;
            return -1;
          }
        });
        if (got <= 0) await idle(got < 0 ? 100 : 30);
      }
    } finally {
      await client.close().catch(() => {});
    }
  })();
  return { name, done, stop: held.stop };
}

// One member of the consumer group: the SDK's Consumer (auto-commit on poll), its commits recorded by a
// CommitRecorder. A Consumer that fails is replaced by a new one, which starts from the group's stored offsets: a
// reset in the history, then the group's stored offsets read back (resumes: no acknowledged commit may be missing).
export function groupMember(name: string, t: Target, history: HistoryWriter, gate: Gate, running: () => boolean): Worker {
  const held = holder();
  const done = (async () => {
    const client = held.client = await connectClient(t.address);
    const recorded = new CommitRecorder(client, history, name, t.groupName, () => servedBy(t, client));
    const fresh = () => new Consumer(recorded, { stream: t.stream, topic: t.topic, group: t.groupName, pollIntervalMs: 0, resyncMs: 1_000, batchSize: 100 });
    let consumer = fresh();
    let resumed = true;
    try {
      while (running()) {
        const got = await gate.pass(async () => {
          try {
            if (!resumed) await resumeGroup(client, name, t, history);
            resumed = true;
            const messages = await consumer.poll();
            const byKey = new Map<number, [string, string][]>();
            for (const m of messages) {
              let list = byKey.get(m.partitionId);
              if (!list) { list = []; byKey.set(m.partitionId, list); }
              list.push([String(m.offset), text(m.payload)]);
            }
            for (const [partition, list] of byKey) history.record({ process: name, type: 'ok', f: 'poll', key: keyOf(t, partition), messages: list, group: t.groupName, ...servedBy(t, client) });
            return messages.length;
          } catch (error) {
            relocateAfter(client, error);
            await consumer.close().catch(() => {});
            consumer = fresh();
            for (let p = 0; p < t.partitions; p++) history.record({ process: name, type: 'ok', f: 'reset', key: keyOf(t, p) });
            resumed = false;
            return -1;
          }
        });
        if (got <= 0) await idle(got < 0 ? 100 : 30);
      }
    } finally {
      await consumer.close().catch(() => {});
      await client.close().catch(() => {});
    }
  })();
  return { name, done, stop: held.stop };
}

// The group's stored offset of every partition, read back as resumes.
async function resumeGroup(client: IggyClient, name: string, t: Target, history: HistoryWriter): Promise<void> {
  for (let partition = 0; partition < t.partitions; partition++) {
    const key = keyOf(t, partition);
    history.record({ process: name, type: 'invoke', f: 'resume', key, group: t.groupName });
    const stored = await client.getOffset({ consumer: { kind: 'group', id: t.groupName }, stream: t.stream, topic: t.topic, partition });
    history.record({ process: name, type: 'ok', f: 'resume', key, offset: stored ? String(stored.storedOffset) : null, group: t.groupName, ...servedBy(t, client) });
  }
}

// Reads every partition from offset 0 to its end: the final read (after healing) or an audit (while damaged).
// Returns the partitions whose read ended in an error, with the error, and how many messages it read. `process`
// names the reader in the history (a cluster's final reads, one per replica: `final-r<N>`).
export async function readAll(client: IggyClient, t: Target, history: HistoryWriter, final: boolean, process = final ? 'final' : 'audit'): Promise<{ failed: Map<number, string>; messages: number }> {
  const failed = new Map<number, string>();
  let count = 0;
  for (let partition = 0; partition < t.partitions; partition++) {
    const messages: [string, string][] = [];
    try {
      for (let offset = 0n; ;) {
        const polled = await client.pollMessages({ stream: t.stream, topic: t.topic, partition, strategy: { kind: 'offset', value: offset }, count: 1000 });
        if (polled.messages.length === 0) break;
        for (const m of polled.messages) messages.push([String(m.offset), text(m.payload)]);
        offset = polled.messages[polled.messages.length - 1].offset + 1n;
      }
    } catch (error) {
      failed.set(partition, describe(error));
    }
    history.record({ process, type: 'ok', f: 'read', key: keyOf(t, partition), messages, final });
    count += messages.length;
  }
  return { failed, messages: count };
}

export function describe(error: unknown): string {
  if (error instanceof IggyError) return `${error.name} (${error.code})`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
