// How a kind's options become actors: which stream and partition each one uses, how many batches each moves,
// and what must be written before the clock starts (the consumer kinds read data a prefill wrote untimed).
import { BenchOptionError, type BenchOptions, type Kind } from './options.js';
import type { Destination } from './targets/target.js';

export type ActorRole = 'producer' | 'consumer' | 'producing-consumer';

export interface ActorPlan {
  role: ActorRole;
  index: number;
  stream: number;
  destination: Destination; // producers: where each batch goes; consumers: the (stream, partition) read, or the group's stream
  batches: number; // batches to send, or for a consumer the messages to read expressed in batches
  group: boolean; // consumer reads through the stream's consumer group
}

export interface Plan {
  kind: Kind;
  streams: number;
  partitions: number;
  batchesPerActor: number;
  batchBytes: number;
  messageSize: number;
  actors: ActorPlan[];
  // Batches written untimed to each (stream, partition) before the measured phase.
  prefillPerPartition: number;
  withGroup: boolean;
  // Messages each stream's group must deliver in total (balanced-consumer-group), else 0.
  groupMessagesPerStream: number;
}

const isPinned = (k: Kind): boolean => k.startsWith('pinned') || k === 'end-to-end-producing-consumer';

function measuredActors(o: BenchOptions): number {
  return o.kind === 'pinned-consumer' || o.kind === 'balanced-consumer-group' ? o.consumers : o.producers;
}

// --total-data is shared by the measured actors; a remainder rounds up to whole batches.
export function batchesPerActor(o: BenchOptions): number {
  const batchBytes = o.messageSize * o.messagesPerBatch;
  if (o.totalData === null) return o.messageBatches ?? 200;
  return Math.max(1, Math.ceil(o.totalData / (measuredActors(o) * batchBytes)));
}

export function planOf(o: BenchOptions): Plan {
  const actors = measuredActors(o);
  const streams = o.streams ?? (isPinned(o.kind) ? actors : 1);
  const partitions = o.partitions ?? (isPinned(o.kind) ? 1 : actors);
  const batches = batchesPerActor(o);
  const plan: Plan = {
    kind: o.kind, streams, partitions, batchesPerActor: batches, batchBytes: o.messageSize * o.messagesPerBatch, messageSize: o.messageSize,
    actors: [], prefillPerPartition: 0, withGroup: false, groupMessagesPerStream: 0,
  };
  // Pinned actor i owns one (stream, partition): streams first, then partitions within them.
  const pinned = (i: number): { stream: number; partition: number } => ({ stream: i % streams, partition: Math.floor(i / streams) % partitions });
  const add = (role: ActorRole, count: number, at: (i: number) => Destination, group = false): void => {
    for (let i = 0; i < count; i++) plan.actors.push({ role, index: i, stream: at(i).stream, destination: at(i), batches: batches, group });
  };
  switch (o.kind) {
    case 'pinned-producer':
      add('producer', o.producers, pinned);
      break;
    case 'balanced-producer':
      add('producer', o.producers, (i) => ({ stream: i % streams, partition: 'balanced' }));
      break;
    case 'pinned-consumer':
      if (o.consumers > streams * partitions) throw new BenchOptionError(`pinned-consumer: ${o.consumers} consumers need as many (stream, partition) pairs, got ${streams} × ${partitions}`);
      add('consumer', o.consumers, pinned);
      plan.prefillPerPartition = batches;
      break;
    case 'balanced-consumer-group': {
      add('consumer', o.consumers, (i) => ({ stream: i % streams, partition: 'balanced' }), true);
      // Every consumer's share of data, spread evenly over the partitions of its stream.
      const perStream = Math.ceil((o.consumers * batches) / streams);
      plan.prefillPerPartition = Math.ceil(perStream / partitions);
      plan.groupMessagesPerStream = plan.prefillPerPartition * partitions * o.messagesPerBatch;
      plan.withGroup = true;
      break;
    }
    case 'pinned-producer-and-consumer':
      if (o.producers !== o.consumers) throw new BenchOptionError(`pinned-producer-and-consumer pairs each producer with a consumer: --producers ${o.producers} and --consumers ${o.consumers} differ`);
      if (streams * partitions < o.producers) throw new BenchOptionError(`pinned-producer-and-consumer: ${o.producers} pairs need as many (stream, partition) pairs, got ${streams} × ${partitions}`);
      add('producer', o.producers, pinned);
      add('consumer', o.consumers, pinned);
      break;
    case 'end-to-end-producing-consumer':
      if (streams * partitions < o.producers) throw new BenchOptionError(`end-to-end-producing-consumer: ${o.producers} actors need as many (stream, partition) pairs, got ${streams} × ${partitions}`);
      add('producing-consumer', o.producers, pinned);
      break;
  }
  return plan;
}
