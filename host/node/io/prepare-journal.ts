// The metadata WAL, `metadata/journal.wal`: header slots + prepares (layout and boot rules in assembly/journal/wal.ts).
// Append is a group commit with one fdatasync: the slot headers of the previous group (whose prepares are already
// durable) and this group's prepares are written, then one fdatasync, then append() returns (the acknowledgement).
// So a slot header is only ever written after its prepare is durable, which is what lets boot tell a torn tail from
// a damaged acknowledged prepare. The last group's headers ride on the next append's fdatasync, or on close().
// The core keeps the slot index and decides, on boot, which slots are valid, torn, corrupt or missing; this file
// does the reads, writes and fsyncs.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../../shared/log.js';
import { fsyncDir, mkdirDurably, readFully, writeFully, writeTmpDurably } from './durable-fs.js';
import { storageError } from './storage-errors.js';
import { storageCore, type StorageCore } from './storage-core.js';
import { namesByValue } from '../../shared/abi-names.js';
import { CoreJournalPrepare as P, CoreJournalWal as W, CoreVsrHeader } from '../../shared/core-abi.generated.js';

const HEADER = P.PREPARE_HEADER;
const FILE_HEADER = W.WAL_FILE_HEADER;
const slotAt = (slot: number) => FILE_HEADER + slot * HEADER;
const SLOT_NAMES = namesByValue(W, 'SLOT_', 'snake');
// Why the core stopped the scan (walReason: a PREPARE_* check of the header, or a REASON_* of the file), in words.
const REASONS: Record<number, string> = {
  [P.PREPARE_BAD_COMMAND]: 'not a prepare header', [P.PREPARE_BAD_SIZE]: 'bad entry size',
  [P.PREPARE_HEADER_CHECKSUM]: 'header checksum mismatch', [P.PREPARE_BODY_CHECKSUM]: 'body checksum mismatch',
  [P.PREPARE_NONZERO_RESERVED]: 'non-zero reserved checksum bytes', [W.REASON_SHORT_TAIL]: `fewer than ${HEADER} bytes at the end`,
  [W.REASON_TORN_ENTRY]: 'entry runs past the end of the file', [W.REASON_PARENT]: 'parent checksum does not chain',
  [W.REASON_OP_ORDER]: 'op out of order', [W.REASON_SHORT_FILE]: 'file shorter than its header slots',
};
const APPEND_ERRORS: Record<number, string> = {
  [W.APPEND_OK]: 'ok', [W.APPEND_POISONED]: 'poisoned', [W.APPEND_SLOT_BUSY]: 'slot busy', [W.APPEND_OP_ORDER]: 'op out of order',
  [W.APPEND_PARENT]: 'parent does not chain', [W.APPEND_BAD_PREPARE]: 'badly sealed prepare',
};

export interface PrepareJournalOptions {
  dir: string; // the metadata directory
  slotCount?: number; // [1024]
  maxEntryBytes?: number; // [1 MiB]
  onTornTail?: 'truncate' | 'fail'; // [truncate]
  snapshotOp?: number; // from the superblock's checkpoint [0]
  writeChunkBytes?: number; // cap per write(2) [none]
  quiet?: boolean;
}

export interface JournalRecovery {
  verdict: 'clean' | 'truncated';
  truncated: { at: number; bytes: number; reason: string } | null;
  slots: Record<'valid' | 'torn' | 'empty', number>;
  firstOp: number | null;
  lastOp: number | null;
  repairedHeaders: number;
}

export class PrepareJournal {
  recovery!: JournalRecovery;
  readonly recoveryWarnings: string[] = [];
  private headersPending: Uint8Array[] = [];
  private fd = -1;
  private readonly region: number;
  private readonly regionBytes: number;
  private readonly slotCount: number;
  private readonly maxEntry: number;
  private readonly log = logger('journal');

  private constructor(private readonly sc: StorageCore, readonly options: PrepareJournalOptions) {
    this.slotCount = options.slotCount ?? 1024;
    this.maxEntry = options.maxEntryBytes ?? 1 << 20;
    this.regionBytes = sc.core.walRegionBytes(this.slotCount);
    this.region = sc.alloc(this.regionBytes);
    sc.core.walInit(this.region, this.slotCount, this.maxEntry);
    sc.core.walSetSnapshotOp(this.region, options.snapshotOp ?? 0);
  }

