// Request bodies of every command (iggy-client-wire.md §7, §8.1, §8.4). Each function returns the body only; the
// client adds the 256-byte header. Inputs are checked here so a bad argument fails before anything is sent.
import { Writer, utf8 } from '../shared/wire/buffer.js';
import {
  namedId, numericId, writeConsumer, writeIdentifier, writeName, writeOptionalPartition, writePartitioning,
  writePollingStrategy, writeTlvBlock, type Consumer, type Identifier, type Partitioning, type PollingStrategy,
  type TlvEntry,
} from '../shared/wire/primitives.js';
import { writePermissions, type Permissions } from '../shared/wire/permissions.js';
import { buildBatch, type MessageInput } from './batch.js';

// Numbers are numeric ids, strings are names (§6.1).
export type Id = number | string;

export const toIdentifier = (id: Id): Identifier => (typeof id === 'number' ? numericId(id) : namedId(id));

const ids = (...list: Id[]): Uint8Array => {
  const w = new Writer();
  for (const id of list) writeIdentifier(w, toIdentifier(id));
  return w.finish();
};

// Passwords may be empty on the wire (u8 length 0..255), unlike names.
function writeShort(w: Writer, value: string, what: string): Writer {
  const bytes = utf8.encode(value);
  if (bytes.length > 255) throw new RangeError(`${what} is ${bytes.length} bytes, at most 255`);
  return w.u8(bytes.length).bytes(bytes);
}

export const CLIENT_PROTOCOL_VERSION = (0 << 20) | (11 << 10) | 0; // 0.11.0, what the Node SDK sends
export const SDK_NAME = 'shardlog-ts';
export const SDK_VERSION = '0.1.0';

export interface SdkInfo { name: string; version: string }
const THIS_SDK: SdkInfo = { name: SDK_NAME, version: SDK_VERSION };

function versionInfo(w: Writer, sdk: SdkInfo): Writer {
  w.u32(CLIENT_PROTOCOL_VERSION);
  writeName(w, sdk.name, 'sdk name');
  return writeName(w, sdk.version, 'sdk version');
}

// §4.2 password shape (code 40).
export function registerWithPassword(username: string, password: string, sdk = THIS_SDK): Uint8Array {
  const w = versionInfo(new Writer(), sdk);
  writeName(w, username, 'username');
  writeShort(w, password, 'password');
  return w.u32(0).finish(); // no context
}

// §4.2 PAT shape (code 45).
export function registerWithToken(token: string, sdk = THIS_SDK): Uint8Array {
  return writeShort(versionInfo(new Writer(), sdk), token, 'token').u32(0).finish();
}

export const empty = (): Uint8Array => new Uint8Array(0);

export const SnapshotCompression = { stored: 1, deflated: 2 } as const;
export const SnapshotType = { filesystemOverview: 1, processList: 2, resourceUsage: 3, test: 4, serverLogs: 5, serverConfig: 6, all: 100 } as const;

export function snapshot(types: number[], compression: number): Uint8Array {
  const w = new Writer().u8(compression).u8(types.length);
  for (const t of types) w.u8(t);
  return w.finish();
}

export const OptionScope = { topic: 1, stream: 2, user: 3 } as const;

export const describeOptions = (scope: number): Uint8Array => new Writer().u8(scope).finish();
export const getClient = (clientId: number): Uint8Array => new Writer().u32(clientId).finish();

// --- users (§7.9)

export const UserStatus = { active: 1, inactive: 2 } as const;

function optionalPermissions(w: Writer, permissions: Permissions | null | undefined): Writer {
  if (!permissions) return w.u8(0);
  const blob = writePermissions(new Writer(), permissions).finish();
  return w.u8(1).u32(blob.length).bytes(blob);
}

export interface CreateUserInput {
  username: string;
  password: string;
  status?: number;
  permissions?: Permissions | null;
  options?: TlvEntry[];
}

export function createUser(u: CreateUserInput): Uint8Array {
  const w = writeName(new Writer(), u.username, 'username');
  writeShort(w, u.password, 'password').u8(u.status ?? UserStatus.active);
  optionalPermissions(w, u.permissions);
  return writeTlvBlock(w, u.options ?? []).finish();
}

export interface UpdateUserInput { username?: string; status?: number; options?: TlvEntry[] }

export function updateUser(user: Id, u: UpdateUserInput): Uint8Array {
  const w = writeIdentifier(new Writer(), toIdentifier(user));
  if (u.username === undefined) w.u8(0); else writeName(w.u8(1), u.username, 'username');
  if (u.status === undefined) w.u8(0); else w.u8(1).u8(u.status);
  return writeTlvBlock(w, u.options ?? []).finish();
}

export function updatePermissions(user: Id, permissions: Permissions | null): Uint8Array {
  return optionalPermissions(writeIdentifier(new Writer(), toIdentifier(user)), permissions).finish();
}

