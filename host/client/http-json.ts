// The REST API's JSON (Iggy's: snake_case keys, u64s as numbers or, past 2^53, strings, bytes in base64) turned
// into the same objects IggyClient's binary decoders return (responses.ts), and the request bodies the other way.
import type { Message, MessageInput, PolledMessages } from './batch.js';
import type { Partitioning, TlvEntry } from '../shared/wire/primitives.js';
import { GLOBAL_KEYS, STREAM_KEYS, TOPIC_KEYS, type Permissions } from '../shared/wire/permissions.js';
import { UserStatus } from './requests.js';
import type * as res from './responses.js';

type Json = Record<string, unknown>;

// The fields responses.ts types as bigint (u64 on the wire), by their camelCase name. `id` is not among them: only
// a message's id is a u128, and messages are read by `polled` below.
const BIGINT_FIELDS = new Set([
  'createdAt', 'sizeBytes', 'messagesCount', 'messageExpiry', 'maxTopicSize', 'currentOffset', 'storedOffset', 'baseOffset',
  'expiryAt', 'memoryUsage', 'totalMemory', 'availableMemory', 'runTime', 'startTime', 'readBytes', 'writtenBytes',
  'messagesSizeBytes', 'hits', 'misses', 'freeDiskSpace', 'totalDiskSpace', 'generation', 'session',
]);
const TLV_FIELDS = new Set(['options', 'derivedOptions']);

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
export const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const u64Of = (v: unknown): bigint => (typeof v === 'number' || typeof v === 'string' ? BigInt(v) : 0n);

// Any reply object: keys to camelCase, u64 fields to bigint, option blocks to TLV entries.
export function fromJson<T>(value: unknown): T {
  return convert(value) as T;
}

function convert(value: unknown, key = ''): unknown {
  if (value === null || typeof value !== 'object') return BIGINT_FIELDS.has(key) && value !== null ? u64Of(value) : value;
  if (Array.isArray(value)) return TLV_FIELDS.has(key) ? value.map(tlvOf) : value.map((v) => convert(v));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), convert(v, camel(k))]));
}

export function tlvOf(h: Json): TlvEntry {
  return { keyKind: Number(h.key_kind), key: bytesOf(String(h.key)), valueKind: Number(h.value_kind), value: bytesOf(String(h.value)) };
}

export const tlvJson = (h: TlvEntry) => ({ key_kind: h.keyKind, key: base64Of(h.key), value_kind: h.valueKind, value: base64Of(h.value) });

// A user: the REST API names its status ('active'/'inactive') and keys permissions by id.
export function userOf(j: Json): res.UserDetails {
  const { permissions, status, ...rest } = j;
  const user = fromJson<res.UserInfo>(rest);
  return { ...user, options: user.options ?? [], status: status === 'inactive' ? UserStatus.inactive : UserStatus.active, permissions: permissionsOf(permissions) };
}

function permissionsOf(v: unknown): Permissions | null {
  if (!v || typeof v !== 'object') return null;
  const p = v as { global?: Json; streams?: Record<string, Json> };
  const flags = <K extends string>(src: Json | undefined, keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, src?.[snake(k)] === true])) as Record<K, boolean>;
  return {
    global: flags(p.global, GLOBAL_KEYS),
    streams: Object.entries(p.streams ?? {}).map(([id, s]) => ({
      streamId: Number(id), ...flags(s, STREAM_KEYS),
      topics: Object.entries((s.topics ?? {}) as Record<string, Json>).map(([tid, t]) => ({ topicId: Number(tid), ...flags(t, TOPIC_KEYS) })),
    })),
  };
}

export function permissionsJson(p: Permissions | null | undefined): unknown {
  if (!p) return null;
  const flags = (o: object, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [snake(k), (o as Record<string, boolean>)[k] === true]));
  return {
    global: flags(p.global, GLOBAL_KEYS),
    streams: Object.fromEntries(p.streams.map((s) => [String(s.streamId), {
      ...flags(s, STREAM_KEYS), topics: Object.fromEntries(s.topics.map((t) => [String(t.topicId), flags(t, TOPIC_KEYS)])),
    }])),
  };
}

// A poll reply: {partition_id, current_offset, count, messages: [{header, payload, user_headers}]}.
export function polledOf(j: Json): PolledMessages {
  const messages = (j.messages as Json[]).map((m): Message => {
    const h = m.header as Json;
    return {
      offset: u64Of(h.offset), id: u64Of(h.id), timestamp: u64Of(h.timestamp), originTimestamp: u64Of(h.origin_timestamp),
      checksum: u64Of(h.checksum), payload: bytesOf(String(m.payload)), headers: ((m.user_headers ?? []) as Json[]).map(tlvOf),
    };
  });
  return { partitionId: Number(j.partition_id), currentOffset: u64Of(j.current_offset), count: Number(j.count), messages };
}

const utf8 = new TextEncoder();

export function messageJson(m: MessageInput) {
  const payload = typeof m.payload === 'string' ? utf8.encode(m.payload) : m.payload;
  return { id: m.id && m.id !== 0n ? m.id.toString() : undefined, payload: base64Of(payload), user_headers: m.headers?.map(tlvJson) };
}

// The partition id goes as a plain number (the server takes it besides Iggy's 4 little-endian bytes in base64).
export function partitioningJson(p: Partitioning | undefined) {
  if (!p || p.kind === 'balanced') return { kind: 'balanced' };
  if (p.kind === 'partition') return { kind: 'partition_id', value: p.partition };
  return { kind: 'messages_key', value: base64Of(p.key) };
}
