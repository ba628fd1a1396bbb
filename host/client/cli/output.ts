// How the CLI prints: tables (and key/value lists) for people, JSON for scripts (--json). Both are built from the
// same plain values: bigints become numbers when they fit a double exactly and strings when not, bytes become
// UTF-8 text, option and header blocks become {key: value} objects.
import type { TlvEntry } from '../../shared/wire/primitives.js';
import { TlvKind } from '../../shared/wire/primitives.js';

export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

const text = new TextDecoder();

// Fields that hold option or header blocks: {key: value} objects even when empty.
const TLV_FIELDS = new Set(['options', 'derivedOptions', 'headers']);

export function plain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return text.decode(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isTlv)) return tlvObject(value as TlvEntry[]);
    return value.map(plain);
  }
  if (typeof value === 'object') {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(value)) out[k] = TLV_FIELDS.has(k) && Array.isArray(v) ? tlvObject(v) : plain(v);
    return out;
  }
  return String(value);
}

function isTlv(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'keyKind' in v && 'valueKind' in v;
}

function tlvObject(entries: TlvEntry[]): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {};
  for (const e of entries) out[text.decode(e.key)] = tlvValue(e);
  return out;
}

function tlvValue(e: TlvEntry): Plain {
  const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.length);
  const n = e.value.length;
  switch (e.valueKind) {
    case TlvKind.bool: return n === 1 ? e.value[0] !== 0 : null;
    case TlvKind.uint8: return n === 1 ? v.getUint8(0) : null;
    case TlvKind.uint16: return n === 2 ? v.getUint16(0, true) : null;
    case TlvKind.uint32: return n === 4 ? v.getUint32(0, true) : null;
    case TlvKind.uint64: return n === 8 ? plain(v.getBigUint64(0, true)) : null;
    case TlvKind.int8: return n === 1 ? v.getInt8(0) : null;
    case TlvKind.int16: return n === 2 ? v.getInt16(0, true) : null;
    case TlvKind.int32: return n === 4 ? v.getInt32(0, true) : null;
    case TlvKind.int64: return n === 8 ? plain(v.getBigInt64(0, true)) : null;
    case TlvKind.float: return n === 4 ? v.getFloat32(0, true) : null;
    case TlvKind.double: return n === 8 ? v.getFloat64(0, true) : null;
    default: return text.decode(e.value);
  }
}

// Headers (or options) as {key: value}, also when there are none.
export function tlv(entries: TlvEntry[]): { [key: string]: Plain } {
  return tlvObject(entries);
}

export interface Printer {
  json: boolean;
  // A list of records as a table with these columns (JSON: the array of whole records).
  table(rows: object[], columns: string[]): void;
  // One record as `key  value` lines (JSON: the object).
  record(value: object): void;
  // A line for people; in JSON mode the object instead.
  done(message: string, json: object): void;
}

export function printer(json: boolean, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Printer {
  return {
    json,
    table(rows, columns) {
      if (json) return write(JSON.stringify(rows.map(plain)));
      const cells = rows.map((r) => columns.map((c) => cell((r as Record<string, unknown>)[c])));
      const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
      write(columns.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
      for (const row of cells) write(row.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd());
    },
    record(value) {
      if (json) return write(JSON.stringify(plain(value)));
      // Nested lists of records (a stream's topics, a topic's partitions) are printed as tables by the command.
      const entries = Object.entries(value).filter(([, v]) => v !== undefined && (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'object' && !isTlv(x))));
      const width = Math.max(0, ...entries.map(([k]) => k.length));
      for (const [k, v] of entries) write(`${k.padEnd(width)}  ${cell(v)}`);
    },
    done(message, value) {
      write(json ? JSON.stringify(plain(value)) : message);
    },
  };
}

function cell(v: unknown): string {
  const p = plain(v);
  if (p === null) return '-';
  if (typeof p === 'object') return Array.isArray(p) ? p.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',') : Object.entries(p).map(([k, x]) => `${k}=${x}`).join(',');
  return String(p);
}

// Microseconds since the epoch as an ISO time, for tables.
export function isoMicros(us: bigint): string {
  return us === 0n ? '-' : new Date(Number(us / 1000n)).toISOString();
}
