// A partition on disk: segments of whole batches (wire format, iggy-client-wire.md §8.2), appended with group commit
// (many batches, one write, one fdatasync), read by offset or timestamp, rolled over by size, trimmed by retention.
// Validation, stamping, batch boundaries, index lookups and retention choices are the core's; this file does I/O.
import fs from 'node:fs';
import path from 'node:path';
import { copyOut, copyInto } from '../../shared/copy.js';
import { logger } from '../../shared/log.js';
import { DirectAppender } from './direct-append.js';
import { fsyncDir, mkdirDurably, writeFully, writevFullyAsync } from './durable-fs.js';
import { formatFsyncPolicy, type FsyncPolicy } from './fsync-policy.js';
import { INDEX_ENTRY_BYTES, SegmentFile, listSegments, segmentName } from './segment-file.js';
import { SCAN_VERDICTS, readInto, recoverSegment, type Truncation } from './partition-recovery.js';
import { StorageError, isNoSpace, storageError } from './storage-errors.js';
import { storageCore, type StorageCore } from './storage-core.js';
import { CoreJournalBatch as B, CoreJournalSegment, CoreJournalTailMatch } from '../../shared/core-abi.generated.js';

const { BATCH_OK, BATCH_FRAME_CHECKSUM, BATCH_CHECKSUM, BATCH_INCOMPLETE } = B;
const BATCH_HEADER_BYTES = B.BATCH_HEADER;
const { SCAN_END } = CoreJournalSegment;

export interface PartitionOptions {
  dir: string;
  partitionId: number;
  segmentBytes?: number; // rollover threshold (soft: a segment may overshoot by one append) [1 GiB]
  indexIntervalBytes?: number; // bytes between sparse index entries [16 KiB]
  indexCapacity?: number; // in-memory index entries for the whole partition; thinned when full [16384]
  fsync?: FsyncPolicy; // [every-batch]
  onTornTail?: 'truncate' | 'fail'; // [truncate]
  // A bad record that cannot be a torn tail (SegmentCorrupt): 'fail' refuses to open; 'read-only' opens the intact
  // prefix before it for reads, refuses appends, and writes nothing at all (files left as they are for repair) [fail].
  onCorrupt?: 'fail' | 'read-only';
  onDamage?: (damage: Damage) => void; // a read found a stored batch that no longer verifies (once per partition)
  verifyOnAppend?: boolean; // re-hash every frame (and check the sender's batch checksum) before stamping [true]
  // What a batch that fails those checksums does to its group: 'throw' (nothing of the group is written) or
  // 'refuse' (it is left out, its verdict reported in AppendResult.refused, the rest written) ['throw'].
  badChecksum?: 'throw' | 'refuse';
  // Reads re-hash every frame [true]; false checks each batch's layout and checksum (which covers the frame
  // checksums) but not the payload bytes behind them: what the consumer's own frame checks then cover.
  verifyReadPayloads?: boolean;
  retention?: RetentionPolicy; // what applyRetention() enforces when given no policy [none]
  writeChunkBytes?: number; // cap per write(2) [none]
  // every-batch appendAsync writes through O_DIRECT (direct-append.ts), bypassing the page cache; where the file
  // system refuses O_DIRECT, or the storage region has no room for the aligned buffer, it writes buffered [false].
  directIo?: boolean;
  nowMicros?: () => number;
  quiet?: boolean;
}

// What retention keeps (Iggy's topic message_expiry and max_topic_size, resolved for one partition): 0 = no limit.
export interface RetentionPolicy {
  maxBytes?: number; // the partition's bytes, active segment included
  maxAgeMicros?: number; // a sealed segment goes once its newest batch is this old
}

// A segment retention removed: its files, its offsets [firstOffset, lastOffset], its bytes, and why.
export interface RemovedSegment {
  logPath: string;
  firstOffset: number;
  lastOffset: number;
  bytes: number;
  lastTimestamp: number; // append time (µs) of its newest batch
  reason: 'expiry' | 'size';
}

export interface AppendResult {
  baseOffset: number; // offset of the first message of the first batch
  nextOffset: number; // one past the last message appended
  batches: number; // appended
  bytes: number;
  refused: number[]; // per batch given: 0 appended, else the core's verdict (badChecksum 'refuse')
  bases: number[]; // per batch given: the offset of its first message, -1 when refused
}

// Where a partition's log is damaged: the first byte of the bad record and the first offset not served from there on.
export interface Damage {
  file: string;
  byte: number;
  offset: number;
  detail: string; // the named error's message
  foundBy: 'recovery' | 'read'; // at recovery only the prefix before it is open; a read leaves the rest readable
}

export interface Recovery {
  segments: number;
  nextOffset: number;
  bytes: number;
  truncated: Truncation[];
  millis: number;
}

interface Staged {
  segment: SegmentFile;
  position: number; // where in the segment the group goes
  pieces: Uint8Array[]; // the batches appended, stamped, in order: what is written
  bytes: number;
  batches: number;
  refused: number[];
  bases: number[];
  baseOffset: number;
  nextOffset: number;
  timestamp: number;
  indexCount: number; // index entries before the group was scanned
}

// Where a read puts the batches it returns instead of copying them out of the read window: a region of the core's
// memory (a frame reserved in a ring, say). The batches lie back to back from `at`, in at most `room` bytes.
export interface ReadPlace {
  at: number;
  room: number;
}

// A batch boundary in a segment: where a read may stop.
interface ReadEnd {
  ordinal: number;
  position: number;
}

export interface StoredBatch {
  baseOffset: number;
  count: number;
  baseTimestamp: number;
  bytes: Buffer;
}

// A stored batch's header, where it lies (Partition.batchHeaders).
export interface BatchHeader {
  baseOffset: number;
  count: number;
  baseTimestamp: number;
  checksum: bigint;
  length: number;
  position: number; // in its segment
}

// Batch headers as the core's tail entries (assembly/journal/tail_match.ts).
export function encodeTail(headers: BatchHeader[]): Uint8Array {
  const { TAIL_ENTRY_BYTES, E_BASE, E_COUNT, E_TIMESTAMP, E_CHECKSUM } = CoreJournalTailMatch;
  const out = new Uint8Array(headers.length * TAIL_ENTRY_BYTES);
  const v = new DataView(out.buffer);
  headers.forEach((h, i) => {
    const at = i * TAIL_ENTRY_BYTES;
    v.setBigUint64(at + E_BASE, BigInt(h.baseOffset), true);
    v.setUint32(at + E_COUNT, h.count, true);
    v.setBigUint64(at + E_TIMESTAMP, BigInt(h.baseTimestamp), true);
    v.setBigUint64(at + E_CHECKSUM, h.checksum, true);
  });
  return out;
}

