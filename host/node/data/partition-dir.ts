// The home of one partition: `<dataDir>/streams/<stream>/topics/<topic>/partitions/<partition>/`, holding its
// segments (Partition) and its consumer offsets (offsets.log), opened and closed together by the owning shard.
// Purge and removal swap the whole directory out with one rename (`<partition>.trash`), so a crash leaves either
// the old partition or none, never a half-deleted one; leftovers of the swap are removed at the next open or listing.
import fs from 'node:fs';
import path from 'node:path';
import { copyInto } from '../../shared/copy.js';
import type { PartitionStats } from '../metadata/types.js';
import { fsyncDir, mkdirDurably } from '../io/durable-fs.js';
import type { FsyncPolicy } from '../io/fsync-policy.js';
import { Partition, type AppendResult, type PartitionOptions } from '../io/partition.js';
import type { StorageCore } from '../io/storage-core.js';
import { isNoSpace } from '../io/storage-errors.js';
import { ConsumerOffsets, type ConsumerKind } from './offsets.js';
import type { PollState } from './poll.js';

export interface PartitionIds {
  streamId: number;
  topicId: number;
  partitionId: number;
}

export interface PartitionHomeOptions {
  fsync: FsyncPolicy;
  segmentBytes?: number; // [1 GiB]
  indexIntervalBytes?: number;
  retention?: PartitionOptions['retention'];
  verifyOnAppend?: boolean; // verify frame and batch checksums on append; a batch that fails is refused alone [true]
  verifyReadPayloads?: boolean; // re-hash every frame on every read [true]; Partition's option of the same name
  directIo?: boolean; // every-batch appends through O_DIRECT; Partition's option of the same name [false]
  onCorrupt?: PartitionOptions['onCorrupt']; // a damaged log: refuse to open, or serve its intact prefix read-only [fail]
  onDamage?: PartitionOptions['onDamage']; // a read found a stored batch that no longer verifies
  indexCapacity?: number; // sparse index entries in core memory; Partition's option of the same name
  offsetsCompactBytes?: number; // [1 MiB]
  nowMicros?: () => number;
  quiet?: boolean;
}

const TRASH = '.trash';
// AppendResult.refused for a batch left out because the device was full (the core's verdicts are ≥ 0).
export const NO_SPACE_VERDICT = -28;

// `ids` may carry more than the three ids (a PartitionRef does): only these name the directory.
export function partitionDir(dataDir: string, ids: PartitionIds): string {
  for (const name of ['streamId', 'topicId', 'partitionId'] as const) {
    const id = ids[name];
    if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new RangeError(`${name} ${id} is not a u32`);
  }
  return path.join(dataDir, 'streams', String(ids.streamId), 'topics', String(ids.topicId), 'partitions', String(ids.partitionId));
}

export class PartitionHome {
  private constructor(
    readonly dir: string,
    readonly ids: PartitionIds,
    private readonly sc: StorageCore,
    private readonly options: PartitionHomeOptions,
    private current: Partition,
    private currentOffsets: ConsumerOffsets,
  ) {}

  private appending: Promise<AppendResult> | null = null; // the appendAsync on its way (one at a time)

  static open(dataDir: string, ids: PartitionIds, sc: StorageCore, options: PartitionHomeOptions): PartitionHome {
    const dir = partitionDir(dataDir, ids);
    removeTrash(dir);
    const [partition, offsets] = openFiles(dir, ids, sc, options);
    return new PartitionHome(dir, ids, sc, options, partition, offsets);
  }

  // The shard's core memory (a cluster backup keeps peers' batches in regions of it: partition-replication.ts).
  get storage(): StorageCore {
    return this.sc;
  }

  // Replaced by purge(): hold the home, not these.
  get partition(): Partition {
    return this.current;
  }

  get offsets(): ConsumerOffsets {
    return this.currentOffsets;
  }

  // The core's full verification of a batch whose layout decodeSendMessages accepted (every frame checksum and the
  // batch checksum): the verdict, BATCH_OK or why it fails. The server asks before a write is proposed, so a batch
  // that fails never becomes an op. A batch in the core's memory (a frame in the shared frame arena) is hashed where
  // it lies; any other is copied into the staging area first, which is free between appends: an append uses it
  // only while it stamps its group, synchronously (its write goes out from the callers' buffers).
  verify(batch: Uint8Array): number {
    const { sc } = this;
    const inPlace = batch.buffer === sc.u8.buffer;
    if (!inPlace && batch.length > sc.stagingLen) throw new RangeError(`a ${batch.length}-byte batch does not fit the ${sc.stagingLen}-byte staging area to be verified`);
    const at = inPlace ? batch.byteOffset - sc.u8.byteOffset : sc.staging;
    if (!inPlace) copyInto(sc.u8, at, batch);
    return sc.batchVerify(at, batch.length, true);
  }

