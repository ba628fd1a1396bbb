// The permissions blob of users (iggy-client-wire.md §10.3): ten global flags, then linked lists of per-stream
// and per-topic overrides, each entry announced by a "has next" byte. Booleans are strictly 0 or 1.
import { Reader, WireError, Writer } from './buffer.js';

export interface GlobalPermissions {
  manageServers: boolean; readServers: boolean; manageUsers: boolean; readUsers: boolean;
  manageStreams: boolean; readStreams: boolean; manageTopics: boolean; readTopics: boolean;
  pollMessages: boolean; sendMessages: boolean;
}

export interface TopicPermissions {
  topicId: number;
  manageTopic: boolean; readTopic: boolean; pollMessages: boolean; sendMessages: boolean;
}

export interface StreamPermissions {
  streamId: number;
  manageStream: boolean; readStream: boolean; manageTopics: boolean; readTopics: boolean;
  pollMessages: boolean; sendMessages: boolean;
  topics: TopicPermissions[];
}

export interface Permissions {
  global: GlobalPermissions;
  streams: StreamPermissions[];
}

export const GLOBAL_KEYS = ['manageServers', 'readServers', 'manageUsers', 'readUsers', 'manageStreams', 'readStreams',
  'manageTopics', 'readTopics', 'pollMessages', 'sendMessages'] as const;
export const STREAM_KEYS = ['manageStream', 'readStream', 'manageTopics', 'readTopics', 'pollMessages', 'sendMessages'] as const;
export const TOPIC_KEYS = ['manageTopic', 'readTopic', 'pollMessages', 'sendMessages'] as const;

function readBool(r: Reader, what: string): boolean {
  const v = r.u8(what);
  if (v > 1) throw new WireError(`permissions: ${what} is ${v}, not 0 or 1`);
  return v === 1;
}

function readFlags<K extends string>(r: Reader, keys: readonly K[]): Record<K, boolean> {
  const out = {} as Record<K, boolean>;
  for (const k of keys) out[k] = readBool(r, k);
  return out;
}

export function readPermissions(r: Reader): Permissions {
  const global = readFlags(r, GLOBAL_KEYS);
  const streams: StreamPermissions[] = [];
  let more = readBool(r, 'has streams');
  while (more) {
    const streamId = r.u32('stream id');
    const flags = readFlags(r, STREAM_KEYS);
    const topics: TopicPermissions[] = [];
    let moreTopics = readBool(r, 'has topics');
    while (moreTopics) {
      const topicId = r.u32('topic id');
      topics.push({ topicId, ...readFlags(r, TOPIC_KEYS) });
      moreTopics = readBool(r, 'has next topic');
    }
    streams.push({ streamId, ...flags, topics });
    more = readBool(r, 'has next stream');
  }
  return { global, streams };
}

export function writePermissions(w: Writer, p: Permissions): Writer {
  for (const k of GLOBAL_KEYS) w.u8(p.global[k] ? 1 : 0);
  w.u8(p.streams.length > 0 ? 1 : 0);
  p.streams.forEach((s, i) => {
    w.u32(s.streamId);
    for (const k of STREAM_KEYS) w.u8(s[k] ? 1 : 0);
    w.u8(s.topics.length > 0 ? 1 : 0);
    s.topics.forEach((t, j) => {
      w.u32(t.topicId);
      for (const k of TOPIC_KEYS) w.u8(t[k] ? 1 : 0);
      w.u8(j < s.topics.length - 1 ? 1 : 0);
    });
    w.u8(i < p.streams.length - 1 ? 1 : 0);
  });
  return w;
}

export function encodePermissions(p: Permissions): Uint8Array {
  return writePermissions(new Writer(), p).finish();
}

// All ten global flags set to `value`, no overrides.
export function globalPermissions(value: boolean, overrides: Partial<GlobalPermissions> = {}): Permissions {
  const global = {} as GlobalPermissions;
  for (const k of GLOBAL_KEYS) global[k] = overrides[k] ?? value;
  return { global, streams: [] };
}
