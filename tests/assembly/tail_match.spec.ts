import {
  TAIL_BEHIND, TAIL_DIVERGED, TAIL_ENTRY_BYTES, TAIL_MALFORMED, TAIL_REBASE, E_BASE, E_CHECKSUM, E_COUNT, E_TIMESTAMP, tailMatch,
} from "../../assembly/journal/tail_match";

const theirs = heap.alloc(TAIL_ENTRY_BYTES * 200);
const ours = heap.alloc(TAIL_ENTRY_BYTES * 200);

// Entry i of `list`: a batch of `count` messages at `base`, appended at `timestamp`, with `checksum`.
function put(list: usize, i: u32, base: u64, count: u32, timestamp: u64, checksum: u64): void {
  const at = list + i * TAIL_ENTRY_BYTES;
  store<u64>(at + E_BASE, base);
  store<u32>(at + E_COUNT, count);
  store<u32>(at + E_COUNT + 4, 0);
  store<u64>(at + E_TIMESTAMP, timestamp);
  store<u64>(at + E_CHECKSUM, checksum);
}

// `n` batches of 10 messages from `first`, the k-th appended at 1000 + k with checksum `seed` + k.
function run(list: usize, n: u32, first: u64, seed: u64): void {
  for (let k: u32 = 0; k < n; k++) put(list, k, first + <u64>k * 10, 10, 1000 + <u64>k + first, seed + <u64>k + first);
}

describe("tailMatch", () => {
  it("keeps every batch when the asker's tail is the peer's committed log", () => {
    run(theirs, 5, 100, 7);
    run(ours, 5, 100, 7);
    expect(tailMatch(theirs, 5, false, 150, ours, 5, 0, 400, false)).toBe(150);
  });

  it("keeps the batches up to the first one a view change replaced, and cuts that one and every one after it", () => {
    run(theirs, 5, 100, 7);
    run(ours, 5, 100, 7);
    put(theirs, 3, 130, 10, 9999, 7 + 3 + 100); // same offset and bytes, another append time: another op
    expect(tailMatch(theirs, 5, false, 150, ours, 5, 0, 400, false)).toBe(130);
    put(ours, 3, 130, 10, 9999, 7 + 3 + 100);
    put(ours, 4, 140, 5, 2000, 1); // the peer's next batch has other bounds
    expect(tailMatch(theirs, 5, false, 150, ours, 5, 0, 400, false)).toBe(140);
  });

  it("never cuts what lies past the peer's committed end (acknowledged ops the peer may commit later): it waits", () => {
    run(theirs, 5, 100, 7);
    run(ours, 2, 100, 7);
    expect(tailMatch(theirs, 5, false, 150, ours, 2, 0, 120, false)).toBe(TAIL_BEHIND);
    expect(tailMatch(theirs, 5, false, 150, ours, 2, 0, 120, true)).toBe(120); // the peer's log ends there: never committed
    put(ours, 1, 110, 10, 4242, 1); // the peer committed another batch there: the asker's from there never committed
    expect(tailMatch(theirs, 5, false, 150, ours, 2, 0, 120, false)).toBe(110);
  });

  it("an asker with nothing keeps nothing; one whose whole log differs from the start keeps nothing of it", () => {
    expect(tailMatch(theirs, 0, true, 0, ours, 0, 0, 300, false)).toBe(0);
    run(theirs, 3, 0, 7);
    run(ours, 3, 0, 8);
    expect(tailMatch(theirs, 3, true, 30, ours, 3, 0, 300, false)).toBe(0);
  });

  it("waits while the peer's committed batches do not reach the asker's list", () => {
    run(theirs, 3, 100, 7);
    expect(tailMatch(theirs, 3, false, 130, ours, 0, 0, 90, false)).toBe(TAIL_BEHIND);
    expect(tailMatch(theirs, 3, true, 130, ours, 0, 0, 90, false)).toBe(TAIL_BEHIND);
    expect(tailMatch(theirs, 3, false, 130, ours, 0, 0, 100, false)).toBe(TAIL_BEHIND);
  });

  it("refuses to guess when the first listed batch differs and the asker's log goes back further", () => {
    run(theirs, 3, 100, 7);
    run(ours, 3, 100, 8);
    expect(tailMatch(theirs, 3, false, 130, ours, 3, 0, 300, false)).toBe(TAIL_DIVERGED);
  });

  it("rebases an asker with nothing, or with nothing at or past the peer's first offset (retention removed it there)", () => {
    expect(tailMatch(theirs, 0, true, 0, ours, 0, 50, 300, false)).toBe(TAIL_REBASE); // wiped
    run(theirs, 3, 100, 7);
    expect(tailMatch(theirs, 3, false, 130, ours, 0, 200, 300, false)).toBe(TAIL_REBASE); // far behind
    expect(tailMatch(theirs, 3, false, 130, ours, 0, 130, 300, false)).toBe(TAIL_REBASE); // it ends where the peer starts
  });

  it("waits instead while the peer has not committed up to its own first offset", () => {
    expect(tailMatch(theirs, 0, true, 0, ours, 0, 50, 40, false)).toBe(TAIL_BEHIND);
  });

  it("compares from the peer's first offset when the asker's list starts below it: keeps what matches there", () => {
    run(theirs, 5, 100, 7);
    memory.copy(ours, theirs + 2 * TAIL_ENTRY_BYTES, 3 * TAIL_ENTRY_BYTES); // the peer holds from 120 on: the same batches
    expect(tailMatch(theirs, 5, false, 150, ours, 3, 120, 150, false)).toBe(150);
    put(ours, 2, 140, 10, 4242, 1); // the peer committed another batch at 140: the asker's from 140 never committed
    expect(tailMatch(theirs, 5, false, 150, ours, 3, 120, 150, false)).toBe(140);
    expect(tailMatch(theirs, 5, false, 150, ours, 2, 120, 140, false)).toBe(TAIL_BEHIND); // 140.. may commit later
    expect(tailMatch(theirs, 5, false, 150, ours, 2, 120, 140, true)).toBe(140); // the peer's log ends there
  });

  it("rebases when the asker's batch at the peer's first offset is not the committed one, or straddles it", () => {
    run(theirs, 5, 100, 7);
    run(ours, 3, 120, 8);
    expect(tailMatch(theirs, 5, false, 150, ours, 3, 120, 150, false)).toBe(TAIL_REBASE);
    run(ours, 3, 125, 7); // the peer's log starts at 125, inside the asker's batch 120..129 (a batch boundary there)
    expect(tailMatch(theirs, 5, false, 150, ours, 3, 125, 155, false)).toBe(TAIL_REBASE);
    expect(tailMatch(theirs, 5, false, 150, ours, 0, 125, 125, false)).toBe(TAIL_BEHIND); // nothing committed there yet
  });

  it("refuses a list that is not a run of batches ending at the asker's end", () => {
    run(theirs, 3, 100, 7);
    expect(tailMatch(theirs, 3, false, 131, ours, 3, 0, 300, false)).toBe(TAIL_MALFORMED); // not its end
    put(theirs, 1, 111, 10, 1, 1); // a gap
    expect(tailMatch(theirs, 3, false, 130, ours, 3, 0, 300, false)).toBe(TAIL_MALFORMED);
    run(theirs, 3, 100, 7);
    put(theirs, 2, 120, 0, 1, 1); // an empty batch
    expect(tailMatch(theirs, 3, false, 120, ours, 3, 0, 300, false)).toBe(TAIL_MALFORMED);
    expect(tailMatch(theirs, 129, false, 130, ours, 3, 0, 300, false)).toBe(TAIL_MALFORMED); // too long
  });
});
