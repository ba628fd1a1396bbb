// The commands of the lifecycle test (fast-check model-based): each is generated as an intent with numbers that
// pick its target among what the model holds when it runs, does one thing to the real server, and records in the
// model only what the server acknowledged. Restarts check the whole server against the model.
import fc from 'fast-check';
import { IggyError } from '../../../host/client/errors.js';
import { checkAgainstModel, offsetTarget } from './check.js';
import { LIMITS, Model, describeRef, newPartition, pick, type ModelStream, type PartitionRef } from './model.js';
import { Finding, type LiveSystem } from './system.js';

export interface Tally {
  commands: number;
  metadataOps: number;
  cleanRestarts: number;
  killRestarts: number;
  checks: number;
  messagesChecked: number;
  maybeKept: number;
  maybeLost: number;
}

export const newTally = (): Tally => ({ commands: 0, metadataOps: 0, cleanRestarts: 0, killRestarts: 0, checks: 0, messagesChecked: 0, maybeKept: 0, maybeLost: 0 });

// The real side a command acts on, and what the run has done so far (printed with a finding).
export interface Real { sys: LiveSystem; trace: string[]; tally: Tally }

type Cmd = fc.AsyncCommand<Model, Real>;

// Every request here is valid for the model's state: an error answer is a finding, not an expected outcome.
async function server<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    const detail = error instanceof IggyError ? `${error.name} (${error.code})` : String(error);
    throw new Finding(`${what}: the server answered ${detail}`, ['request refused']);
  }
}

function record(r: Real, line: string, metadata = true): void {
  r.trace.push(line);
  r.tally.commands += 1;
  if (metadata) r.tally.metadataOps += 1;
}

const withRoomForTopic = (m: Model) => m.sortedStreams().filter((s) => s.topics.size < LIMITS.topicsPerStream);
const withRoomForPartitions = (m: Model) => m.topics().filter(({ topic }) => topic.partitions.length < LIMITS.partitionsPerTopic);
const withMessages = (m: Model) => m.partitions().filter((r) => r.partition.messages.length > 0);

// Stops the server (cleanly or not), starts it on the same directory and checks everything the model holds.
export async function restartAndCheck(m: Model, r: Real, how: 'clean' | 'kill', label: string): Promise<void> {
  await r.sys.restart(how);
  if (how === 'clean') r.tally.cleanRestarts += 1;
  else r.tally.killRestarts += 1;
  await checkNow(m, r, `after ${label}`);
}

export async function checkNow(m: Model, r: Real, when: string): Promise<void> {
  const counts = await checkAgainstModel(r.sys.client, m, when);
  r.tally.checks += 1;
  r.tally.messagesChecked += counts.messages;
  r.tally.maybeKept += counts.maybeKept;
  r.tally.maybeLost += counts.maybeLost;
  r.trace.push(`  check ${when}: ok (${counts.messages} messages${counts.maybeKept + counts.maybeLost > 0 ? `, in-flight batches kept ${counts.maybeKept}, lost ${counts.maybeLost}` : ''})`);
}

class CreateStream implements Cmd {
  check = (m: Model) => m.streams.size < LIMITS.streams;
  async run(m: Model, r: Real): Promise<void> {
    const name = m.nextName('s');
    const created = await server(`create stream ${name}`, r.sys.client.createStream(name));
    if (m.streams.has(created.id)) throw new Finding(`create stream ${name}: got id ${created.id}, which stream ${m.streams.get(created.id)!.name} holds`, ['id handed out twice']);
    m.streams.set(created.id, { id: created.id, name, topics: new Map() });
    record(r, `createStream ${name} → id ${created.id}`);
  }
  toString = () => 'createStream';
}

class DeleteStream implements Cmd {
  constructor(private readonly n: number) {}
  check = (m: Model) => m.streams.size > 0;
  async run(m: Model, r: Real): Promise<void> {
    const stream = pick(m.sortedStreams(), this.n)!;
    await server(`delete stream ${stream.id}`, r.sys.client.deleteStream(stream.id));
    m.streams.delete(stream.id);
    record(r, `deleteStream ${stream.id} (${stream.name})`);
  }
  toString = () => `deleteStream(#${this.n})`;
}

