import {
  INCARNATION_AHEAD, INCARNATION_DELETED, INCARNATION_SAME, INCARNATION_UNMARKED, incarnationVerdict,
} from "../../assembly/journal/incarnation";

const UNREADABLE: f64 = NaN;

describe("incarnationVerdict", () => {
  it("keeps the wanted partition's own directory", () => {
    expect(incarnationVerdict(7, 7, 7)).toBe(INCARNATION_SAME);
    expect(incarnationVerdict(7, 7, 900)).toBe(INCARNATION_SAME);
  });

  it("lets an earlier incarnation go once a later one holds its ids", () => {
    expect(incarnationVerdict(7, 12, 12)).toBe(INCARNATION_DELETED);
  });

  it("lets a committed partition the state no longer has go", () => {
    expect(incarnationVerdict(7, 0, 9)).toBe(INCARNATION_DELETED);
  });

  it("never removes a later incarnation for an earlier one at the same ids (a replay not yet at its op)", () => {
    // The log replays op 7 (stream 1 created) while the directory holds the files of op 577's stream 1.
    expect(incarnationVerdict(577, 7, 7)).toBe(INCARNATION_AHEAD);
    expect(incarnationVerdict(577, 0, 300)).toBe(INCARNATION_AHEAD);
  });

  it("never removes an incarnation older than the wanted one if the state says it came later", () => {
    // recorded <= applied but newer than the wanted partition: not a state any run of the log can reach.
    expect(incarnationVerdict(20, 7, 30)).toBe(INCARNATION_AHEAD);
  });

  it("treats an unreadable marker as belonging to an unknown incarnation", () => {
    expect(incarnationVerdict(UNREADABLE, 7, 1000)).toBe(INCARNATION_AHEAD);
    expect(incarnationVerdict(UNREADABLE, 0, 1000)).toBe(INCARNATION_AHEAD);
    expect(incarnationVerdict(-3, 0, 1000)).toBe(INCARNATION_AHEAD);
    expect(incarnationVerdict(2.5, 0, 1000)).toBe(INCARNATION_AHEAD);
  });

  it("a directory without a marker holds nothing acknowledged", () => {
    expect(incarnationVerdict(0, 7, 7)).toBe(INCARNATION_UNMARKED);
    expect(incarnationVerdict(0, 0, 7)).toBe(INCARNATION_UNMARKED);
  });
});
