// The storage of a partition group that has peers (a cluster's replica). The partition's segments are the group's
// log: every replica appends each op's batch (or applies its offset change) in op order, in the same segment
// format, before it votes (prepare_ok), so the same ops give the same bytes everywhere:
//   * the batch travels as the prepare's attachment; a replica that did not propose it verifies it itself (the
//     core's full batchVerify, and the length and message count its prepare binds) before it writes it;
//   * offsets are assigned by each replica's append (the same history gives the same offsets), the append time
//     comes from the op's descriptor (chosen once by the primary), so the stamped batches are identical;
//   * polls read up to the end of the committed ops only (Partition.committedEnd).
// Durability `persisted`: the vote follows the durable append. `replicated`: a backup votes as soon as it holds the
// batch (its append follows in order), which is weaker: a crash of a majority at once loses acknowledged sends.
import type { JournalWrite } from '../../shared/replica-driver.js';
import { Command, H, HEADER_SIZE, PIPELINE_MAX, Prep } from '../../shared/vsr-abi.js';
import type { PartitionHome } from '../data/send-api.js';
import type { ConsumerKind, ConsumerOffset } from '../data/offsets.js';
import { NO_SPACE_VERDICT } from '../data/send-api.js';
import { readPrepare, type PrepareView } from '../consensus/group.js';
import { CoreJournalBatch, CoreVsrReplicaFrame } from '../../shared/core-abi.generated.js';
import { logger } from '../../shared/log.js';
import { CopyPool, type PooledCopy } from '../cluster/copy-pool.js';
import type { StorageCore } from '../io/storage-core.js';

const log = logger('partitions');

export type Durability = 'persisted' | 'replicated';

export const OP_SEND = 160;
export const OP_STORE_OFFSET = 161;
export const OP_DELETE_OFFSET = 162;
const RECENT_OPS = 128; // prepares kept for retransmission and repair (twice the group's log window)

export interface ReplicationHost {
  readonly home: PartitionHome;
  readonly durability: Durability;
  isPrimary(): boolean;
  ownBatch(p: PrepareView): Uint8Array | null; // the batch of this replica's own request (the primary's queue)
  appended(): void; // data was appended (stats, retention)
  failed(error: Error): void; // the partition's files can no longer follow the group: it stops taking writes
  cut(from: number): void; // the written ops from `from` on are off the files now: the core hears it (journalCut)
}

export interface OpResult { status: number; baseOffset: number }

// A peer's batch kept until its op is written and committed: its copy lives in a slab of the shard's pool, a region
// of the shard's core memory when there is room (the append then stamps and writes it where it lies, no staging
// copy; and no fresh half-megabyte buffer per batch, which is external memory V8 answers with full GCs).
interface Kept { op: number; batch: Uint8Array; verdict: number; copy: PooledCopy }
const KEPT_SLABS = 16;
const CORE_RESERVE = 64 << 20; // core memory a slab never takes: partitions opened later need their index regions
let keptCopies: CopyPool | null = null; // one per shard (worker thread): its StorageCore's

function keptCopiesOf(sc: StorageCore): CopyPool {
  keptCopies ??= new CopyPool(CoreVsrReplicaFrame.REPLICA_ATTACHMENT_MAX, KEPT_SLABS, {
    take: (bytes) => (sc.hasFree(bytes) || sc.unallocated >= bytes + CORE_RESERVE ? Buffer.from(sc.u8.buffer, sc.alloc(bytes), bytes) : null),
    give: (slab) => sc.release(slab.byteOffset, slab.length),
  });
  return keptCopies;
}

export type Done = (op: number, checksum: bigint) => void;
// A write the core asked for, until it is written (or known never to be). `also`: completions owed with it, reported
// when it is: a header-only restamp of the same prepare, a duplicate write of it.
export interface Held { write: JournalWrite; done: Done; acked: boolean; also: Done[] }
// The checksum a write is reported with when it was not written: the core's slot never matches it, so the write counts
// as finished (the driver's count) but the op is not durable here (no prepare_ok, no own vote).
export const NOT_WRITTEN = 0n;

// Reports a held write to the core: written (its checksum), or NOT_WRITTEN. A replicated-mode backup's own
// completion went on receipt already; the completions it owes go now.
export function reportDone(h: Held, checksum: bigint = h.write.checksum): void {
  if (!h.acked) h.done(h.write.op, checksum);
  for (const done of h.also.splice(0)) done(h.write.op, checksum);
}
interface Recent { prepare: Uint8Array; checksum: bigint; operation: number; base: number; length: number; count: number }

