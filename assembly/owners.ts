// ReplicaOwnerTable: which shard owns the connection to each replica. One u32 slot per replica id:
// generation << 16 | owner shard, owner 0xffff = none. A claim bumps the generation and returns the whole word
// as its token; a clear must present that token. So a late clear from an old connection, even one on the same
// shard, can never evict the owner that replaced it (the ABA an owner-only compare would allow).

export const MAX_REPLICAS: u32 = 256;
export const OWNER_NONE: u32 = 0xffff;
export const OWNERS_BYTES: u32 = MAX_REPLICAS * 4;

export function ownersInit(table: usize): void {
  for (let i: u32 = 0; i < MAX_REPLICAS; i++) atomic.store<u32>(table + (<usize>i << 2), OWNER_NONE);
}

// @ts-ignore: decorator
@inline function slot(table: usize, replica: u32): usize {
  assert(replica < MAX_REPLICAS, "replica id out of range");
  return table + (<usize>replica << 2);
}

// Returns the owner token (never 0) if `shard` now owns `replica` (or already did), 0 if another shard owns it.
export function ownerClaim(table: usize, replica: u32, shard: u32): u32 {
  assert(shard < OWNER_NONE, "shard id out of range");
  const at = slot(table, replica);
  while (true) {
    const current = atomic.load<u32>(at);
    const owner = current & 0xffff;
    if (owner == shard) return current;
    if (owner != OWNER_NONE) return 0;
    let generation = (current >> 16) + 1;
    if (generation > 0xffff) generation = 1; // 0 is reserved so that a token is never 0
    const claimed = (generation << 16) | shard;
    if (atomic.cmpxchg<u32>(at, current, claimed) == current) return claimed;
  }
}

// Clears the slot only if `token` is still the current owner. Returns whether it did.
export function ownerClearIfOwned(table: usize, replica: u32, token: u32): bool {
  if (token == 0) return false;
  const released = (token & 0xffff0000) | OWNER_NONE;
  return atomic.cmpxchg<u32>(slot(table, replica), token, released) == token;
}

// The owning shard, or -1.
export function ownerOf(table: usize, replica: u32): i32 {
  const owner = atomic.load<u32>(slot(table, replica)) & 0xffff;
  return owner == OWNER_NONE ? -1 : <i32>owner;
}
