// Catching a partition's segments up from a peer (a cluster's partition group: the host's state transfer, as the
// core's state_sync.ts asks for it): which of the asking replica's stored batches are the peer's committed ones.
//
// A partition group's VSR state is not persisted: a replica that restarts with segments cannot tell which of its
// batches committed. Every batch that committed is the same on every replica (same bytes at the same offsets: the
// append time comes from the op), so the asker describes its last batches (TAIL_ENTRIES_MAX of them, more than the
// ops any replica can hold uncommitted) and the peer compares them with its own committed batches at the same
// offsets. The asker keeps the longest prefix that matches and cuts the rest, but only from a batch that differs:
// a batch that differs from the committed one at its offset never committed, and neither did any batch after it in
// that replica's log (an op commits only after every op before it, and a committed op is the same in every later
// view). Batches past the peer's committed end are cut only when the peer's log ends there too (otherwise they may be
// acknowledged ops the peer commits later): else the asker waits. Then the peer's committed batches from there on travel as StateChunk attachments.
// A peer whose retention removed the segments the asker's list starts in (a wiped replica, or one far behind)
// compares from its own first offset; the asker's batches below it are history the cluster no longer keeps, so when
// nothing from that offset on can be kept the asker starts its log again at the peer's first offset (TAIL_REBASE).
//
// An entry (TAIL_ENTRY_BYTES, little endian): base offset u64 | message count u32 | zero u32 | base timestamp u64 |
// batch checksum u64. The timestamp is the append time the op carried (chosen once by its primary): a batch a view
// change replaced differs in it even when a client sent the same bytes again.
export const TAIL_ENTRY_BYTES: u32 = 32;
export const TAIL_ENTRIES_MAX: u32 = 128;
export const E_BASE: u32 = 0;
export const E_COUNT: u32 = 8;
export const E_TIMESTAMP: u32 = 16;
export const E_CHECKSUM: u32 = 24;

// Verdicts of tailMatch (negative; otherwise the offset the asker keeps).
export const TAIL_BEHIND: i64 = -1; //    the peer's committed batches do not reach the asker's first listed one yet: ask again later
export const TAIL_DIVERGED: i64 = -2; //  the asker's first listed batch is not the peer's and its log goes back further: no common point is known
export const TAIL_REBASE: i64 = -3; //    the peer's log starts above what the asker can keep: the asker drops its batches and starts at the peer's first offset
export const TAIL_MALFORMED: i64 = -4; // the asker's list is not a run of its batches (gaps, empty batches, too long)
export const TAIL_TOO_LARGE: i64 = -5; // (the peer's host) its next batch is larger than a chunk carries (REPLICA_ATTACHMENT_MAX)

// `theirs`: the asker's last `n` batches in offset order; `fromStart`: they begin at the asker's first stored offset
// (it has no more than that); `theirEnd`: one past its last message (its first offset when it holds nothing).
// `ours`: the peer's committed batches from the one holding theirs[0]'s base (the asker's end when n is 0; the peer's
// first offset when that is below it), at most n of them; `ourFirst`, `ourEnd`: the peer's first offset and committed end.
// Returns the offset the asker keeps its batches up to (its batches from there on are cut), or a TAIL_* verdict.
// `ourLogEnds`: the peer's log holds no op past its committed end (nothing prepared and uncommitted): the asker's
// batches past that end then never committed (every committed op is in the log of the primary it asks) and are cut.
export function tailMatch(theirs: usize, n: u32, fromStart: bool, theirEnd: u64, ours: usize, m: u32, ourFirst: u64, ourEnd: u64, ourLogEnds: bool): i64 {
  if (n > TAIL_ENTRIES_MAX || !tailIsRun(theirs, n, theirEnd)) return TAIL_MALFORMED;
  const start = n == 0 ? theirEnd : base(theirs, 0);
  if (start < ourFirst) return belowOurFirst(theirs, n, ours, m, ourFirst, ourEnd, ourLogEnds);
  let matched: u32 = 0;
  while (matched < n && matched < m && same(theirs + matched * TAIL_ENTRY_BYTES, ours + matched * TAIL_ENTRY_BYTES)) matched++;
  // Every batch the peer has committed there matches, and the asker holds more: those may be ops it acknowledged that
  // commit later (the peer's commit lags the cluster's); cutting them could drop the last durable copy of a
  // committed op. The asker waits until the peer's committed batches reach them, or differ.
  if (matched < n && matched == m && !ourLogEnds) return TAIL_BEHIND;
  if (matched > 0) return <i64>end(theirs, matched - 1);
  // Nothing of the list matched (or it is empty): the asker keeps `start` only when nothing of its log precedes it
  // unseen, and the peer's committed batches reach it (until then, the asker's may be ones the peer commits later).
  if (start > ourEnd) return TAIL_BEHIND;
  if (n > 0 && !fromStart) return m == 0 ? TAIL_BEHIND : TAIL_DIVERGED;
  return <i64>start;
}

