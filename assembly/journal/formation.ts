// Forming a partition's group again when the whole cluster restarted from its files (a power loss), and the
// replicas' files end at different batches: the primary writes a prepare before its backups do, and several are in
// flight, so after a crash no two replicas need hold the same files and none of them forms (state_sync.ts forms only
// from alike files). Which log do they form from, and which batches may go?
//
// A partition group's VSR state is not persisted, but every op that committed is a batch in the files of a majority
// (`persisted` durability: a replica acknowledges a prepare once its write is durable), and a replica holds every
// op before one it acknowledged (it appends in op order; a catch-up cuts only batches that never committed). Two
// logs that hold the same batch hold the same batches before it (a replica accepts an op only on top of the one it
// chains to). So the committed batches are a prefix of the common prefix of some majority's logs. Let M be the
// longest common prefix of any majority: it holds every committed batch (the majority that committed meets M's
// majority in a log that begins with both, and the committed prefix is no longer than M). Batches past M's end
// therefore never committed: a replica whose log begins with M cuts them, the majority that then holds exactly M
// forms (state_sync.ts), and the others catch up from it as usual.
//
// What a replica knows of another's log: its last FORMATION_TAIL_MAX batches (tail_match.ts's entries), sent with
// its Recovery. Two batches are the same when offset, count, append time and checksum are (a batch that differs in
// any of them is another op). The common prefix of two logs is known exactly when one's last batch is listed by the
// other (they are nested) or both list a batch they share (the last shared one ends it); otherwise only its upper
// bound, the shorter log's end, is. M is taken only when its upper bound over every majority is the proven one.
//
// A replica whose files may lack batches it acknowledged (its files were wiped, or it is catching up from a peer:
// the host marks it stale) sends no tail: without every replica's tail, nobody cuts.
import { E_BASE, E_CHECKSUM, E_COUNT, E_TIMESTAMP, TAIL_ENTRY_BYTES } from "./tail_match";

export const FORMATION_TAIL_MAX: u32 = 64; // more than PIPELINE_MAX: the ops a primary can have in flight
export const FORMATION_TAIL_BYTES: u32 = FORMATION_TAIL_MAX * TAIL_ENTRY_BYTES;
export const FORMATION_NONE: i64 = -1;

let witness: u32 = 0;
let pairLow: u64 = 0; //  pairBounds: the proven common prefix of two logs
let pairHigh: u64 = 0; // and its upper bound
let pairWitness: u32 = 0; // and which of the two lists the batch where it ends

// `tails`: replica i's list (its last counts[i] batches in offset order) at tails + i * FORMATION_TAIL_BYTES; `ends`:
// one past each replica's last message. Returns M's end (formationWitness() then names a replica whose log begins
// with M), or FORMATION_NONE when M is not proven.
export function formationPrefix(tails: usize, counts: usize, ends: usize, n: u32, quorum: u32): i64 {
  assert(n <= 8 && quorum >= 1 && quorum <= n, "formationPrefix: 1..8 replicas and a quorum among them");
  let best: i64 = FORMATION_NONE;
  let bestHigh: u64 = 0;
  for (let mask: u32 = 1; mask < (<u32>1 << n); mask++) {
    if (<u32>popcnt(mask) != quorum) continue;
    let low: u64 = u64.MAX_VALUE;
    let high: u64 = u64.MAX_VALUE;
    let by: u32 = 0; // a replica that lists the batch where `low` ends
    for (let a: u32 = 0; a < n; a++) {
      if (!(mask & (1 << a))) continue;
      for (let b: u32 = a; b < n; b++) {
        if (!(mask & (1 << b))) continue;
        pairBounds(tails, counts, ends, a, b);
        if (pairLow < low) { low = pairLow; by = pairWitness; }
        high = min(high, pairHigh);
      }
    }
    if (high > bestHigh) bestHigh = high;
    if (best == FORMATION_NONE || <i64>low > best) {
      best = <i64>low;
      witness = by;
    }
  }
  return bestHigh > <u64>best ? FORMATION_NONE : best;
}

// A replica whose log begins with the M formationPrefix last returned.
export function formationWitness(): u32 {
  return witness;
}