export class PartitionReplicationError extends Error {
  constructor(readonly code: string, message: string) { super(`${code}: ${message}`); }
}

export class PartitionReplication {
  private readonly attached = new Map<bigint, Kept>(); //       by prepare checksum, until its op commits
  private readonly held = new Map<number, Held>(); //            writes waiting for the ops before them
  private readonly results = new Map<number, OpResult>(); //     of written sends, until they commit
  private readonly ends: { op: number; end: number }[] = []; //  written sends not yet committed: their end offset
  private readonly recent = new Map<number, Recent>(); //        the last RECENT_OPS written ops
  private readonly extraDone: Held[] = []; //                    duplicates of the writes on their way
  private readonly waiting = new Map<number, (result: OpResult | undefined) => void>(); // answers waiting for a write
  private written = 0; // every op up to here is written (durable once `writing` is false)
  private writingTo = 0; // the last op of the append on its way (or done)
  private readonly lateRewrites: Held[] = []; // writes for ops of the append on its way
  private appending: Held[] = []; // the writes of the append on its way
  private baseOp = 0; //        the op the files start at (open: op 0; a catch-up installed: its op) ...
  private baseChecksum = 0n; // ... and its prepare's checksum: the parent of the op after it
  private cutRefused: string | null = null; // why the last cut was refused
  private cutPending = Infinity; // a committed op replaced what was written here: cut from it when no append runs
  private committed = 0;
  private committedChecksum = 0n; // the last committed op's prepare checksum (0: op 0, the files at open)
  private committedOffsets: Map<string, ConsumerOffset>; // the consumer offsets as of the last committed op
  private writing = false;
  private paused = false; // a catch-up runs (a backup lagging beyond the peers' journals): no append until it is in
  private pumping = false;
  private stopped = false;

  constructor(private readonly host: ReplicationHost) {
    // What the files hold at open counts as committed (the group's VSR state starts afresh at every boot).
    host.home.partition.committedEnd = host.home.partition.nextOffset;
    this.committedOffsets = offsetMap(host.home.offsets.entries());
  }

  // A prepare arrived from a peer with its batch: verified where it lies (the frame is in core memory: the core's
  // full batchVerify hashes it in place, no staging copy), then kept (copied: the frame is valid only during the
  // call) with its verdict until the op commits; checkedBatch refuses it then.
  keep(message: Uint8Array, attachment: Uint8Array): void {
    const command = message[H.command];
    if (attachment.length === 0 || message.length < HEADER_SIZE || (command !== Command.Prepare && command !== Command.RepairPrepare)) return;
    const p = readPrepare(message);
    // Beyond what the core's log window can hold (it drops those prepares): not kept, or a backup cut off from
    // commits would copy every batch it hears for ever.
    if (p.op <= this.committed || p.op > this.committed + RECENT_OPS || this.attached.has(p.checksum)) return;
    const verdict = this.host.home.verify(attachment);
    const copy = keptCopiesOf(this.host.home.storage).copy(attachment);
    this.attached.set(p.checksum, { op: p.op, batch: copy.bytes, verdict, copy });
    // The op may be held already, waiting for this batch (its prepare came first without it): the core asks no
    // second write for a prepare it holds.
    if (this.held.has(p.op)) this.pump();
  }

  // The batch a prepare binds, to attach to it: kept, this replica's own request, or read back from its segment.
  bodyFor(p: PrepareView): Uint8Array | null {
    if (p.operation !== OP_SEND) return null;
    const kept = this.attached.get(p.checksum)?.batch ?? this.host.ownBatch(p);
    if (kept) return kept;
    const recent = this.recent.get(p.op);
    if (!recent || recent.checksum !== p.checksum || recent.base < 0) return null;
    const [stored] = this.host.home.partition.readFromOffset(recent.base, recent.length, recent.count);
    return stored && stored.baseOffset === recent.base ? stored.bytes : null;
  }

  // The core's prepare of `op` for a peer's repair (null: not here any more; the peer asks another replica).
  read(op: number): Uint8Array | null {
    return this.recent.get(op)?.prepare ?? null;
  }