  // Batches whose layout decodeSendMessages accepted: their checksums are verified here, on the copy about to be
  // written (a batch that fails is left out and reported in `refused`), unless `verified` says verify() passed
  // them already (then only their structure is checked: one hash pass per batch); then offsets, append time and
  // the batch checksum are stamped (in place: Partition.appendAsync). One write and one fdatasync per group, on
  // libuv's thread pool, one in flight per partition; a group larger than the core's staging area is written as
  // several such groups, in order. A purge between two groups sends the later ones to the new files: every
  // batch's offset is reported on its own (AppendResult.bases), never derived from the first one's.
  // `timestamps`: each batch's append time as its op carries it (a replica of a cluster; Partition.appendAsync).
  appendAsync(batches: Uint8Array[], verified = false, timestamps?: number[]): Promise<AppendResult> {
    const run = this.appendGroups(batches, verified, timestamps);
    this.appending = run;
    const done = () => { if (this.appending === run) this.appending = null; };
    run.then(done, done);
    return run;
  }

  private async appendGroups(batches: Uint8Array[], verified: boolean, timestamps?: number[]): Promise<AppendResult> {
    let result: AppendResult | null = null;
    let done = 0;
    for (const group of stagingGroups(batches, this.sc.stagingLen)) {
      try {
        result = combine(result, await this.current.appendAsync(group, verified, timestamps?.slice(done, done + group.length)));
      } catch (error) {
        // The groups written before are durable and answered as such; this one was rolled back, and it and the rest
        // are refused (NO_SPACE_VERDICT) rather than failing the whole send with stored batches in it.
        if (result === null || !isNoSpace(error)) throw error;
        const rest = batches.length - done;
        return { ...result, refused: [...result.refused, ...Array<number>(rest).fill(NO_SPACE_VERDICT)], bases: [...result.bases, ...Array<number>(rest).fill(-1)] };
      }
      done += group.length;
    }
    return result ?? this.emptyResult();
  }

  // Resolves once no append is being written, to these files or to the ones a purge replaced meanwhile (shutdown
  // waits for it before closing).
  idle(): Promise<void> {
    return this.appending ? this.appending.then(() => undefined, () => undefined) : Promise.resolve();
  }

  private emptyResult(): AppendResult {
    const nextOffset = this.current.nextOffset;
    return { baseOffset: nextOffset, nextOffset, batches: 0, bytes: 0, refused: [], bases: [] };
  }

  stats(): PartitionStats {
    const p = this.current;
    return {
      currentOffset: p.nextOffset > 0 ? p.nextOffset - 1 : 0,
      messagesCount: p.nextOffset - p.firstOffset,
      sizeBytes: p.sizeBytes,
      segmentsCount: p.segments.length,
    };
  }

  // What planPoll needs for this consumer (or for none: storedOffset null).
  pollState(consumer?: { kind: ConsumerKind; id: number }): PollState {
    return {
      firstOffset: this.current.firstOffset,
      nextOffset: this.current.nextOffset,
      storedOffset: consumer ? this.currentOffsets.get(consumer.kind, consumer.id) : null,
    };
  }

  // Iggy's purge: every message and every consumer offset gone, one empty segment at offset 0, new messages from
  // offset 0. The rename of the directory is the commit point.
  purge(): void {
    this.closeFiles();
    const trash = this.dir + TRASH;
    fs.rmSync(trash, { recursive: true, force: true });
    fs.renameSync(this.dir, trash);
    mkdirDurably(this.dir); // fsyncs the parent: the rename and the new directory become durable together
    [this.current, this.currentOffsets] = openFiles(this.dir, this.ids, this.sc, this.options);
    fs.rmSync(trash, { recursive: true, force: true });
  }