export class Partition {
  readonly segments: SegmentFile[] = [];
  recovery!: Recovery;
  readonly warnings: string[] = [];
  private readonly index: number;
  private readonly indexRegionBytes: number;
  private nextOrdinal = 0;
  private poisoned: Error | null = null;
  private damaged: Damage | null = null;
  private indexBehind = new Set<SegmentFile>(); // a `.index` write failed (no space): rewritten whole at the next chance
  private dirty = false;
  private writing: Promise<void> | null = null; // an appendAsync's write in flight
  private inFlight: Staged | null = null; // and what it writes
  private direct: DirectAppender | null | undefined; // --direct-io's aligned buffer: made on first use, null = none
  // Appends written through the O_DIRECT descriptor: with --direct-io where the file system or the memory has none,
  // they are written buffered, and this says so (a test that means to exercise O_DIRECT checks it).
  directAppends = 0;
  private closeRequested = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly log = logger('storage');
  private readonly segmentBytes: number;
  private readonly policy: FsyncPolicy;

  // Every append is durable before it is acknowledged (--fsync every-batch, the default).
  get syncsEveryBatch(): boolean {
    return this.policy.kind === 'every-batch';
  }
  private readonly verifyOnAppend: boolean;
  private readonly verifyReads: boolean;
  private readonly now: () => number;

  private constructor(private readonly sc: StorageCore, readonly options: PartitionOptions) {
    this.segmentBytes = options.segmentBytes ?? 1 << 30;
    this.policy = options.fsync ?? { kind: 'every-batch' };
    this.verifyOnAppend = options.verifyOnAppend ?? true;
    this.verifyReads = options.verifyReadPayloads ?? true;
    this.now = options.nowMicros ?? (() => Date.now() * 1000);
    const capacity = options.indexCapacity ?? 16384;
    this.indexRegionBytes = sc.core.indexRegionBytes(capacity);
    this.index = sc.alloc(this.indexRegionBytes);
    sc.core.indexInit(this.index, capacity, options.indexIntervalBytes ?? 16 << 10);
  }

  static async open(options: PartitionOptions, sc?: StorageCore): Promise<Partition> {
    return Partition.openSync(options, sc ?? await storageCore());
  }

  // The shard loop owns its files and opens partitions without yielding (a purge reopens one mid-request).
  static openSync(options: PartitionOptions, sc: StorageCore): Partition {
    const partition = new Partition(sc, options);
    try {
      partition.recover();
    } catch (error) {
      partition.closeFiles();
      partition.sc.release(partition.index, partition.indexRegionBytes);
      throw error;
    }
    if (partition.policy.kind === 'interval') {
      partition.timer = setInterval(() => partition.flush(), partition.policy.ms);
      partition.timer.unref();
    }
    return partition;
  }

  get nextOffset(): number {
    return this.active.nextOffset;
  }

  // A replica of a cluster appends an op before it commits: polls read up to the end of its committed ops only
  // (null: a single node, whose appends commit as they become durable).
  committedEnd: number | null = null;

  // One past the last offset a poll may return.
  get readableNextOffset(): number {
    return this.committedEnd === null ? this.nextOffset : Math.min(this.committedEnd, this.nextOffset);
  }

  get firstOffset(): number {
    return this.segments[0].baseOffset;
  }

