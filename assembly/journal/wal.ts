// PrepareJournal index and recovery decisions for the metadata WAL (`metadata/journal.wal`).
//
// File: [file header: 4 KiB][header slots: slot_count × 256 B][log: prepares appended back to back, header + body].
// The file header (magic, version, slot_count, max entry, XXH3) makes the layout self-describing: a journal opened
// with another slot count is refused instead of being misread (and its log mistaken for a torn tail).
// A group of prepares is appended to the log and fsynced (the acknowledgement); only after that fsync are their
// headers copied into their slots (slot = op % slot_count; the host writes them with the next group, under the next
// fsync). So a valid slot header proves its prepare was durable: on boot a bad log record whose op a slot header
// claims is corruption (refuse), and a bad record no slot header claims is a torn tail (truncate, or fail if
// configured). Never a silent skip. The price of one fsync per group: bit rot in the last group before a crash,
// whose headers were not yet durable, is indistinguishable from a torn tail.
//
// All state lives in a host-given region (walRegionBytes); functions take its address first.
import {
  H_CHECKSUM, H_OP, H_PARENT, PREPARE_HEADER, PREPARE_OK, isZero, prepareCheckBody, prepareCheckHeader,
} from "./prepare";
import { xxh3_64 } from "../checksum/xxh3";

const R_SLOTS: usize = 0;
const R_POISONED: usize = 4;
const R_MAX_ENTRY: usize = 8;
const R_HAS: usize = 12;
const R_LAST_OP: usize = 16;
const R_SNAPSHOT_OP: usize = 24;
const R_END: usize = 32;
const R_LAST_SUM: usize = 40;
const R_PHASE: usize = 48;
const R_VERDICT: usize = 52;
const R_SCAN_POS: usize = 56;
const R_FILE_SIZE: usize = 64;
const R_REASON: usize = 72;
const R_FAIL_OP_KNOWN: usize = 76;
const R_FAIL_OP: usize = 80;
const R_STOP_AT: usize = 88;
const R_FIRST_OP: usize = 96;
const R_WANT: usize = 104;
const R_FAILED: usize = 108;
const R_HEADER: usize = 128;

// Per slot (64 B): what the log holds for it and what its redundant header says.
const S_LOG_OP: usize = 0;
const S_LOG_OFFSET: usize = 8;
const S_LOG_SIZE: usize = 16;
const S_LOG_STATE: usize = 20;
const S_LOG_SUM: usize = 24;
const S_HDR_OP: usize = 32;
const S_HDR_STATE: usize = 40;
const S_HDR_SUM: usize = 48;
const S_STATE: usize = 56;
const SLOT: usize = 64;

// Slot states. Log/header states use EMPTY, VALID, CORRUPT, PENDING (appended, not yet durable).
export const SLOT_EMPTY: u32 = 0;
export const SLOT_VALID: u32 = 1;
export const SLOT_TORN: u32 = 2;
export const SLOT_CORRUPT: u32 = 3;
export const SLOT_MISSING: u32 = 4;
export const SLOT_PENDING: u32 = 5;

// Boot verdicts.
export const WAL_CLEAN: u32 = 0;
export const WAL_TRUNCATE: u32 = 1; // torn tail at walStopAt: truncate (or fail if so configured)
export const WAL_FAIL: u32 = 2; // a durable prepare is damaged or missing: refuse to boot

// Why the log scan stopped early (walReason); values 1..5 are prepare.ts header/body verdicts.
export const REASON_NONE: u32 = 0;
export const REASON_SHORT_TAIL: u32 = 16; // fewer than 256 bytes left
export const REASON_TORN_ENTRY: u32 = 17; // a valid header whose entry runs past the end of the file
export const REASON_PARENT: u32 = 18; // parent checksum does not chain to the previous op
export const REASON_OP_ORDER: u32 = 19; // op not exactly previous + 1
export const REASON_SHORT_FILE: u32 = 20; // file shorter than its header slots

