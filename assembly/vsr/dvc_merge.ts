// Merging a quorum of DoViewChange messages into the new view's log (after Iggy's dvc_merge.rs).
// For every op that might be uncommitted: keep it or discard it? Discarding needs proof: a nack quorum (enough
// replicas saying they never prepared it that no replication quorum can have formed). Without proof the op is
// kept, and if nobody offers its header or body the view does not start: a stall is visible and recoverable,
// a lost committed op is neither.
import { HEADER_SIZE, MESSAGE_MAX, PIPELINE_MAX, SUFFIX_HEADERS_MAX } from "./constants";
import { D_COMMIT, D_COUNT, D_JOURNAL_HEAD, D_LOG_VIEW, D_NACK, D_OP, D_PRESENT, H_CHECKSUM, P_COMMIT, P_OP, P_PARENT, prepareChecksum } from "./header";

export const MERGE_AWAITING: u32 = 0; //  more DVCs could still decide an undecided op
export const MERGE_DEADLOCK: u32 = 1; //  every replica reported and an op is still undecidable
export const MERGE_READY: u32 = 2;

export class MergeResult {
  outcome: u32 = MERGE_AWAITING;
  opHead: u64 = 0;
  commitMax: u64 = 0;
  undecidedOp: u64 = 0;
  // headers[i] = address of the chosen header for op opHead - i (inside a stored DVC), or 0 if none is known
  // (only possible at or below commitMax, where the op is committed and repair fetches it certified).
  headers: StaticArray<usize> = new StaticArray<usize>(SUFFIX_HEADERS_MAX);
  headerCount: u32 = 0;

  // As constructed (a reused replica).
  reset(): void {
    this.outcome = MERGE_AWAITING;
    this.opHead = 0;
    this.commitMax = 0;
    this.undecidedOp = 0;
    memory.fill(changetype<usize>(this.headers), 0, <usize>SUFFIX_HEADERS_MAX * sizeof<usize>());
    this.headerCount = 0;
  }
}

// @ts-ignore: decorator
@inline function dvcAt(store: usize, sender: u32): usize {
  return store + <usize>sender * MESSAGE_MAX;
}

// The header a DVC reports for `op`, if it reports a valid one.
export function dvcHeader(dvc: usize, op: u64): usize {
  const head = load<u64>(dvc + D_OP);
  if (op == 0 || op > head || head - op >= <u64>load<u32>(dvc + D_COUNT)) return 0;
  const header = dvc + HEADER_SIZE + <usize>(head - op) * HEADER_SIZE;
  if (load<u64>(header + P_OP) != op) return 0;
  const checksum = load<u64>(header + H_CHECKSUM);
  if (checksum == 0 || prepareChecksum(header) != checksum) return 0;
  return header;
}

function dvcCovers(dvc: usize, op: u64): bool {
  const head = load<u64>(dvc + D_OP);
  return op <= head && head - op < <u64>load<u32>(dvc + D_COUNT);
}

function dvcBit(dvc: usize, field: usize, op: u64): bool {
  return ((load<u64>(dvc + field) >> (load<u64>(dvc + D_OP) - op)) & 1) != 0;
}

// Highest op the quorum proves committed: each sender's commit, the commit its head prepare carries, and its head
// minus the pipeline (nothing further back can still be in flight).
function mergeCommitMax(store: usize, senders: u32, replicas: u32): u64 {
  let commitMax: u64 = 0;
  for (let r: u32 = 0; r < replicas; r++) {
    if (!(senders & (1 << r))) continue;
    const dvc = dvcAt(store, r);
    const op = load<u64>(dvc + D_OP);
    commitMax = max(commitMax, min(load<u64>(dvc + D_COMMIT), op));
    if (op > <u64>PIPELINE_MAX) commitMax = max(commitMax, op - PIPELINE_MAX);
    const head = dvcHeader(dvc, op);
    if (head != 0) commitMax = max(commitMax, load<u64>(head + P_COMMIT));
  }
  return commitMax;
}

// Canonical header at `op`: what the senders at the highest log_view hold. Disagreement among them = 1 (conflict).
let canonicalConflict = false;
function canonicalHeader(store: usize, senders: u32, replicas: u32, logView: u32, op: u64): usize {
  canonicalConflict = false;
  let chosen: usize = 0;
  for (let r: u32 = 0; r < replicas; r++) {
    if (!(senders & (1 << r))) continue;
    const dvc = dvcAt(store, r);
    if (load<u32>(dvc + D_LOG_VIEW) != logView) continue;
    const header = dvcHeader(dvc, op);
    if (header == 0) continue;
    if (chosen == 0) chosen = header;
    else if (load<u64>(chosen + H_CHECKSUM) != load<u64>(header + H_CHECKSUM)) canonicalConflict = true;
  }
  return chosen;
}