  // DeleteSegments (§7.6) as Iggy does it: up to `count` of the oldest sealed segments, oldest first, the active one
  // never; and none that holds an offset above the lowest stored consumer offset (a consumer has not read it yet).
  // With no stored offsets there is no such barrier. Returns how many segments were deleted.
  deleteSegments(count: number): number {
    const segments = this.current.segments;
    const barrier = this.currentOffsets.minOffset();
    let deletable = 0;
    while (deletable < count && deletable < segments.length - 1) {
      const lastOffset = segments[deletable + 1].baseOffset - 1;
      if (barrier !== null && lastOffset > barrier) break;
      deletable++;
    }
    return this.current.deleteOldestSegments(deletable);
  }

  close(): void {
    this.closeFiles();
  }

  // Deletes the partition's directory durably. The home must be closed first.
  static remove(dataDir: string, ids: PartitionIds): void {
    const dir = partitionDir(dataDir, ids);
    const trash = dir + TRASH;
    if (fs.existsSync(dir)) {
      fs.rmSync(trash, { recursive: true, force: true });
      fs.renameSync(dir, trash);
      fsyncDir(path.dirname(dir)); // the commit point: the partition is gone
    }
    fs.rmSync(trash, { recursive: true, force: true });
  }

  private closeFiles(): void {
    try {
      this.currentOffsets.close();
    } finally {
      this.current.close();
    }
  }
}

// Every partition directory under `dataDir`, for boot reconciliation against the metadata. Names that are not u32
// ids are ignored; leftovers of an interrupted purge or removal (`<id>.trash`) are deleted on the way.
export function listPartitionDirs(dataDir: string): PartitionIds[] {
  const found: PartitionIds[] = [];
  for (const streamId of numericEntries(path.join(dataDir, 'streams'))) {
    const topics = path.join(dataDir, 'streams', String(streamId), 'topics');
    for (const topicId of numericEntries(topics)) {
      const partitions = path.join(topics, String(topicId), 'partitions');
      for (const name of entries(partitions)) {
        if (name.endsWith(TRASH)) fs.rmSync(path.join(partitions, name), { recursive: true, force: true });
      }
      for (const partitionId of numericEntries(partitions)) found.push({ streamId, topicId, partitionId });
    }
  }
  return found.sort((a, b) => a.streamId - b.streamId || a.topicId - b.topicId || a.partitionId - b.partitionId);
}

function openFiles(dir: string, ids: PartitionIds, sc: StorageCore, options: PartitionHomeOptions): [Partition, ConsumerOffsets] {
  mkdirDurably(dir);
  const partition = Partition.openSync({
    dir, partitionId: ids.partitionId, fsync: options.fsync, segmentBytes: options.segmentBytes, indexIntervalBytes: options.indexIntervalBytes,
    retention: options.retention, verifyOnAppend: options.verifyOnAppend ?? true, badChecksum: 'refuse', verifyReadPayloads: options.verifyReadPayloads, directIo: options.directIo, indexCapacity: options.indexCapacity, nowMicros: options.nowMicros, quiet: options.quiet,
    onCorrupt: options.onCorrupt, onDamage: options.onDamage,
  }, sc);
  try {
    return [partition, ConsumerOffsets.open(dir, sc, { compactBytes: options.offsetsCompactBytes, quiet: options.quiet })];
  } catch (error) {
    partition.close();
    throw error;
  }
}

// Consecutive runs of batches that each fit the staging area (a single batch larger than it is its own run, and
// the partition refuses it with a named error).
function stagingGroups(batches: Uint8Array[], stagingLen: number): Uint8Array[][] {
  const groups: Uint8Array[][] = [];
  let group: Uint8Array[] = [];
  let bytes = 0;
  for (const batch of batches) {
    if (group.length > 0 && bytes + batch.length > stagingLen) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(batch);
    bytes += batch.length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function combine(sum: AppendResult | null, r: AppendResult): AppendResult {
  if (!sum) return r;
  return {
    baseOffset: sum.baseOffset, nextOffset: r.nextOffset, batches: sum.batches + r.batches, bytes: sum.bytes + r.bytes,
    refused: [...sum.refused, ...r.refused], bases: [...sum.bases, ...r.bases],
  };
}

function removeTrash(dir: string): void {
  fs.rmSync(dir + TRASH, { recursive: true, force: true });
}

function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function numericEntries(dir: string): number[] {
  return entries(dir)
    .filter((name) => /^\d{1,10}$/.test(name) && Number(name) <= 0xffff_ffff && fs.statSync(path.join(dir, name)).isDirectory())
    .map(Number);
}