  // The result of this replica's write of `op`, when it is written: an op can commit before its primary's own
  // append is done (two backups are a quorum of three).
  whenWritten(op: number, answer: (result: OpResult | undefined) => void): void {
    if (op > this.written) { this.waiting.set(op, answer); return; }
    const r = this.results.get(op);
    this.results.delete(op);
    answer(r);
  }

  // The driver's storage write: held in op order, then appended. Header-only writes (a view change restamping an
  // op's view) have nothing to change in a segment, but count only once the op's batch is (restamped).
  write(writes: JournalWrite[], done: Done): void {
    for (const w of writes) {
      if (w.headerOnly) { this.restamped(w, done); continue; }
      const h: Held = { write: w, done, acked: false, also: [] };
      if (this.writing && w.op <= this.writingTo) { this.lateRewrites.push(h); continue; } // routed once written
      if (w.op <= this.written) { this.rewrite(h); continue; }
      if (this.host.durability === 'replicated' && !this.host.isPrimary()) { h.acked = true; done(w.op, w.checksum); }
      this.hold(h);
    }
    this.pump();
  }

  // A header-only write: a view change restamped the view an op was accepted in. It changes nothing in a segment,
  // but the core cleared the op's durable mark before asking and votes on this completion (a backup's prepare_ok, a
  // new primary's own), so it is reported only once the op's batch is written here, as MetadataLog.restamped does:
  // at once when it is; with the op's write when that is held (waiting for the ops before it, or for its batch) or
  // on its way; otherwise never written (NOT_WRITTEN: the op is not durable here until it is written again).
  private restamped(w: JournalWrite, done: Done): void {
    if (w.op <= this.written && this.recent.get(w.op)?.checksum === w.checksum) { done(w.op, w.checksum); return; }
    const pending = this.pendingWrite(w.op, w.checksum);
    if (!pending) done(w.op, NOT_WRITTEN);
    else if (pending.acked) done(w.op, w.checksum); // a replicated-mode backup voted on receipt: so on a restamp
    else pending.also.push(done);
  }

  // The write of exactly this prepare that is held, on its way, or waiting for the append on its way; else null.
  private pendingWrite(op: number, checksum: bigint): Held | null {
    const same = (h: Held | undefined) => h !== undefined && h.write.op === op && h.write.checksum === checksum;
    const held = this.held.get(op);
    if (same(held)) return held!;
    return this.appending.find(same) ?? this.lateRewrites.findLast(same) ?? null;
  }

  // A write waits in `held` for the ops before it. It replaces a held write of the same op: the same prepare again
  // (a retransmission) takes over the completions the first one owes; another prepare (a view change chose it) leaves
  // the first one never written.
  private hold(h: Held): void {
    const before = this.held.get(h.write.op);
    if (before && before.write.checksum === h.write.checksum) {
      if (!before.acked) h.also.push(before.done);
      h.also.push(...before.also);
    } else if (before) {
      reportDone(before, NOT_WRITTEN);
    }
    this.held.set(h.write.op, h);
  }

  // The op committed (in op order): polls may read its messages once this replica has written it.
  commit(op: number, p: PrepareView): void {
    // Another prepare than the one written here committed at `op` (the core commits a repaired canonical op in the
    // same event that asks for its write): the written batches from `op` on never committed anywhere. They leave
    // the committed end's way at once, and the files as soon as no append is on its way.
    // So does another prepare than the one whose append is on its way: its batch must not count committed when the
    // append is done (a poll would read a batch that never committed): finish() cuts it instead.
    const written = this.recent.get(op);
    const appending = op > this.written ? this.appending.find((h) => h.write.op === op) : undefined;
    const replaced = op <= this.written
      ? written !== undefined && written.checksum !== p.checksum && changesFiles(written.operation)
      : appending !== undefined && appending.write.checksum !== p.checksum && changesFiles(readPrepare(appending.write.message).operation);
    if (replaced) {
      this.dropEndsFrom(op);
      this.cutPending = Math.min(this.cutPending, op);
      if (!this.writing) this.cutNow();
    }
    this.committed = op;
    this.committedChecksum = p.checksum;
    if (p.operation === OP_STORE_OFFSET || p.operation === OP_DELETE_OFFSET) applyCommittedOffset(this.committedOffsets, p);
    // The batches of committed ops written here, this op's and those of prepares a view change replaced, are never
    // asked for again.
    for (const [checksum, kept] of this.attached) if (kept.op <= op && kept.op <= this.written) this.forget(checksum);
    this.advance();
  }

