// The in-memory model of the lifecycle test: what the server acknowledged, and so must hold after any restart.
// Streams, topics and partitions as the client created them (ids as the server assigned them), every acknowledged
// message by offset, and stored consumer offsets. Sends whose outcome a SIGKILL hid are kept apart as "maybe":
// the next check finds out whether the server kept each such batch (whole, in order) and folds the answer in.

export const LIMITS = {
  streams: 3, // few ids, so deletes free them and creates reuse them
  topicsPerStream: 2,
  partitionsPerTopic: 4,
  consumers: [1, 2], // consumer ids whose offsets the test stores and checks
} as const;

export interface ModelPartition {
  id: number;
  messages: string[]; // acknowledged payloads; index = offset (offsets restart at 0 on create and purge)
  maybe: string[][]; // batches in flight at a SIGKILL, in send order: each kept whole or not at all
  offsets: Map<number, bigint>; // consumer id → stored offset
}

export interface ModelTopic { id: number; name: string; partitions: ModelPartition[] }
export interface ModelStream { id: number; name: string; topics: Map<number, ModelTopic> }

// A partition as the commands address it.
export interface PartitionRef { stream: ModelStream; topic: ModelTopic; partition: ModelPartition }

export const newPartition = (id: number): ModelPartition => ({ id, messages: [], maybe: [], offsets: new Map() });

export class Model {
  readonly streams = new Map<number, ModelStream>();
  private names = 0;
  private payloads = 0;

  constructor(readonly tag: string) {}

  // Names are never reused, so a resurrected object shows up as a name the model does not know.
  nextName(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  // Distinct, self-describing payloads: run tag, sequence number, where it was sent, and a filler of varying size.
  nextPayload(ref: PartitionRef): string {
    const n = this.payloads++;
    return `${this.tag}:${n}:${ref.stream.id}/${ref.topic.id}/${ref.partition.id}:${'x'.repeat((n * 37) % 61)}`;
  }

  sortedStreams(): ModelStream[] {
    return [...this.streams.values()].sort((a, b) => a.id - b.id);
  }

  topics(): { stream: ModelStream; topic: ModelTopic }[] {
    return this.sortedStreams().flatMap((stream) => [...stream.topics.values()].sort((a, b) => a.id - b.id).map((topic) => ({ stream, topic })));
  }

  partitions(): PartitionRef[] {
    return this.topics().flatMap(({ stream, topic }) => topic.partitions.map((partition) => ({ stream, topic, partition })));
  }
}

// Picks one of `items` by a generated number, so a command generated before the state existed still lands on
// something (fast-check generates commands without seeing the model).
export function pick<T>(items: T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

export function describeRef(r: PartitionRef): string {
  return `partition ${r.stream.id}/${r.topic.id}/${r.partition.id} (stream ${r.stream.name}, topic ${r.topic.name})`;
}
