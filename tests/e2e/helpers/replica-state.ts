// What every replica of a cluster must serve alike, read through one replica's client port (a backup serves only
// committed state): for each partition of every topic, its messages (how many, and a SHA-256 of each one's offset,
// checksum and payload, in order) and its committed consumer offsets, those of every consumer group of the topic and
// of the single consumers named (the protocol has no list of single consumers). Two replicas that differ in a
// message or in one committed offset have different fingerprints.
import crypto from 'node:crypto';
import type { IggyClient } from '../../../host/client/client.js';

const PAGE = 1_000;

export interface PartitionFingerprint {
  messages: number;
  sha256: string;
  offsets: Record<string, string>; // `consumer ID` / `group ID` -> stored offset (absent: none stored)
}

export type ReplicaFingerprint = Record<string, PartitionFingerprint>; // by `stream/topic/partition` (names, id)

export async function replicaFingerprint(client: IggyClient, consumers: number[] = []): Promise<ReplicaFingerprint> {
  const out: ReplicaFingerprint = {};
  for (const stream of await client.getStreams()) {
    for (const topic of await client.getTopics(stream.id)) {
      const details = await client.getTopic(stream.id, topic.id);
      if (!details) throw new Error(`topic ${stream.name}/${topic.name} went while it was read`);
      const groups = await client.getGroups(stream.id, topic.id);
      for (const partition of details.partitions) {
        const at = { stream: stream.id, topic: topic.id, partition: partition.id };
        out[`${stream.name}/${topic.name}/${partition.id}`] = {
          ...await messagesDigest(client, at),
          offsets: await committedOffsets(client, at, consumers, groups.map((g) => g.id)),
        };
      }
    }
  }
  return out;
}

interface PartitionAt { stream: number; topic: number; partition: number }

async function messagesDigest(client: IggyClient, at: PartitionAt): Promise<{ messages: number; sha256: string }> {
  const hash = crypto.createHash('sha256');
  let messages = 0;
  for (;;) {
    const polled = await client.pollMessages({ ...at, strategy: { kind: 'offset', value: BigInt(messages) }, count: PAGE });
    if (polled.messages.length === 0) return { messages, sha256: hash.digest('hex') };
    for (const m of polled.messages) hash.update(`${m.offset}:${m.checksum}:`).update(m.payload);
    messages += polled.messages.length;
  }
}

async function committedOffsets(client: IggyClient, at: PartitionAt, consumers: number[], groups: number[]): Promise<Record<string, string>> {
  const offsets: Record<string, string> = {};
  const targets = [...consumers.map((id) => ({ kind: 'consumer' as const, id })), ...groups.map((id) => ({ kind: 'group' as const, id }))];
  for (const consumer of targets) {
    const stored = await client.getOffset({ ...at, consumer });
    if (stored) offsets[`${consumer.kind} ${consumer.id}`] = String(stored.storedOffset);
  }
  return offsets;
}

// Waits (bounded) until every replica in `ids` serves the same fingerprint (a backup learns of a commit from the
// primary's next message), and returns it; on timeout the error shows how they differ.
export async function agreedFingerprint(clientOf: (id: number) => Promise<IggyClient>, ids: number[], consumers: number[], boundMs: number): Promise<ReplicaFingerprint> {
  const deadline = Date.now() + boundMs;
  let last = '';
  for (;;) {
    const prints = await Promise.all(ids.map(async (id) => replicaFingerprint(await clientOf(id), consumers).catch((error: Error) => ({ error: error.message }))));
    const texts = prints.map((p) => JSON.stringify(p));
    if (texts.every((t) => t === texts[0]) && !('error' in prints[0])) return prints[0] as ReplicaFingerprint;
    last = ids.map((id, i) => `replica ${id}: ${texts[i]}`).join('\n');
    if (Date.now() > deadline) throw new Error(`replicas ${ids} did not agree within ${boundMs} ms:\n${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