  // The group's committed state as this replica's files hold it, for a peer's catch-up (partition-catch-up.ts): the
  // last committed op, its prepare's checksum and the consumer offsets as of it. Null unless every committed op is
  // written here and no cut waits (then the committed end, Partition.readableNextOffset, is exactly that op's).
  settled(): { op: number; checksum: bigint; offsets: ConsumerOffset[] } | null {
    if (this.written < this.committed || this.cutPending !== Infinity) return null;
    return { op: this.committed, checksum: this.committedChecksum, offsets: [...this.committedOffsets.values()] };
  }

  // A catch-up made the files the group's committed state at `op` (their end is its committed end; `offsets` are its
  // consumer offsets): the ops after it are written from here. Writes the core asked for ops up to `op` are covered.
  // Returns the writes it covered (asked for ops up to `op`, never written): reported done once the core took the
  // install (the driver counts every write it asked for until it hears of it).
  installed(op: number, checksum: bigint, offsets: ConsumerOffset[]): Held[] {
    if (this.writing) throw new PartitionReplicationError('PartitionCatchUpBusy', `op ${op} installed while an append is on its way`);
    const covered: Held[] = [];
    this.written = op;
    this.writingTo = op;
    this.baseOp = op;
    this.baseChecksum = checksum;
    this.committed = op;
    this.committedChecksum = checksum;
    this.committedOffsets = offsetMap(offsets);
    for (const [at, h] of this.held) if (at <= op) { covered.push(h); this.held.delete(at); }
    this.recent.clear();
    this.results.clear();
    this.ends.length = 0;
    for (const [key, kept] of this.attached) if (kept.op <= op) this.forget(key); // installed, not written: no append reads it
    this.host.home.partition.committedEnd = this.host.home.partition.nextOffset;
    this.paused = false;
    this.pump();
    return covered;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  // A backup in normal status that fell behind what its peers keep for repair catches its segments up instead
  // (partition-catch-up.ts): the ops it is asked to write meanwhile wait (held) until the catch-up is installed, so
  // that no append of its own runs beside the catch-up's.
  pause(): void {
    this.paused = true;
  }

  // The oldest op a peer's repair can still get from this replica (the last RECENT_OPS written are kept), less a
  // pipeline's worth of margin (ops written while the backup's repair is on its way): a backup whose commit is below
  // it is told to catch up instead (the core's checkpoint). A backup keeping up is never more than a pipeline behind.
  get repairableFrom(): number {
    return Math.max(0, this.written - (RECENT_OPS - PIPELINE_MAX));
  }

  // No more writes (the partition was closed, or its files cannot follow the group). Every write the core asked for
  // is reported, as never written: the driver counts them, and a released group's core replica goes back for reuse
  // only once none is outstanding. The append on its way reports its own when it settles.
  stop(): void {
    this.stopped = true;
    this.waiting.clear(); // their writers are answered by the group (abort)
    const outstanding = [...this.held.values(), ...this.lateRewrites.splice(0), ...this.extraDone.splice(0)];
    this.held.clear();
    this.attached.clear(); // not back to the pool: an append on its way may still be writing them
    for (const h of outstanding) reportDone(h, NOT_WRITTEN);
  }

  // A kept batch written here and committed: its slab goes back to the pool (no append reads it any more: both
  // callers forget only ops at or below `written`, whose appends are done).
  private forget(checksum: bigint): void {
    const kept = this.attached.get(checksum);
    if (!kept) return;
    this.attached.delete(checksum);
    kept.copy.release();
  }

  // The same op again (a retransmission the core chose to journal): reported durable when it is. A different
  // prepare for a written op (a view change chose another): one that changed no file (the shard's Register) is just
  // replaced; otherwise the written ops from it on, none committed, are cut off the segment and the new one is
  // written in their place (cutBack); an offset change cannot be undone, so one among them stops the partition.
  private rewrite(h: Held): void {
    const recent = this.recent.get(h.write.op);
    const replacing = recent !== undefined && recent.checksum !== h.write.checksum;
    if (replacing && !changesFiles(recent.operation) && !changesFiles(readPrepare(h.write.message).operation)) {
      this.remember(h, -1, 0, 0);
    } else if (replacing && this.cutFrom(h.write.op)) {
      this.held.set(h.write.op, h);
      this.pump();
      return;
    } else if (replacing) {
      const why = this.cutRefused ?? 'an offset change or an op no longer remembered among the ops to cut';
      this.fail(new PartitionReplicationError('PartitionOpReplaced', `op ${h.write.op} was replaced by a view change after this replica wrote it and cannot be cut off (${why}): this partition stops taking writes`));
      reportDone(h, NOT_WRITTEN);
      return;
    }
    if (this.writing) this.extraDone.push(h);
    else reportDone(h);
  }

  // Writes the consecutive held ops after the last written one: offset changes at once, batches with one append
  // (one at a time per partition). An op is written only on top of the op its prepare chains to (its parent
  // checksum): the core asks for an op's write once it knows the op canonical, even while the op before holds only
  // a StartView's header and the files still hold an older view's batch there. Written on that, it would be acked on
  // top of a batch the repair of the op before then cuts, taking it along. It waits instead: the repaired op before
  // it replaces the written one (rewrite), and both are written in order.
  private pump(): void {
    if (this.writing || this.pumping || this.stopped || this.paused) return;
    this.pumping = true;
    let taken: Held[] = [];
    try {
      for (;;) {
        const group: Held[] = [];
        taken = group; // out of `held`: the catch below reports them if this throws
        const batches: Uint8Array[] = [];
        const timestamps: number[] = [];
        const sendOps: { op: number; index: number }[] = [];
        let offsets = false;
        for (let op = this.written + 1; this.held.has(op); op++) {
          const h = this.held.get(op)!;
          if (prepareParent(h.write.message) !== (group.at(-1)?.write.checksum ?? this.writtenChecksum())) break;
          const p = readPrepare(h.write.message);
          if (p.operation === OP_SEND) {
            const batch = this.checkedBatch(p);
            if (!batch) break; // its attachment has not arrived: written when the prepare comes again
            sendOps.push({ op, index: batches.length });
            batches.push(batch);
            timestamps.push(sendTimestamp(p.body));
          } else if (p.operation === OP_STORE_OFFSET || p.operation === OP_DELETE_OFFSET) {
            applyOffset(this.host.home, p);
            offsets = true;
          }
          this.held.delete(op);
          group.push(h);
        }
        if (group.length === 0) return;
        if (offsets) this.host.home.offsets.flush();
        if (batches.length === 0) {
          taken = [];
          this.finish(group); // reports them
          continue;
        }
        taken = []; // the append below reports them
        this.writing = true;
        this.writingTo = group.at(-1)!.write.op;
        this.appending = group;
        this.host.home.appendAsync(batches, true, timestamps).then((result) => {
          this.writing = false;
          this.appending = [];
          if (this.stopped) {
            for (const h of group) reportDone(h, NOT_WRITTEN);
            return;
          }
          const lost = sendOps.find(({ index }) => result.refused[index] !== 0);
          for (const { op, index } of sendOps) {
            if (lost && op >= lost.op) break;
            const base = result.bases[index];
            const count = batchCount(batches[index]);
            this.results.set(op, { status: 0, baseOffset: base });
            if (op < this.cutPending) this.ends.push({ op, end: base + count }); // else replaced meanwhile (commit)
            const h = group.find((g) => g.write.op === op)!;
            this.remember(h, base, batches[index].length, count);
          }
          if (lost) {
            this.partlyWritten(group, lost.op, result.refused[lost.index]);
            return;
          }
          this.finish(group);
          this.host.appended();
          this.pump();
        }, (error: Error) => {
          this.writing = false;
          this.appending = [];
          this.fail(error);
          for (const h of group) reportDone(h, NOT_WRITTEN);
        });
        return;
      }
    } catch (error) {
      this.fail(error as Error);
      for (const h of taken) reportDone(h, NOT_WRITTEN); // taken from `held`, not written: reported, not dropped
    } finally {
      this.pumping = false;
    }
  }

  // The batch of a send op, checked: the primary's own (verified before it was proposed), or an attachment this
  // replica verified in full when it arrived (keep: frame and batch checksums) and matches against the length and
  // count the op binds.
  private checkedBatch(p: PrepareView): Uint8Array | null {
    const own = this.host.ownBatch(p);
    if (own) return own;
    const kept = this.attached.get(p.checksum);
    if (!kept) return null;
    const { batch, verdict } = kept;
    const d = new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength);
    if (batch.length !== d.getUint32(0, true) || batchCount(batch) !== d.getUint32(4, true)) {
      throw new PartitionReplicationError('PartitionBatchMismatch', `op ${p.op}: the attached batch (${batch.length} B, ${batchCount(batch)} messages) is not the one its prepare binds (${d.getUint32(0, true)} B, ${d.getUint32(4, true)} messages)`);
    }
    if (verdict !== CoreJournalBatch.BATCH_OK) throw new PartitionReplicationError('PartitionBatchRefused', `op ${p.op}: the attached batch fails its checksums (verdict ${verdict})`);
    return batch;
  }