// Append errors.
export const APPEND_OK: u32 = 0;
export const APPEND_POISONED: u32 = 1;
export const APPEND_SLOT_BUSY: u32 = 2; // the slot holds an op not yet covered by a snapshot
export const APPEND_OP_ORDER: u32 = 3;
export const APPEND_PARENT: u32 = 4;
export const APPEND_BAD_PREPARE: u32 = 5;

const PHASE_HEADER: u32 = 0;
const PHASE_ENTRY: u32 = 1;
const PHASE_DONE: u32 = 2;

export const WAL_FILE_HEADER: u32 = 4096;
const WAL_MAGIC: u32 = 0x4c415753; // "SWAL"
const WAL_VERSION: u32 = 1;

// Writes the 4 KiB file header at `p`: magic | version | slot_count | max_entry | zeros | XXH3-64 of bytes 0..4088.
export function walFileHeaderSeal(p: usize, slotCount: u32, maxEntry: u32): void {
  memory.fill(p, 0, WAL_FILE_HEADER);
  store<u32>(p, WAL_MAGIC);
  store<u32>(p + 4, WAL_VERSION);
  store<u32>(p + 8, slotCount);
  store<u32>(p + 12, maxEntry);
  store<u64>(p + WAL_FILE_HEADER - 8, xxh3_64(p, WAL_FILE_HEADER - 8));
}

// The slot count a file header declares, or 0 when the header is not valid (damaged, or not a journal).
export function walFileHeaderSlots(p: usize): u32 {
  if (load<u32>(p) != WAL_MAGIC || load<u32>(p + 4) != WAL_VERSION) return 0;
  if (xxh3_64(p, WAL_FILE_HEADER - 8) != load<u64>(p + WAL_FILE_HEADER - 8)) return 0;
  return load<u32>(p + 8);
}

export function walRegionBytes(slotCount: u32): u32 {
  return <u32>R_HEADER + slotCount * <u32>SLOT;
}

export function walInit(r: usize, slotCount: u32, maxEntry: u32): void {
  memory.fill(r, 0, walRegionBytes(slotCount));
  store<u32>(r + R_SLOTS, slotCount);
  store<u32>(r + R_MAX_ENTRY, maxEntry);
  store<u64>(r + R_END, logStart(r));
}

export function walLogStart(r: usize): f64 {
  return <f64>logStart(r);
}

// Boot, step 1: classify every redundant header slot (`p` = the slot_count × 256 bytes after the file header).
export function walLoadSlots(r: usize, p: usize): void {
  const n = slots(r);
  const maxEntry = load<u32>(r + R_MAX_ENTRY);
  for (let i: u32 = 0; i < n; i++) {
    const h = p + (<usize>i) * PREPARE_HEADER;
    const s = slot(r, i);
    store<u32>(s + S_HDR_STATE, SLOT_EMPTY);
    if (isZero(h, PREPARE_HEADER)) continue;
    const op = load<u64>(h + H_OP);
    if (prepareCheckHeader(h, maxEntry) != PREPARE_OK || <u32>(op % <u64>n) != i) {
      store<u32>(s + S_HDR_STATE, SLOT_CORRUPT);
      continue;
    }
    store<u64>(s + S_HDR_OP, op);
    store<u64>(s + S_HDR_SUM, load<u64>(h + H_CHECKSUM));
    store<u32>(s + S_HDR_STATE, SLOT_VALID);
  }
}

// Boot, step 2: walk the log. Loop { want = walScanWant(r); if 0 break; read `want` bytes at walScanPos(r); feed }.
export function walScanBegin(r: usize, fileSize: f64): void {
  const n = slots(r);
  for (let i: u32 = 0; i < n; i++) {
    const s = slot(r, i);
    store<u32>(s + S_LOG_STATE, SLOT_EMPTY);
    store<u32>(s + S_STATE, SLOT_EMPTY);
  }
  store<u32>(r + R_HAS, 0);
  store<u32>(r + R_FAILED, 0);
  store<u32>(r + R_REASON, REASON_NONE);
  store<u32>(r + R_FAIL_OP_KNOWN, 0);
  store<u64>(r + R_FILE_SIZE, <u64>fileSize);
  store<u64>(r + R_SCAN_POS, logStart(r));
  store<u32>(r + R_PHASE, PHASE_HEADER);
  if (<u64>fileSize < logStart(r)) {
    failScan(r, logStart(r), REASON_SHORT_FILE);
    finish(r);
  }
}