export function changePassword(user: Id, current: string, next: string): Uint8Array {
  const w = writeIdentifier(new Writer(), toIdentifier(user));
  writeShort(w, current, 'current password');
  return writeShort(w, next, 'new password').finish();
}

export const identifier = (id: Id): Uint8Array => ids(id);

// --- personal access tokens (§7.10)

export const createToken = (name: string, expiry: bigint): Uint8Array => writeName(new Writer(), name, 'token name').u64(expiry).finish();
export const tokenName = (name: string): Uint8Array => writeName(new Writer(), name, 'token name').finish();

// --- streams and topics (§7.4 - §7.6)

export const createStream = (name: string, options: TlvEntry[] = []): Uint8Array =>
  writeTlvBlock(writeName(new Writer(), name, 'stream name'), options).finish();

export const updateStream = (stream: Id, name: string, options: TlvEntry[] = []): Uint8Array =>
  writeTlvBlock(writeName(writeIdentifier(new Writer(), toIdentifier(stream)), name, 'stream name'), options).finish();

export const streamAndTopic = (stream: Id, topic: Id): Uint8Array => ids(stream, topic);

export function createTopic(stream: Id, partitionsCount: number, name: string, options: TlvEntry[] = []): Uint8Array {
  const w = writeIdentifier(new Writer(), toIdentifier(stream)).u32(partitionsCount);
  return writeTlvBlock(writeName(w, name, 'topic name'), options).finish();
}

export function updateTopic(stream: Id, topic: Id, name: string, options: TlvEntry[] = []): Uint8Array {
  const w = new Writer().bytes(ids(stream, topic));
  return writeTlvBlock(writeName(w, name, 'topic name'), options).finish();
}

export const partitionsCount = (stream: Id, topic: Id, count: number): Uint8Array => new Writer().bytes(ids(stream, topic)).u32(count).finish();

export const deleteSegments = (stream: Id, topic: Id, partitionId: number, segmentsCount: number): Uint8Array =>
  new Writer().bytes(ids(stream, topic)).u32(partitionId).u32(segmentsCount).finish();

// --- consumer groups (§7.7)

export const group = (stream: Id, topic: Id, groupId: Id): Uint8Array => ids(stream, topic, groupId);

export const createGroup = (stream: Id, topic: Id, name: string): Uint8Array =>
  writeName(new Writer().bytes(ids(stream, topic)), name, 'group name').finish();

// --- offsets (§7.8) and messages (§8)

export type ConsumerInput = { kind: 'consumer' | 'group'; id: Id };

// Node's Consumer.Single: kind 1, numeric id 0.
export const SINGLE_CONSUMER: ConsumerInput = { kind: 'consumer', id: 0 };

const toConsumer = (c: ConsumerInput): Consumer => ({ kind: c.kind, id: toIdentifier(c.id) });

export interface OffsetTarget {
  consumer?: ConsumerInput;
  stream: Id;
  topic: Id;
  partition?: number | null;
}

function offsetTarget(t: OffsetTarget): Writer {
  const w = writeConsumer(new Writer(), toConsumer(t.consumer ?? SINGLE_CONSUMER));
  w.bytes(ids(t.stream, t.topic));
  return writeOptionalPartition(w, t.partition ?? null);
}

export const getOffset = (t: OffsetTarget): Uint8Array => offsetTarget(t).finish();
export const storeOffset = (t: OffsetTarget, offset: bigint, ack: number): Uint8Array => offsetTarget(t).u64(offset).u8(ack).finish();
export const deleteOffset = (t: OffsetTarget, ack: number): Uint8Array => offsetTarget(t).u8(ack).finish();

export interface PollInput extends OffsetTarget {
  strategy: PollingStrategy;
  count: number;
  autoCommit?: boolean;
}

export function pollMessages(p: PollInput): Uint8Array {
  const w = offsetTarget(p);
  return writePollingStrategy(w, p.strategy).u32(p.count).u8(p.autoCommit ? 1 : 0).finish();
}

export interface SendInput {
  stream: Id;
  topic: Id;
  partitioning?: Partitioning; // default: Balanced
  messages: MessageInput[];
}

// §8.1: the metadata length counts the two identifiers, the partitioning and the message count.
export function sendMessages(s: SendInput, batch: Uint8Array = buildBatch(s.messages)): Uint8Array {
  const meta = writePartitioning(new Writer().bytes(ids(s.stream, s.topic)), s.partitioning ?? { kind: 'balanced' }).u32(s.messages.length).finish();
  return new Writer(4 + meta.length + batch.length).u32(meta.length).bytes(meta).bytes(batch).finish();
}

export const flushUnsavedBuffer = (stream: Id, topic: Id, partitionId: number, fsync: boolean): Uint8Array =>
  new Writer().bytes(ids(stream, topic)).u32(partitionId).u8(fsync ? 1 : 0).finish();