class CreateTopic implements Cmd {
  constructor(private readonly n: number, private readonly partitions: number) {}
  check = (m: Model) => withRoomForTopic(m).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const stream = pick(withRoomForTopic(m), this.n)!;
    const name = m.nextName('t');
    const created = await server(`create topic ${name} in stream ${stream.id}`, r.sys.client.createTopic({ stream: stream.id, name, partitionsCount: this.partitions }));
    const ids = created.partitions.map((p) => p.id);
    if (stream.topics.has(created.id) || ids.join() !== [...Array(this.partitions).keys()].join()) {
      throw new Finding(`create topic ${name} in stream ${stream.id}: got topic id ${created.id} with partitions [${ids}]`, ['id handed out twice']);
    }
    stream.topics.set(created.id, { id: created.id, name, partitions: ids.map(newPartition) });
    record(r, `createTopic ${stream.id}/${created.id} ${name} with ${this.partitions} partition(s)`);
  }
  toString = () => `createTopic(#${this.n},${this.partitions})`;
}

class DeleteTopic implements Cmd {
  constructor(private readonly n: number) {}
  check = (m: Model) => m.topics().length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const { stream, topic } = pick(m.topics(), this.n)!;
    await server(`delete topic ${stream.id}/${topic.id}`, r.sys.client.deleteTopic(stream.id, topic.id));
    stream.topics.delete(topic.id);
    record(r, `deleteTopic ${stream.id}/${topic.id} (${topic.name})`);
  }
  toString = () => `deleteTopic(#${this.n})`;
}

class CreatePartitions implements Cmd {
  constructor(private readonly n: number, private readonly count: number) {}
  check = (m: Model) => withRoomForPartitions(m).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const { stream, topic } = pick(withRoomForPartitions(m), this.n)!;
    const count = Math.min(this.count, LIMITS.partitionsPerTopic - topic.partitions.length);
    await server(`create ${count} partition(s) in ${stream.id}/${topic.id}`, r.sys.client.createPartitions(stream.id, topic.id, count));
    const first = topic.partitions.length;
    for (let i = 0; i < count; i++) topic.partitions.push(newPartition(first + i));
    record(r, `createPartitions ${stream.id}/${topic.id} +${count} → ids ${first}..${first + count - 1}`);
  }
  toString = () => `createPartitions(#${this.n},${this.count})`;
}

// Deletes the newest partitions (Iggy's rule), so a later create reuses their ids.
class DeletePartitions implements Cmd {
  constructor(private readonly n: number, private readonly count: number) {}
  check = (m: Model) => m.topics().some(({ topic }) => topic.partitions.length > 0);
  async run(m: Model, r: Real): Promise<void> {
    const { stream, topic } = pick(m.topics().filter(({ topic: t }) => t.partitions.length > 0), this.n)!;
    const count = Math.min(this.count, topic.partitions.length);
    await server(`delete ${count} partition(s) of ${stream.id}/${topic.id}`, r.sys.client.deletePartitions(stream.id, topic.id, count));
    const removed = topic.partitions.splice(topic.partitions.length - count, count);
    record(r, `deletePartitions ${stream.id}/${topic.id} -${count} (ids ${removed.map((p) => p.id)}, ${removed.reduce((s, p) => s + p.messages.length, 0)} messages)`);
  }
  toString = () => `deletePartitions(#${this.n},${this.count})`;
}

class Send implements Cmd {
  constructor(private readonly n: number, private readonly size: number) {}
  check = (m: Model) => m.partitions().length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const ref = pick(m.partitions(), this.n)!;
    const payloads = Array.from({ length: this.size }, () => m.nextPayload(ref));
    const [confirmation] = await server(`send ${payloads.length} to ${describeRef(ref)}`, r.sys.client.sendMessages(sendInput(ref, payloads)));
    acknowledge(ref, payloads, confirmation?.baseOffset);
    record(r, `send ${ref.stream.id}/${ref.topic.id}/${ref.partition.id} ×${this.size} → offset ${confirmation.baseOffset}`, false);
  }
  toString = () => `send(#${this.n},×${this.size})`;
}

function sendInput(ref: PartitionRef, payloads: string[]) {
  return {
    stream: ref.stream.id, topic: ref.topic.id, partitioning: { kind: 'partition' as const, partition: ref.partition.id },
    messages: payloads.map((payload) => ({ payload })),
  };
}

