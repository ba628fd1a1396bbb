// Reading an HTTP request's JSON body, path and query: every value is checked for its type and range here, and a
// wrong one is refused naming its field (nothing is sent to the request handler until the whole input is read).
import type { Id } from '../../client/requests.js';
import { GLOBAL_KEYS, STREAM_KEYS, TOPIC_KEYS, type Permissions } from '../../shared/wire/permissions.js';
import { badInput } from './rest-errors.js';

export type Json = Record<string, unknown>;

export function parseBody(bytes: Uint8Array | null): Json {
  if (!bytes || bytes.length === 0) throw badInput('body', 'a JSON object is required');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw badInput('body', `invalid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput('body', 'must be a JSON object');
  return value as Json;
}

export function str(o: Json, field: string, optional?: false): string;
export function str(o: Json, field: string, optional: true): string | undefined;
export function str(o: Json, field: string, optional = false): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw badInput(field, 'is required (a string)');
  }
  if (typeof v !== 'string') throw badInput(field, `must be a string, not ${typeof v}`);
  return v;
}

// A whole number in [min, max]; JSON numbers or decimal strings (u64 values beyond 2^53 come as strings).
export function int(o: Json, field: string, min: number, max: number, fallback?: number): number {
  const v = o[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw badInput(field, 'is required (a whole number)');
  }
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw badInput(field, `must be a whole number, not ${JSON.stringify(v)}`);
  if (n < min || n > max) throw badInput(field, `must be between ${min} and ${max}, not ${n}`);
  return n;
}

export function u64(o: Json, field: string, fallback?: bigint): bigint {
  const v = o[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw badInput(field, 'is required (a whole number)');
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) < 1n << 64n) return BigInt(v);
  throw badInput(field, `must be a whole number from 0 to 2^64-1, not ${JSON.stringify(v)}`);
}

export function bool(o: Json, field: string, fallback: boolean): boolean {
  const v = o[field];
  if (v === undefined || v === null) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badInput(field, `must be true or false, not ${JSON.stringify(v)}`);
}

// A query string as a plain object (its values strings), so the same readers check it.
export function queryObject(query: URLSearchParams): Json {
  const out: Json = {};
  for (const [key, value] of query) out[key] = value;
  return out;
}

// A path identifier, as Iggy: digits are a numeric id, anything else a name.
export function pathId(raw: string, field: string): Id {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw badInput(field, 'is not valid percent-encoding');
  }
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0xffff_ffff) throw badInput(field, `numeric id ${text} is larger than 2^32-1`);
    return n;
  }
  if (text.length === 0) throw badInput(field, 'is empty');
  return text;
}

// base64 as Iggy's JSON carries payloads (padding optional; the URL-safe alphabet is taken too). Node's decoder
// skips characters outside the alphabet, so a string with any decodes to fewer bytes than its length promises:
// that is the check (a regular expression over every payload cost more than the decoding).
export function base64(v: unknown, field: string): Buffer {
  if (typeof v !== 'string') throw badInput(field, `must be a base64 string, not ${v === undefined ? 'missing' : typeof v}`);
  const bytes = Buffer.from(v, 'base64');
  const padding = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  const data = v.length - padding;
  const equals = v.indexOf('=');
  if (bytes.length !== Math.floor((data * 6) / 8) || data % 4 === 1 || (equals !== -1 && equals < data)) throw badInput(field, 'is not base64');
  return bytes;
}

// Iggy's permissions JSON (global flags; streams and their topics keyed by id), every flag a boolean, absent = false.
export function permissions(v: unknown, field: string): Permissions | null {
  if (v === undefined || v === null) return null;
  const o = object(v, field);
  const flags = <K extends string>(src: unknown, keys: readonly K[], at: string): Record<K, boolean> => {
    const f = src === undefined ? {} : object(src, at);
    const out = {} as Record<K, boolean>;
    for (const k of keys) out[k] = bool(f, snake(k), false);
    for (const name of Object.keys(f)) {
      if (!keys.some((k) => snake(k) === name) && name !== 'topics') throw badInput(`${at}.${name}`, 'is not a permission');
    }
    return out;
  };
  const ids = (src: unknown, at: string): [number, unknown][] => Object.entries(src === undefined ? {} : object(src, at)).map(([id, value]) => {
    if (!/^\d+$/.test(id) || Number(id) < 1 || Number(id) > 0xffff_ffff) throw badInput(`${at}.${id}`, 'keys must be numeric ids');
    return [Number(id), value];
  });
  return {
    global: flags(o.global, GLOBAL_KEYS, `${field}.global`),
    streams: ids(o.streams, `${field}.streams`).map(([streamId, s]) => ({
      streamId, ...flags(s, STREAM_KEYS, `${field}.streams.${streamId}`),
      topics: ids(object(s, `${field}.streams.${streamId}`).topics, `${field}.streams.${streamId}.topics`)
        .map(([topicId, t]) => ({ topicId, ...flags(t, TOPIC_KEYS, `${field}.streams.${streamId}.topics.${topicId}`) })),
    })),
  };
}

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badInput(field, 'must be a JSON object');
  return v as Json;
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
