// Decoders of every reply payload (iggy-client-wire.md §7, §8.3). Payloads arrive with the result section already
// stripped. Layouts the spec fixes completely are read exactly (trailing bytes are an error, code 3); the open-ended
// ones (Stats, which gained fields over releases) tolerate a tail. Empty single-object reads mean "not found".
import { Reader, WireError, decodeUtf8 } from '../shared/wire/buffer.js';
import { readName, readTlvBlock, type TlvEntry } from '../shared/wire/primitives.js';
import { readPermissions, type Permissions } from '../shared/wire/permissions.js';

function string32(r: Reader, what: string): string {
  return decodeUtf8(r.bytes(r.u32(`${what} length`), what), what);
}

function options32(r: Reader, what: string): TlvEntry[] {
  const length = r.u32(`${what} length`);
  const end = r.offset + length;
  if (end > r.end) throw new WireError(`${what}: ${length} bytes announced, ${r.remaining} left`);
  return readTlvBlock(r, end, what);
}

function all<T>(body: Uint8Array, read: (r: Reader) => T): T[] {
  const r = new Reader(body);
  const out: T[] = [];
  while (r.remaining > 0) out.push(read(r));
  return out;
}

function exact<T>(body: Uint8Array, what: string, read: (r: Reader) => T): T {
  const r = new Reader(body);
  const value = read(r);
  r.done(what);
  return value;
}

// --- session (§7.2)

export interface LoginResult { userId: number; session: bigint; serverProtocolVersion: number; serverVersion: string }

export const readLogin = (body: Uint8Array): LoginResult => exact(body, 'LoginRegisterResponse', (r) => ({
  userId: r.u32('user id'), session: r.u64('session'), serverProtocolVersion: r.u32('protocol version'), serverVersion: readName(r, 'server version'),
}));

// --- system (§7.1, §7.3)

export interface CacheMetrics { streamId: number; topicId: number; partitionId: number; hits: bigint; misses: bigint; hitRatio: number }

export interface Stats {
  processId: number; cpuUsage: number; totalCpuUsage: number; memoryUsage: bigint; totalMemory: bigint;
  availableMemory: bigint; runTime: bigint; startTime: bigint; readBytes: bigint; writtenBytes: bigint;
  messagesSizeBytes: bigint; streamsCount: number; topicsCount: number; partitionsCount: number; segmentsCount: number;
  messagesCount: bigint; clientsCount: number; consumerGroupsCount: number; hostname: string; osName: string;
  osVersion: string; kernelVersion: string; iggyServerVersion: string; iggyServerSemver: number;
  cacheMetrics: CacheMetrics[]; threadsCount: number; freeDiskSpace: bigint; totalDiskSpace: bigint;
}

function f32(r: Reader, what: string): number {
  const bytes = r.bytes(4, what);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
}

export function readStats(body: Uint8Array): Stats {
  const r = new Reader(body);
  const head = {
    processId: r.u32(), cpuUsage: f32(r, 'cpu usage'), totalCpuUsage: f32(r, 'total cpu usage'), memoryUsage: r.u64(),
    totalMemory: r.u64(), availableMemory: r.u64(), runTime: r.u64(), startTime: r.u64(), readBytes: r.u64(),
    writtenBytes: r.u64(), messagesSizeBytes: r.u64(), streamsCount: r.u32(), topicsCount: r.u32(),
    partitionsCount: r.u32(), segmentsCount: r.u32(), messagesCount: r.u64(), clientsCount: r.u32(), consumerGroupsCount: r.u32(),
    hostname: string32(r, 'hostname'), osName: string32(r, 'os name'), osVersion: string32(r, 'os version'),
    kernelVersion: string32(r, 'kernel version'), iggyServerVersion: string32(r, 'server version'), iggyServerSemver: r.u32('semver'),
  };
  const cacheMetrics: CacheMetrics[] = [];
  for (let n = r.u32('cache metrics count'); n > 0; n--) {
    cacheMetrics.push({ streamId: r.u32(), topicId: r.u32(), partitionId: r.u32(), hits: r.u64(), misses: r.u64(), hitRatio: f32(r, 'hit ratio') });
  }
  return { ...head, cacheMetrics, threadsCount: r.u32('threads'), freeDiskSpace: r.u64('free disk'), totalDiskSpace: r.u64('total disk') };
}

export interface ClusterNode {
  name: string; ip: string; tcpPort: number; quicPort: number; httpPort: number; websocketPort: number;
  role: number; // 0 Leader, 1 Follower
  status: number; // 0 Healthy, 1 Starting, 2 Stopping, 3 Unreachable, 4 Maintenance
}

