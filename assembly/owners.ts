// ReplicaOwnerTable: which shard owns the connection to each replica. One u32 slot per replica id:
// generation << 16 | owner shard, owner 0xffff = none. Every claim, including a second one by the shard that
// already owns the slot (a reconnect landing on the same shard), bumps the generation and returns the whole word
// as its token; a clear must present that token. So a late clear from an old connection, even one on the same
// shard, can never evict the owner that replaced it (the ABA an owner-only compare would allow).
// Replica and shard ids are checked in every build, not only by asserts: a bad id would otherwise read or CAS
// memory past the table.

export const MAX_REPLICAS: u32 = 256;
export const OWNER_NONE: u32 = 0xffff;
export const OWNERS_BYTES: u32 = MAX_REPLICAS * 4;

export function ownersInit(table: usize): void {
  for (let i: u32 = 0; i < MAX_REPLICAS; i++) atomic.store<u32>(table + (<usize>i << 2), OWNER_NONE);
}

// @ts-ignore: decorator
@inline function slot(table: usize, replica: u32): usize {
  return table + (<usize>replica << 2);
}

// Returns a fresh owner token (never 0) if `shard` now owns `replica`, 0 if another shard owns it or an id is
// out of range. A claim by the current owner supersedes its earlier token.
export function ownerClaim(table: usize, replica: u32, shard: u32): u32 {
  if (replica >= MAX_REPLICAS || shard >= OWNER_NONE) return 0;
  const at = slot(table, replica);
  while (true) {
    const current = atomic.load<u32>(at);
    const owner = current & 0xffff;
    if (owner != shard && owner != OWNER_NONE) return 0;
    let generation = (current >> 16) + 1;
    if (generation > 0xffff) generation = 1; // 0 is reserved so that a token is never 0
    const claimed = (generation << 16) | shard;
    if (atomic.cmpxchg<u32>(at, current, claimed) == current) return claimed;
  }
}

// Clears the slot only if `token` is still the current owner. Returns whether it did.
export function ownerClearIfOwned(table: usize, replica: u32, token: u32): bool {
  if (token == 0 || replica >= MAX_REPLICAS) return false;
  const released = (token & 0xffff0000) | OWNER_NONE;
  return atomic.cmpxchg<u32>(slot(table, replica), token, released) == token;
}

// The owning shard, or -1 (also for an out-of-range replica id).
export function ownerOf(table: usize, replica: u32): i32 {
  if (replica >= MAX_REPLICAS) return -1;
  const owner = atomic.load<u32>(slot(table, replica)) & 0xffff;
  return owner == OWNER_NONE ? -1 : <i32>owner;
}
