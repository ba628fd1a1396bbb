// User permissions: the §10.3 blob (iggy-client-wire.md) and the checks that guard every command. The rules follow
// the reference server's permissioner (apache/iggy core/server/src/streaming/users/permissioner_rules/*.rs and
// core/metadata/src/permissioner): root may do everything; a global manage_* implies the matching read_*;
// manage_streams implies manage_topics; per-stream and per-topic entries grant only on that stream/topic.
import { Reader, WireError, Writer } from '../../shared/wire/buffer.js';
import type { UsersState } from './users.js';

export type PermissionAction =
  | 'manage_servers' | 'read_servers' | 'manage_users' | 'read_users' | 'manage_streams' | 'read_streams'
  | 'manage_topics' | 'read_topics' | 'poll_messages' | 'send_messages';

export interface GlobalPermissions {
  manageServers: boolean;
  readServers: boolean;
  manageUsers: boolean;
  readUsers: boolean;
  manageStreams: boolean;
  readStreams: boolean;
  manageTopics: boolean;
  readTopics: boolean;
  pollMessages: boolean;
  sendMessages: boolean;
}

export interface TopicPermissions {
  manageTopic: boolean;
  readTopic: boolean;
  pollMessages: boolean;
  sendMessages: boolean;
}

export interface StreamPermissions {
  manageStream: boolean;
  readStream: boolean;
  manageTopics: boolean;
  readTopics: boolean;
  pollMessages: boolean;
  sendMessages: boolean;
  // Insertion order is the blob order, so encoding gives back the bytes that were decoded.
  topics: Map<number, TopicPermissions>;
}

export interface Permissions {
  global: GlobalPermissions;
  streams: Map<number, StreamPermissions>;
}

const GLOBAL_FIELDS = [
  'manageServers', 'readServers', 'manageUsers', 'readUsers', 'manageStreams',
  'readStreams', 'manageTopics', 'readTopics', 'pollMessages', 'sendMessages',
] as const;
const STREAM_FIELDS = ['manageStream', 'readStream', 'manageTopics', 'readTopics', 'pollMessages', 'sendMessages'] as const;
const TOPIC_FIELDS = ['manageTopic', 'readTopic', 'pollMessages', 'sendMessages'] as const;

// What the root user holds (the reference's Permissions::root()): every global flag, no per-stream entries.
export function rootPermissions(): Permissions {
  const global = Object.fromEntries(GLOBAL_FIELDS.map((f) => [f, true])) as unknown as GlobalPermissions;
  return { global, streams: new Map() };
}

// Booleans must be 0 or 1: anything else could not be re-encoded to the same bytes.
function readFlag(r: Reader, what: string): boolean {
  const v = r.u8(what);
  if (v > 1) throw new WireError(`permissions: ${what} is ${v}, expected 0 or 1`);
  return v === 1;
}

function readFlags<K extends string>(r: Reader, fields: readonly K[], what: string): Record<K, boolean> {
  const out = {} as Record<K, boolean>;
  for (const f of fields) out[f] = readFlag(r, `${what} ${f}`);
  return out;
}

function readTopics(r: Reader, streamId: number): Map<number, TopicPermissions> {
  const topics = new Map<number, TopicPermissions>();
  let more = readFlag(r, `stream ${streamId} has_topics`);
  while (more) {
    const topicId = r.u32('topic id');
    if (topics.has(topicId)) throw new WireError(`permissions: stream ${streamId} lists topic ${topicId} twice`);
    topics.set(topicId, readFlags(r, TOPIC_FIELDS, `topic ${topicId}`));
    more = readFlag(r, `topic ${topicId} has_next_topic`);
  }
  return topics;
}

export function readPermissions(r: Reader): Permissions {
  const global = readFlags(r, GLOBAL_FIELDS, 'global');
  const streams = new Map<number, StreamPermissions>();
  let more = readFlag(r, 'has_streams');
  while (more) {
    const streamId = r.u32('stream id');
    if (streams.has(streamId)) throw new WireError(`permissions: stream ${streamId} listed twice`);
    const flags = readFlags(r, STREAM_FIELDS, `stream ${streamId}`);
    streams.set(streamId, { ...flags, topics: readTopics(r, streamId) });
    more = readFlag(r, `stream ${streamId} has_next_stream`);
  }
  return { global, streams };
}