export interface ClusterMetadata { name: string; nodes: ClusterNode[] }

export const readClusterMetadata = (body: Uint8Array): ClusterMetadata => exact(body, 'ClusterMetadata', (r) => {
  const name = string32(r, 'cluster name');
  const nodes: ClusterNode[] = [];
  for (let n = r.u32('node count'); n > 0; n--) {
    nodes.push({
      name: string32(r, 'node name'), ip: string32(r, 'node ip'), tcpPort: r.u16(), quicPort: r.u16(), httpPort: r.u16(),
      websocketPort: r.u16(), role: r.u8('role'), status: r.u8('status'),
    });
  }
  return { name, nodes };
});

export interface OptionDescription { key: string; kind: number; defaultValue: Uint8Array; description: string }

export const readOptionDescriptions = (body: Uint8Array): OptionDescription[] => exact(body, 'DescribeOptions', (r) => {
  const out: OptionDescription[] = [];
  for (let n = r.u32('option count'); n > 0; n--) {
    out.push({ key: readName(r, 'option key'), kind: r.u8('option kind'), defaultValue: r.bytes(r.u32('default length'), 'default'), description: string32(r, 'description') });
  }
  return out;
});

export interface ClientInfo {
  clientId: number;
  userId: number | null; // null when the connection is not logged in (u32::MAX on the wire)
  transport: number; // 1 tcp, 2 quic, 4 websocket
  address: string;
  consumerGroupsCount: number;
}

export interface ClientDetails extends ClientInfo {
  consumerGroups: { streamId: number; topicId: number; groupId: number }[];
}

function clientInfo(r: Reader): ClientInfo {
  const clientId = r.u32('client id');
  const userId = r.u32('user id');
  return { clientId, userId: userId === 0xffff_ffff ? null : userId, transport: r.u8('transport'), address: string32(r, 'address'), consumerGroupsCount: r.u32('groups count') };
}

export const readClientDetails = (body: Uint8Array): ClientDetails => exact(body, 'ClientDetails', (r) => {
  const info = clientInfo(r);
  const consumerGroups = [];
  for (let n = info.consumerGroupsCount; n > 0; n--) consumerGroups.push({ streamId: r.u32(), topicId: r.u32(), groupId: r.u32() });
  return { ...info, consumerGroups };
});

export const readClients = (body: Uint8Array): ClientInfo[] => all(body, clientInfo);

// --- users and tokens (§7.9, §7.10)

export interface UserInfo { id: number; createdAt: bigint; status: number; username: string; options: TlvEntry[] }
export interface UserDetails extends UserInfo { permissions: Permissions | null }

function userInfo(r: Reader): UserInfo {
  return { id: r.u32('user id'), createdAt: r.u64('created at'), status: r.u8('status'), username: readName(r, 'username'), options: options32(r, 'user options') };
}

// Without permissions the server writes four zero bytes (readers look at the first only).
export const readUserDetails = (body: Uint8Array): UserDetails => exact(body, 'UserDetails', (r) => {
  const info = userInfo(r);
  if (r.u8('has permissions') === 0) {
    r.bytes(Math.min(3, r.remaining), 'permissions padding');
    return { ...info, permissions: null };
  }
  const length = r.u32('permissions length');
  const blob = new Reader(r.bytes(length, 'permissions'));
  const permissions = readPermissions(blob);
  blob.done('permissions');
  return { ...info, permissions };
});

export const readUsers = (body: Uint8Array): UserInfo[] => all(body, userInfo);

export interface TokenInfo { name: string; expiryAt: bigint }

export const readTokens = (body: Uint8Array): TokenInfo[] => all(body, (r) => ({ name: readName(r, 'token name'), expiryAt: r.u64('expiry') }));
export const readRawToken = (body: Uint8Array): string => exact(body, 'token', (r) => readName(r, 'token'));

// --- streams, topics, partitions (§7.4, §7.5)

export interface Stream { id: number; createdAt: bigint; topicsCount: number; sizeBytes: bigint; messagesCount: bigint; name: string; options: TlvEntry[] }
export interface Topic {
  id: number; createdAt: bigint; partitionsCount: number; messageExpiry: bigint; compressionAlgorithm: number;
  maxTopicSize: bigint; sizeBytes: bigint; messagesCount: bigint; name: string; options: TlvEntry[]; derivedOptions: TlvEntry[];
}
export interface Partition { id: number; createdAt: bigint; segmentsCount: number; currentOffset: bigint; sizeBytes: bigint; messagesCount: bigint }
export interface StreamDetails extends Stream { topics: Topic[] }
export interface TopicDetails extends Topic { partitions: Partition[] }