  get file(): string {
    return path.join(this.options.dir, 'journal.wal');
  }

  static async open(options: PrepareJournalOptions, sc?: StorageCore): Promise<PrepareJournal> {
    const journal = new PrepareJournal(sc ?? await storageCore(), options);
    try {
      journal.recover();
    } catch (error) {
      journal.close();
      throw error;
    }
    return journal;
  }

  get firstOp(): number | null { return this.sc.core.walHasEntries(this.region) ? this.sc.core.walFirstOp(this.region) : null; }
  get lastOp(): number | null { return this.sc.core.walHasEntries(this.region) ? this.sc.core.walLastOp(this.region) : null; }
  get snapshotOp(): number { return this.sc.core.walSnapshotOp(this.region); }
  get remaining(): number { return this.sc.core.walRemaining(this.region); }

  private recover(): void {
    const { sc, region } = this;
    const core = sc.core;
    mkdirDurably(this.options.dir);
    // A drain that crashed before its rename left the old journal current: the tmp is garbage.
    fs.rmSync(`${this.file}.tmp`, { force: true });
    if (!fs.existsSync(this.file)) this.createEmpty(this.file);
    this.fd = fs.openSync(this.file, 'r+');
    const size = fs.fstatSync(this.fd).size;
    // The file header says how the file is laid out; a damaged one, or another slot count, is refused untouched.
    sc.u8.fill(0, sc.window, sc.window + FILE_HEADER);
    readFully(this.fd, sc.u8.subarray(sc.window), Math.min(size, FILE_HEADER), 0);
    const declared = core.walFileHeaderSlots(sc.window);
    if (declared === 0) throw storageError('JournalHeaderCorrupt', this.file, 0, 'file header is damaged or missing (magic, version or checksum): refusing to boot');
    if (declared !== this.slotCount) {
      throw storageError('JournalSlotCountMismatch', this.file, 8, `the file has ${declared} header slots, the configuration says ${this.slotCount} (the metadata journal's slot count is fixed when the data directory is created: --metadata-journal-slots ${declared})`);
    }
    const slotBytes = this.slotCount * HEADER;
    sc.u8.fill(0, sc.window, sc.window + slotBytes);
    readFully(this.fd, sc.u8.subarray(sc.window), Math.max(0, Math.min(size - FILE_HEADER, slotBytes)), FILE_HEADER);
    core.walLoadSlots(region, sc.window);
    core.walScanBegin(region, size);
    for (let want = core.walScanWant(region); want > 0; want = core.walScanWant(region)) {
      const got = readFully(this.fd, sc.u8.subarray(sc.window), want, core.walScanPos(region));
      core.walScanFeed(region, sc.window, got);
    }
    const verdict = core.walVerdict(region);
    const stopAt = core.walStopAt(region);
    const reason = REASONS[core.walReason(region)] ?? `reason ${core.walReason(region)}`;
    if (verdict !== W.WAL_CLEAN && verdict !== W.WAL_TRUNCATE) {
      throw storageError('JournalHeaderCorrupt', this.file, stopAt, `${this.describeBadSlots()}; log stops at byte ${stopAt} (${reason}): refusing to boot`);
    }
    let truncated: JournalRecovery['truncated'] = null;
    if (verdict === W.WAL_TRUNCATE) {
      if ((this.options.onTornTail ?? 'truncate') === 'fail') {
        throw storageError('JournalTornTail', this.file, stopAt, `${size - stopAt} trailing bytes (${reason}); policy: fail`);
      }
      fs.ftruncateSync(this.fd, stopAt);
      fs.fsyncSync(this.fd);
      truncated = { at: stopAt, bytes: size - stopAt, reason };
      if (!this.options.quiet) this.log.warn(`truncated torn tail of ${this.file}: ${size - stopAt} bytes from byte ${stopAt} (${reason})`);
    }
    const counts = { valid: 0, torn: 0, empty: 0 };
    for (let i = 0; i < this.slotCount; i++) {
      const state = SLOT_NAMES[core.walSlotState(region, i)] as keyof typeof counts;
      if (state in counts) counts[state]++;
    }
    this.recovery = { verdict: truncated ? 'truncated' : 'clean', truncated, slots: counts, firstOp: this.firstOp, lastOp: this.lastOp, repairedHeaders: this.repairHeaders() };
  }

