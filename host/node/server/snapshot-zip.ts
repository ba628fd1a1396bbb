// GetSnapshotFile (code 11): a ZIP archive of diagnostic text files, one per requested snapshot type, stored or
// deflated (the two compressions the SDKs use). A small writer of the ZIP format (PKWARE APPNOTE 4.3): local
// headers, data, central directory, end record; no ZIP64, so the archive stays below 4 GiB (it is a few KiB).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { utf8 } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import type { ReadResult } from '../metadata/types.js';
import type { ShardContext } from './context.js';

const COMPRESSION = { stored: 1, deflated: 2 } as const;
const KNOWN_UNSUPPORTED_COMPRESSIONS = new Set([3, 4, 5, 6]); // bzip2, zstd, lzma, xz
const TYPES: Record<number, { file: string; content: (ctx: ShardContext) => string }> = {
  1: { file: 'filesystem_overview.txt', content: (ctx) => listing(ctx.settings.dataDir) },
  2: { file: 'process_list.txt', content: () => `pid ${process.pid}\nargv ${process.argv.join(' ')}\nnode ${process.version}\n` },
  3: { file: 'resource_usage.txt', content: () => JSON.stringify({ memory: process.memoryUsage(), cpu: process.cpuUsage(), loadavg: os.loadavg(), uptime_s: process.uptime() }, null, 2) },
  4: { file: 'test.txt', content: () => 'test\n' },
  5: { file: 'server_logs.txt', content: () => 'shardlog writes its log to stdout and stderr; it keeps no log files.\n' },
  6: { file: 'server_config.txt', content: (ctx) => JSON.stringify(ctx.settings, null, 2) },
};
const ALL = 100;

export function snapshotFile(ctx: ShardContext, body: Uint8Array): ReadResult {
  if (body.length < 2 || body.length !== 2 + body[1]) return { ok: false, status: ErrorCode.invalidCommand, message: 'snapshot request: u8 compression, u8 n, n types' };
  const compression = body[0];
  if (KNOWN_UNSUPPORTED_COMPRESSIONS.has(compression)) return { ok: false, status: ErrorCode.featureUnavailable, message: `snapshot compression ${compression}` };
  if (compression !== COMPRESSION.stored && compression !== COMPRESSION.deflated) return { ok: false, status: ErrorCode.invalidCommand, message: `snapshot compression ${compression}` };
  const requested = [...body.subarray(2)];
  if (requested.length === 0) return { ok: false, status: ErrorCode.invalidCommand, message: 'no snapshot type' };
  const types = new Set<number>();
  for (const type of requested) {
    if (type === ALL) Object.keys(TYPES).forEach((t) => types.add(Number(t)));
    else if (TYPES[type]) types.add(type);
    else return { ok: false, status: ErrorCode.invalidCommand, message: `unknown snapshot type ${type}` };
  }
  const files = [...types].sort().map((t) => ({ name: TYPES[t].file, data: utf8.encode(TYPES[t].content(ctx)) }));
  return { ok: true, body: zip(files, compression === COMPRESSION.deflated) };
}

function listing(dir: string): string {
  const lines: string[] = [];
  const walk = (at: string, depth: number) => {
    if (depth > 8 || lines.length > 10_000) return;
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        lines.push(`${path.relative(dir, full)}/`);
        walk(full, depth + 1);
      } else {
        lines.push(`${path.relative(dir, full)} ${fs.statSync(full).size}`);
      }
    }
  };
  try { walk(dir, 0); } catch (error) { lines.push(`(listing failed: ${(error as Error).message})`); }
  return lines.join('\n') + '\n';
}

export function zip(files: { name: string; data: Uint8Array }[], deflate: boolean): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const stored = deflate ? zlib.deflateRawSync(file.data) : Buffer.from(file.data);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    local.copy(entry, 8, 6, 30); // flags .. name length: same fields as the local header
    entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    parts.push(local, name, stored);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, directory, end]));
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
