// Primitive encodings of request and reply bodies (iggy-client-wire.md §6).
import { Reader, WireError, Writer, decodeUtf8, utf8 } from './buffer.js';
import { ErrorCode } from './codes.js';

export type Identifier = { kind: 'numeric'; id: number } | { kind: 'string'; name: string };

export const numericId = (id: number): Identifier => ({ kind: 'numeric', id });
export const namedId = (name: string): Identifier => ({ kind: 'string', name });

export function writeIdentifier(w: Writer, id: Identifier): Writer {
  if (id.kind === 'numeric') return w.u8(1).u8(4).u32(id.id);
  const bytes = utf8.encode(id.name);
  if (bytes.length < 1 || bytes.length > 255) throw new WireError(`identifier name must be 1..255 bytes, got ${bytes.length}`, ErrorCode.invalidIdentifier);
  return w.u8(2).u8(bytes.length).bytes(bytes);
}

export function readIdentifier(r: Reader, what = 'identifier'): Identifier {
  const kind = r.u8(`${what} kind`);
  const length = r.u8(`${what} length`);
  if (kind === 1) {
    if (length !== 4) throw new WireError(`${what}: numeric identifier length ${length}, expected 4`, ErrorCode.invalidIdentifier);
    return { kind: 'numeric', id: r.u32(what) };
  }
  if (kind === 2) {
    if (length === 0) throw new WireError(`${what}: empty string identifier`, ErrorCode.invalidIdentifier);
    return { kind: 'string', name: decodeUtf8(r.bytes(length, what), what) };
  }
  throw new WireError(`${what}: unknown identifier kind ${kind}`, ErrorCode.invalidIdentifier);
}

// WireName: u8 length (1..255) + UTF-8.
export function writeName(w: Writer, name: string, what = 'name'): Writer {
  const bytes = utf8.encode(name);
  if (bytes.length < 1 || bytes.length > 255) throw new WireError(`${what} must be 1..255 bytes, got ${bytes.length}`);
  return w.u8(bytes.length).bytes(bytes);
}

export function readName(r: Reader, what = 'name'): string {
  const length = r.u8(`${what} length`);
  if (length === 0) throw new WireError(`${what} is empty`);
  return decodeUtf8(r.bytes(length, what), what);
}

// u8 length (0..255) + bytes: passwords and tokens, which may be empty on the wire.
export function readShortBytes(r: Reader, what: string): Uint8Array {
  return r.bytes(r.u8(`${what} length`), what);
}

export interface TlvEntry { keyKind: number; key: Uint8Array; valueKind: number; value: Uint8Array }

export const TlvKind = {
  raw: 1, string: 2, bool: 3, int8: 4, int16: 5, int32: 6, int64: 7, int128: 8,
  uint8: 9, uint16: 10, uint32: 11, uint64: 12, uint128: 13, float: 14, double: 15,
} as const;

function readTlv(r: Reader, what: string): { kind: number; bytes: Uint8Array } {
  const kind = r.u8(`${what} kind`);
  if (kind < 1 || kind > 15) throw new WireError(`${what}: TLV kind ${kind} is not 1..15`);
  const length = r.u32(`${what} length`);
  if (length < 1 || length > 255) throw new WireError(`${what}: TLV length ${length} is not 1..255`);
  return { kind, bytes: r.bytes(length, what) };
}

// A key/value TLV block that runs to `end` (message user headers, resource options).
export function readTlvBlock(r: Reader, end: number, what: string): TlvEntry[] {
  const entries: TlvEntry[] = [];
  while (r.offset < end) {
    const key = readTlv(r, `${what} key`);
    if (r.offset >= end) throw new WireError(`${what}: key without a value`);
    const value = readTlv(r, `${what} value`);
    entries.push({ keyKind: key.kind, key: key.bytes, valueKind: value.kind, value: value.bytes });
  }
  if (r.offset !== end) throw new WireError(`${what}: entries overrun the block`);
  return entries;
}

export function writeTlvBlock(w: Writer, entries: TlvEntry[]): Writer {
  for (const e of entries) w.u8(e.keyKind).u32(e.key.length).bytes(e.key).u8(e.valueKind).u32(e.value.length).bytes(e.value);
  return w;
}

export type Consumer = { kind: 'consumer' | 'group'; id: Identifier };

export function readConsumer(r: Reader): Consumer {
  const kind = r.u8('consumer kind');
  if (kind !== 1 && kind !== 2) throw new WireError(`consumer kind ${kind} is not 1 (consumer) or 2 (group)`);
  return { kind: kind === 1 ? 'consumer' : 'group', id: readIdentifier(r, 'consumer id') };
}

export function writeConsumer(w: Writer, c: Consumer): Writer {
  return writeIdentifier(w.u8(c.kind === 'consumer' ? 1 : 2), c.id);
}

export type Partitioning =
  | { kind: 'balanced' }
  | { kind: 'partition'; partition: number }
  | { kind: 'key'; key: Uint8Array };

export function readPartitioning(r: Reader): Partitioning {
  const kind = r.u8('partitioning kind');
  const length = r.u8('partitioning length');
  if (kind === 1) {
    if (length !== 0) throw new WireError(`balanced partitioning carries ${length} value byte(s)`);
    return { kind: 'balanced' };
  }
  if (kind === 2) {
    if (length !== 4) throw new WireError(`partition-id partitioning length ${length}, expected 4`);
    return { kind: 'partition', partition: r.u32('partition id') };
  }
  if (kind === 3) {
    if (length === 0) throw new WireError('messages-key partitioning with an empty key');
    return { kind: 'key', key: r.bytes(length, 'messages key') };
  }
  throw new WireError(`unknown partitioning kind ${kind}`);
}

export function writePartitioning(w: Writer, p: Partitioning): Writer {
  if (p.kind === 'balanced') return w.u8(1).u8(0);
  if (p.kind === 'partition') return w.u8(2).u8(4).u32(p.partition);
  if (p.key.length < 1 || p.key.length > 255) throw new WireError(`messages key must be 1..255 bytes, got ${p.key.length}`);
  return w.u8(3).u8(p.key.length).bytes(p.key);
}

// u8 flag + u32 id; the 4 bytes are present either way.
export function readOptionalPartition(r: Reader): number | null {
  const flag = r.u8('partition flag');
  const id = r.u32('partition id');
  if (flag > 1) throw new WireError(`partition flag ${flag} is not 0 or 1`);
  return flag === 1 ? id : null;
}

export function writeOptionalPartition(w: Writer, partition: number | null): Writer {
  return w.u8(partition === null ? 0 : 1).u32(partition ?? 0);
}

export type PollingStrategy =
  | { kind: 'offset'; value: bigint }
  | { kind: 'timestamp'; value: bigint }
  | { kind: 'first' | 'last' | 'next' };

const STRATEGIES = ['offset', 'timestamp', 'first', 'last', 'next'] as const;

export function readPollingStrategy(r: Reader): PollingStrategy {
  const kind = r.u8('polling strategy kind');
  const value = r.u64('polling strategy value');
  const name = STRATEGIES[kind - 1];
  if (!name) throw new WireError(`unknown polling strategy kind ${kind}`);
  if (name === 'offset' || name === 'timestamp') return { kind: name, value };
  return { kind: name };
}

export function writePollingStrategy(w: Writer, s: PollingStrategy): Writer {
  return w.u8(STRATEGIES.indexOf(s.kind) + 1).u64('value' in s ? s.value : 0n);
}
