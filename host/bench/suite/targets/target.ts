// What a kind needs from a server under test. Streams are numbered 0..S-1, partitions 0..P-1 within each; a
// payload is always `messageSize` bytes, so throughput counts payload bytes alike for every target.
import type { Durability, Transport } from '../options.js';

export interface Workload {
  messageSize: number;
  messagesPerBatch: number;
  durability: Durability;
  shards: number;
  transport?: Transport; // how the shardlog target is driven [tcp]; the others speak their own protocol
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
  close(): Promise<void>;
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