  // The group's ops are written: each is reported durable (unless a replicated-mode backup voted already).
  private finish(group: Held[]): void {
    for (const h of group) {
      this.written = h.write.op;
      if (readPrepare(h.write.message).operation !== OP_SEND) this.remember(h, -1, 0, 0);
      if (h.write.op <= this.committed) this.forget(h.write.checksum);
    }
    if (this.cutPending !== Infinity) this.cutNow(); // a commit during the append replaced what it wrote
    // Writes that came for these ops while they were being appended, routed now: the same prepare (durable now), a
    // replacement (cut, then written in its place), or past what is written after a cut (held, appended in order).
    // Once a cut it could not make stopped it (stop() reported what it held), the rest are reported not written.
    for (const h of this.lateRewrites.splice(0)) {
      if (this.stopped) reportDone(h, NOT_WRITTEN);
      else if (h.write.op <= this.written) this.rewrite(h);
      else this.hold(h); // another write held for that op is reported, not dropped
    }
    if (!this.stopped) {
      this.advance();
      for (const h of group) {
        const answer = this.waiting.get(h.write.op);
        if (answer) { this.waiting.delete(h.write.op); this.whenWritten(h.write.op, answer); }
      }
    }
    // What is still in the files is written; an op a cut took after its append (a replacement routed above) is not.
    for (const h of group) reportDone(h, h.write.op <= this.written ? undefined : NOT_WRITTEN);
    for (const h of this.extraDone.splice(0)) reportDone(h); // empty once stopped (stop() reported them)
  }