  get lastTimestamp(): number {
    return this.active.lastTimestamp;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  // Null while the log is intact. Once set (at recovery, or by a read that found a bad batch) appends are refused.
  get damage(): Damage | null {
    return this.damaged;
  }

  private get active(): SegmentFile {
    return this.segments[this.segments.length - 1];
  }

  private recover(): void {
    const started = performance.now();
    const { dir } = this.options;
    mkdirDurably(dir);
    const bases = listSegments(dir);
    // Leftovers of a crash: tmp files, and the `.index` of a segment whose `.log` retention had already deleted.
    for (const name of fs.readdirSync(dir)) {
      const orphanIndex = /^\d{20}\.index$/.test(name) && !bases.includes(Number(name.slice(0, 20)));
      if (name.endsWith('.tmp') || orphanIndex) fs.rmSync(`${dir}/${name}`, { force: true });
    }
    const truncated: Truncation[] = [];
    let expected = bases[0] ?? 0;
    let lastTimestamp = 0;
    for (let i = 0; i < bases.length; i++) {
      const segment = SegmentFile.open(dir, bases[i], this.nextOrdinal++);
      this.segments.push(segment);
      try {
        if (segment.baseOffset !== expected) {
          throw storageError('SegmentCorrupt', segment.logPath, 0, `segment starts at offset ${segment.baseOffset}, expected ${expected} (a segment is missing)`);
        }
        const cut = recoverSegment({
          sc: this.sc, index: this.index, onTornTail: this.options.onTornTail ?? 'truncate', maxWrite: this.sc.stagingLen,
          report: (m) => { if (!this.options.quiet) this.log.error(m); },
        }, segment, i === bases.length - 1, lastTimestamp);
        if (cut) truncated.push(cut);
      } catch (error) {
        if (this.options.onCorrupt !== 'read-only' || !(error instanceof StorageError) || error.code !== 'SegmentCorrupt') throw error;
        this.openPrefix(segment, error, expected);
        break;
      }
      expected = segment.nextOffset;
      lastTimestamp = segment.lastTimestamp;
    }
    // The .index is derived: a torn or damaged one is rebuilt from the log, which the core has just verified. Only
    // now, after every segment was scanned: a full index thins entries of earlier segments too. A damaged partition
    // writes nothing (its `.index` files may hold entries past the damage, and stay as they are for repair).
    for (const segment of this.damaged ? [] : this.segments) {
      const differs = segment.syncIndex(this.indexFileBytes(segment.ordinal));
      if (differs >= 0) this.warnings.push(`${segment.indexPath} @ byte ${differs}: differs from the log (damaged, or written with other index settings); rebuilt`);
    }
    if (this.segments.length === 0) this.segments.push(SegmentFile.create(dir, 0, this.nextOrdinal++));
    if (!this.options.quiet) for (const w of this.warnings) this.log.warn(w);
    this.recovery = {
      segments: this.segments.length, nextOffset: this.nextOffset, bytes: this.sizeBytes, truncated,
      millis: performance.now() - started,
    };
  }

  // The intact prefix of a damaged log, for reads only: every batch before the bad record (verified just now), and
  // nothing from it on. The segment's size is cut in memory only (reads stop there); later segments stay closed.
  // A missing segment (its successor starts late) leaves the segments before it.
  private openPrefix(segment: SegmentFile, error: StorageError, expected: number): void {
    if (segment.baseOffset !== expected) {
      this.segments.pop();
      segment.close();
    } else {
      segment.size = error.offset;
    }
    this.damaged = { file: error.file, byte: error.offset, offset: this.active.nextOffset, detail: error.message, foundBy: 'recovery' };
    if (!this.options.quiet) this.log.error(`${error.message}; serving offsets [${this.firstOffset}, ${this.nextOffset}) read-only`);
  }

  // Appends whole batches as one group: all are validated and stamped (offsets, append time, batch checksum) before
  // anything is written; then one write and, under every-batch, one fdatasync before this returns (= the ack).
  append(batches: Uint8Array[]): AppendResult {
    if (this.writing) throw new Error(`${this.options.dir}: an append is being written asynchronously`);
    const staged = this.stage(batches);
    if (staged.bytes === 0) return resultOf(staged); // every batch refused
    try {
      for (let i = 0, at = staged.position; i < staged.pieces.length; at += staged.pieces[i++].length) {
        writeFully(staged.segment.fd, staged.pieces[i], at, this.options.writeChunkBytes);
      }
      if (this.policy.kind === 'every-batch') fs.fdatasyncSync(staged.segment.fd);
      else this.dirty = true; // the interval timer's fdatasync
    } catch (error) {
      throw this.fail(staged, error as Error);
    }
    return this.finish(staged);
  }

  // The same append with the write and the fdatasync on libuv's thread pool, so the shard keeps serving (and
  // gathering the next group) while the disk works. The batches' headers are stamped in place. One at a time per
  // partition: the next group is stamped after this one's bytes are on disk, at the offsets and position it left. Until then readers see the partition as it
  // was (sizes and offsets move in finish()), and close() waits for the write before it closes the descriptor.
  // `verified`: the caller ran the core's full batchVerify on these exact bytes (PartitionHome.verify, before the
  // write was proposed), so the append checks their structure only and hashes nothing a second time.
  // `timestamps` (a replica of a cluster): each batch's append time as its op carries it (µs), so every replica
  // stamps the same bytes; without it the group takes one time from the clock.
  async appendAsync(batches: Uint8Array[], verified = false, timestamps?: number[]): Promise<AppendResult> {
    if (this.writing) throw new Error(`${this.options.dir}: an append is already being written (one at a time per partition)`);
    const staged = this.stage(batches, verified, timestamps);
    if (staged.bytes === 0) return resultOf(staged); // every batch refused
    const { pieces } = staged;
    let done!: () => void;
    this.writing = new Promise((resolve) => { done = resolve; });
    this.inFlight = staged;
    try {
      // Under every-batch the group is durable when the write returns (O_DSYNC), or after its fdatasync.
      const durable = this.policy.kind === 'every-batch' ? staged.segment.durableWriteFd() : null;
      const direct = durable === null ? null : this.directWriter(staged.segment);
      if (direct) {
        await direct.appender.write(staged.segment, direct.fd, durable!, pieces, staged.position);
        this.directAppends += 1;
      }
      else await writevFullyAsync(durable ?? staged.segment.fd, pieces, staged.position, this.options.writeChunkBytes);
      if (this.policy.kind === 'every-batch') {
        if (durable === null) await new Promise<void>((resolve, reject) => fs.fdatasync(staged.segment.fd, (e) => (e ? reject(e) : resolve())));
      } else {
        this.dirty = true; // the interval timer's fdatasync
      }
    } catch (error) {
      throw this.fail(staged, error as Error);
    } finally {
      this.writing = null;
      this.inFlight = null;
      done();
      if (this.closeRequested) this.close();
    }
    // Purged or deleted meanwhile: the group went to the files it was stamped for, which are gone now.
    if (this.closed) return resultOf(staged);
    return this.finish(staged);
  }

  // --direct-io's writer for this segment, or null (off, a chunk cap set for the crash test, no O_DIRECT here, or no
  // room for the buffer).
  private directWriter(segment: SegmentFile): { appender: DirectAppender; fd: number } | null {
    if (!this.options.directIo || this.options.writeChunkBytes !== undefined) return null;
    if (this.direct === undefined) this.direct = DirectAppender.create(this.sc);
    const fd = this.direct ? segment.directWriteFd() : null;
    return fd === null ? null : { appender: this.direct!, fd };
  }

  // Resolves once no append is being written.
  idle(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private stage(batches: Uint8Array[], verified = false, timestamps?: number[]): Staged {
    if (this.poisoned) throw this.poisoned;
    if (this.damaged) {
      throw storageError('PartitionReadOnly', this.damaged.file, this.damaged.byte, `the log is damaged here (offset ${this.damaged.offset}): appends are refused, reads serve what verifies`);
    }
    if (this.closed || this.closeRequested) throw new Error(`${this.options.dir}: partition is closed`);
    if (this.active.size >= this.segmentBytes) this.rollover();
    const { sc } = this;
    const core = sc.core;
    const segment = this.active;
    const baseOffset = segment.nextOffset;
    let offset = baseOffset;
    let timestamp = timestamps ? segment.lastTimestamp : Math.max(this.now(), segment.lastTimestamp);
    let staged = 0; // bytes of the group
    let copied = 0; // of which in the staging area
    const refused = batches.map(() => 0);
    const bases = batches.map(() => -1);
    const pieces: Uint8Array[] = [];
    const places: number[] = []; // where in the core's memory each appended batch was stamped
    for (const [i, batch] of batches.entries()) {
      // A batch already in the core's memory (a frame in the shared frame arena) is verified and stamped where it
      // lies: copying a megabyte into and within the shared memory costs more here than hashing it. Any other is
      // copied into the staging area, stamped there, and its stamped header copied back.
      const inPlace = batch.buffer === sc.u8.buffer;
      const at = inPlace ? batch.byteOffset - sc.u8.byteOffset : sc.staging + copied;
      if (inPlace && at < sc.staging + sc.stagingLen && at + batch.length > sc.staging) throw new Error(`batch ${i} lies in the staging area: a bug`);
      if (!inPlace && copied + batch.length > sc.stagingLen) {
        throw storageError('BatchInvalid', segment.logPath, segment.size + staged, `group of ${batches.length} batches exceeds the ${sc.stagingLen}-byte staging area`);
      }
      if (!inPlace) copyInto(sc.u8, at, batch);
      if (timestamps) timestamp = Math.max(timestamps[i], timestamp);
      const verdict = core.batchStamp(at, batch.length, this.options.partitionId, offset, timestamp, sc.scratch, sc.scratchLen, this.verifyOnAppend && !verified);
      if ((verdict === BATCH_FRAME_CHECKSUM || verdict === BATCH_CHECKSUM) && this.options.badChecksum === 'refuse') {
        refused[i] = verdict; // left out (a copy is staged over by the next batch)
        continue;
      }
      if (verdict !== BATCH_OK || core.batchLength() !== batch.length) {
        throw storageError('BatchInvalid', `${segment.logPath} (append)`, segment.size + staged + core.batchErrorAt(),
          `batch ${i} of the group, its byte ${core.batchErrorAt()}: ${SCAN_VERDICTS[verdict] ?? `length ${core.batchLength()} ≠ ${batch.length} bytes given`}; nothing written`);
      }
      if (!inPlace) {
        copyInto(batch, 0, sc.u8.subarray(at, at + BATCH_HEADER_BYTES)); // stamping rewrites nothing else
        copied += batch.length;
      }
      pieces.push(batch);
      places.push(at);
      bases[i] = offset;
      offset += core.batchCount();
      staged += batch.length;
    }
    // The core walks each stamped batch once more, at its place in the file, to place the sparse index entries
    // (and re-prove the framing). Entries past the written end are harmless to readers: lookups are bounded by the
    // offsets and timestamps already written, and the last entry at or below those lies in written bytes.
    const indexCount = core.indexCount(this.index);
    let position = segment.size;
    let expected = baseOffset;
    let last = segment.lastTimestamp;
    for (const [k, at] of places.entries()) {
      const scan = core.segmentScan(at, pieces[k].length, position, expected, last, this.index, segment.ordinal, sc.scratch, sc.scratchLen, false);
      if (scan !== SCAN_END) throw new Error(`stamped batch failed its own scan (verdict ${scan}): a core bug`);
      position += pieces[k].length;
      expected = core.segmentScanNextOffset();
      last = core.segmentScanLastTimestamp();
    }
    return { segment, position: segment.size, pieces, bytes: staged, batches: pieces.length, refused, bases, baseOffset, nextOffset: offset, timestamp, indexCount };
  }

  // A full device: the group is rolled back (the file cut back to where it began, durably), so nothing of it stays
  // and the next append tries again at the same place. Any other error: what reached the disk is unknown now, so
  // further appends are refused; reopening recovers from the files.
  private fail(staged: Staged, error: Error): Error {
    this.sc.core.indexTruncate(this.index, staged.segment.ordinal, staged.position);
    if (isNoSpace(error)) {
      try {
        fs.ftruncateSync(staged.segment.fd, staged.position);
        fs.fdatasyncSync(staged.segment.fd);
        return storageError('NoSpace', staged.segment.logPath, staged.position,
          `${(error as NodeJS.ErrnoException).code}: no space for an append of ${staged.bytes} bytes (offsets ${staged.baseOffset}–${staged.nextOffset - 1}); rolled back, nothing of it stays`);
      } catch {
        // The roll-back failed too: fall through and refuse appends until reopened (recovery cuts the torn tail).
      }
    }
    this.poisoned = writeFailed(staged.segment.logPath, staged.position, error);
    return this.poisoned;
  }

  private finish(staged: Staged): AppendResult {
    const { segment } = staged;
    if (this.sc.core.indexCount(this.index) < staged.indexCount) {
      // The core thinned a full index: the `.index` files follow the in-memory entries.
      for (const s of this.segments) {
        try {
          s.syncIndex(this.indexFileBytes(s.ordinal));
          this.indexBehind.delete(s);
        } catch (error) {
          if (!isNoSpace(error)) throw error;
          this.indexBehind.add(s);
        }
      }
    } else {
      this.appendIndex(segment, staged);
    }
    segment.size += staged.bytes;
    segment.nextOffset = staged.nextOffset;
    segment.lastTimestamp = staged.timestamp;
    return resultOf(staged);
  }

  // The `.index` is derived (boot rebuilds it from the log): a write that finds no space must not fail an append
  // whose data is durable. The segment's `.index` is then rewritten whole at the next append that has room.
  private appendIndex(segment: SegmentFile, staged: Staged): void {
    try {
      if (this.indexBehind.has(segment)) {
        segment.syncIndex(this.indexFileBytes(segment.ordinal));
        this.indexBehind.delete(segment);
      } else {
        segment.appendIndex(this.indexFileBytes(segment.ordinal, staged.position));
      }
    } catch (error) {
      if (!isNoSpace(error)) throw error;
      this.indexBehind.add(segment);
    }
  }

  // A cluster's replica: the batches from `offset` on were appended for ops a view change then gave to other
  // prepares, or a catch-up's tailMatch proved them not the committed ones (never committed either way: polls never
  // saw them, committedEnd is below `offset`). They are cut off, durably, so that the canonical ops append at the
  // same offsets as on the other replicas. The cut may lie in a sealed segment: the segments after it then go (they
  // hold only batches from `offset` on, which never committed), and that segment is truncated and written to again.
  // With no append on its way only; otherwise PartitionCutRefused (the caller stops the partition, as before).
  // `catchingUp`: the replica is catching its segments up from a peer (its group recovers: it serves no poll past
  // what it keeps); the core's tailMatch proved the batches from `offset` on are not the committed ones, so the cut
  // may go below the committed end it assumed at open (which follows it down).
  cutBack(offset: number, catchingUp = false): void {
    const at = this.segments.findLastIndex((s) => s.baseOffset <= offset);
    const segment = this.segments[Math.max(at, 0)];
    const refuse = (why: string) => storageError('PartitionCutRefused', segment.logPath, 0, `cannot cut back to offset ${offset}: ${why}`);
    if (offset === this.nextOffset) return;
    if (this.writing || this.inFlight) throw refuse('an append is on its way');
    if (this.poisoned || this.damaged) throw refuse('the log is damaged or failed a write: it is not written to');
    if (at < 0 || offset > this.nextOffset) throw refuse(`not in the log [${this.firstOffset}, ${this.nextOffset})`);
    if (this.committedEnd !== null && offset < this.committedEnd && !catchingUp) throw refuse(`below the committed end ${this.committedEnd}`);
    // Walk the segment's batch headers to the batch that starts at `offset` (appends are whole batches).
    let position = 0;
    let lastTimestamp = at > 0 ? this.segments[at - 1].lastTimestamp : 0;
    for (const h of this.headersOf(segment, 0)) {
      if (h.baseOffset === offset) break;
      if (h.baseOffset > offset) throw refuse(`a batch starts at ${h.baseOffset}, past it`);
      lastTimestamp = h.baseTimestamp;
      position = h.position + h.length;
    }
    if (position >= segment.size) throw refuse('no batch starts there');
    // The append time before the cut must be known: the next append stamps from it, as every replica does.
    // (A catch-up's batches bring their append times.)
    if (position === 0 && offset > 0 && at === 0 && !catchingUp) throw refuse('the append time before it is gone (retention removed the segments before)');
    const later = this.segments.slice(at + 1);
    if (later.length > 0) {
      this.log.warn(`${this.options.dir}: cut back to offset ${offset}, in sealed segment ${segment.logPath}: offsets ${later[0].baseOffset}..${this.nextOffset - 1} in ${later.length} later segment(s) removed (never committed)`);
    }
    // Newest first, each removal durable before the next and before the truncation: a crash at any step leaves a
    // run of whole segments ending in a sealed one or in the truncated one (what recovery accepts), never a gap; the
    // replica-stale marker set before the first cut keeps whatever is left out of a group until the catch-up is in.
    for (const s of later.reverse()) {
      s.remove(); // throws before anything changed, or after the segment is gone
      this.segments.pop();
      this.indexBehind.delete(s);
      this.sc.core.indexTruncate(this.index, s.ordinal, 0); // (a failure after it leaves memory as the files are)
      fsyncDir(this.options.dir);
    }
    this.sc.core.indexTruncate(this.index, segment.ordinal, position);
    segment.truncate(position); // ftruncate + fsync
    segment.nextOffset = offset;
    segment.lastTimestamp = lastTimestamp;
    if (this.committedEnd !== null) this.committedEnd = Math.min(this.committedEnd, offset);
    this.indexBehind.add(segment); // its `.index` file is rewritten whole with the next append
    this.direct?.forget(); // (--direct-io) the last partial block it kept is not the file's any more
  }

  // A cluster's replica catching up from a peer whose retention removed everything this replica could keep (the
  // core's TAIL_REBASE: assembly/journal/tail_match.ts): every segment goes and the log starts again, empty, at
  // `offset`, the peer's first offset. What goes is this partition's own history, expired by the peer's retention
  // by the append times every replica shares (this replica's own retention would remove it too): not the files of
  // another incarnation, which go only when that incarnation's deletion committed (incarnationVerdict). The
  // replica-stale marker is set. The new segment is made first under a `.tmp` name (a failure there changes
  // nothing), then the old ones go oldest first, each removal durable before the next, then the rename: a crash
  // leaves the newest old segments (recovery accepts a late first segment), none (an empty log at 0: rebased
  // again), or the new one; a `.tmp` left behind is removed at the next open.
  rebase(offset: number): void {
    const refuse = (why: string) => storageError('PartitionCutRefused', this.options.dir, 0, `cannot start the log again at offset ${offset}: ${why}`);
    if (this.writing || this.inFlight) throw refuse('an append is on its way');
    if (this.poisoned || this.damaged) throw refuse('the log is damaged or failed a write: it is not written to');
    if (!Number.isSafeInteger(offset) || offset < 0) throw refuse('not an offset');
    const { dir } = this.options;
    const fresh = path.join(dir, `${segmentName(offset)}.log`);
    fs.closeSync(fs.openSync(`${fresh}.tmp`, 'w'));
    this.log.warn(`${dir}: offsets ${this.firstOffset}..${this.nextOffset - 1} removed (expired on the peer, which starts at ${offset}); the log starts again at offset ${offset}`);
    try {
      while (this.segments.length > 0) {
        this.segments[0].remove();
        this.segments.shift();
        fsyncDir(dir);
      }
      fs.renameSync(`${fresh}.tmp`, fresh);
      this.segments.push(SegmentFile.open(dir, offset, this.nextOrdinal++));
      fsyncDir(dir);
    } catch (error) {
      // With no segment left the partition has no log to serve: nothing is appended until it is reopened.
      if (this.segments.length === 0) this.poisoned = writeFailed(dir, 0, error as Error);
      this.sc.core.indexDropBefore(this.index, this.segments[0]?.ordinal ?? this.nextOrdinal);
      throw error;
    }
    this.sc.core.indexDropBefore(this.index, this.active.ordinal);
    this.indexBehind.clear();
    if (this.committedEnd !== null) this.committedEnd = offset;
    this.direct?.forget();
  }

  // The headers of the stored batches from the one holding `offset` on, before `end`, at most `max` (a cluster's
  // catch-up compares them with a peer's: assembly/journal/tail_match.ts). Read header by header from the sparse
  // index's nearest entry: no payload is read.
  batchHeaders(offset: number, end: number, max: number): BatchHeader[] {
    const out: BatchHeader[] = [];
    if (offset >= Math.min(end, this.nextOffset) || offset < this.firstOffset) return out;
    const entry = this.sc.core.indexFindOffset(this.index, offset);
    let segIdx = entry < 0 ? 0 : this.segments.findIndex((s) => s.ordinal === this.sc.core.indexSegmentAt(this.index, entry));
    let position = entry < 0 ? 0 : this.sc.core.indexPositionAt(this.index, entry);
    for (; segIdx >= 0 && segIdx < this.segments.length && out.length < max; segIdx++, position = 0) {
      for (const h of this.headersOf(this.segments[segIdx], position)) {
        if (h.baseOffset >= end || out.length >= max) return out;
        if (h.baseOffset + h.count > offset) out.push(h);
      }
    }
    return out;
  }

  // The last `max` stored batches (fewer when the partition holds fewer), and whether they begin at its first offset.
  tailHeaders(max: number): { headers: BatchHeader[]; fromStart: boolean } {
    // The index is searched by offset: look back over more and more messages until `max` batches are found.
    for (let span = max; ; span *= 4) {
      const from = Math.max(this.firstOffset, this.nextOffset - span);
      const headers = this.batchHeaders(from, this.nextOffset, Number.MAX_SAFE_INTEGER);
      const fromStart = from === this.firstOffset && (headers.length === 0 || headers[0].baseOffset === from);
      if (headers.length >= max || fromStart) return { headers: headers.slice(-max), fromStart: fromStart && headers.length <= max };
    }
  }

  // A peer catching this partition up asks which of its last batches (`theirs`: tail entries, encodeTail) are this
  // replica's committed ones (those before `committedEnd`): the offset it keeps, or a TAIL_* verdict (the core
  // decides: assembly/journal/tail_match.ts).
  matchTail(theirs: Uint8Array, fromStart: boolean, theirEnd: number, committedEnd: number, logEnds: boolean): number {
    const { TAIL_ENTRY_BYTES, TAIL_ENTRIES_MAX, TAIL_MALFORMED } = CoreJournalTailMatch;
    const n = theirs.length / TAIL_ENTRY_BYTES;
    if (!Number.isInteger(n) || n > TAIL_ENTRIES_MAX) return Number(TAIL_MALFORMED);
    const start = n === 0 ? theirEnd : Number(new DataView(theirs.buffer, theirs.byteOffset, theirs.byteLength).getBigUint64(0, true));
    // From this replica's first offset when the asker's list starts below it (retention removed that part here).
    const ours = encodeTail(this.batchHeaders(Math.max(start, this.firstOffset), committedEnd, n));
    const { sc } = this;
    copyInto(sc.u8, sc.scratch, theirs);
    copyInto(sc.u8, sc.scratch + theirs.length, ours);
    const verdict = sc.core.tailMatch(sc.scratch, n, fromStart, BigInt(theirEnd), sc.scratch + theirs.length, ours.length / TAIL_ENTRY_BYTES,
      BigInt(this.firstOffset), BigInt(committedEnd), logEnds);
    return Number(verdict);
  }

  // The batch headers of one segment from byte `position` on (a batch boundary), read one by one.
  private *headersOf(segment: SegmentFile, position: number): Generator<BatchHeader> {
    const header = Buffer.alloc(BATCH_HEADER_BYTES);
    while (position < segment.size) {
      if (fs.readSync(segment.fd, header, 0, header.length, position) !== header.length) {
        throw storageError('SegmentCorrupt', segment.logPath, position, 'a short batch header');
      }
      const h: BatchHeader = {
        baseOffset: Number(header.readBigUInt64LE(B.B_BASE_OFFSET)),
        count: header.readUInt32LE(B.B_COUNT),
        baseTimestamp: Number(header.readBigUInt64LE(B.B_BASE_TIMESTAMP)),
        checksum: header.readBigUInt64LE(B.B_CHECKSUM),
        length: Number(header.readBigUInt64LE(B.B_LENGTH)),
        position,
      };
      if (h.length < BATCH_HEADER_BYTES) throw storageError('SegmentCorrupt', segment.logPath, position, `a batch of ${h.length} bytes`);
      yield h;
      position += h.length;
    }
  }

  // Written but not yet fdatasynced (interval:<ms>; every-batch never leaves anything behind).
  get syncPending(): boolean {
    return this.dirty;
  }

  // Under interval:<ms>: the periodic fdatasync. Under every-batch it has nothing to do.
  flush(): void {
    if (!this.dirty || this.poisoned) return;
    this.dirty = false;
    try {
      fs.fdatasyncSync(this.active.fd);
    } catch (error) {
      // Writes acknowledged since the last sync may not be on disk: no retry can tell, so appends stop.
      this.poisoned = writeFailed(this.active.logPath, this.active.size, error as Error);
    }
  }

  // Whole batches from the one containing `offset`, at least one, then up to about `maxBytes` (the last may go over
  // it), and no more once they hold `messages` messages from `offset` on (a poll for count N reads no batch it will
  // not return).
  // With `place`, the batches are read into it and returned as views of it, or null when one it takes does not fit.
  readFromOffset(offset: number, maxBytes?: number, messages?: number): StoredBatch[];
  readFromOffset(offset: number, maxBytes: number, messages: number, place: ReadPlace): StoredBatch[] | null;
  readFromOffset(offset: number, maxBytes = 1 << 20, messages = Infinity, place?: ReadPlace): StoredBatch[] | null {
    if (!Number.isInteger(offset) || offset < this.firstOffset || offset >= this.nextOffset) {
      throw storageError('OffsetOutOfRange', this.options.dir, 0,
        `offset ${offset} is outside [${this.firstOffset}, ${this.nextOffset - 1}]${this.nextOffset === this.firstOffset ? ' (empty partition)' : ''}`);
    }
    const entry = this.sc.core.indexFindOffset(this.index, offset);
    return this.readFrom(entry, maxBytes, (b) => b.baseOffset + b.count > offset, () => offset, messages, place, this.readEnd(offset + messages));
  }

  // Where the stored batches before offset `end` end, when a batch starts exactly there and the index has its entry
  // (every batch of `indexIntervalBytes` or more does): a read for the messages before `end` stops there instead of
  // reading its margin past them (a poll of whole 1 MB batches read a third more than it returned).
  private readEnd(end: number): ReadEnd | null {
    if (!Number.isFinite(end) || end >= this.nextOffset) return null;
    const core = this.sc.core;
    const entry = core.indexFindOffset(this.index, end);
    if (entry < 0 || core.indexOffsetAt(this.index, entry) !== end) return null;
    return { ordinal: core.indexSegmentAt(this.index, entry), position: core.indexPositionAt(this.index, entry) };
  }

  // Whole batches from the first whose base (append) timestamp is ≥ `timestamp` µs; `messages` as above, counted
  // from that batch's first message.
  readFromTimestamp(timestamp: number, maxBytes?: number, messages?: number): StoredBatch[];
  readFromTimestamp(timestamp: number, maxBytes: number, messages: number, place: ReadPlace): StoredBatch[] | null;
  readFromTimestamp(timestamp: number, maxBytes = 1 << 20, messages = Infinity, place?: ReadPlace): StoredBatch[] | null {
    if (!Number.isFinite(timestamp) || timestamp < 0 || timestamp > this.lastTimestamp || this.nextOffset === this.firstOffset) {
      throw storageError('TimestampOutOfRange', this.options.dir, 0, `timestamp ${timestamp} µs is after the last batch (${this.lastTimestamp} µs) or invalid`);
    }
    const entry = this.sc.core.indexFindTimestamp(this.index, timestamp);
    return this.readFrom(entry, maxBytes, (b) => b.baseTimestamp >= timestamp, (first) => first.baseOffset, messages, place);
  }

  // Walks verified batches from index entry `entry` (segment by segment) and returns those from the first `wanted`.
  // Every batch returned was re-hashed by the core on this read; a bad one stops the read with a named error.
  // Without a place, each read goes to the window and the batches returned are copied out of it; with one, the
  // reads go to the place, after the batches kept so far, and stay there; null when a batch the read takes does not
  // fit the place (the caller then reads without one: the same batches, never fewer).
  private readFrom(
    entry: number, maxBytes: number, wanted: (b: StoredBatch) => boolean, startOf: (first: StoredBatch) => number, messages: number,
    place?: ReadPlace, end: ReadEnd | null = null,
  ): StoredBatch[] | null {
    const { sc } = this;
    const core = sc.core;
    let segIdx = entry < 0 ? -1 : this.segments.findIndex((s) => s.ordinal === core.indexSegmentAt(this.index, entry));
    let pos = segIdx < 0 ? 0 : core.indexPositionAt(this.index, entry);
    let expected = segIdx < 0 ? this.segments[0].baseOffset : core.indexOffsetAt(this.index, entry);
    if (segIdx < 0) segIdx = 0;
    const out: StoredBatch[] = [];
    let bytes = 0;
    let enough = false; // `messages` reached
    while (segIdx < this.segments.length && !enough && (out.length === 0 || bytes < maxBytes)) {
      const segment = this.segments[segIdx];
      if (pos >= segment.size) {
        segIdx++;
        pos = 0;
        expected = this.segments[segIdx]?.baseOffset ?? 0;
        continue;
      }
      const dest = place ? place.at + bytes : sc.window;
      const room = place ? place.room - bytes : sc.windowLen;
      let consumed: number;
      let hint = Math.max(maxBytes - bytes, 0) + (64 << 10);
      if (end !== null && end.ordinal === segment.ordinal && end.position > pos) hint = Math.min(hint, end.position - pos);
      try {
        consumed = this.scanForRead(segment, pos, expected, hint, dest, room);
      } catch (error) {
        // The batches before a bad one are returned (the next read, from the bad one, gets the error).
        if (out.length > 0 && error instanceof StorageError && error.code === 'SegmentChecksumMismatch') break;
        throw error;
      }
      if (consumed < 0) return null; // the next batch it takes is larger than what is left of the place
      const view = new DataView(sc.u8.buffer, dest, consumed);
      let at = 0;
      let skipped = 0; // bytes of batches before the first wanted one, in this read
      while (at < consumed && !enough && (out.length === 0 || bytes < maxBytes)) {
        const len = Number(view.getBigUint64(at + B.B_LENGTH, true));
        const batch: StoredBatch = {
          baseOffset: Number(view.getBigUint64(at + B.B_BASE_OFFSET, true)),
          baseTimestamp: Number(view.getBigUint64(at + B.B_BASE_TIMESTAMP, true)),
          count: view.getUint32(at + B.B_COUNT, true),
          bytes: EMPTY,
        };
        if (out.length > 0 || wanted(batch)) {
          batch.bytes = place ? placed(sc.u8, dest + at - skipped, len) : copyOut(sc.u8, dest + at, len);
          out.push(batch);
          bytes += len;
          enough = batch.baseOffset + batch.count - startOf(out[0]) >= messages;
        } else {
          skipped += len;
        }
        at += len;
      }
      // In a place, the kept batches move down over the ones skipped (index entries are sparse: the read may start
      // a few batches early), so that what is kept lies back to back.
      if (place && skipped > 0 && at > skipped) copyWithin(sc.u8, dest, dest + skipped, at - skipped);
      pos += at;
      expected = core.segmentScanNextOffset();
    }
    return out;
  }

  // Reads about `hint` bytes of `segment` at `pos` into `dest` (the window, or a place of `room` bytes) and has the
  // core verify the whole batches there. Returns the bytes of valid batches (≥ 1 batch), or -1 when the next batch
  // is larger than a place; anything else is a named error, never data.
  private scanForRead(segment: SegmentFile, pos: number, expected: number, hint: number, dest: number, room: number): number {
    const { sc } = this;
    const core = sc.core;
    const inWindow = dest === sc.window;
    let want = Math.min(room, segment.size - pos, hint);
    for (let attempt = 0; attempt < 2; attempt++) {
      const n = readInto(sc, segment.fd, want, pos, dest);
      const verdict = core.segmentScan(dest, n, pos, expected, 0, 0, segment.ordinal, sc.scratch, sc.scratchLen, this.verifyReads);
      const consumed = core.segmentScanConsumed();
      const cutByWindow = verdict === BATCH_INCOMPLETE && pos + n < segment.size;
      if (verdict !== SCAN_END && !cutByWindow) {
        if (consumed > 0) return consumed; // the valid batches before it; a read from the bad one reports it
        const error = storageError('SegmentChecksumMismatch', segment.logPath, pos + consumed,
          `batch starting here: ${SCAN_VERDICTS[verdict] ?? verdict} at byte ${pos + core.segmentScanErrorAt()}; not returned`);
        // Bytes that verified when written no longer do: no more appends to a log that will not recover past here.
        if (!this.damaged) {
          this.damaged = { file: segment.logPath, byte: pos, offset: expected, detail: error.message, foundBy: 'read' };
          this.options.onDamage?.(this.damaged);
        }
        throw error;
      }
      if (consumed > 0) return consumed;
      // The next batch is longer than this read: read again with room for all of it.
      if (!inWindow && (want >= room || core.segmentScanNeed() > room)) return -1; // (a place may be under a header)
      want = Math.min(room, segment.size - pos, Math.max(core.segmentScanNeed(), want));
    }
    throw storageError('SegmentChecksumMismatch', segment.logPath, pos, 'batch does not fit the read window: batch not returned');
  }

  // Removes the oldest sealed segments that `policy` no longer keeps (the core chooses: retentionPick), oldest
  // first, and reports them. Only sealed segments: the active one, the only one still written to, is never removed,
  // and every sealed one was fdatasynced when it was sealed, so nothing goes that was not durable. Safe while an
  // appendAsync is being written (that write goes to the active segment). A failed removal stops the pass: what
  // went before it is reported with the error, and the segments after it stay.
  applyRetention(policy: RetentionPolicy = this.options.retention ?? {}, nowMicros = this.now()): { removed: RemovedSegment[]; error: Error | null } {
    const maxBytes = positive(policy.maxBytes);
    const maxAge = positive(policy.maxAgeMicros);
    if (this.segments.length < 2 || (maxBytes === 0 && maxAge === 0) || this.closed || this.closeRequested || this.poisoned) return { removed: [], error: null };
    // At most as many segments as the scratch area holds rows (65536): with more, the oldest that fit are looked at
    // and the last of them counts as active, so a pass removes less, never more (the next pass goes on).
    const rows = Math.min(this.segments.length, Math.floor(this.sc.scratchLen / 16));
    const table = new Float64Array(this.sc.u8.buffer, this.sc.scratch, rows * 2);
    for (let i = 0; i < rows; i++) {
      table[2 * i] = this.segments[i].size;
      table[2 * i + 1] = this.segments[i].lastTimestamp;
    }
    const core = this.sc.core;
    const expired = maxAge > 0 ? core.retentionPick(this.sc.scratch, rows, 0, nowMicros, maxAge) : 0;
    const drop = core.retentionPick(this.sc.scratch, rows, maxBytes, nowMicros, maxAge);
    const chosen = this.segments.slice(0, drop).map((s, i): RemovedSegment => ({
      logPath: s.logPath, firstOffset: s.baseOffset, lastOffset: s.nextOffset - 1, bytes: s.size, lastTimestamp: s.lastTimestamp,
      reason: i < expired ? 'expiry' : 'size',
    }));
    let error: Error | null = null;
    try {
      this.deleteOldestSegments(drop);
    } catch (e) {
      error = e as Error;
    }
    return { removed: chosen.filter((r) => r.firstOffset < this.firstOffset), error };
  }

  // Deletes up to `count` of the oldest sealed segments, oldest first; the active segment is never deleted. Returns
  // how many went. Each removal is made durable (fsync of the directory) before the next: a crash part-way leaves
  // a prefix deleted, which recovery accepts (the first segment may start late), never a gap.
  deleteOldestSegments(count: number): number {
    const drop = Math.min(Math.max(0, Math.floor(count)), this.segments.length - 1);
    if (drop <= 0) return 0;
    const core = this.sc.core;
    const before = core.indexCount(this.index);
    let done = 0;
    try {
      for (; done < drop; done++) {
        this.segments[0].remove(); // throws before anything changed, or after the segment is gone
        this.segments.shift();
        fsyncDir(this.options.dir);
      }
    } finally {
      core.indexDropBefore(this.index, this.segments[0].ordinal);
      // An append being written compares the index count after its write with the one before it (to notice the
      // core thinning a full index): the entries dropped here are not that.
      if (this.inFlight) this.inFlight.indexCount -= before - core.indexCount(this.index);
    }
    return done;
  }

  // With an append being written the descriptors stay open until it is done (a closed descriptor's number can
  // be reused by another file at once, and the pending write would land there).
  close(): void {
    if (this.closed) return;
    if (this.writing) {
      this.closeRequested = true;
      return;
    }
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.poisoned && this.damaged?.foundBy !== 'recovery') {
      try { this.active.seal(); } catch { /* closing after an I/O error: recovery takes over at the next open */ }
    }
    this.closeFiles();
    this.sc.release(this.index, this.indexRegionBytes);
    this.direct?.release();
    this.direct = null;
  }

  describe(): string {
    return `partition ${this.options.partitionId} at ${this.options.dir}: ${this.segments.length} segment(s), offsets [${this.firstOffset}, ${this.nextOffset}), fsync ${formatFsyncPolicy(this.policy)}`;
  }

  private closeFiles(): void {
    for (const segment of this.segments) segment.close();
  }

  private rollover(): void {
    const sealed = this.active;
    sealed.seal();
    this.segments.push(SegmentFile.create(this.options.dir, sealed.nextOffset, this.nextOrdinal++));
    this.active.lastTimestamp = sealed.lastTimestamp;
  }

  // The `.index` bytes of `ordinal`'s in-memory entries at positions ≥ `fromPosition`: offset, timestamp, position.
  private indexFileBytes(ordinal: number, fromPosition = 0): Uint8Array {
    const core = this.sc.core;
    const count = core.indexCount(this.index);
    const rows: number[] = [];
    for (let i = count - 1; i >= 0 && core.indexSegmentAt(this.index, i) >= ordinal; i--) {
      if (core.indexSegmentAt(this.index, i) === ordinal && core.indexPositionAt(this.index, i) >= fromPosition) rows.unshift(i);
    }
    const out = Buffer.alloc(rows.length * INDEX_ENTRY_BYTES);
    rows.forEach((i, k) => {
      out.writeBigUInt64LE(BigInt(core.indexOffsetAt(this.index, i)), k * INDEX_ENTRY_BYTES);
      out.writeBigUInt64LE(BigInt(core.indexTimestampAt(this.index, i)), k * INDEX_ENTRY_BYTES + 8);
      out.writeBigUInt64LE(BigInt(core.indexPositionAt(this.index, i)), k * INDEX_ENTRY_BYTES + 16);
    });
    return out;
  }
}

const EMPTY = Buffer.alloc(0);

const positive = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

// A view of `len` bytes of the core's memory at `at` (a batch read into a place).
function placed(u8: Uint8Array, at: number, len: number): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset + at, len);
}

// Moves `len` bytes within the core's memory from `from` down to `to` (memmove: the ranges may overlap).
function copyWithin(u8: Uint8Array, to: number, from: number, len: number): void {
  u8.copyWithin(to, from, from + len);
}

function resultOf(staged: Staged): AppendResult {
  return { baseOffset: staged.baseOffset, nextOffset: staged.nextOffset, batches: staged.batches, bytes: staged.bytes, refused: staged.refused, bases: staged.bases };
}

// A failure that leaves the log in a state no later write may build on. Not a NoSpace, even when the device was
// full: that one means "rolled back, try again", and this is not retried (/health: partition_write_failed).
function writeFailed(file: string, position: number, error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code ?? error.name;
  return storageError('SegmentWriteFailed', file, position, `${code}: ${error.message}; the log could not be brought back to its last durable state, appends are refused until the partition is reopened`);
}
