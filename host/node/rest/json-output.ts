// Replies as JSON in Iggy's field names: the decoded binary replies (../../client/responses.ts) with their keys in
// snake_case, u64 values as numbers while they are exact (as strings beyond 2^53), bytes as base64.
import type { Message } from '../../client/batch.js';
import type { Permissions } from '../../shared/wire/permissions.js';
import type { TlvEntry } from '../../shared/wire/primitives.js';

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), toJson(v)]));
  }
  return value;
}

export const headersJson = (headers: TlvEntry[]) => headers.map((h) => toJson(h));

// A polled message as Iggy's JSON: its header fields, the payload in base64, and user headers. Written out field by
// field (not through toJson): a poll reply has a thousand of them.
export function messageJson(m: Message) {
  return {
    header: {
      checksum: u64(m.checksum), id: u64(m.id), offset: u64(m.offset), timestamp: u64(m.timestamp), origin_timestamp: u64(m.originTimestamp),
      payload_length: m.payload.length,
    },
    payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('base64'),
    user_headers: m.headers.length === 0 ? [] : headersJson(m.headers),
  };
}

const u64 = (v: bigint): number | string => (v <= MAX_EXACT ? Number(v) : v.toString());
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

// Iggy's permissions JSON: global flags, then streams and their topics keyed by id.
export function permissionsJson(p: Permissions | null) {
  if (!p) return null;
  return {
    global: toJson(p.global),
    streams: Object.fromEntries(p.streams.map(({ streamId, topics, ...flags }) => [String(streamId), {
      ...(toJson(flags) as object),
      topics: Object.fromEntries(topics.map(({ topicId, ...t }) => [String(topicId), toJson(t)])),
    }])),
  };
}
