// Compares the server with the model: the same streams, topics and partitions (ids and names, nothing more),
// every acknowledged message exactly once at its offset with its payload, the "maybe" batches of a SIGKILL either
// whole at the next offsets or absent (then folded into the model), and the same stored consumer offsets.
// Collects every difference before failing, so one finding shows the whole damage.
import type { IggyClient } from '../../../host/client/client.js';
import { LIMITS, describeRef, type Model, type PartitionRef } from './model.js';
import { Finding } from './system.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const POLL_COUNT = 1000;
const MAX_REPORTED = 25;

export interface CheckCounts { messages: number; maybeKept: number; maybeLost: number }

export async function checkAgainstModel(c: IggyClient, model: Model, when: string): Promise<CheckCounts> {
  const problems = new Problems();
  const counts: CheckCounts = { messages: 0, maybeKept: 0, maybeLost: 0 };
  const streams = (await c.getStreams()).map((s) => `${s.id}:${s.name}`).sort();
  const expectedStreams = model.sortedStreams().map((s) => `${s.id}:${s.name}`).sort();
  if (streams.join() !== expectedStreams.join()) problems.add('objects differ', `streams are [${streams}], expected [${expectedStreams}]`);

  for (const stream of model.sortedStreams()) {
    const details = await c.getStream(stream.id);
    if (!details) continue; // reported above
    const topics = details.topics.map((t) => `${t.id}:${t.name}:${t.partitionsCount}`).sort();
    const expectedTopics = [...stream.topics.values()].map((t) => `${t.id}:${t.name}:${t.partitions.length}`).sort();
    if (topics.join() !== expectedTopics.join()) problems.add('objects differ', `stream ${stream.id} (${stream.name}): topics [${topics}], expected [${expectedTopics}]`);
  }

  for (const { stream, topic } of model.topics()) {
    const details = await c.getTopic(stream.id, topic.id);
    if (!details) continue; // reported above
    const ids = details.partitions.map((p) => p.id).join();
    const expectedIds = topic.partitions.map((p) => p.id).join();
    if (ids !== expectedIds) problems.add('objects differ', `topic ${stream.id}/${topic.id}: partitions [${ids}], expected [${expectedIds}]`);
    for (const partition of topic.partitions) {
      const ref = { stream, topic, partition };
      if (!details.partitions.some((p) => p.id === partition.id)) continue;
      const stored = await pollAll(c, ref);
      counts.messages += compareMessages(ref, stored, problems, counts);
      const reported = details.partitions.find((p) => p.id === partition.id)!.messagesCount;
      if (reported !== BigInt(partition.messages.length)) {
        problems.add('messagesCount differs', `${describeRef(ref)}: messagesCount ${reported}, expected ${partition.messages.length}`);
      }
      await compareOffsets(c, ref, problems);
    }
  }
  if (problems.list.length > 0) {
    const shown = problems.list.slice(0, MAX_REPORTED).map((p) => `  - ${p}`).join('\n');
    const more = problems.list.length > MAX_REPORTED ? `\n  … and ${problems.list.length - MAX_REPORTED} more` : '';
    throw new Finding(`${when}: the server differs from the model (${problems.list.length} difference(s)):\n${shown}${more}`, [...problems.kinds]);
  }
  return counts;
}

// Every difference, and its kind (findings are summed up by kind).
class Problems {
  readonly list: string[] = [];
  readonly kinds = new Set<string>();
  add(kind: string, text: string): void {
    this.kinds.add(kind);
    this.list.push(text);
  }
}

async function pollAll(c: IggyClient, r: PartitionRef): Promise<Map<bigint, string>> {
  const stored = new Map<bigint, string>();
  for (let offset = 0n; ;) {
    const polled = await c.pollMessages({
      stream: r.stream.id, topic: r.topic.id, partition: r.partition.id,
      strategy: { kind: 'offset', value: offset }, count: POLL_COUNT, verifyChecksums: true,
    });
    if (polled.messages.length === 0) return stored;
    for (const m of polled.messages) {
      if (stored.has(m.offset)) throw new Finding(`${describeRef(r)}: offset ${m.offset} polled twice`, ['offset polled twice']);
      stored.set(m.offset, text(m.payload));
    }
    offset = polled.messages[polled.messages.length - 1].offset + 1n;
  }
}

// Acknowledged offsets first, then the tail: each maybe batch, in send order, is there whole or not at all.
// Whatever remains is a message the server invented or kept after its deletion. Returns the messages checked.
function compareMessages(r: PartitionRef, stored: Map<bigint, string>, problems: Problems, counts: CheckCounts): number {
  const p = r.partition;
  const where = describeRef(r);
  let lost = 0;
  p.messages.forEach((payload, i) => {
    const got = stored.get(BigInt(i));
    if (got === payload) return;
    lost += 1;
    if (lost <= 3) problems.add('acknowledged messages lost', `${where} offset ${i}: ${got === undefined ? 'missing' : `holds ${JSON.stringify(got.slice(0, 60))}`}, acknowledged ${JSON.stringify(payload.slice(0, 60))}`);
  });
  if (lost > 3) problems.add('acknowledged messages lost', `${where}: ${lost} of ${p.messages.length} acknowledged messages lost or changed in all`);

  let next = p.messages.length;
  for (const batch of p.maybe) {
    if (stored.get(BigInt(next)) !== batch[0]) {
      counts.maybeLost += 1;
      continue;
    }
    const whole = batch.every((payload, i) => stored.get(BigInt(next + i)) === payload);
    if (!whole) problems.add('in-flight batch kept in part', `${where}: a batch in flight at a SIGKILL is there in part (from offset ${next})`);
    p.messages.push(...batch);
    next += batch.length;
    counts.maybeKept += 1;
  }
  p.maybe = [];
  const extra = [...stored.keys()].filter((o) => o >= BigInt(next)).sort((a, b) => (a < b ? -1 : 1));
  if (extra.length > 0) {
    problems.add('unknown or deleted messages present', `${where}: ${extra.length} message(s) beyond the ${next} known, from offset ${extra[0]}: ${JSON.stringify(stored.get(extra[0])!.slice(0, 60))}`);
  }
  return p.messages.length;
}

async function compareOffsets(c: IggyClient, r: PartitionRef, problems: Problems): Promise<void> {
  for (const consumer of LIMITS.consumers) {
    const got = await c.getOffset(offsetTarget(r, consumer));
    const expected = r.partition.offsets.get(consumer) ?? null;
    if ((got?.storedOffset ?? null) !== expected) {
      problems.add('stored offset differs', `${describeRef(r)} consumer ${consumer}: stored offset ${got?.storedOffset ?? 'none'}, expected ${expected ?? 'none'}`);
    }
  }
}

export function offsetTarget(r: PartitionRef, consumer: number) {
  return { consumer: { kind: 'consumer' as const, id: consumer }, stream: r.stream.id, topic: r.topic.id, partition: r.partition.id };
}