// Does the log of some sender at the canonical log_view reach `op`? If so, `op` is inside the newest log even
// when nobody there holds it (a write lost in a crash, a corrupt or unconfirmed copy): the absence of a canonical
// header then proves nothing about truncation.
function canonicalReaches(store: usize, senders: u32, replicas: u32, logView: u32, op: u64): bool {
  for (let r: u32 = 0; r < replicas; r++) {
    if (!(senders & (1 << r))) continue;
    const dvc = dvcAt(store, r);
    if (load<u32>(dvc + D_LOG_VIEW) != logView) continue;
    if (load<u64>(dvc + D_OP) >= op || op <= load<u64>(dvc + D_JOURNAL_HEAD)) return true;
  }
  return false;
}

// Any sender that reports `op` committed (op <= its commit) with a valid header. Used below the commit point.
function committedHeader(store: usize, senders: u32, replicas: u32, op: u64): usize {
  for (let r: u32 = 0; r < replicas; r++) {
    if (!(senders & (1 << r))) continue;
    const dvc = dvcAt(store, r);
    if (op > load<u64>(dvc + D_COMMIT)) continue;
    const header = dvcHeader(dvc, op);
    if (header != 0) return header;
  }
  return 0;
}

export function mergeDvcQuorum(
  store: usize, senders: u32, replicas: u32, quorumNack: u32, result: MergeResult,
): void {
  const received = <u32>popcnt(senders);
  let logView: u32 = 0;
  for (let r: u32 = 0; r < replicas; r++) {
    if (senders & (1 << r)) logView = max(logView, load<u32>(dvcAt(store, r) + D_LOG_VIEW));
  }
  const commitMax = mergeCommitMax(store, senders, replicas);
  let opHeadMax = commitMax;
  for (let r: u32 = 0; r < replicas; r++) {
    if (!(senders & (1 << r))) continue;
    const dvc = dvcAt(store, r);
    if (load<u32>(dvc + D_LOG_VIEW) == logView) opHeadMax = max(opHeadMax, load<u64>(dvc + D_OP));
  }

  result.commitMax = commitMax;
  result.outcome = MERGE_READY;
  let opHead = opHeadMax;
  for (let op = commitMax + 1; op <= opHeadMax; op++) {
    const canonical = canonicalHeader(store, senders, replicas, logView, op);
    const conflict = canonicalConflict;
    const reached = canonicalReaches(store, senders, replicas, logView, op);
    let copies: u32 = 0;
    let nacks: u32 = 0;
    for (let r: u32 = 0; r < replicas; r++) {
      if (!(senders & (1 << r))) continue;
      const dvc = dvcAt(store, r);
      if (load<u64>(dvc + D_OP) < op) { // its log stops below: never prepared it, unless its journal says otherwise
        if (op > load<u64>(dvc + D_JOURNAL_HEAD)) nacks++;
        continue;
      }
      if (!dvcCovers(dvc, op)) continue; //                     silence is not a nack
      const held = dvcHeader(dvc, op);
      if (held != 0 && canonical != 0 && dvcBit(dvc, D_PRESENT, op)
        && load<u64>(held + H_CHECKSUM) == load<u64>(canonical + H_CHECKSUM)) copies++;
      if (dvcBit(dvc, D_NACK, op)) {
        nacks++;
      } else if (held != 0 && load<u32>(dvc + D_LOG_VIEW) < logView) {
        // Only a sender behind the canonical log_view nacks implicitly by holding something else: another
        // prepare than the canonical one, or one beyond the end of every canonical log, which a newer view
        // truncated. (Iggy's rule also counts "no canonical sender holds it"; after a crash that loses a new
        // primary's unfinished repair writes that would truncate a committed op: found by swarm seed 120366.)
        if (canonical != 0 ? load<u64>(held + H_CHECKSUM) != load<u64>(canonical + H_CHECKSUM) : !reached) nacks++;
      }
    }
    if (nacks >= quorumNack) {
      opHead = op - 1; // proved never committed: truncate here (and everything above)
      break;
    }
    if (canonical == 0 || conflict || copies == 0) {
      result.undecidedOp = op;
      result.outcome = received < replicas ? MERGE_AWAITING : MERGE_DEADLOCK;
      return;
    }
  }
  assert(opHead >= commitMax, "dvc merge: would truncate a committed op");

  // Headers high to low, hash-chained above the commit point.
  result.opHead = opHead;
  const count = <u32>min<u64>(opHead, <u64>SUFFIX_HEADERS_MAX);
  result.headerCount = count;
  let child: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    const op = opHead - i;
    let header = canonicalHeader(store, senders, replicas, logView, op);
    if (canonicalConflict) header = 0;
    if (header == 0 && op <= commitMax) header = committedHeader(store, senders, replicas, op);
    if (child != 0 && header != 0 && load<u64>(child + P_PARENT) != load<u64>(header + H_CHECKSUM)) {
      if (op > commitMax) {
        // Canonical senders agreed op by op but not on one history: refuse to install.
        result.undecidedOp = op;
        result.outcome = received < replicas ? MERGE_AWAITING : MERGE_DEADLOCK;
        return;
      }
      header = 0; // below the commit point: fetch it certified instead
    }
    assert(op <= commitMax || header != 0, "dvc merge: uncommitted op without a header");
    unchecked(result.headers[i] = header);
    child = header;
  }
}
