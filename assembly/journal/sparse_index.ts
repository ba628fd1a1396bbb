// A partition's in-memory sparse index over all its segments, in a region the host gives (pointer + bytes):
//   0 count u32 | 4 capacity u32 | 8 interval u32 (bytes between entries) | 12 reserved | 16.. entries
// Entry (32 B): offset u64 | timestamp u64 | position u64 (in its segment's .log) | segment u32 | reserved u32.
// Entries are in offset order; timestamps are non-decreasing because the partition stamps them so. The same
// (offset, timestamp, position) triple, 24 bytes little-endian, is what the `.index` file holds (segment implied).

export const I_COUNT: usize = 0;
export const I_CAPACITY: usize = 4;
export const I_INTERVAL: usize = 8;
export const I_ENTRIES: usize = 16;
export const ENTRY: usize = 32;

export function indexRegionBytes(capacity: u32): u32 {
  return <u32>I_ENTRIES + capacity * <u32>ENTRY;
}

export function indexInit(index: usize, capacity: u32, interval: u32): void {
  store<u32>(index + I_COUNT, 0);
  store<u32>(index + I_CAPACITY, capacity);
  store<u32>(index + I_INTERVAL, interval);
  store<u32>(index + 12, 0);
}

export function indexCount(index: usize): u32 {
  return load<u32>(index + I_COUNT);
}

// When the region is full it is thinned first (every other entry of a segment goes and the interval doubles), so
// the index keeps covering the whole partition at a coarser grain instead of going blind past some offset.
export function indexAppend(index: usize, offset: f64, timestamp: f64, position: f64, segment: u32): bool {
  if (load<u32>(index + I_COUNT) >= load<u32>(index + I_CAPACITY)) indexThin(index);
  const count = load<u32>(index + I_COUNT);
  if (count >= load<u32>(index + I_CAPACITY)) return false;
  const e = entry(index, count);
  store<u64>(e, <u64>offset);
  store<u64>(e, <u64>timestamp, 8);
  store<u64>(e, <u64>position, 16);
  store<u32>(e, segment, 24);
  store<u32>(e, 0, 28);
  store<u32>(index + I_COUNT, count + 1);
  return true;
}

// Keeps each segment's first entry and every second entry after it; doubles the interval for what comes next.
export function indexThin(index: usize): void {
  const count = load<u32>(index + I_COUNT);
  let kept: u32 = 0;
  let run: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const first = i == 0 || indexSegmentAt(index, i) != indexSegmentAt(index, i - 1);
    run = first ? 0 : run + 1;
    if (!first && (run & 1) == 1) continue;
    if (kept != i) memory.copy(entry(index, kept), entry(index, i), ENTRY);
    kept++;
  }
  store<u32>(index + I_COUNT, kept);
  store<u32>(index + I_INTERVAL, load<u32>(index + I_INTERVAL) << 1);
}

export function indexOffsetAt(index: usize, i: u32): f64 { return <f64>load<u64>(entry(index, i)); }
export function indexTimestampAt(index: usize, i: u32): f64 { return <f64>load<u64>(entry(index, i), 8); }
export function indexPositionAt(index: usize, i: u32): f64 { return <f64>load<u64>(entry(index, i), 16); }
export function indexSegmentAt(index: usize, i: u32): u32 { return load<u32>(entry(index, i), 24); }

export function indexLastPosition(index: usize): f64 {
  return indexPositionAt(index, load<u32>(index + I_COUNT) - 1);
}

export function indexLastSegment(index: usize): u32 {
  return indexSegmentAt(index, load<u32>(index + I_COUNT) - 1);
}

// Last entry with offset ≤ target, or -1 when the target precedes every entry.
export function indexFindOffset(index: usize, target: f64): i32 {
  let lo: i32 = 0;
  let hi: i32 = <i32>load<u32>(index + I_COUNT) - 1;
  let found: i32 = -1;
  const t = <u64>target;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u64>(entry(index, mid)) <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

// Where a read for the first batch with base timestamp ≥ target must start: the last entry whose timestamp is
// < target (the batch sought is at or after it), or 0 when every entry is ≥ target.
export function indexFindTimestamp(index: usize, target: f64): i32 {
  let lo: i32 = 0;
  let hi: i32 = <i32>load<u32>(index + I_COUNT) - 1;
  let found: i32 = 0;
  const t = <u64>target;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u64>(entry(index, mid), 8) < t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

// Drops the entries of every segment < `segment` (retention deleted those segments).
export function indexDropBefore(index: usize, segment: u32): void {
  const count = load<u32>(index + I_COUNT);
  let first: u32 = 0;
  while (first < count && indexSegmentAt(index, first) < segment) first++;
  if (first == 0) return;
  memory.copy(entry(index, 0), entry(index, first), <usize>(count - first) * ENTRY);
  store<u32>(index + I_COUNT, count - first);
}

// Drops the entries at or after `position` in `segment` and of later segments (recovery truncated them).
export function indexTruncate(index: usize, segment: u32, position: f64): void {
  let count = load<u32>(index + I_COUNT);
  while (count > 0) {
    const s = indexSegmentAt(index, count - 1);
    if (s < segment || (s == segment && indexPositionAt(index, count - 1) < position)) break;
    count--;
  }
  store<u32>(index + I_COUNT, count);
}

// Retention: how many of the oldest segments to delete. `table` holds one 16-byte row per segment, oldest first:
// size f64 | last batch timestamp f64 (µs). The last (active) segment is never deleted: it is still written to.
// As Iggy's segment cleaner: the leading run of segments whose newest batch is at least `maxAge` old
// (`last + maxAge <= now`; 0 = forever), or the leading run whose removal brings the partition (active segment
// included) down to `maxBytes` (0 = unlimited), whichever is longer. Append times never decrease, so both runs
// are prefixes. The size run keeps the newest sealed segment: Iggy raises a size budget below one sealed segment to
// one sealed segment, so that a limit cannot turn into "keep nothing but what is being written".
export function retentionPick(table: usize, count: u32, maxBytes: f64, now: f64, maxAge: f64): u32 {
  if (count < 2) return 0;
  let expired: u32 = 0;
  if (maxAge > 0) {
    while (expired + 1 < count && load<f64>(table + (<usize>expired << 4), 8) + maxAge <= now) expired++;
  }
  let oversize: u32 = 0;
  if (maxBytes > 0) {
    let total: f64 = 0;
    for (let i: u32 = 0; i < count; i++) total += load<f64>(table + (<usize>i << 4));
    while (oversize + 2 < count && total > maxBytes) {
      total -= load<f64>(table + (<usize>oversize << 4));
      oversize++;
    }
  }
  return expired > oversize ? expired : oversize;
}

// @ts-ignore: decorator
@inline function entry(index: usize, i: u32): usize {
  return index + I_ENTRIES + (<usize>i) * ENTRY;
}
