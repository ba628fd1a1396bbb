// The storage layer's view of core.wasm: an instance plus a region of its memory, carved at setup into a
// batch-checksum scratch, a read window, an append staging area, and per-partition / per-journal index regions
// (the core never allocates). In the server a shard attaches it to its own instance and its storage region of
// the process's shared memory (StorageCore.attach); tools and tests load a standalone one (storageCore()).
// It is the storage wrapper of the core (README "The core contract"): batch stamping and sealing, XXH3 and the
// incarnation verdict are called here; the WAL, superblock and segment/index verdicts by the one class that owns
// each (PrepareJournal, SuperblockStore, Partition), through `core`.
import { copyInto } from '../../shared/copy.js';
import { type CoreExports } from '../../shared/core.js';
import { compileCore, instantiateCore } from '../core-file.js';
import { defaultCoreWasm } from '../paths.js';
import { CoreJournalBatch } from '../../shared/core-abi.generated.js';

export const MAX_BATCH_BYTES = CoreJournalBatch.MAX_BATCH_BYTES;
const MIB = 1 << 20;

export interface StorageCoreOptions {
  memoryBytes?: number; // standalone only: total; default 256 MiB (reserved, touched lazily)
  windowBytes?: number; // read window for recovery and reads; ≥ 2 × MAX_BATCH_BYTES
  stagingBytes?: number; // largest group of batches written at once
  wasmFile?: string;
}

export class StorageCore {
  readonly u8: Uint8Array;
  readonly scratch: number;
  readonly scratchLen = MIB;
  readonly window: number;
  readonly windowLen: number;
  readonly staging: number;
  readonly stagingLen: number;
  private next: number;
  private readonly end: number;
  private readonly free = new Map<number, number[]>();

  private constructor(readonly core: CoreExports, readonly memory: WebAssembly.Memory, base: number, size: number, options: StorageCoreOptions) {
    this.u8 = new Uint8Array(memory.buffer);
    this.next = align(base);
    this.end = base + size;
    if (this.end > memory.buffer.byteLength) throw new Error(`storage region [${base}, ${this.end}) lies outside the memory`);
    this.windowLen = options.windowBytes ?? 32 * MIB;
    this.stagingLen = options.stagingBytes ?? 16 * MIB;
    this.scratch = this.alloc(this.scratchLen);
    this.window = this.alloc(this.windowLen);
    this.staging = this.alloc(this.stagingLen);
  }

  static async load(options: StorageCoreOptions = {}): Promise<StorageCore> {
    const wasmFile = options.wasmFile ?? defaultCoreWasm;
    const bytes = options.memoryBytes ?? 256 * MIB;
    const pages = Math.ceil(bytes / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const core = await instantiateCore(await compileCore(wasmFile), memory, wasmFile);
    const base = core.staticDataEnd() + 1024;
    return new StorageCore(core, memory, base, memory.buffer.byteLength - base, options);
  }

  // A shard's storage: its own core instance, and the region [base, base + size) of the shared memory that the
  // layout set aside for it (CoreExports.shardStorageAddress / shardStorageSize).
  static attach(core: CoreExports, memory: WebAssembly.Memory, base: number, size: number, options: StorageCoreOptions = {}): StorageCore {
    return new StorageCore(core, memory, base, size, options);
  }

  // Setup-time regions. Freed regions are reused for requests of the same size (journals and partitions come and go
  // with the same sizes), so a long-running process does not creep.
  alloc(bytes: number): number {
    const size = align(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) return reused;
    if (this.next + size > this.end) throw new Error(`storage core memory exhausted (${bytes} more bytes; raise memoryBytes)`);
    const at = this.next;
    this.next += size;
    return at;
  }

  // Whether a freed region of this size waits to be reused (alloc takes it without touching the rest).
  hasFree(bytes: number): boolean {
    return (this.free.get(align(bytes))?.length ?? 0) > 0;
  }

  // Bytes of the region no setup-time allocation has taken yet.
  get unallocated(): number {
    return this.end - this.next;
  }

  release(at: number, bytes: number): void {
    const size = align(bytes);
    const list = this.free.get(size) ?? [];
    list.push(at);
    this.free.set(size, list);
  }

  view(at: number, len: number): Uint8Array {
    return this.u8.subarray(at, at + len);
  }

  // XXH3-64 of host bytes, computed by the core: copied into the scratch area, or the read window when larger.
  xxh3(bytes: Uint8Array): bigint {
    if (bytes.length > this.windowLen) throw new RangeError(`${bytes.length} bytes do not fit the ${this.windowLen}-byte window to be hashed`);
    const at = bytes.length <= this.scratchLen ? this.scratch : this.window;
    copyInto(this.u8, at, bytes);
    const low = this.core.xxh3_64_low(at, bytes.length) >>> 0;
    return (BigInt(this.core.xxh3_last_high() >>> 0) << 32n) | BigInt(low);
  }

  xxh3Hex(at: number, len: number): string {
    const [lo, hi] = this.xxh3Words(at, len);
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }

  // XXH3-64 of core memory [at, at + len) as [low, high] u32 words.
  xxh3Words(at: number, len: number): [number, number] {
    const lo = this.core.xxh3_64_low(at, len) >>> 0;
    return [lo, this.core.xxh3_last_high() >>> 0];
  }

  // Stamps the batch at `at` (partition, base offset and timestamp, checksums): the core's verdict (BATCH_OK or
  // why not) and, when refused, the byte it stopped at. `full` verifies every message's checksum first.
  batchStamp(at: number, length: number, partition: number, baseOffset: number, baseTimestamp: number, full: boolean): { verdict: number; errorAt: number } {
    const verdict = this.core.batchStamp(at, length, partition, baseOffset, baseTimestamp, this.scratch, this.scratchLen, full);
    return { verdict, errorAt: verdict === CoreJournalBatch.BATCH_OK ? 0 : this.core.batchErrorAt() };
  }

  // Verifies the batch at `at` (layout, and with `full` every message checksum and the batch checksum): the core's
  // verdict, BATCH_OK or why not.
  batchVerify(at: number, length: number, full: boolean): number {
    return this.core.batchVerify(at, length, this.scratch, this.scratchLen, full);
  }

  // Seals the batch at `at` as a client would send it (message and batch checksums): the core's verdict.
  batchSeal(at: number, length: number): number {
    return this.core.batchSeal(at, length, this.scratch, this.scratchLen);
  }

  // Whether a partition directory's files may go (assembly/journal/incarnation.ts): one of the
  // CoreJournalIncarnation.INCARNATION_* verdicts.
  incarnationVerdict(recorded: number, wanted: number, applied: number): number {
    return this.core.incarnationVerdict(recorded, wanted, applied);
  }
}

function align(n: number): number {
  return (n + 63) & ~63;
}

let shared: Promise<StorageCore> | null = null;

// One storage core per thread, shared by every journal, superblock and partition the thread opens.
export function storageCore(options?: StorageCoreOptions): Promise<StorageCore> {
  shared ??= StorageCore.load(options);
  return shared;
}
