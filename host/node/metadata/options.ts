// Resource option blocks (iggy-client-wire.md §6.3, §7.5): block-level limits shared by streams and topics,
// the topic keys with their defaults, and the derived (server-resolved) block the topic replies carry.
import { Reader, WireError, Writer, decodeUtf8, utf8 } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { TlvKind, readTlvBlock, writeTlvBlock, type TlvEntry } from '../../shared/wire/primitives.js';

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
const MAX_OPTION_PAIRS = 1024;
const MAX_OPTIONS_BYTES = 100_000;

export interface TopicSettings {
  compression: 1 | 2; // 1 none, 2 gzip
  messageExpiry: bigint; // µs; U64_MAX = never
  maxTopicSize: bigint; // bytes; U64_MAX = unlimited
  segmentSize: bigint;
  enforceFsync: boolean;
  messagesRequiredToSave: number;
  sizeOfMessagesRequiredToSave: bigint;
  preallocateSegments: boolean;
}

export const DEFAULT_TOPIC_SETTINGS: Readonly<TopicSettings> = {
  compression: 1,
  messageExpiry: U64_MAX,
  maxTopicSize: U64_MAX,
  segmentSize: 1n << 30n,
  enforceFsync: false,
  messagesRequiredToSave: 1024,
  sizeOfMessagesRequiredToSave: 1n << 20n,
  preallocateSegments: false,
};

// An options block that runs from `r.offset` to the end of the body: structure (§6.3) plus the options rules
// (String keys, no duplicates, ≤ 1024 pairs, ≤ 100 000 bytes). Structural damage is a WireError(3); a broken
// options rule is a WireError carrying 4041/4042/4043.
export function readOptionsBlock(r: Reader, what: string): TlvEntry[] {
  if (r.remaining > MAX_OPTIONS_BYTES) throw new WireError(`${what}: options block of ${r.remaining} bytes exceeds ${MAX_OPTIONS_BYTES}`, ErrorCode.optionsBlockTooLarge);
  const entries = readTlvBlock(r, r.end, what);
  if (entries.length > MAX_OPTION_PAIRS) throw new WireError(`${what}: ${entries.length} option pairs exceed ${MAX_OPTION_PAIRS}`, ErrorCode.optionsBlockTooLarge);
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.keyKind !== TlvKind.string) throw new WireError(`${what}: option key of kind ${e.keyKind}, keys must be String`, ErrorCode.unsupportedOptionKey);
    const key = decodeUtf8(e.key, `${what} key`);
    if (seen.has(key)) throw new WireError(`${what}: duplicate option key '${key}'`, ErrorCode.invalidOptionValue);
    seen.add(key);
  }
  return entries;
}

export function encodeOptionsBlock(entries: TlvEntry[]): Uint8Array {
  return writeTlvBlock(new Writer(), entries).finish();
}

// Streams accept no option keys yet (§7.4).
export function checkStreamOptions(entries: TlvEntry[]): void {
  if (entries.length > 0) throw new WireError(`stream option '${keyOf(entries[0])}' is not supported`, ErrorCode.unsupportedOptionKey);
}

const keyOf = (e: TlvEntry): string => new TextDecoder().decode(e.key);

// The settings an explicit block resolves to; WireError 4041 (unknown key) or 4042 (bad value).
export function topicSettings(entries: TlvEntry[]): TopicSettings {
  const s: TopicSettings = { ...DEFAULT_TOPIC_SETTINGS };
  for (const e of entries) applyTopicOption(s, keyOf(e), e);
  if (s.maxTopicSize !== U64_MAX && s.maxTopicSize < s.segmentSize) {
    throw new WireError(`max_topic_size ${s.maxTopicSize} is below segment_size ${s.segmentSize}`, ErrorCode.invalidOptionValue);
  }
  return s;
}