  // The append wrote only the ops before `lost` (the device filled up on a later staging group, or a batch was
  // refused): those are durable and reported; the rest are never reported written. The group goes on without them on
  // this replica, so this replica's files stop here: the partition stops taking writes (as for a failed write), rather
  // than write its later batches at offsets no other replica gives them.
  private partlyWritten(group: Held[], first: number, verdict: number): void {
    const last = group.at(-1)!.write.op;
    const why = verdict === NO_SPACE_VERDICT ? 'no space left on the device' : `its batch was refused (verdict ${verdict})`;
    const code = verdict === NO_SPACE_VERDICT ? 'PartitionNoSpace' : 'PartitionBatchRefused';
    this.fail(new PartitionReplicationError(code, `ops ${first}..${last} were not written (${why}) and are not acknowledged by this replica, whose files cannot follow the group past op ${first - 1}: this partition stops taking writes`));
    for (const h of group) {
      if (h.write.op >= first) { reportDone(h, NOT_WRITTEN); continue; }
      this.written = h.write.op;
      if (readPrepare(h.write.message).operation !== OP_SEND) this.remember(h, -1, 0, 0);
      reportDone(h);
    }
    this.host.appended();
  }

  // A cut a commit asked for (see commit): now, or the partition stops.
  private cutNow(): void {
    const op = this.cutPending;
    this.cutPending = Infinity;
    if (op > this.written) return; // cut already (a replacement's write came first)
    if (!this.cutFrom(op)) this.fail(new PartitionReplicationError('PartitionOpReplaced', `op ${op} committed as another prepare than the one this replica wrote, which cannot be cut off (${this.cutRefused ?? 'an offset change among the ops to cut'}): this partition stops taking writes`));
  }