// The asker's list starts below the peer's first offset: retention removed what lay there (on the peer, and by the
// same append times soon on the asker too). Below `ourFirst` the peer holds nothing to compare with, but nothing there
// needs keeping either: `ourFirst <= ourEnd`, so every offset below it committed, and whatever the asker holds there
// (the committed batches or ones that never committed) is history retention has expired. So the comparison starts at
// the asker's batch at `ourFirst` (`ours` starts there); when nothing from there can be kept, the asker rebases.
function belowOurFirst(theirs: usize, n: u32, ours: usize, m: u32, ourFirst: u64, ourEnd: u64, ourLogEnds: bool): i64 {
  if (ourFirst > ourEnd) return TAIL_BEHIND; // the peer has not committed up to its own first offset (it rebased itself)
  let j: u32 = 0; // the asker's first batch that reaches `ourFirst`
  while (j < n && end(theirs, j) <= ourFirst) j++;
  // Everything the asker holds lies below the peer's log (a wiped replica holds nothing): all of it committed offsets.
  if (j == n) return TAIL_REBASE;
  if (base(theirs, j) != ourFirst) {
    // Its batch there straddles the peer's first offset, where the peer's log has a batch boundary: it differs from
    // the committed batch (when the peer committed one there), so neither it nor any after it committed.
    return m > 0 || ourLogEnds ? TAIL_REBASE : TAIL_BEHIND;
  }
  let matched: u32 = 0;
  while (j + matched < n && matched < m && same(theirs + (j + matched) * TAIL_ENTRY_BYTES, ours + matched * TAIL_ENTRY_BYTES)) matched++;
  if (j + matched < n && matched == m && !ourLogEnds) return TAIL_BEHIND; // as in tailMatch: they may commit later
  if (matched > 0) return <i64>end(theirs, j + matched - 1);
  return TAIL_REBASE; // its batch at the peer's first offset is not the committed one
}

// Each batch starts where the one before it ends, holds at least one message, and the last ends at `theirEnd`.
export function tailIsRun(list: usize, n: u32, theirEnd: u64): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(list + i * TAIL_ENTRY_BYTES + E_COUNT) == 0) return false;
    if (i > 0 && base(list, i) != end(list, i - 1)) return false;
  }
  return n == 0 || end(list, n - 1) == theirEnd;
}

function same(a: usize, b: usize): bool {
  return load<u64>(a + E_BASE) == load<u64>(b + E_BASE) && load<u32>(a + E_COUNT) == load<u32>(b + E_COUNT)
    && load<u64>(a + E_TIMESTAMP) == load<u64>(b + E_TIMESTAMP) && load<u64>(a + E_CHECKSUM) == load<u64>(b + E_CHECKSUM);
}

function base(list: usize, i: u32): u64 {
  return load<u64>(list + i * TAIL_ENTRY_BYTES + E_BASE);
}

function end(list: usize, i: u32): u64 {
  return base(list, i) + <u64>load<u32>(list + i * TAIL_ENTRY_BYTES + E_COUNT);
}