export function walScanPos(r: usize): f64 {
  return <f64>load<u64>(r + R_SCAN_POS);
}

export function walScanWant(r: usize): u32 {
  const phase = load<u32>(r + R_PHASE);
  if (phase == PHASE_DONE) return 0;
  if (phase == PHASE_ENTRY) return load<u32>(r + R_WANT);
  const pos = load<u64>(r + R_SCAN_POS);
  const size = load<u64>(r + R_FILE_SIZE);
  if (pos == size) { finish(r); return 0; }
  if (size - pos < <u64>PREPARE_HEADER) { failScan(r, pos, REASON_SHORT_TAIL); finish(r); return 0; }
  return PREPARE_HEADER;
}

export function walScanFeed(r: usize, p: usize, len: u32): void {
  const pos = load<u64>(r + R_SCAN_POS);
  const phase = load<u32>(r + R_PHASE);
  if (phase == PHASE_HEADER) {
    const verdict = prepareCheckHeader(p, load<u32>(r + R_MAX_ENTRY));
    if (verdict != PREPARE_OK) { failScan(r, pos, verdict); finish(r); return; }
    const size = load<u32>(p + 48);
    if (<u64>size > load<u64>(r + R_FILE_SIZE) - pos) {
      failOp(r, load<u64>(p + H_OP));
      failScan(r, pos, REASON_TORN_ENTRY);
      finish(r);
      return;
    }
    store<u32>(r + R_WANT, size);
    store<u32>(r + R_PHASE, PHASE_ENTRY);
    return;
  }
  // PHASE_ENTRY: the whole entry, header included.
  const op = load<u64>(p + H_OP);
  // The header is checked again: these bytes were read anew and must be what was verified a moment ago.
  let verdict = prepareCheckHeader(p, load<u32>(r + R_MAX_ENTRY));
  if (verdict == PREPARE_OK) {
    verdict = prepareCheckBody(p);
    if (verdict != PREPARE_OK) failOp(r, op); // the header (and so the op) is trustworthy; the body is not
  }
  if (verdict != PREPARE_OK) {
    failScan(r, pos, verdict);
    finish(r);
    return;
  }
  if (load<u32>(r + R_HAS) != 0) {
    const last = load<u64>(r + R_LAST_OP);
    if (op != last + 1) { failOp(r, op); failScan(r, pos, REASON_OP_ORDER); finish(r); return; }
    if (load<u64>(p + H_PARENT) != load<u64>(r + R_LAST_SUM)) { failOp(r, op); failScan(r, pos, REASON_PARENT); finish(r); return; }
  } else {
    store<u64>(r + R_FIRST_OP, op);
  }
  record(r, op, pos, len, load<u64>(p + H_CHECKSUM), SLOT_VALID);
  store<u64>(r + R_SCAN_POS, pos + <u64>len);
  store<u32>(r + R_PHASE, PHASE_HEADER);
}