function applyTopicOption(s: TopicSettings, key: string, e: TlvEntry): void {
  switch (key) {
    case 'compression_algorithm': s.compression = compressionOf(e); return;
    case 'message_expiry': s.messageExpiry = orDefault(e.valueKind === TlvKind.string ? parseDuration(str(e, key)) : u64(e, key), U64_MAX); return;
    case 'max_topic_size': s.maxTopicSize = orDefault(e.valueKind === TlvKind.string ? parseSize(str(e, key)) : u64(e, key), U64_MAX); return;
    case 'segment_size': s.segmentSize = segmentSizeOf(u64(e, key)); return;
    case 'enforce_fsync': s.enforceFsync = bool(e, key); return;
    case 'messages_required_to_save': s.messagesRequiredToSave = u32(e, key); return;
    case 'size_of_messages_required_to_save': s.sizeOfMessagesRequiredToSave = u64(e, key); return;
    case 'preallocate_segments': s.preallocateSegments = bool(e, key); return;
    default: throw new WireError(`unknown topic option '${key}'`, ErrorCode.unsupportedOptionKey);
  }
}

const bad = (key: string, why: string): WireError => new WireError(`topic option '${key}': ${why}`, ErrorCode.invalidOptionValue);
const orDefault = (v: bigint, fallback: bigint): bigint => (v === 0n ? fallback : v);

function compressionOf(e: TlvEntry): 1 | 2 {
  const name = str(e, 'compression_algorithm').toLowerCase();
  if (name === 'none') return 1;
  if (name === 'gzip') return 2;
  throw bad('compression_algorithm', `'${name}' is not none or gzip`);
}

function segmentSizeOf(v: bigint): bigint {
  if (v === 0n) return DEFAULT_TOPIC_SETTINGS.segmentSize;
  if (v % 512n !== 0n) throw bad('segment_size', `${v} is not a multiple of 512`);
  return v;
}

function str(e: TlvEntry, key: string): string {
  if (e.valueKind !== TlvKind.string) throw bad(key, `value kind ${e.valueKind}, expected String`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(e.value);
  } catch {
    throw bad(key, 'value is not UTF-8');
  }
}

function fixed(e: TlvEntry, key: string, kind: number, size: number): DataView {
  if (e.valueKind !== kind || e.value.length !== size) throw bad(key, `value kind ${e.valueKind} of ${e.value.length} bytes, expected kind ${kind} of ${size}`);
  return new DataView(e.value.buffer, e.value.byteOffset, size);
}

const u64 = (e: TlvEntry, key: string): bigint => fixed(e, key, TlvKind.uint64, 8).getBigUint64(0, true);
const u32 = (e: TlvEntry, key: string): number => fixed(e, key, TlvKind.uint32, 4).getUint32(0, true);

function bool(e: TlvEntry, key: string): boolean {
  const v = fixed(e, key, TlvKind.bool, 1).getUint8(0);
  if (v > 1) throw bad(key, `bool byte ${v}`);
  return v === 1;
}

const NEVER = new Set(['none', 'never', 'unlimited', 'infinite', 'server_default', 'default']);
const DURATION_UNITS: Record<string, bigint> = {
  us: 1n, 'µs': 1n, usec: 1n, micros: 1n, ms: 1000n, msec: 1000n, millis: 1000n,
  s: 1_000_000n, sec: 1_000_000n, secs: 1_000_000n, second: 1_000_000n, seconds: 1_000_000n,
  m: 60_000_000n, min: 60_000_000n, mins: 60_000_000n, minute: 60_000_000n, minutes: 60_000_000n,
  h: 3_600_000_000n, hr: 3_600_000_000n, hrs: 3_600_000_000n, hour: 3_600_000_000n, hours: 3_600_000_000n,
  d: 86_400_000_000n, day: 86_400_000_000n, days: 86_400_000_000n,
  w: 604_800_000_000n, week: 604_800_000_000n, weeks: 604_800_000_000n,
};
const SIZE_UNITS: Record<string, bigint> = {
  b: 1n, kb: 1000n, kib: 1024n, mb: 1000n ** 2n, mib: 1024n ** 2n, gb: 1000n ** 3n, gib: 1024n ** 3n,
  tb: 1000n ** 4n, tib: 1024n ** 4n,
};

