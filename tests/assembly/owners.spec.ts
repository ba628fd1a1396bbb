import { MAX_REPLICAS, OWNER_NONE, OWNERS_BYTES, ownerClaim, ownerClearIfOwned, ownerOf, ownersInit } from "../../assembly/owners";

let table: usize = 0;

describe("ReplicaOwnerTable", () => {
  beforeEach(() => {
    if (table == 0) table = heap.alloc(OWNERS_BYTES);
    ownersInit(table);
  });

  it("starts empty for all 256 replicas", () => {
    for (let r: u32 = 0; r < MAX_REPLICAS; r++) expect(ownerOf(table, r)).toBe(-1);
  });

  it("installs the first claimant and refuses another shard", () => {
    const token = ownerClaim(table, 3, 1);
    expect(token).not.toBe(0);
    expect(ownerOf(table, 3)).toBe(1);
    expect(ownerClaim(table, 3, 2)).toBe(0);
    expect(ownerOf(table, 3)).toBe(1);
  });

  it("a repeated claim by the owner supersedes its earlier token", () => {
    const old = ownerClaim(table, 9, 4);
    const renewed = ownerClaim(table, 9, 4); // reconnect on the same shard before the old clean-up ran
    expect(renewed).not.toBe(0);
    expect(renewed).not.toBe(old);
    expect(ownerClearIfOwned(table, 9, old)).toBe(false); // the old connection's late clean-up
    expect(ownerOf(table, 9)).toBe(4);
    expect(ownerClearIfOwned(table, 9, renewed)).toBe(true);
    expect(ownerOf(table, 9)).toBe(-1);
  });

  it("refuses out-of-range replica and shard ids instead of touching memory past the table", () => {
    expect(ownerClaim(table, MAX_REPLICAS, 0)).toBe(0);
    expect(ownerClaim(table, 1, OWNER_NONE)).toBe(0);
    expect(ownerClearIfOwned(table, MAX_REPLICAS, 0x10000)).toBe(false);
    expect(ownerOf(table, MAX_REPLICAS)).toBe(-1);
  });

  it("a clear by a shard that lost the race does not evict the winner", () => {
    const winner = ownerClaim(table, 5, 0);
    const loser = ownerClaim(table, 5, 1);
    expect(loser).toBe(0);
    expect(ownerClearIfOwned(table, 5, loser)).toBe(false);
    expect(ownerOf(table, 5)).toBe(0);
    expect(ownerClearIfOwned(table, 5, winner)).toBe(true);
    expect(ownerOf(table, 5)).toBe(-1);
  });

  it("a stale clear cannot evict a newer owner, not even one on the same shard", () => {
    const first = ownerClaim(table, 7, 2);
    expect(ownerClearIfOwned(table, 7, first)).toBe(true);
    const second = ownerClaim(table, 7, 2); // reconnect lands on the same shard
    expect(second).not.toBe(first);
    expect(ownerClearIfOwned(table, 7, first)).toBe(false); // the old connection's late clean-up
    expect(ownerOf(table, 7)).toBe(2);
    const other = ownerClaim(table, 7, 3);
    expect(other).toBe(0);
    expect(ownerClearIfOwned(table, 7, second)).toBe(true);
    expect(ownerClaim(table, 7, 3)).not.toBe(0);
    expect(ownerOf(table, 7)).toBe(3);
  });

  it("keeps tokens non-zero across generation wrap-around", () => {
    let bad = 0;
    for (let i: u32 = 0; i < 70_000; i++) {
      const token = ownerClaim(table, 1, 0);
      if (token == 0 || !ownerClearIfOwned(table, 1, token)) bad++;
    }
    expect(bad).toBe(0);
  });
});