  // Cuts the written ops from `op` on off this replica's files (a view change replaced them; never committed:
  // Partition.cutBack refuses below the committed end). False when it cannot: an offset change among them, an op no
  // longer remembered, or the partition refuses.
  private cutFrom(op: number): boolean {
    let offset = this.host.home.partition.nextOffset;
    for (let o = this.written; o >= op; o--) {
      const r = this.recent.get(o);
      if (!r || r.operation === OP_STORE_OFFSET || r.operation === OP_DELETE_OFFSET) return false;
      if (r.operation === OP_SEND && r.base >= 0) offset = r.base;
    }
    const end = this.host.home.partition.nextOffset;
    try {
      this.host.home.partition.cutBack(offset);
      if (end > offset) log.warn(`${this.host.home.dir}: ops ${op}..${this.written} were replaced by a view change (never committed): their messages at offsets ${offset}..${end - 1} are cut off this replica's segment`);
    } catch (error) {
      this.cutRefused = (error as Error).message; // the partition stops, as for any replaced op it cannot undo
      return false;
    }
    for (let o = op; o <= this.written; o++) {
      this.recent.delete(o);
      this.results.delete(o);
    }
    this.dropEndsFrom(op);
    this.written = op - 1;
    this.writingTo = Math.min(this.writingTo, this.written);
    this.host.appended(); // its stats (end offset, message count) go down: published again
    // Ops the core counts durable may be among them (their prepare is canonical, whatever they were written on top
    // of): it must stop counting them, and ask their writes again.
    this.host.cut(op);
    return true;
  }

  // The checksum of the last written op's prepare: the parent the next op to write must name (null: unknown).
  private writtenChecksum(): bigint | null {
    return this.recent.get(this.written)?.checksum ?? (this.written === this.baseOp ? this.baseChecksum : null);
  }

  private remember(h: Held, base: number, length: number, count: number): void {
    const operation = readPrepare(h.write.message).operation;
    this.recent.set(h.write.op, { prepare: h.write.message, checksum: h.write.checksum, operation, base, length, count });
    this.recent.delete(h.write.op - RECENT_OPS);
  }

  // Written sends from `op` on will never commit (a view change replaced them): the committed end never passes them.
  private dropEndsFrom(op: number): void {
    while (this.ends.length > 0 && this.ends.at(-1)!.op >= op) this.ends.pop();
  }

  // Polls see the messages of every op that is both committed and written here.
  private advance(): void {
    while (this.ends.length > 0 && this.ends[0].op <= this.committed) {
      this.host.home.partition.committedEnd = this.ends.shift()!.end;
    }
    for (const op of this.results.keys()) if (op < this.committed - RECENT_OPS) this.results.delete(op); // a backup's: nobody asks
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.host.failed(error);
  }
}

// The send descriptor: [u32 batch length][u32 messages][u64 batch checksum][u64 append time µs (a cluster)].
export function sendTimestamp(descriptor: Uint8Array): number {
  return Number(new DataView(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength).getBigUint64(16, true));
}

function applyOffset(home: PartitionHome, p: PrepareView): void {
  const d = new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength);
  const kind = d.getUint8(0) as ConsumerKind;
  const id = d.getUint32(4, true);
  if (p.operation === OP_STORE_OFFSET) home.offsets.store(kind, id, Number(d.getBigUint64(8, true)));
  else home.offsets.delete(kind, id);
}

function offsetMap(offsets: ConsumerOffset[]): Map<string, ConsumerOffset> {
  return new Map(offsets.map((o) => [`${o.kind}:${o.id}`, { ...o }]));
}

// The committed offsets follow each committed offset op (applyOffset writes one when it is written, before it commits).
function applyCommittedOffset(offsets: Map<string, ConsumerOffset>, p: PrepareView): void {
  const d = new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength);
  const kind = d.getUint8(0) as ConsumerKind;
  const id = d.getUint32(4, true);
  if (p.operation === OP_STORE_OFFSET) offsets.set(`${kind}:${id}`, { kind, id, offset: Number(d.getBigUint64(8, true)) });
  else offsets.delete(`${kind}:${id}`);
}

function prepareParent(prepare: Uint8Array): bigint {
  return new DataView(prepare.buffer, prepare.byteOffset, HEADER_SIZE).getBigUint64(Prep.parent, true);
}

function changesFiles(operation: number): boolean {
  return operation === OP_SEND || operation === OP_STORE_OFFSET || operation === OP_DELETE_OFFSET;
}

function batchCount(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getUint32(CoreJournalBatch.B_COUNT, true);
}