// Combines what the slots say with what the log holds into one state per slot and the boot verdict.
function finish(r: usize): void {
  store<u32>(r + R_PHASE, PHASE_DONE);
  const n = slots(r);
  const failed = load<u32>(r + R_FAILED) != 0;
  const failKnown = load<u32>(r + R_FAIL_OP_KNOWN) != 0;
  const badOp = load<u64>(r + R_FAIL_OP);
  const snapshotOp = load<u64>(r + R_SNAPSHOT_OP);
  let fatal = false;
  for (let i: u32 = 0; i < n; i++) {
    const s = slot(r, i);
    let state = SLOT_EMPTY;
    const hdr = load<u32>(s + S_HDR_STATE);
    const logValid = load<u32>(s + S_LOG_STATE) == SLOT_VALID;
    const hdrOp = load<u64>(s + S_HDR_OP);
    if (hdr == SLOT_VALID && hdrOp > snapshotOp && (!logValid || hdrOp > load<u64>(s + S_LOG_OP))) {
      // Durable by the slot protocol, yet not in the log: damaged if the log has a bad record, else gone.
      state = failed ? SLOT_CORRUPT : SLOT_MISSING;
      store<u64>(s + S_LOG_OP, hdrOp);
    } else if (logValid) {
      state = SLOT_VALID;
    } else if (hdr == SLOT_CORRUPT && failed) {
      // A damaged header next to a damaged log: the tail can no longer be proven torn.
      state = SLOT_CORRUPT;
    } else if (failed && failKnown && <u32>(badOp % <u64>n) == i) {
      state = SLOT_TORN;
      store<u64>(s + S_LOG_OP, badOp);
    }
    if (state == SLOT_CORRUPT || state == SLOT_MISSING) fatal = true;
    store<u32>(s + S_STATE, state);
  }
  store<u32>(r + R_VERDICT, fatal ? WAL_FAIL : failed ? WAL_TRUNCATE : WAL_CLEAN);
  if (!fatal) store<u64>(r + R_END, failed ? load<u64>(r + R_STOP_AT) : load<u64>(r + R_FILE_SIZE));
}

export function walVerdict(r: usize): u32 { return load<u32>(r + R_VERDICT); }
export function walReason(r: usize): u32 { return load<u32>(r + R_REASON); }
export function walStopAt(r: usize): f64 { return <f64>load<u64>(r + R_STOP_AT); }
export function walSlotState(r: usize, i: u32): u32 { return load<u32>(slot(r, i) + S_STATE); }
export function walSlotOp(r: usize, i: u32): f64 { return <f64>load<u64>(slot(r, i) + S_LOG_OP); }
export function walSlotOffset(r: usize, i: u32): f64 { return <f64>load<u64>(slot(r, i) + S_LOG_OFFSET); }
export function walSlotSize(r: usize, i: u32): u32 { return load<u32>(slot(r, i) + S_LOG_SIZE); }
export function walSlotHeaderState(r: usize, i: u32): u32 { return load<u32>(slot(r, i) + S_HDR_STATE); }
export function walSlotCount(r: usize): u32 { return slots(r); }
export function walHasEntries(r: usize): bool { return load<u32>(r + R_HAS) != 0; }
export function walFirstOp(r: usize): f64 { return <f64>load<u64>(r + R_FIRST_OP); }
export function walLastOp(r: usize): f64 { return <f64>load<u64>(r + R_LAST_OP); }
export function walSnapshotOp(r: usize): f64 { return <f64>load<u64>(r + R_SNAPSHOT_OP); }
export function walEnd(r: usize): f64 { return <f64>load<u64>(r + R_END); }
export function walPoison(r: usize): void { store<u32>(r + R_POISONED, 1); }
export function walPoisoned(r: usize): bool { return load<u32>(r + R_POISONED) != 0; }

// After a clean or truncated boot: does this slot's redundant header need rewriting from its (valid) log entry?
export function walSlotNeedsHeader(r: usize, i: u32): bool {
  const s = slot(r, i);
  if (load<u32>(s + S_STATE) != SLOT_VALID) return false;
  return load<u32>(s + S_HDR_STATE) != SLOT_VALID || load<u64>(s + S_HDR_SUM) != load<u64>(s + S_LOG_SUM);
}

// Slot headers no valid entry backs (a truncated torn tail's): must be zeroed before appending over them.
export function walSlotNeedsClear(r: usize, i: u32): bool {
  const s = slot(r, i);
  return load<u32>(s + S_STATE) != SLOT_VALID && load<u32>(s + S_HDR_STATE) != SLOT_EMPTY;
}

export function walHeaderRepaired(r: usize, i: u32): void {
  const s = slot(r, i);
  if (load<u32>(s + S_STATE) == SLOT_VALID) {
    store<u32>(s + S_HDR_STATE, SLOT_VALID);
    store<u64>(s + S_HDR_OP, load<u64>(s + S_LOG_OP));
    store<u64>(s + S_HDR_SUM, load<u64>(s + S_LOG_SUM));
  } else {
    store<u32>(s + S_HDR_STATE, SLOT_EMPTY);
    store<u32>(s + S_STATE, SLOT_EMPTY);
  }
}

