// The durable consumer offsets of one partition (iggy-client-wire.md §7.8, §9.1), keyed by (kind 1 = consumer,
// 2 = consumer group; id u32), in `offsets.log` beside the segments. Changes are kept in memory and written by
// flush(): one append and one fdatasync for every change since the last flush (the server flushes once per loop
// turn, before acknowledging: group commit). The log is replayed on open and compacted when it outgrows its bound.
//
// Record, 32 bytes (a divisor of the 512-byte sector, so a torn write never splits one):
//   0 u8 op (1 store, 2 delete) | 1 u8 consumer kind | 2 u8 flags (bit 0: last record of its group) | 3 u8 zero |
//   4 u32 consumer id | 8 u64 offset (0 on delete) | 16 u32 group sequence | 20 u32 index in the group |
//   24 u64 XXH3-64 (seed 0, computed by the core) of bytes 0..23
// A group is what one flush wrote; it counts only once its last record is there. Groups follow each other with
// sequence + 1, so damage in the middle of the log is told apart from the torn tail of the last flush.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../../shared/log.js';
import { fsyncDir, replaceFileDurably, writeFully, writeTmpDurably } from '../io/durable-fs.js';
import type { StorageCore } from '../io/storage-core.js';
import { isNoSpace, storageError } from '../io/storage-errors.js';
import { DataError } from './data-errors.js';

export const OFFSETS_FILE = 'offsets.log';
export const OFFSET_RECORD_BYTES = 32;
const OP_STORE = 1;
const OP_DELETE = 2;
const LAST_IN_GROUP = 1;

export type ConsumerKind = 1 | 2;

export interface ConsumerOffset {
  kind: ConsumerKind;
  id: number;
  offset: number;
}

export interface ConsumerOffsetsOptions {
  compactBytes?: number; // compact once the log is this big and at least twice the live set [1 MiB]
  quiet?: boolean;
}

export interface OffsetsRecovery {
  records: number; // records replayed
  truncatedBytes: number; // torn tail removed (0 when none)
  truncatedAt: number; // its first byte
}

interface Record {
  op: number;
  kind: ConsumerKind;
  id: number;
  offset: number;
  last: boolean;
  group: number;
  index: number;
}

export class ConsumerOffsets {
  readonly file: string;
  recovery: OffsetsRecovery = { records: 0, truncatedBytes: 0, truncatedAt: 0 };
  private readonly live = new Map<number, number>();
  private readonly pending = new Map<number, number | null>(); // key -> offset, null = delete
  private readonly before = new Map<number, number | undefined>(); // key -> its durable value, for a flush that finds no space
  private fd = -1;
  private size = 0;
  private lastGroup = 0;
  private poisoned: Error | null = null;
  private readonly compactBytes: number;
  private readonly log = logger('storage');

  private constructor(readonly dir: string, private readonly sc: StorageCore, private readonly options: ConsumerOffsetsOptions) {
    this.file = path.join(dir, OFFSETS_FILE);
    this.compactBytes = options.compactBytes ?? 1 << 20;
  }

  static open(dir: string, sc: StorageCore, options: ConsumerOffsetsOptions = {}): ConsumerOffsets {
    const offsets = new ConsumerOffsets(dir, sc, options);
    offsets.recover();
    return offsets;
  }

  get count(): number {
    return this.live.size;
  }

  get(kind: ConsumerKind, id: number): number | null {
    return this.live.get(keyOf(kind, id)) ?? null;
  }

