// What every replica of a cluster must serve alike, read through one replica's client port (a backup serves only
// committed state): for each partition of every topic, its messages (how many, and a SHA-256 of each one's offset,
// checksum and payload, in order) and its committed consumer offsets, those of every consumer group of the topic and
// of the single consumers named (the protocol has no list of single consumers). Two replicas that differ in a
// message or in one committed offset have different fingerprints.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { IggyClient } from '../../../host/client/client.js';
import { IggyError } from '../../../host/client/errors.js';
import { OFFSETS_FILE, OFFSET_RECORD_BYTES } from '../../../host/node/data/offsets.js';
import { partitionDir } from '../../../host/node/data/partition-dir.js';

const TRANSIENT_NOT_ACCEPTED = 58; // a backup's answer to GetConsumerOffset: only the leading primary serves them

const PAGE = 1_000;

export interface PartitionFingerprint {
  messages: number;
  sha256: string;
  offsets: Record<string, string>; // `consumer ID` / `group ID` -> stored offset (absent: none stored)
}

export type ReplicaFingerprint = Record<string, PartitionFingerprint>; // by `stream/topic/partition` (names, id)

// `dataDir`: the replica's data directory, where its committed offsets are read from when its client port leaves
// them to the primary (58).
export async function replicaFingerprint(client: IggyClient, consumers: number[] = [], dataDir?: string): Promise<ReplicaFingerprint> {
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
          offsets: await committedOffsets(client, at, consumers, groups.map((g) => g.id), dataDir),
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

async function committedOffsets(client: IggyClient, at: PartitionAt, consumers: number[], groups: number[], dataDir?: string): Promise<Record<string, string>> {
  const offsets: Record<string, string> = {};
  const targets = [...consumers.map((id) => ({ kind: 'consumer' as const, id })), ...groups.map((id) => ({ kind: 'group' as const, id }))];
  let stored: Map<string, bigint> | null = null; // from the files, once a backup sent us there
  for (const consumer of targets) {
    const key = `${consumer.kind} ${consumer.id}`;
    if (stored) {
      if (stored.has(key)) offsets[key] = String(stored.get(key));
      continue;
    }
    try {
      const answer = await client.getOffset({ ...at, consumer });
      if (answer) offsets[key] = String(answer.storedOffset);
    } catch (error) {
      if (!(error instanceof IggyError) || error.code !== TRANSIENT_NOT_ACCEPTED || !dataDir) throw error;
      stored = offsetsInFiles(dataDir, at);
      if (stored.has(key)) offsets[key] = String(stored.get(key));
    }
  }
  return offsets;
}

// A replica's stored offsets as its `offsets.log` holds them (host/node/data/offsets.ts: 32-byte records; a group
// of records counts once its last one is there): store 1 / delete 2, kind 1 consumer / 2 group, id, offset.
function offsetsInFiles(dataDir: string, at: PartitionAt): Map<string, bigint> {
  const file = path.join(partitionDir(dataDir, { streamId: at.stream, topicId: at.topic, partitionId: at.partition }), OFFSETS_FILE);
  const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  const live = new Map<string, bigint>();
  let group: { op: number; key: string; offset: bigint }[] = [];
  for (let at = 0; at + OFFSET_RECORD_BYTES <= bytes.length; at += OFFSET_RECORD_BYTES) {
    const key = `${bytes[at + 1] === 2 ? 'group' : 'consumer'} ${bytes.readUInt32LE(at + 4)}`;
    group.push({ op: bytes[at], key, offset: bytes.readBigUInt64LE(at + 8) });
    if ((bytes[at + 2] & 1) === 0) continue;
    for (const r of group) {
      if (r.op === 1) live.set(r.key, r.offset);
      else live.delete(r.key);
    }
    group = [];
  }
  return live;
}

// Waits (bounded) until every replica in `ids` serves the same fingerprint (a backup learns of a commit from the
// primary's next message), and returns it; on timeout the error shows how they differ.
// `dataDirOf`: each replica's data directory, for the offsets a backup leaves to the primary.
export async function agreedFingerprint(clientOf: (id: number) => Promise<IggyClient>, ids: number[], consumers: number[], boundMs: number, dataDirOf?: (id: number) => string): Promise<ReplicaFingerprint> {
  const deadline = Date.now() + boundMs;
  let last = '';
  for (;;) {
    const prints = await Promise.all(ids.map(async (id) => replicaFingerprint(await clientOf(id), consumers, dataDirOf?.(id)).catch((error: Error) => ({ error: error.message }))));
    const texts = prints.map((p) => JSON.stringify(p));
    if (texts.every((t) => t === texts[0]) && !('error' in prints[0])) return prints[0] as ReplicaFingerprint;
    last = ids.map((id, i) => `replica ${id}: ${texts[i]}`).join('\n');
    if (Date.now() > deadline) throw new Error(`replicas ${ids} did not agree within ${boundMs} ms:\n${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