function stream(r: Reader): Stream {
  return {
    id: r.u32('stream id'), createdAt: r.u64(), topicsCount: r.u32(), sizeBytes: r.u64(), messagesCount: r.u64(),
    name: readName(r, 'stream name'), options: options32(r, 'stream options'),
  };
}

function topic(r: Reader): Topic {
  return {
    id: r.u32('topic id'), createdAt: r.u64(), partitionsCount: r.u32(), messageExpiry: r.u64(), compressionAlgorithm: r.u8(),
    maxTopicSize: r.u64(), sizeBytes: r.u64(), messagesCount: r.u64(), name: readName(r, 'topic name'),
    options: options32(r, 'topic options'), derivedOptions: options32(r, 'derived topic options'),
  };
}

function partition(r: Reader): Partition {
  return { id: r.u32('partition id'), createdAt: r.u64(), segmentsCount: r.u32(), currentOffset: r.u64(), sizeBytes: r.u64(), messagesCount: r.u64() };
}

export const readStream = (body: Uint8Array): Stream => exact(body, 'StreamResponse', stream);
export const readStreams = (body: Uint8Array): Stream[] => all(body, stream);

export const readStreamDetails = (body: Uint8Array): StreamDetails => exact(body, 'StreamDetails', (r) => {
  const s = stream(r);
  const topics: Topic[] = [];
  for (let n = s.topicsCount; n > 0; n--) topics.push(topic(r));
  return { ...s, topics };
});

export const readTopicDetails = (body: Uint8Array): TopicDetails => exact(body, 'TopicDetails', (r) => {
  const t = topic(r);
  const partitions: Partition[] = [];
  for (let n = t.partitionsCount; n > 0; n--) partitions.push(partition(r));
  return { ...t, partitions };
});

// GetTopics is the one list with a count prefix.
export const readTopics = (body: Uint8Array): Topic[] => exact(body, 'GetTopics', (r) => {
  const out: Topic[] = [];
  for (let n = r.u32('topic count'); n > 0; n--) out.push(topic(r));
  return out;
});

// --- consumer groups (§7.7)

export interface ConsumerGroup { id: number; partitionsCount: number; membersCount: number; name: string }
export interface GroupMember { id: number; partitionsCount: number; partitions: number[] }
export interface ConsumerGroupDetails extends ConsumerGroup { members: GroupMember[] }
export interface GroupAssignment { generation: bigint; partitions: number[] }

function group(r: Reader): ConsumerGroup {
  return { id: r.u32('group id'), partitionsCount: r.u32(), membersCount: r.u32(), name: readName(r, 'group name') };
}

export const readGroups = (body: Uint8Array): ConsumerGroup[] => all(body, group);

export const readGroupDetails = (body: Uint8Array): ConsumerGroupDetails => exact(body, 'ConsumerGroupDetails', (r) => {
  const g = group(r);
  const members: GroupMember[] = [];
  for (let n = g.membersCount; n > 0; n--) {
    const id = r.u32('member id');
    const partitionsCount = r.u32('member partitions count');
    const partitions: number[] = [];
    for (let p = partitionsCount; p > 0; p--) partitions.push(r.u32('member partition'));
    members.push({ id, partitionsCount, partitions });
  }
  return { ...g, members };
});

export const readAssignment = (body: Uint8Array): GroupAssignment => exact(body, 'SyncConsumerGroup', (r) => {
  const generation = r.u64('generation');
  const partitions: number[] = [];
  for (let n = r.u32('partition count'); n > 0; n--) partitions.push(r.u32('partition id'));
  return { generation, partitions };
});

// --- offsets and sends (§7.8, §8.3)

export interface ConsumerOffset { partitionId: number; currentOffset: bigint; storedOffset: bigint }

export const readOffset = (body: Uint8Array): ConsumerOffset => exact(body, 'ConsumerOffset', (r) => ({
  partitionId: r.u32('partition id'), currentOffset: r.u64('current offset'), storedOffset: r.u64('stored offset'),
}));

export interface SendConfirmation { streamId: number; topicId: number; partitionId: number; baseOffset: bigint }

export const readSendConfirmations = (body: Uint8Array): SendConfirmation[] => exact(body, 'SendMessages reply', (r) => {
  const out: SendConfirmation[] = [];
  for (let n = r.u32('confirmation count'); n > 0; n--) {
    out.push({ streamId: r.u32(), topicId: r.u32(), partitionId: r.u32(), baseOffset: r.u64('base offset') });
  }
  return out;
});
