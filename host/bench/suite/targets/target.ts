// What a kind needs from a server under test. Streams are numbered 0..S-1, partitions 0..P-1 within each; a
// payload is always `messageSize` bytes, so throughput counts payload bytes alike for every target.
import type { Durability, Transport } from '../options.js';

export interface Workload {
  messageSize: number;
  messagesPerBatch: number;
  durability: Durability;
  shards: number;
  transport?: Transport; // how the shardlog target is driven [tcp]; the others speak their own protocol
  pollsInFlight?: number; // polls a reading consumer keeps on the wire, where the target can address them [1]
}

export type Destination = { stream: number; partition: number } | { stream: number; partition: 'balanced' };

export interface Producer {
  // Sends one batch and resolves when the target acknowledged all of it.
  send(to: Destination): Promise<void>;
  close(): Promise<void>;
}

export interface Consumer {
  // Reads up to one batch past what this consumer read before from (stream, partition); resolves the count.
  poll(stream: number, partition: number): Promise<number>;
  // Reads up to one batch through the stream's consumer group (each message to one member, auto-committed).
  pollGroup(stream: number): Promise<number>;
  // Where offsets can be named ahead of the replies (shardlog over TCP): reads `owed` messages of (stream,
  // partition) from its first, in order, each once, with up to Workload.pollsInFlight polls on the wire.
  readAhead?(stream: number, partition: number, owed: number): ReadAhead;
  close(): Promise<void>;
}

export interface ReadAhead {
  // The next reply's message count (0: nothing there yet) and when its poll was sent (its latency counts from there).
  next(): Promise<{ messages: number; sentAt: number }>;
}

export interface Target {
  readonly name: string;
  // What an acknowledged send means on disk, as configured: stated in every report.
  readonly durability: string;
  readonly version: string;
  readonly serverPid: number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  createStreams(streams: number, partitions: number, withGroup: boolean): Promise<void>;
  producer(): Promise<Producer>;
  consumer(member: number): Promise<Consumer>;
}
