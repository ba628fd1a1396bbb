// Bounded single-producer single-consumer frame ring in shared memory.
//
// A frame occupies one or more consecutive slots: an 8-byte record prefix (frame length) then the frame bytes.
// A frame that would straddle the end of the ring is preceded by a SKIP record covering the slots up to the end.
// The producer and the consumer each keep a private cursor and publish it with one atomic store per batch
// (ringPublish / ringPublishTail): publishing per frame costs ~2.7x in cache-line traffic between cores.
// Head, tail and the wake words sit on separate 64-byte lines.
//
// Indices are free-running u32 slot counters; capacity is a power of two, so `head - tail` is the fill level
// even after the counters wrap.

export const R_HEAD: u32 = 0; // published head (producer writes, consumer reads)
export const R_PENDING_HEAD: u32 = 4; // producer-private: head including frames not yet published
export const R_CACHED_TAIL: u32 = 8; // producer-private: last tail it loaded
export const R_RESERVED: u32 = 12; // producer-private: slots of the reserved, uncommitted frame
export const R_TAIL: u32 = 64; // published tail (consumer writes, producer reads)
export const R_PENDING_TAIL: u32 = 68; // consumer-private
export const R_CACHED_HEAD: u32 = 72; // consumer-private
export const R_PEEKED: u32 = 76; // consumer-private: slots of the frame being read
export const R_DOORBELL: u32 = 128; // address of the consumer's doorbell word
export const R_SLEEPING: u32 = 132; // address of the consumer's "about to wait" flag
export const R_CAPACITY: u32 = 136; // slots, power of two
export const R_SLOT_SHIFT: u32 = 140; // log2(slot size)
export const R_DATA: u32 = 256;

export const RECORD_PREFIX: u32 = 8;
const SKIP: u32 = 0xffffffff;

export function ringBytes(capacity: u32, slotSize: u32): usize {
  return <usize>R_DATA + <usize>capacity * <usize>slotSize;
}

export function ringInit(r: usize, capacity: u32, slotSize: u32, doorbell: usize, sleeping: usize): void {
  assert(capacity >= 2 && (capacity & (capacity - 1)) == 0, "ring capacity must be a power of two >= 2");
  assert(slotSize >= 16 && (slotSize & (slotSize - 1)) == 0, "ring slot size must be a power of two >= 16");
  memory.fill(r, 0, R_DATA);
  store<u32>(r + R_DOORBELL, <u32>doorbell);
  store<u32>(r + R_SLEEPING, <u32>sleeping);
  store<u32>(r + R_CAPACITY, capacity);
  store<u32>(r + R_SLOT_SHIFT, <u32>ctz(slotSize));
}

// @ts-ignore: decorator
@inline function slotAddress(r: usize, index: u32): usize {
  const mask = load<u32>(r + R_CAPACITY) - 1;
  return r + R_DATA + (<usize>(index & mask) << <usize>load<u32>(r + R_SLOT_SHIFT));
}

// @ts-ignore: decorator
@inline function slotsFor(r: usize, frameLen: u32): u32 {
  const shift = load<u32>(r + R_SLOT_SHIFT);
  return <u32>((<u64>frameLen + RECORD_PREFIX + (<u64>1 << shift) - 1) >> shift);
}

// Largest frame the ring can ever carry.
export function ringMaxFrame(r: usize): u32 {
  return (load<u32>(r + R_CAPACITY) << load<u32>(r + R_SLOT_SHIFT)) - RECORD_PREFIX;
}

// True when `need` slots are free after `head`. Only when the cached tail says no does it load the consumer's
// tail: that line lives in the consumer's cache, and touching it on every reserve would bounce it between cores.
function hasRoom(r: usize, head: u32, need: u32): bool {
  const capacity = load<u32>(r + R_CAPACITY);
  if (capacity - (head - load<u32>(r + R_CACHED_TAIL)) >= need) return true;
  store<u32>(r + R_CACHED_TAIL, atomic.load<u32>(r + R_TAIL));
  return capacity - (head - load<u32>(r + R_CACHED_TAIL)) >= need;
}

// True when ringReserve(r, frameLen) will succeed now. A producer that must not lose a message asks first and
// keeps it queued until it fits, instead of counting a drop. A frame that does not fit before the end of the ring
// starts at slot 0: the SKIP record is placed here as soon as the slots up to the end are free, so the frame then
// waits only for its own slots. (Waiting for end-padding plus frame at once never ends when the two together are
// more than the ring, e.g. a half-ring frame with the head just past the middle.)
export function ringFits(r: usize, frameLen: u32): bool {
  assert(load<u32>(r + R_RESERVED) == 0, "ringFits: a reservation is pending");
  if (frameLen > ringMaxFrame(r)) return false;
  const capacity = load<u32>(r + R_CAPACITY);
  const need = slotsFor(r, frameLen);
  let head = load<u32>(r + R_PENDING_HEAD);
  const toEnd = capacity - (head & (capacity - 1));
  if (need > toEnd) {
    if (!hasRoom(r, head, toEnd)) return false;
    store<u32>(slotAddress(r, head), SKIP);
    head += toEnd;
    store<u32>(r + R_PENDING_HEAD, head);
  }
  return hasRoom(r, head, need);
}