  // Slot headers must match the log before new appends rely on them: rewrite stale ones, zero those of a torn tail.
  private repairHeaders(): number {
    const { sc, region } = this;
    const core = sc.core;
    const header = Buffer.alloc(HEADER);
    let repaired = 0;
    for (let i = 0; i < this.slotCount; i++) {
      if (core.walSlotHeaderState(region, i) === 3) {
        this.recoveryWarnings.push(`${this.file} @ byte ${slotAt(i)}: slot ${i} header fails its checksum; rewritten from the log`);
      }
      if (core.walSlotNeedsHeader(region, i)) readFully(this.fd, header, HEADER, core.walSlotOffset(region, i));
      else if (core.walSlotNeedsClear(region, i)) header.fill(0);
      else continue;
      writeFully(this.fd, header, slotAt(i));
      core.walHeaderRepaired(region, i);
      repaired++;
    }
    if (repaired > 0) fs.fdatasyncSync(this.fd);
    if (!this.options.quiet) for (const w of this.recoveryWarnings) this.log.warn(w);
    return repaired;
  }

  private describeBadSlots(): string {
    const core = this.sc.core;
    const bad: string[] = [];
    for (let i = 0; i < this.slotCount && bad.length < 8; i++) {
      const state = core.walSlotState(this.region, i);
      if (state === W.SLOT_CORRUPT || state === W.SLOT_MISSING) bad.push(`slot ${i} (header byte ${slotAt(i)}) op ${core.walSlotOp(this.region, i)} ${SLOT_NAMES[state]}`);
    }
    return bad.length ? bad.join(', ') : 'no slot detail';
  }

  // Appends sealed prepares (each: 256-byte header + body, op = previous + 1, parent = previous checksum) as one group.
  append(prepares: Uint8Array[]): void {
    const { sc, region } = this;
    const core = sc.core;
    this.refuseIfPoisoned();
    const start = core.walEnd(region);
    let staged = 0;
    for (const prepare of prepares) {
      if (staged + prepare.length > sc.stagingLen) throw storageError('JournalAppendRejected', this.file, start + staged, 'group exceeds the staging area');
      sc.u8.set(prepare, sc.staging + staged);
      const code = core.walAppend(region, sc.staging + staged);
      if (code !== 0) {
        // Nothing of this group was written; forget what the core reserved by reopening the index from the file.
        this.reloadIndex();
        throw storageError(code === 2 ? 'JournalSlotBusy' : code === 1 ? 'JournalPoisoned' : 'JournalAppendRejected', this.file, start + staged,
          `op ${new DataView(prepare.buffer, prepare.byteOffset).getBigUint64(P.H_OP, true)}: ${APPEND_ERRORS[code]}`);
      }
      staged += prepare.length;
    }
    if (staged === 0) return;
    try {
      this.writeSlotHeaders(this.headersPending);
      writeFully(this.fd, sc.view(sc.staging, staged), start, this.options.writeChunkBytes);
      fs.fdatasyncSync(this.fd);
    } catch (error) {
      core.walPoison(region);
      throw error;
    }
    this.headersPending = prepares.map((p) => Buffer.from(p.subarray(0, HEADER)));
    core.walAppendDurable(region, core.walLastOp(region));
  }

  // Makes the last group's slot headers durable (close() does it; boot repairs them if a crash came first).
  syncHeaders(): void {
    if (this.headersPending.length === 0 || this.fd < 0 || this.sc.core.walPoisoned(this.region)) return;
    this.writeSlotHeaders(this.headersPending);
    fs.fdatasyncSync(this.fd);
    this.headersPending = [];
  }

  // Consecutive ops occupy consecutive slots (wrapping once at most): write each run of headers with one pwrite.
  private writeSlotHeaders(prepares: readonly Uint8Array[]): void {
    let run: Buffer[] = [];
    let runSlot = -1;
    const flush = () => {
      if (run.length) writeFully(this.fd, Buffer.concat(run), slotAt(runSlot));
      run = [];
    };
    for (const prepare of prepares) {
      const op = Number(new DataView(prepare.buffer, prepare.byteOffset).getBigUint64(P.H_OP, true));
      const slot = op % this.slotCount;
      if (run.length === 0 || slot !== runSlot + run.length) { flush(); runSlot = slot; }
      run.push(Buffer.from(prepare.buffer, prepare.byteOffset, HEADER));
    }
    flush();
  }