// An acknowledged batch must land at the next offset: the model's messages stay a dense array.
function acknowledge(ref: PartitionRef, payloads: string[], baseOffset: bigint | undefined): void {
  const expected = BigInt(ref.partition.messages.length);
  if (baseOffset !== expected) throw new Finding(`send to ${describeRef(ref)}: acknowledged at offset ${baseOffset}, the model expects ${expected}`, ['send acknowledged at an unexpected offset']);
  ref.partition.messages.push(...payloads);
}

function purge(streams: ModelStream[], topicId?: number): void {
  for (const s of streams) {
    for (const t of s.topics.values()) {
      if (topicId !== undefined && t.id !== topicId) continue;
      for (const p of t.partitions) {
        p.messages = [];
        p.offsets.clear(); // Iggy's purge drops stored consumer offsets too
      }
    }
  }
}

class PurgeTopic implements Cmd {
  constructor(private readonly n: number) {}
  check = (m: Model) => m.topics().length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const { stream, topic } = pick(m.topics(), this.n)!;
    await server(`purge topic ${stream.id}/${topic.id}`, r.sys.client.purgeTopic(stream.id, topic.id));
    purge([stream], topic.id);
    record(r, `purgeTopic ${stream.id}/${topic.id}`);
  }
  toString = () => `purgeTopic(#${this.n})`;
}

class PurgeStream implements Cmd {
  constructor(private readonly n: number) {}
  check = (m: Model) => m.streams.size > 0;
  async run(m: Model, r: Real): Promise<void> {
    const stream = pick(m.sortedStreams(), this.n)!;
    await server(`purge stream ${stream.id}`, r.sys.client.purgeStream(stream.id));
    purge([stream]);
    record(r, `purgeStream ${stream.id}`);
  }
  toString = () => `purgeStream(#${this.n})`;
}

class StoreOffset implements Cmd {
  constructor(private readonly n: number, private readonly consumer: number, private readonly k: number) {}
  check = (m: Model) => withMessages(m).length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const ref = pick(withMessages(m), this.n)!;
    const offset = BigInt(this.k % ref.partition.messages.length);
    await server(`store offset ${offset} of consumer ${this.consumer} in ${describeRef(ref)}`, r.sys.client.storeOffset(offsetTarget(ref, this.consumer), offset));
    ref.partition.offsets.set(this.consumer, offset);
    record(r, `storeOffset ${ref.stream.id}/${ref.topic.id}/${ref.partition.id} consumer ${this.consumer} = ${offset}`, false);
  }
  toString = () => `storeOffset(#${this.n},c${this.consumer},${this.k})`;
}

// Many metadata ops in a burst, as in the report of issue 14 item 1: streams beyond the model's, each with a
// 2-partition topic, a message and a stored offset, all deleted again. Frees (and so later reuses) many ids and
// moves the metadata log toward its next checkpoint; nothing of them may survive.
class Churn implements Cmd {
  constructor(private readonly count: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const c = r.sys.client;
    const ids: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const name = m.nextName('churn');
      const stream = await server(`churn: create stream ${name}`, c.createStream(name));
      ids.push(stream.id);
      const topic = await server(`churn: create a topic in stream ${stream.id}`, c.createTopic({ stream: stream.id, name: 't', partitionsCount: 2 }));
      const target = { consumer: { kind: 'consumer' as const, id: 1 }, stream: stream.id, topic: topic.id, partition: 0 };
      await server(`churn: send to ${stream.id}/${topic.id}/0`, c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: `${name}-gone` }] }));
      await server(`churn: store an offset in ${stream.id}/${topic.id}/0`, c.storeOffset(target, 0n));
    }
    for (const id of ids) await server(`churn: delete stream ${id}`, c.deleteStream(id));
    record(r, `churn: ${this.count} streams (ids ${[...new Set(ids)].sort((a, b) => a - b).join(',')}) created with a topic, a message and an offset, then deleted`);
    r.tally.metadataOps += 3 * this.count - 1; // create stream, create topic, delete stream (record counted one)
  }
  toString = () => `churn(${this.count})`;
}

