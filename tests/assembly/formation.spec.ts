import { E_BASE, E_CHECKSUM, E_COUNT, E_TIMESTAMP, TAIL_ENTRY_BYTES } from "../../assembly/journal/tail_match";
import { FORMATION_NONE, FORMATION_TAIL_BYTES, formationAlike, formationContains, formationHolds, formationPrefix, formationWitness } from "../../assembly/journal/formation";

const tails = heap.alloc(FORMATION_TAIL_BYTES * 3);
const counts = heap.alloc(4 * 3);
const ends = heap.alloc(8 * 3);

// Replica i's log: `common` batches of 10 messages (the same on every replica), then `own` batches only it holds
// (`mark` tells one replica's from another's: another op at the same offsets).
function log(i: u32, common: u32, own: u32, mark: u64): void {
  const list = tails + i * FORMATION_TAIL_BYTES;
  for (let k: u32 = 0; k < common + own; k++) {
    const at = list + k * TAIL_ENTRY_BYTES;
    store<u64>(at + E_BASE, <u64>k * 10);
    store<u32>(at + E_COUNT, 10);
    store<u32>(at + E_COUNT + 4, 0);
    store<u64>(at + E_TIMESTAMP, 1000 + <u64>k + (k < common ? 0 : mark));
    store<u64>(at + E_CHECKSUM, 77 + <u64>k + (k < common ? 0 : mark));
  }
  store<u32>(counts + i * 4, common + own);
  store<u64>(ends + i * 8, <u64>(common + own) * 10);
}

const prefix = (): i64 => formationPrefix(tails, counts, ends, 3, 2);
const holds = (i: u32, end: i64): bool => formationHolds(tails, counts, i, formationWitness(), <u64>end);

describe("formationPrefix", () => {
  it("nested logs (the primary ahead of one backup, ahead of the other): the middle one is the majority's", () => {
    log(0, 5, 0, 0);
    log(1, 4, 0, 0);
    log(2, 3, 0, 0);
    expect(prefix()).toBe(40); // replica 1's log: replica 0 cuts its last batch, replica 2 catches up
    expect(holds(0, 40) && holds(1, 40)).toBe(true);
    expect(holds(2, 40)).toBe(false);
    expect(formationContains(tails, counts, ends, 0, 1)).toBe(true);
    expect(formationContains(tails, counts, ends, 2, 1)).toBe(false);
  });

  it("two alike and one ahead: the alike pair's log, the lowest id", () => {
    log(0, 4, 0, 0);
    log(1, 4, 0, 0);
    log(2, 6, 0, 0);
    expect(prefix()).toBe(40);
    expect(holds(2, 40)).toBe(true);
    expect(formationAlike(tails, counts, ends, 0, 1)).toBe(true);
    expect(formationAlike(tails, counts, ends, 0, 2)).toBe(false);
  });

  it("an old primary's batches a view change replaced on the other two: the others' log; the old one does not hold it", () => {
    log(0, 3, 2, 500); // ops of an old view at offsets 30..49
    log(1, 3, 1, 900);
    log(2, 3, 1, 900);
    expect(prefix()).toBe(40);
    expect(holds(0, 40)).toBe(false); // it catches up from the others once they formed
    expect(formationContains(tails, counts, ends, 0, 1)).toBe(false);
  });

  it("two logs that part past a third's end: their common prefix, which both cut back to", () => {
    log(0, 3, 1, 500);
    log(1, 3, 2, 900);
    log(2, 2, 0, 0);
    expect(prefix()).toBe(30);
    expect(holds(0, 30) && holds(1, 30)).toBe(true);
    expect(holds(2, 30)).toBe(false);
  });

  it("an empty log is in every log; a log whose last batch is older than another's list is not known to be in it", () => {
    log(0, 0, 0, 0);
    log(1, 2, 0, 0);
    log(2, 3, 0, 0);
    expect(formationContains(tails, counts, ends, 1, 0)).toBe(true);
    expect(prefix()).toBe(20);
    store<u32>(counts + 2 * 4, 1); // replica 2 lists only its last batch: replica 1's last is not listed
    store<u64>(tails + 2 * FORMATION_TAIL_BYTES + E_BASE, 20);
    store<u64>(tails + 2 * FORMATION_TAIL_BYTES + E_TIMESTAMP, 1002);
    store<u64>(tails + 2 * FORMATION_TAIL_BYTES + E_CHECKSUM, 79);
    expect(formationContains(tails, counts, ends, 2, 1)).toBe(false);
    expect(prefix()).toBe(FORMATION_NONE); // logs 1 and 2 may share up to 20: more than any proven prefix
  });

  it("two logs that share no listed batch: their common prefix is not known, nothing is proven", () => {
    log(0, 0, 0, 0);
    log(1, 2, 0, 0);
    log(2, 2, 0, 0);
    store<u64>(tails + 2 * FORMATION_TAIL_BYTES + TAIL_ENTRY_BYTES + E_CHECKSUM, 1); // replica 2's last batch is another
    store<u64>(tails + 2 * FORMATION_TAIL_BYTES + E_CHECKSUM, 1); // and so is its first
    expect(prefix()).toBe(FORMATION_NONE);
  });

  it("logs whose batches retention removed, ending at the same offset, are alike; at different ends they are not", () => {
    log(0, 0, 0, 0);
    log(1, 0, 0, 0);
    log(2, 3, 0, 0);
    store<u64>(ends + 0 * 8, 500);
    store<u64>(ends + 1 * 8, 500);
    expect(formationAlike(tails, counts, ends, 0, 1)).toBe(true);
    store<u64>(ends + 1 * 8, 510);
    expect(formationAlike(tails, counts, ends, 0, 1)).toBe(false);
  });
});