  // The whole prepare for `op`, re-verified by the core; null when the journal does not hold it.
  read(op: number): Buffer | null {
    const { sc, region } = this;
    const core = sc.core;
    this.refuseIfPoisoned();
    const slot = core.walFind(region, op);
    if (slot < 0) return null;
    const offset = core.walSlotOffset(region, slot);
    const size = core.walSlotSize(region, slot);
    const got = readFully(this.fd, sc.u8.subarray(sc.window), size, offset);
    if (got !== size || core.prepareCheckHeader(sc.window, this.maxEntry) !== 0 || core.prepareCheckBody(sc.window) !== 0 || core.prepareOp(sc.window) !== op) {
      throw storageError('JournalHeaderCorrupt', this.file, offset, `op ${op} failed its checksums on read: not returned`);
    }
    return Buffer.from(sc.u8.slice(sc.window, sc.window + size));
  }

  // View-change truncation: removes ops ≥ `op`. Their slot headers are zeroed and fsynced before the log is cut, so a
  // crash in between leaves the old state (complete entries no header claims), never headers without entries.
  truncateFrom(op: number): void {
    const { sc, region } = this;
    const core = sc.core;
    this.refuseIfPoisoned();
    const last = this.lastOp;
    if (last === null || op > last) return;
    const first = Math.max(op, this.firstOp!);
    try {
      this.syncHeaders();
      const zero = Buffer.alloc(HEADER);
      for (let o = first; o <= last; o++) writeFully(this.fd, zero, slotAt(o % this.slotCount));
      fs.fdatasyncSync(this.fd);
      const cut = core.walTruncateFrom(region, op);
      fs.ftruncateSync(this.fd, cut);
      fs.fsyncSync(this.fd);
    } catch (error) {
      core.walPoison(region);
      throw error;
    }
  }

  // View-change replacement: the journal becomes its ops below `op` followed by `entries` (sealed, consecutive from
  // `op`, the first chained to op - 1's entry). Switched whole, as a drain: tmp → fsync → rename (commit point) →
  // fsync dir → reopen. Unlike truncateFrom + append, no instant has the ops from `op` on missing from disk: a crash
  // before the rename leaves the old journal (every entry it held), after it the new one (every entry it holds).
  // Costs a copy of the journal (at most the ops since the last checkpoint); view changes that replace are rare.
  replaceFrom(op: number, entries: Uint8Array[]): void {
    this.refuseIfPoisoned();
    const first = this.firstOp;
    const kept = first === null ? 0 : Math.max(0, Math.min(op, this.lastOp! + 1) - first);
    this.checkReplacement(op, entries);
    try {
      const tmp = writeTmpDurably(this.file, (tfd) => {
        this.writeFileHeader(tfd);
        let end = slotAt(this.slotCount);
        const put = (at: number, entry: Uint8Array) => {
          writeFully(tfd, entry, end);
          writeFully(tfd, entry.subarray(0, HEADER), slotAt(at % this.slotCount));
          end += entry.length;
        };
        for (let o = first ?? 0; o < (first ?? 0) + kept; o++) {
          const entry = this.read(o);
          if (!entry) throw storageError('JournalHeaderCorrupt', this.file, 0, `op ${o} missing during a replacement`);
          put(o, entry);
        }
        entries.forEach((entry, i) => put(op + i, entry));
      });
      fs.renameSync(tmp, this.file);
    } catch (error) {
      this.reloadIndex(); // nothing was switched: the index goes back to the file in place
      throw error;
    }
    const recovery = this.recovery;
    try {
      fsyncDir(this.options.dir);
      this.headersPending = [];
      this.reloadIndex(); // the new file, scanned and indexed by the core as at boot (every slot header in place)
    } catch (error) {
      this.sc.core.walPoison(this.region);
      throw storageError('JournalPoisoned', this.file, 0, `replacement failed after its commit point: ${(error as Error).message}`);
    } finally {
      this.recovery = recovery; // what boot found stays the boot's report
    }
  }