// A whole blob: it must be consumed exactly (its length comes from the enclosing u32 prefix).
export function decodePermissions(bytes: Uint8Array): Permissions {
  const r = new Reader(bytes);
  const p = readPermissions(r);
  r.done('permissions');
  return p;
}

const flag = (w: Writer, v: boolean): Writer => w.u8(v ? 1 : 0);

export function writePermissions(w: Writer, p: Permissions): Writer {
  for (const f of GLOBAL_FIELDS) flag(w, p.global[f]);
  flag(w, p.streams.size > 0);
  let streamsLeft = p.streams.size;
  for (const [streamId, s] of p.streams) {
    w.u32(streamId);
    for (const f of STREAM_FIELDS) flag(w, s[f]);
    flag(w, s.topics.size > 0);
    let topicsLeft = s.topics.size;
    for (const [topicId, t] of s.topics) {
      w.u32(topicId);
      for (const f of TOPIC_FIELDS) flag(w, t[f]);
      flag(w, --topicsLeft > 0);
    }
    flag(w, --streamsLeft > 0);
  }
  return w;
}

export function encodePermissions(p: Permissions): Uint8Array {
  return writePermissions(new Writer(64), p).finish();
}

// `u8 has_permissions, [u32 len + Permissions]` as in CreateUser / UpdatePermissions requests.
export function readOptionalPermissions(r: Reader): Permissions | null {
  const has = r.u8('has_permissions');
  if (has > 1) throw new WireError(`has_permissions is ${has}, expected 0 or 1`);
  if (has === 0) return null;
  const length = r.u32('permissions length');
  return decodePermissions(r.bytes(length, 'permissions'));
}

export function writeOptionalPermissions(w: Writer, p: Permissions | null): Writer {
  if (p === null) return w.u8(0);
  return w.u8(1).lenBytes32(encodePermissions(p));
}

// The root user id: root holds every permission whatever is stored (the reference short-circuits it too).
export const ROOT_USER_ID = 0;

// Whether `userId` may perform `action`, optionally on one stream or one topic of it. Unknown users may do
// nothing. Status (inactive) is not looked at: inactive users are refused at login.
export function allowed(users: UsersState, userId: number, action: PermissionAction, streamId?: number, topicId?: number): boolean {
  if (userId === ROOT_USER_ID) return true;
  const p = users.get(userId)?.permissions;
  if (!p) return false;
  const g = p.global;
  const s = streamId === undefined ? undefined : p.streams.get(streamId);
  const t = s && topicId !== undefined ? s.topics.get(topicId) : undefined;
  switch (action) {
    case 'manage_servers': return g.manageServers;
    case 'read_servers': return g.manageServers || g.readServers;
    case 'manage_users': return g.manageUsers;
    case 'read_users': return g.manageUsers || g.readUsers;
    case 'manage_streams': return g.manageStreams || !!s?.manageStream;
    case 'read_streams': return g.manageStreams || g.readStreams || !!s?.manageStream || !!s?.readStream;
    case 'manage_topics':
      return g.manageStreams || g.manageTopics || !!s?.manageTopics || !!t?.manageTopic;
    case 'read_topics':
      return g.readStreams || g.manageStreams || g.manageTopics || g.readTopics
        || !!s?.manageTopics || !!s?.readTopics || !!t?.manageTopic || !!t?.readTopic;
    case 'poll_messages':
      return g.pollMessages || !!s?.pollMessages || !!s?.readStream || !!s?.manageTopics || !!s?.readTopics
        || !!t?.pollMessages || !!t?.readTopic || !!t?.manageTopic;
    case 'send_messages':
      return g.sendMessages || !!s?.sendMessages || !!s?.manageStream || !!s?.manageTopics
        || !!t?.sendMessages || !!t?.manageTopic;
  }
}