// Slot of `op` if the journal holds it (valid or pending), else -1.
export function walFind(r: usize, op: f64): i32 {
  const i = <u32>(<u64>op % <u64>slots(r));
  const s = slot(r, i);
  const state = load<u32>(s + S_LOG_STATE);
  if ((state == SLOT_VALID || state == SLOT_PENDING) && load<u64>(s + S_LOG_OP) == <u64>op) return <i32>i;
  return -1;
}

// Append, step 1 (before any write): checks a sealed prepare at `p` and reserves its place at walEnd.
export function walAppend(r: usize, p: usize): u32 {
  if (load<u32>(r + R_POISONED) != 0) return APPEND_POISONED;
  if (prepareCheckHeader(p, load<u32>(r + R_MAX_ENTRY)) != PREPARE_OK || prepareCheckBody(p) != PREPARE_OK) return APPEND_BAD_PREPARE;
  const op = load<u64>(p + H_OP);
  const has = load<u32>(r + R_HAS) != 0;
  if (has && op != load<u64>(r + R_LAST_OP) + 1) return APPEND_OP_ORDER;
  if (!has && op <= load<u64>(r + R_SNAPSHOT_OP) && load<u64>(r + R_SNAPSHOT_OP) != 0) return APPEND_OP_ORDER;
  if (has && load<u64>(p + H_PARENT) != load<u64>(r + R_LAST_SUM)) return APPEND_PARENT;
  const s = slot(r, <u32>(op % <u64>slots(r)));
  const state = load<u32>(s + S_LOG_STATE);
  // Never evict an entry a snapshot does not cover yet.
  if ((state == SLOT_VALID || state == SLOT_PENDING) && load<u64>(s + S_LOG_OP) > load<u64>(r + R_SNAPSHOT_OP)) return APPEND_SLOT_BUSY;
  if (!has) store<u64>(r + R_FIRST_OP, op);
  const size = load<u32>(p + 48);
  record(r, op, load<u64>(r + R_END), size, load<u64>(p + H_CHECKSUM), SLOT_PENDING);
  store<u64>(r + R_END, load<u64>(r + R_END) + <u64>size);
  return APPEND_OK;
}

// Append, step 2: the log write of every op ≤ `op` is fsynced (their headers are written next).
export function walAppendDurable(r: usize, op: f64): void {
  const n = slots(r);
  for (let i: u32 = 0; i < n; i++) {
    const s = slot(r, i);
    if (load<u32>(s + S_LOG_STATE) == SLOT_PENDING && load<u64>(s + S_LOG_OP) <= <u64>op) {
      store<u32>(s + S_LOG_STATE, SLOT_VALID);
      store<u32>(s + S_STATE, SLOT_VALID);
      store<u32>(s + S_HDR_STATE, SLOT_VALID);
      store<u64>(s + S_HDR_OP, load<u64>(s + S_LOG_OP));
      store<u64>(s + S_HDR_SUM, load<u64>(s + S_LOG_SUM));
    }
  }
}

// Slots free before the next checkpoint must happen.
export function walRemaining(r: usize): u32 {
  if (load<u32>(r + R_HAS) == 0) return slots(r);
  const used = load<u64>(r + R_LAST_OP) - load<u64>(r + R_SNAPSHOT_OP);
  return used >= <u64>slots(r) ? 0 : slots(r) - <u32>used;
}

export function walSetSnapshotOp(r: usize, op: f64): bool {
  if (<u64>op < load<u64>(r + R_SNAPSHOT_OP)) return false;
  store<u64>(r + R_SNAPSHOT_OP, <u64>op);
  return true;
}