class Restart implements Cmd {
  constructor(private readonly how: 'clean' | 'kill') {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    record(r, `restart (${this.how === 'clean' ? 'SIGTERM' : 'SIGKILL'})`, false);
    await restartAndCheck(m, r, this.how, `restart ${r.tally.cleanRestarts + r.tally.killRestarts + 1} (${this.how})`);
  }
  toString = () => `restart(${this.how})`;
}

// Queues `batches` sends on the (lock-step) client, SIGKILLs the server once `acksBefore` of them are answered,
// and restarts. An answered send is acknowledged; the rest may or may not have reached the disk ("maybe").
class KillDuringSends implements Cmd {
  constructor(private readonly n: number, private readonly batches: number, private readonly acksBefore: number, private readonly size: number) {}
  check = (m: Model) => m.partitions().length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const refs = m.partitions();
    const sends = Array.from({ length: this.batches }, (_, i) => {
      const ref = pick(refs, this.n + i)!;
      const payloads = Array.from({ length: this.size }, () => m.nextPayload(ref));
      ref.partition.maybe.push(payloads);
      const answer = r.sys.client.sendMessages(sendInput(ref, payloads)).then((c) => c[0]?.baseOffset, () => null);
      return { ref, payloads, answer };
    });
    const acksBefore = Math.min(this.acksBefore, this.batches);
    if (acksBefore > 0) await sends[acksBefore - 1].answer;
    await r.sys.stop('kill');
    let acked = 0;
    for (const s of sends) {
      const baseOffset = await s.answer;
      if (baseOffset === null || baseOffset === undefined) continue;
      s.ref.partition.maybe.splice(s.ref.partition.maybe.indexOf(s.payloads), 1);
      acknowledge(s.ref, s.payloads, baseOffset);
      acked += 1;
    }
    record(r, `killDuringSends: ${this.batches} batch(es) of ${this.size} queued, SIGKILL after ${acksBefore} answer(s); ${acked} acknowledged`, false);
    await r.sys.start();
    r.tally.killRestarts += 1;
    await checkNow(m, r, `restart ${r.tally.cleanRestarts + r.tally.killRestarts} (SIGKILL during sends)`);
  }
  toString = () => `killDuringSends(#${this.n},${this.batches},${this.acksBefore},×${this.size})`;
}

// Weights (38 in all besides the restarts): metadata churn on few ids (so they are freed and reused), enough sends to give partitions data, and
// rare restarts (so a restart often follows many metadata ops, as the wipe of issue 14 item 1 needs).
export function commandArbitrary(restartWeight: number): fc.Arbitrary<Cmd> {
  const n = fc.nat(30);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(new CreateStream()) },
    { weight: 3, arbitrary: n.map((x) => new DeleteStream(x)) },
    { weight: 5, arbitrary: fc.tuple(n, fc.integer({ min: 1, max: 3 })).map(([x, p]) => new CreateTopic(x, p)) },
    { weight: 2, arbitrary: n.map((x) => new DeleteTopic(x)) },
    { weight: 2, arbitrary: fc.tuple(n, fc.integer({ min: 1, max: 2 })).map(([x, c]) => new CreatePartitions(x, c)) },
    { weight: 2, arbitrary: fc.tuple(n, fc.integer({ min: 1, max: 3 })).map(([x, c]) => new DeletePartitions(x, c)) },
    { weight: 10, arbitrary: fc.tuple(n, fc.integer({ min: 1, max: 20 })).map(([x, s]) => new Send(x, s)) },
    { weight: 1, arbitrary: n.map((x) => new PurgeTopic(x)) },
    { weight: 1, arbitrary: n.map((x) => new PurgeStream(x)) },
    { weight: 2, arbitrary: fc.tuple(n, fc.constantFrom(...LIMITS.consumers), fc.nat(50)).map(([x, c, k]) => new StoreOffset(x, c, k)) },
    { weight: 1, arbitrary: fc.integer({ min: 5, max: 40 }).map((k) => new Churn(k)) },
    { weight: restartWeight, arbitrary: fc.constantFrom('clean' as const, 'kill' as const).map((how) => new Restart(how)) },
    {
      weight: restartWeight,
      arbitrary: fc.tuple(n, fc.integer({ min: 1, max: 4 }), fc.nat(3), fc.integer({ min: 1, max: 10 })).map(([x, b, a, s]) => new KillDuringSends(x, b, a, s)),
    },
  );
}