  // The core checks the new tail as it checks appends after a cut (op order, parent chain, sealing, a free slot), in
  // its index only: nothing is written unless it accepts every entry, and a refusal restores the index.
  private checkReplacement(op: number, entries: Uint8Array[]): void {
    const { sc, region } = this;
    sc.core.walTruncateFrom(region, op);
    for (const entry of entries) {
      if (entry.length > sc.stagingLen) { this.reloadIndex(); throw storageError('JournalAppendRejected', this.file, 0, 'entry exceeds the staging area'); }
      sc.u8.set(entry, sc.staging);
      const code = sc.core.walAppend(region, sc.staging);
      if (code !== 0) {
        this.reloadIndex();
        throw storageError(code === 2 ? 'JournalSlotBusy' : code === 1 ? 'JournalPoisoned' : 'JournalAppendRejected', this.file, 0,
          `replacement from op ${op}: op ${new DataView(entry.buffer, entry.byteOffset).getBigUint64(P.H_OP, true)}: ${APPEND_ERRORS[code]}`);
      }
    }
  }

  // Checkpoint compaction: keep only ops > upTo. tmp → fsync → rename (commit point) → fsync dir → reopen; only then
  // does snapshot_op advance. A crash before the rename leaves the old journal, after it the new one; an I/O error
  // after it poisons the journal (it refuses all I/O until reopened, which recovers from whichever file is in place).
  drain(upTo: number): void {
    const { sc, region } = this;
    const core = sc.core;
    this.refuseIfPoisoned();
    const first = this.firstOp;
    const last = this.lastOp;
    const tmp = writeTmpDurably(this.file, (tfd) => {
      this.writeFileHeader(tfd);
      let end = slotAt(this.slotCount);
      if (first !== null && last !== null) {
        for (let op = Math.max(first, upTo + 1); op <= last; op++) {
          const entry = this.read(op);
          if (!entry) throw storageError('JournalHeaderCorrupt', this.file, 0, `op ${op} missing during drain`);
          writeFully(tfd, entry, end);
          writeFully(tfd, entry.subarray(0, HEADER), slotAt(op % this.slotCount));
          end += entry.length;
        }
      }
    });
    fs.renameSync(tmp, this.file);
    try {
      fsyncDir(this.options.dir);
      fs.closeSync(this.fd);
      this.fd = fs.openSync(this.file, 'r+');
    } catch (error) {
      core.walPoison(region);
      throw storageError('JournalPoisoned', this.file, 0, `drain failed after its commit point: ${(error as Error).message}`);
    }
    this.headersPending = [];
    core.walDrainCommit(region, upTo);
  }

  close(): void {
    this.syncHeaders();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.sc.release(this.region, this.regionBytes);
  }

  private refuseIfPoisoned(): void {
    if (this.sc.core.walPoisoned(this.region)) throw storageError('JournalPoisoned', this.file, 0, 'an earlier write or drain failed; reopen to recover');
  }

  private reloadIndex(): void {
    this.sc.core.walInit(this.region, this.slotCount, this.maxEntry);
    this.sc.core.walSetSnapshotOp(this.region, this.options.snapshotOp ?? 0);
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.recover();
  }

  // File header, then zeroed header slots: the layout of an empty journal.
  private writeFileHeader(fd: number): void {
    const { sc } = this;
    sc.core.walFileHeaderSeal(sc.scratch, this.slotCount, this.maxEntry);
    writeFully(fd, sc.view(sc.scratch, FILE_HEADER), 0);
    fs.ftruncateSync(fd, slotAt(this.slotCount));
  }

  private createEmpty(file: string): void {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    this.writeFileHeader(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  }
}

// A sealed prepare for `op` chained to `parent` (the previous prepare's header, or null for the first).
export function sealPrepare(sc: StorageCore, op: number, parent: Uint8Array | null, body: Uint8Array, operation = 128): Buffer {
  const size = HEADER + body.length;
  const at = sc.staging;
  sc.u8.fill(0, at, at + HEADER);
  sc.u8.set(body, at + HEADER);
  const view = new DataView(sc.u8.buffer, at, HEADER);
  view.setBigUint64(P.H_OP, BigInt(op), true);
  view.setUint8(CoreVsrHeader.P_OPERATION, operation);
  if (parent) sc.u8.set(parent.subarray(0, 8), at + P.H_PARENT);
  sc.core.prepareSeal(at, size);
  return Buffer.from(sc.u8.slice(at, at + size));
}