  store(kind: ConsumerKind, id: number, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`consumer offset ${offset} is not a non-negative safe integer`);
    const key = keyOf(kind, id);
    this.remember(key);
    this.live.set(key, offset);
    this.pending.set(key, offset);
  }

  // False when nothing was stored for this consumer (the caller answers 3021 ConsumerOffsetNotFound).
  delete(kind: ConsumerKind, id: number): boolean {
    const key = keyOf(kind, id);
    if (!this.live.has(key)) return false;
    this.remember(key);
    this.live.delete(key);
    this.pending.set(key, null);
    return true;
  }

  entries(): ConsumerOffset[] {
    return [...this.live].map(([key, offset]) => ({ kind: Math.floor(key / 2 ** 32) as ConsumerKind, id: key % 2 ** 32, offset }));
  }

  // The lowest stored offset of any consumer or group: what DeleteSegments may not pass. Null when none is stored.
  minOffset(): number | null {
    let min: number | null = null;
    for (const offset of this.live.values()) if (min === null || offset < min) min = offset;
    return min;
  }

  // Makes every change since the last flush durable: one write, one fdatasync. After it returns they survive a crash.
  flush(): void {
    if (this.poisoned) throw this.poisoned;
    if (this.pending.size === 0) return;
    const group = nextGroup(this.lastGroup);
    const records = this.encodeGroup([...this.pending].map(([key, offset]) => ({ key, offset })), group);
    try {
      writeFully(this.fd, records, this.size);
      fs.fdatasyncSync(this.fd);
    } catch (error) {
      if (isNoSpace(error) && this.rollBack()) {
        throw storageError('NoSpace', this.file, this.size, `${(error as NodeJS.ErrnoException).code}: no space for ${records.length / OFFSET_RECORD_BYTES} consumer offset change(s); rolled back, the stored offsets are those before them`);
      }
      this.poison(error as Error, 'append');
      throw this.poisoned;
    }
    this.size += records.length;
    this.lastGroup = group;
    this.pending.clear();
    this.before.clear();
    if (this.size >= Math.max(this.compactBytes, 2 * this.live.size * OFFSET_RECORD_BYTES)) this.compact();
  }

  // The durable value of a key before its first change since the last flush.
  private remember(key: number): void {
    if (!this.before.has(key)) this.before.set(key, this.live.get(key));
  }

  // A flush that found no space: the log cut back to its last whole group (durably) and the changes undone in memory,
  // so what is served is what a restart would find. False when even that fails (the log is then poisoned).
  private rollBack(): boolean {
    try {
      fs.ftruncateSync(this.fd, this.size);
      fs.fdatasyncSync(this.fd);
    } catch {
      return false;
    }
    for (const [key, offset] of this.before) {
      if (offset === undefined) this.live.delete(key);
      else this.live.set(key, offset);
    }
    this.before.clear();
    this.pending.clear();
    return true;
  }

  close(): void {
    try {
      if (!this.poisoned) this.flush();
    } finally {
      if (this.fd >= 0) fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private recover(): void {
    fs.rmSync(`${this.file}.tmp`, { force: true }); // a compaction that never reached its rename: the log is current
    if (!fs.existsSync(this.file)) {
      fs.closeSync(fs.openSync(this.file, 'wx'));
      fsyncDir(this.dir);
    }
    const bytes = fs.readFileSync(this.file);
    const committed = this.replay(bytes);
    if (committed < bytes.length) {
      this.checkTornTail(bytes, committed);
      const fd = fs.openSync(this.file, 'r+');
      try {
        fs.ftruncateSync(fd, committed);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.recovery.truncatedBytes = bytes.length - committed;
      this.recovery.truncatedAt = committed;
      if (!this.options.quiet) this.log.warn(`${this.file} @ byte ${committed}: torn tail of ${bytes.length - committed} byte(s) (an unfinished flush) truncated`);
    }
    this.fd = fs.openSync(this.file, 'r+');
    this.size = committed;
  }

  // Applies whole groups in order; returns the byte after the last complete group.
  private replay(bytes: Buffer): number {
    let committed = 0;
    let group: Record[] = [];
    for (let at = 0; at + OFFSET_RECORD_BYTES <= bytes.length; at += OFFSET_RECORD_BYTES) {
      const record = this.decode(bytes, at);
      const expectedGroup = group.length > 0 ? group[0].group : committed === 0 ? record?.group : nextGroup(this.lastGroup);
      if (record === null || record.group !== expectedGroup || record.index !== group.length) break;
      group.push(record);
      if (!record.last) continue;
      for (const r of group) {
        if (r.op === OP_STORE) this.live.set(keyOf(r.kind, r.id), r.offset);
        else this.live.delete(keyOf(r.kind, r.id));
      }
      this.recovery.records += group.length;
      this.lastGroup = record.group;
      committed = at + OFFSET_RECORD_BYTES;
      group = [];
    }
    return committed;
  }

  // What follows the last complete group may only be the remains of one interrupted flush: records of the next
  // group at their places, blocks never written (zeros), and a short end. Anything else is damage inside data that
  // was acknowledged: refused, and nothing is rewritten.
  private checkTornTail(bytes: Buffer, committed: number): void {
    let tailGroup = committed === 0 ? null : nextGroup(this.lastGroup);
    let firstBad = -1;
    for (let at = committed; at + OFFSET_RECORD_BYTES <= bytes.length; at += OFFSET_RECORD_BYTES) {
      if (isZero(bytes, at)) {
        if (firstBad < 0) firstBad = at;
        continue;
      }
      const record = this.decode(bytes, at);
      const index = (at - committed) / OFFSET_RECORD_BYTES;
      if (record === null) {
        throw new DataError('ConsumerOffsetsCorrupt', this.file, at, 'record does not verify and is not an unwritten block: damaged; nothing was rewritten');
      }
      tailGroup ??= record.group;
      if (record.group !== tailGroup || record.index !== index) {
        const damage = firstBad >= 0 ? firstBad : committed;
        throw new DataError('ConsumerOffsetsCorrupt', this.file, damage,
          `damaged or missing record before a valid record of group ${record.group} (index ${record.index}) at byte ${at}; nothing was rewritten`);
      }
    }
  }

  // Rewrites the log as one group holding the live set: tmp -> fsync -> rename -> fsync dir. The changes were already
  // durable in the old log, so a failure here does not undo them; it stops further writes until reopened.
  private compact(): void {
    const group = nextGroup(this.lastGroup);
    const records = this.encodeGroup([...this.live].map(([key, offset]) => ({ key, offset })), group);
    let tmp: string;
    try {
      tmp = writeTmpDurably(this.file, (fd) => writeFully(fd, records, 0));
    } catch (error) {
      if (isNoSpace(error)) return; // nothing replaced: the changes are durable in the log as it is; compact later
      this.poison(error as Error, 'compaction');
      if (!this.options.quiet) this.log.error(this.poisoned!.message);
      return;
    }
    try {
      // From the rename on, the log is the new file: any failure (ENOSPC from an fsync too) stops the writes, or
      // they would go to the old file's descriptor, unlinked.
      fs.renameSync(tmp, this.file);
      fsyncDir(path.dirname(this.file));
      fs.closeSync(this.fd);
      this.fd = fs.openSync(this.file, 'r+');
    } catch (error) {
      this.poison(error as Error, 'compaction');
      if (!this.options.quiet) this.log.error(this.poisoned!.message);
      return;
    }
    this.size = records.length;
    if (records.length > 0) this.lastGroup = group;
  }

  private encodeGroup(changes: { key: number; offset: number | null }[], group: number): Buffer {
    const out = Buffer.alloc(changes.length * OFFSET_RECORD_BYTES);
    changes.forEach(({ key, offset }, i) => {
      const at = i * OFFSET_RECORD_BYTES;
      out[at] = offset === null ? OP_DELETE : OP_STORE;
      out[at + 1] = Math.floor(key / 2 ** 32);
      out[at + 2] = i === changes.length - 1 ? LAST_IN_GROUP : 0;
      out.writeUInt32LE(key % 2 ** 32, at + 4);
      out.writeBigUInt64LE(BigInt(offset ?? 0), at + 8);
      out.writeUInt32LE(group, at + 16);
      out.writeUInt32LE(i, at + 20);
      const [lo, hi] = this.hash(out, at);
      out.writeUInt32LE(lo, at + 24);
      out.writeUInt32LE(hi, at + 28);
    });
    return out;
  }

  private decode(bytes: Buffer, at: number): Record | null {
    const [lo, hi] = this.hash(bytes, at);
    if (bytes.readUInt32LE(at + 24) !== lo || bytes.readUInt32LE(at + 28) !== hi) return null;
    const op = bytes[at];
    const kind = bytes[at + 1];
    const flags = bytes[at + 2];
    const offset = bytes.readBigUInt64LE(at + 8);
    const valid = (op === OP_STORE || (op === OP_DELETE && offset === 0n)) && (kind === 1 || kind === 2) && flags <= LAST_IN_GROUP
      && bytes[at + 3] === 0 && offset <= BigInt(Number.MAX_SAFE_INTEGER);
    if (!valid) return null;
    return {
      op, kind: kind as ConsumerKind, id: bytes.readUInt32LE(at + 4), offset: Number(offset), last: flags === LAST_IN_GROUP,
      group: bytes.readUInt32LE(at + 16), index: bytes.readUInt32LE(at + 20),
    };
  }

  private hash(bytes: Buffer, at: number): [number, number] {
    const { sc } = this;
    sc.u8.set(bytes.subarray(at, at + 24), sc.scratch);
    return sc.xxh3Words(sc.scratch, 24);
  }

  private poison(error: Error, during: string): void {
    this.poisoned = new DataError('ConsumerOffsetsPoisoned', this.file, this.size, `${during} failed (${error.message}); refusing writes until reopened`);
  }
}

function keyOf(kind: ConsumerKind, id: number): number {
  if (kind !== 1 && kind !== 2) throw new RangeError(`consumer kind ${kind} is not 1 (consumer) or 2 (group)`);
  if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new RangeError(`consumer id ${id} is not a u32`);
  return kind * 2 ** 32 + id;
}

function isZero(bytes: Buffer, at: number): boolean {
  for (let i = at; i < at + OFFSET_RECORD_BYTES; i++) if (bytes[i] !== 0) return false;
  return true;
}

// Group sequences are u32 and wrap (a flush per millisecond wraps in about 50 days).
function nextGroup(group: number): number {
  return (group + 1) >>> 0;
}
