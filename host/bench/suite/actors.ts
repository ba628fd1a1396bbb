// The measured phase: every actor of the plan runs at once against the target, each on its own connection.
// Producers send their batches (paced by --rate-limit when given); consumers read until they have their share;
// a producing consumer sends a batch and reads it back before the next. Each records per-batch latency.
import { ActorStats } from './accounting.js';
import { RateLimiter, perActorRate } from './rate-limiter.js';
import type { ActorPlan, Plan } from './plan.js';
import type { Consumer, Producer, Target } from './targets/target.js';

export class ConsumerStalled extends Error {
  override name = 'ConsumerStalled';
}

// A consumer that reads nothing for this long while data is still owed to it has lost it: the run fails instead of
// hanging. Empty polls back off briefly so a consumer ahead of its producer does not spin a core.
const STALL_MS = 60_000;
const EMPTY_POLL_BACKOFF_MS = 1;

export interface RunHooks {
  onBytes?: (bytes: number) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runActors(target: Target, plan: Plan, messagesPerBatch: number, rateLimit: number | null, hooks: RunHooks = {}): Promise<ActorStats[]> {
  const connections = await Promise.all(plan.actors.map(async (a, i) => ({
    producer: a.role === 'consumer' ? null : await target.producer(),
    consumer: a.role === 'producer' ? null : await target.consumer(i),
  })));
  const producers = plan.actors.filter((a) => a.role !== 'consumer').length;
  const limiterRate = rateLimit === null ? null : perActorRate(rateLimit, producers);
  // Shared per stream: how many messages its consumer group has delivered so far, over all members.
  const groupDelivered = new Map<number, number>();
  const runStart = performance.now();
  try {
    return await Promise.all(plan.actors.map(async (a, i) => {
      const stats = new ActorStats(a.role === 'consumer' ? 'consumer' : 'producer', a.index);
      const limiter = limiterRate === null ? null : new RateLimiter(performance.now(), limiterRate, plan.batchBytes);
      stats.begin(performance.now());
      const { producer, consumer } = connections[i];
      if (a.role === 'producer') await produce(a, producer!, stats, limiter, plan, messagesPerBatch, runStart, hooks);
      else if (a.role === 'consumer') await consume(a, consumer!, stats, plan, messagesPerBatch, runStart, hooks, groupDelivered);
      else await produceAndConsume(a, producer!, consumer!, stats, limiter, plan, messagesPerBatch, runStart, hooks);
      stats.finish(performance.now());
      return stats;
    }));
  } finally {
    await Promise.all(connections.flatMap((c) => [c.producer?.close(), c.consumer?.close()]));
  }
}

async function produce(a: ActorPlan, producer: Producer, stats: ActorStats, limiter: RateLimiter | null, plan: Plan, messagesPerBatch: number, runStart: number, hooks: RunHooks): Promise<void> {
  for (let b = 0; b < a.batches; b++) {
    const sent = await paced(limiter, b);
    await producer.send(a.destination);
    const now = performance.now();
    stats.record(plan.batchBytes, messagesPerBatch, now - sent, now, runStart);
    hooks.onBytes?.(plan.batchBytes);
  }
}

// Waits for batch b's intended time and returns the time its latency counts from: the intended time when paced
// (a late batch still counts from when it should have left), else now.
async function paced(limiter: RateLimiter | null, b: number): Promise<number> {
  if (limiter === null) return performance.now();
  const delay = limiter.delayBefore(b, performance.now());
  if (delay > 0) await sleep(delay);
  return limiter.intendedTime(b);
}

async function consume(
  a: ActorPlan, consumer: Consumer, stats: ActorStats, plan: Plan, messagesPerBatch: number, runStart: number, hooks: RunHooks,
  groupDelivered: Map<number, number>,
): Promise<void> {
  const bytesPerMessage = plan.batchBytes / messagesPerBatch;
  const owed = a.batches * messagesPerBatch;
  let read = 0;
  let lastProgress = performance.now();
  const done = (): boolean => (a.group ? (groupDelivered.get(a.stream) ?? 0) >= plan.groupMessagesPerStream : read >= owed);
  // One poll at a time, timed from its send; or a target's read-ahead, whose polls are timed from their own sends.
  const ahead = a.group ? undefined : consumer.readAhead?.(a.stream, a.destination.partition as number, owed);
  const next = async (): Promise<{ messages: number; sentAt: number }> => {
    if (ahead) return ahead.next();
    const sentAt = performance.now();
    const messages = a.group ? await consumer.pollGroup(a.stream) : await consumer.poll(a.stream, a.destination.partition as number);
    return { messages, sentAt };
  };
  while (!done()) {
    const { messages: n, sentAt: t } = await next();
    const now = performance.now();
    if (n > 0) {
      read += n;
      if (a.group) groupDelivered.set(a.stream, (groupDelivered.get(a.stream) ?? 0) + n);
      stats.record(n * bytesPerMessage, n, now - t, now, runStart);
      hooks.onBytes?.(n * bytesPerMessage);
      lastProgress = now;
    } else {
      if (now - lastProgress > STALL_MS) throw new ConsumerStalled(`consumer ${a.index} read nothing for ${STALL_MS} ms (${read} messages so far)`);
      await sleep(EMPTY_POLL_BACKOFF_MS);
    }
  }
}

// iggy-bench's end-to-end kind: the latency of a batch is from its send until the same actor has read it back.
async function produceAndConsume(
  a: ActorPlan, producer: Producer, consumer: Consumer, stats: ActorStats, limiter: RateLimiter | null, plan: Plan, messagesPerBatch: number,
  runStart: number, hooks: RunHooks,
): Promise<void> {
  const partition = a.destination.partition as number;
  for (let b = 0; b < a.batches; b++) {
    const sent = await paced(limiter, b);
    await producer.send(a.destination);
    let read = 0;
    let lastProgress = performance.now();
    while (read < messagesPerBatch) {
      const n = await consumer.poll(a.stream, partition);
      read += n;
      if (n > 0) lastProgress = performance.now();
      else if (performance.now() - lastProgress > STALL_MS) throw new ConsumerStalled(`actor ${a.index} did not read back batch ${b}`);
    }
    const now = performance.now();
    stats.record(plan.batchBytes, messagesPerBatch, now - sent, now, runStart);
    hooks.onBytes?.(plan.batchBytes);
  }
}

// Writes what the consumer kinds read, before the clock starts: one producer per stream, its partitions in turn.
export async function prefill(target: Target, plan: Plan): Promise<void> {
  if (plan.prefillPerPartition === 0) return;
  await Promise.all(Array.from({ length: plan.streams }, async (_, stream) => {
    const producer = await target.producer();
    try {
      for (let partition = 0; partition < plan.partitions; partition++) {
        for (let b = 0; b < plan.prefillPerPartition; b++) await producer.send({ stream, partition });
      }
    } finally {
      await producer.close();
    }
  }));
}