// Drain, last step: the rewritten file (live ops > upTo, packed from the log start, their headers in their slots) is
// renamed over the journal, the directory fsynced and the file reopened. Only now do the index and snapshot_op move.
export function walDrainCommit(r: usize, upTo: f64): void {
  const n = slots(r);
  const limit = <u64>upTo;
  let end = logStart(r);
  const has = load<u32>(r + R_HAS) != 0;
  if (has) {
    const first = load<u64>(r + R_FIRST_OP);
    const last = load<u64>(r + R_LAST_OP);
    for (let op = first; op <= last; op++) {
      const s = slot(r, <u32>(op % <u64>n));
      if (load<u64>(s + S_LOG_OP) != op) continue; // its slot was reused by a later op
      if (op <= limit) {
        store<u32>(s + S_LOG_STATE, SLOT_EMPTY);
        store<u32>(s + S_STATE, SLOT_EMPTY);
        store<u32>(s + S_HDR_STATE, SLOT_EMPTY);
        continue;
      }
      store<u64>(s + S_LOG_OFFSET, end);
      end += <u64>load<u32>(s + S_LOG_SIZE);
    }
    if (last <= limit) store<u32>(r + R_HAS, 0);
    else if (first <= limit) store<u64>(r + R_FIRST_OP, limit + 1);
  }
  store<u64>(r + R_END, end);
  if (limit > load<u64>(r + R_SNAPSHOT_OP)) store<u64>(r + R_SNAPSHOT_OP, limit);
}

// View-change truncation: forget ops ≥ `op` and return the file offset the log must be cut at (-1: nothing to cut).
// The host zeroes their slot headers and fsyncs first, then cuts the log: a crash in between leaves complete,
// unclaimed entries, i.e. the old state, never headers claiming entries that are gone.
export function walTruncateFrom(r: usize, op: f64): f64 {
  if (load<u32>(r + R_HAS) == 0) return -1;
  const from = <u64>op;
  const first = load<u64>(r + R_FIRST_OP);
  const last = load<u64>(r + R_LAST_OP);
  if (from > last) return -1;
  const start = from < first ? first : from;
  const n = slots(r);
  const cut = load<u64>(slot(r, <u32>(start % <u64>n)) + S_LOG_OFFSET);
  for (let o = start; o <= last; o++) {
    const s = slot(r, <u32>(o % <u64>n));
    if (load<u64>(s + S_LOG_OP) != o) continue;
    store<u32>(s + S_LOG_STATE, SLOT_EMPTY);
    store<u32>(s + S_STATE, SLOT_EMPTY);
    store<u32>(s + S_HDR_STATE, SLOT_EMPTY);
  }
  if (start == first) {
    store<u32>(r + R_HAS, 0);
  } else {
    store<u64>(r + R_LAST_OP, start - 1);
    store<u64>(r + R_LAST_SUM, load<u64>(slot(r, <u32>((start - 1) % <u64>n)) + S_LOG_SUM));
  }
  store<u64>(r + R_END, cut);
  return <f64>cut;
}

function record(r: usize, op: u64, offset: u64, size: u32, sum: u64, state: u32): void {
  const s = slot(r, <u32>(op % <u64>slots(r)));
  store<u64>(s + S_LOG_OP, op);
  store<u64>(s + S_LOG_OFFSET, offset);
  store<u32>(s + S_LOG_SIZE, size);
  store<u32>(s + S_LOG_STATE, state);
  store<u64>(s + S_LOG_SUM, sum);
  store<u32>(s + S_STATE, state);
  store<u32>(r + R_HAS, 1);
  store<u64>(r + R_LAST_OP, op);
  store<u64>(r + R_LAST_SUM, sum);
}

function failScan(r: usize, at: u64, reason: u32): void {
  store<u32>(r + R_FAILED, 1);
  store<u64>(r + R_STOP_AT, at);
  store<u32>(r + R_REASON, reason);
}

function failOp(r: usize, op: u64): void {
  store<u32>(r + R_FAIL_OP_KNOWN, 1);
  store<u64>(r + R_FAIL_OP, op);
}

// @ts-ignore: decorator
@inline function slots(r: usize): u32 {
  return load<u32>(r + R_SLOTS);
}

// @ts-ignore: decorator
@inline function logStart(r: usize): u64 {
  return <u64>WAL_FILE_HEADER + <u64>load<u32>(r + R_SLOTS) * <u64>PREPARE_HEADER;
}

// @ts-ignore: decorator
@inline function slot(r: usize, i: u32): usize {
  return r + R_HEADER + (<usize>i) * SLOT;
}