// Log i begins with the prefix of log `w` that ends at `end` (an end where one of w's listed batches ends, or 0).
export function formationHolds(tails: usize, counts: usize, i: u32, w: u32, end: u64): bool {
  if (end == 0 || i == w) return true;
  const mark = listed(tails, counts, w, end);
  return mark != 0 && findSame(tails, counts, i, mark) != 0;
}

// Log i begins with log j.
export function formationContains(tails: usize, counts: usize, ends: usize, i: u32, j: u32): bool {
  if (i == j) return true;
  const nj = countOf(counts, j);
  // An empty log is in every log. One whose batches retention removed is known only to be the same as another with
  // no batches left at the same end (both hold nothing but where their logs end).
  if (nj == 0) return endOf(ends, j) == 0 || (countOf(counts, i) == 0 && endOf(ends, i) == endOf(ends, j));
  return findSame(tails, counts, i, listOf(tails, j) + (nj - 1) * TAIL_ENTRY_BYTES) != 0;
}

// Logs i and j are the same log: the same end and the same last batch.
export function formationAlike(tails: usize, counts: usize, ends: usize, i: u32, j: u32): bool {
  if (endOf(ends, i) != endOf(ends, j)) return false;
  return formationContains(tails, counts, ends, i, j) && formationContains(tails, counts, ends, j, i);
}

// The common prefix of logs a and b: proven (pairLow) and at most (pairHigh).
function pairBounds(tails: usize, counts: usize, ends: usize, a: u32, b: u32): void {
  if (formationContains(tails, counts, ends, a, b)) { pairLow = pairHigh = endOf(ends, b); pairWitness = b; return; }
  if (formationContains(tails, counts, ends, b, a)) { pairLow = pairHigh = endOf(ends, a); pairWitness = a; return; }
  // Neither holds the other's last batch: the last batch both list ends it; past it they differ.
  const list = listOf(tails, a);
  for (let k = <i32>countOf(counts, a) - 1; k >= 0; k--) {
    const entry = list + <usize>k * TAIL_ENTRY_BYTES;
    if (findSame(tails, counts, b, entry) != 0) { pairLow = pairHigh = entryEnd(entry); pairWitness = a; return; }
  }
  pairLow = 0;
  pairWitness = a;
  pairHigh = min(endOf(ends, a), endOf(ends, b));
}

// Log i's listed batch that is `entry`, or 0.
function findSame(tails: usize, counts: usize, i: u32, entry: usize): usize {
  const list = listOf(tails, i);
  for (let k: u32 = 0; k < countOf(counts, i); k++) {
    if (sameBatch(list + k * TAIL_ENTRY_BYTES, entry)) return list + k * TAIL_ENTRY_BYTES;
  }
  return 0;
}

// Log i's listed batch that ends at `end`, or 0.
function listed(tails: usize, counts: usize, i: u32, end: u64): usize {
  const list = listOf(tails, i);
  for (let k: u32 = 0; k < countOf(counts, i); k++) {
    if (entryEnd(list + k * TAIL_ENTRY_BYTES) == end) return list + k * TAIL_ENTRY_BYTES;
  }
  return 0;
}

@inline function entryEnd(entry: usize): u64 {
  return load<u64>(entry + E_BASE) + <u64>load<u32>(entry + E_COUNT);
}

function sameBatch(a: usize, b: usize): bool {
  return load<u64>(a + E_BASE) == load<u64>(b + E_BASE) && load<u32>(a + E_COUNT) == load<u32>(b + E_COUNT)
    && load<u64>(a + E_TIMESTAMP) == load<u64>(b + E_TIMESTAMP) && load<u64>(a + E_CHECKSUM) == load<u64>(b + E_CHECKSUM);
}

@inline function listOf(tails: usize, i: u32): usize {
  return tails + <usize>i * FORMATION_TAIL_BYTES;
}

@inline function countOf(counts: usize, i: u32): u32 {
  return load<u32>(counts + (<usize>i << 2));
}

@inline function endOf(ends: usize, i: u32): u64 {
  return load<u64>(ends + (<usize>i << 3));
}
