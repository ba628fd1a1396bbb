// Whose files a partition directory holds, decided by incarnation (the metadata op that created the partition),
// never by ids. Ids are reused after deletes, so `streams/1/topics/0/partitions/0` can hold the files of an
// earlier partition whose deletion committed but was not yet carried out, or of a later one that a metadata
// replay has not reached yet. Files may go only for an incarnation whose deletion is known to have committed:
//   * it was created by an op the committed log holds (recorded <= applied), and
//   * the committed state no longer has it: nothing at these ids (wanted = 0), or a partition created later
//     (wanted > recorded), which could only be created after this one's deletion committed.
// A directory created by an op the state has not reached (recorded > applied, or recorded > wanted) belongs to
// a later incarnation: it is never removed, whatever the ids say.

// The directory is the wanted partition's own.
export const INCARNATION_SAME: i32 = 0;
// The directory holds an incarnation whose deletion committed: its files may be removed.
export const INCARNATION_DELETED: i32 = 1;
// The directory has no marker: the marker is written (durably) before any message of the partition can be
// acknowledged, so nothing acknowledged is there; it may be removed.
export const INCARNATION_UNMARKED: i32 = 2;
// The directory belongs to an incarnation the committed state does not know (a later one, or an unreadable
// marker): keep it and refuse to serve or remove anything there.
export const INCARNATION_AHEAD: i32 = 3;

// Ops cross as f64 (< 2^53), as the storage exports' u64 values do.
// recorded: the op in the directory's marker, 0 when there is none, NaN when it cannot be read.
// wanted: the creating op of the partition the committed state has at these ids, 0 when it has none.
// applied: the last metadata op applied to that state.
export function incarnationVerdict(recorded: f64, wanted: f64, applied: f64): i32 {
  assert(wanted >= 0 && wanted <= applied, "incarnation: a wanted partition created after the applied op");
  if (recorded == 0) return INCARNATION_UNMARKED;
  if (!(recorded > 0) || recorded != Math.floor(recorded)) return INCARNATION_AHEAD; // unreadable: unknown
  if (recorded == wanted) return INCARNATION_SAME;
  if (recorded > applied) return INCARNATION_AHEAD;
  if (wanted != 0 && recorded > wanted) return INCARNATION_AHEAD;
  return INCARNATION_DELETED;
}