// Humantime-style "1h 30m", "7days"; the unlimited words mean never (U64_MAX).
export function parseDuration(text: string): bigint {
  return parseUnits(text.trim().toLowerCase(), DURATION_UNITS, 'message_expiry');
}

// "10 MiB", "1GB", "unlimited".
export function parseSize(text: string): bigint {
  return parseUnits(text.trim().toLowerCase(), SIZE_UNITS, 'max_topic_size');
}

function parseUnits(text: string, units: Record<string, bigint>, key: string): bigint {
  if (NEVER.has(text)) return U64_MAX;
  const part = /^(\d+)\s*([a-zµ]+)\s*/;
  let total = 0n;
  let rest = text;
  if (rest.length === 0) throw bad(key, 'empty value');
  while (rest.length > 0) {
    const m = part.exec(rest);
    const unit = m ? units[m[2]] : undefined;
    if (!m || unit === undefined) throw bad(key, `cannot parse '${text}'`);
    total += BigInt(m[1]) * unit;
    rest = rest.slice(m[0].length);
  }
  if (total > U64_MAX) throw bad(key, `'${text}' overflows u64`);
  return total;
}

// Every key with its resolved value (the "derived" block of TopicHeader).
export function derivedTopicOptions(s: TopicSettings): TlvEntry[] {
  return [
    entry('compression_algorithm', TlvKind.string, utf8.encode(s.compression === 2 ? 'gzip' : 'none')),
    entry('message_expiry', TlvKind.uint64, new Writer(8).u64(s.messageExpiry).finish()),
    entry('max_topic_size', TlvKind.uint64, new Writer(8).u64(s.maxTopicSize).finish()),
    entry('segment_size', TlvKind.uint64, new Writer(8).u64(s.segmentSize).finish()),
    entry('enforce_fsync', TlvKind.bool, Uint8Array.of(s.enforceFsync ? 1 : 0)),
    entry('messages_required_to_save', TlvKind.uint32, new Writer(4).u32(s.messagesRequiredToSave).finish()),
    entry('size_of_messages_required_to_save', TlvKind.uint64, new Writer(8).u64(s.sizeOfMessagesRequiredToSave).finish()),
    entry('preallocate_segments', TlvKind.bool, Uint8Array.of(s.preallocateSegments ? 1 : 0)),
  ];
}

function entry(key: string, valueKind: number, value: Uint8Array): TlvEntry {
  return { keyKind: TlvKind.string, key: utf8.encode(key), valueKind, value };
}

const DESCRIPTIONS: Record<string, string> = {
  compression_algorithm: 'Compression of stored messages: "none" or "gzip".',
  message_expiry: 'How long messages are kept, in microseconds (Uint64) or as a duration such as "7 days"; never by default.',
  max_topic_size: 'Largest size of the topic in bytes (Uint64) or as a size such as "10 GiB"; unlimited by default; at least segment_size.',
  segment_size: 'Size of one segment file in bytes, a multiple of 512.',
  enforce_fsync: 'Fsync every append before acknowledging it.',
  messages_required_to_save: 'Messages buffered before a write to disk.',
  size_of_messages_required_to_save: 'Bytes buffered before a write to disk.',
  preallocate_segments: 'Allocate segment files at their full size up front.',
};

// DescribeOptions (code 13) reply for a scope: 1 topic, 2 stream, 3 user (streams and users have no keys).
export function describeOptions(scope: number): Uint8Array {
  if (scope !== 1 && scope !== 2 && scope !== 3) throw new WireError(`options scope ${scope} is not 1 (topic), 2 (stream) or 3 (user)`);
  const w = new Writer();
  if (scope !== 1) return w.u32(0).finish();
  const defaults = derivedTopicOptions(DEFAULT_TOPIC_SETTINGS);
  w.u32(defaults.length);
  for (const d of defaults) {
    const key = keyOf(d);
    w.u8(d.key.length).bytes(d.key).u8(d.valueKind).lenBytes32(d.value).lenBytes32(utf8.encode(DESCRIPTIONS[key]));
  }
  return w.finish();
}