// Reserves room for a frame of `frameLen` bytes and returns where to write it, or 0 when the ring is full (or
// the frame can never fit). Nothing becomes visible until ringCommit and then ringPublish.
export function ringReserve(r: usize, frameLen: u32): usize {
  assert(load<u32>(r + R_RESERVED) == 0, "ringReserve: previous reservation not committed");
  if (frameLen > ringMaxFrame(r)) return 0;
  const capacity = load<u32>(r + R_CAPACITY);
  const need = slotsFor(r, frameLen);
  let head = load<u32>(r + R_PENDING_HEAD);
  const toEnd = capacity - (head & (capacity - 1));
  if (need > toEnd) {
    // Pad to the end with a SKIP record; the frame then starts at slot 0 once the consumer frees enough room.
    if (!hasRoom(r, head, toEnd)) return 0;
    store<u32>(slotAddress(r, head), SKIP);
    head += toEnd;
    store<u32>(r + R_PENDING_HEAD, head);
  }
  if (!hasRoom(r, head, need)) return 0;
  const slot = slotAddress(r, head);
  store<u32>(slot, frameLen);
  store<u32>(r + R_RESERVED, need);
  return slot + RECORD_PREFIX;
}

// Address of the reserved, uncommitted frame (what ringReserve returned).
export function ringReservedFrame(r: usize): usize {
  assert(load<u32>(r + R_RESERVED) != 0, "ringReservedFrame without ringReserve");
  return slotAddress(r, load<u32>(r + R_PENDING_HEAD)) + RECORD_PREFIX;
}

export function ringCommit(r: usize): void {
  const reserved = load<u32>(r + R_RESERVED);
  assert(reserved != 0, "ringCommit without ringReserve");
  store<u32>(r + R_PENDING_HEAD, load<u32>(r + R_PENDING_HEAD) + reserved);
  store<u32>(r + R_RESERVED, 0);
}

// Commits the reserved frame cut to `frameLen` bytes (at most what was reserved): a producer that reserves room
// for the largest answer it may write, then writes it in place, hands back the slots it did not use.
export function ringCommitLength(r: usize, frameLen: u32): void {
  const reserved = load<u32>(r + R_RESERVED);
  assert(reserved != 0, "ringCommitLength without ringReserve");
  const need = slotsFor(r, frameLen);
  assert(need <= reserved, "ringCommitLength: frame longer than its reservation");
  store<u32>(slotAddress(r, load<u32>(r + R_PENDING_HEAD)), frameLen);
  store<u32>(r + R_PENDING_HEAD, load<u32>(r + R_PENDING_HEAD) + need);
  store<u32>(r + R_RESERVED, 0);
}

// Gives the reserved frame up: nothing was published, the next reservation starts where this one did. (A SKIP
// record placed by the reservation stays: it only pads to the end of the ring.)
export function ringAbort(r: usize): void {
  assert(load<u32>(r + R_RESERVED) != 0, "ringAbort without ringReserve");
  store<u32>(r + R_RESERVED, 0);
}

// Makes every committed frame visible to the consumer and rings its doorbell. Returns true if anything new was
// published.
export function ringPublish(r: usize): bool {
  const pending = load<u32>(r + R_PENDING_HEAD);
  if (pending == atomic.load<u32>(r + R_HEAD)) return false;
  atomic.store<u32>(r + R_HEAD, pending);
  const doorbell = <usize>load<u32>(r + R_DOORBELL);
  atomic.add<u32>(doorbell, 1);
  // Wake only a consumer that announced it is going to sleep; it re-checks the rings after announcing, so a
  // publish that lands before its check is seen there and one that lands after is seen here.
  if (atomic.load<i32>(<usize>load<u32>(r + R_SLEEPING)) != 0) atomic.notify(doorbell, 1);
  return true;
}

// Returns the address of the next frame (its length is at address - 8), or 0 when the ring is empty. The frame
// stays valid until ringRelease.
export function ringPeek(r: usize): usize {
  assert(load<u32>(r + R_PEEKED) == 0, "ringPeek: previous frame not released");
  const capacity = load<u32>(r + R_CAPACITY);
  let tail = load<u32>(r + R_PENDING_TAIL);
  while (true) {
    if (tail == load<u32>(r + R_CACHED_HEAD)) {
      store<u32>(r + R_CACHED_HEAD, atomic.load<u32>(r + R_HEAD));
      if (tail == load<u32>(r + R_CACHED_HEAD)) return 0;
    }
    const slot = slotAddress(r, tail);
    const len = load<u32>(slot);
    if (len != SKIP) {
      store<u32>(r + R_PEEKED, slotsFor(r, len));
      return slot + RECORD_PREFIX;
    }
    tail += capacity - (tail & (capacity - 1));
    store<u32>(r + R_PENDING_TAIL, tail);
  }
}

// @ts-ignore: decorator
@inline export function frameLength(frame: usize): u32 {
  return load<u32>(frame - RECORD_PREFIX);
}

export function ringRelease(r: usize): void {
  const peeked = load<u32>(r + R_PEEKED);
  assert(peeked != 0, "ringRelease without ringPeek");
  store<u32>(r + R_PENDING_TAIL, load<u32>(r + R_PENDING_TAIL) + peeked);
  store<u32>(r + R_PEEKED, 0);
}

export function ringPublishTail(r: usize): void {
  const pending = load<u32>(r + R_PENDING_TAIL);
  if (pending != atomic.load<u32>(r + R_TAIL)) atomic.store<u32>(r + R_TAIL, pending);
}

// Frames published and not yet consumed (as the consumer last published its tail), in slots.
export function ringDepth(r: usize): u32 {
  return atomic.load<u32>(r + R_HEAD) - atomic.load<u32>(r + R_TAIL);
}

export function ringCapacity(r: usize): u32 {
  return load<u32>(r + R_CAPACITY);
}

// Consumer side: true when a published frame is waiting (ignores what this consumer already peeked).
export function ringHasData(r: usize): bool {
  return atomic.load<u32>(r + R_HEAD) != load<u32>(r + R_PENDING_TAIL);
}
