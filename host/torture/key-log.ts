// What the checker keeps of one key (partition), compactly: a 10-minute torture run acknowledges over a million
// messages and polls each about twice, and a Map of Sets per offset and per value took more than 4 GB of heap. Here
// each distinct value gets a small integer id (the one string per value is the only object), per-value facts
// live in typed arrays indexed by id, per-offset facts in a dense table indexed by offset, and the rare second
// value at an offset or second offset of a value (the anomalies themselves) in small maps on the side. Who saw a
// value or an offset first (`source`: a small integer naming e.g. "c1 poll from r2", kept by the checker) is one
// more int per value and per offset, so that an anomaly's example can say which replica served each side of it.
// Offsets are numbers: u64 offsets past 2^53 are refused by name (`OffsetOutOfRange`), never rounded.

export const NONE = -1;

// Value flags.
export const SENT = 1; // a send was invoked with it
export const FAILED = 2; // its send was refused (nothing was written)
export const POLLED = 4; // a consumer or an audit read saw it
export const FINAL = 8; // the final read has it

export class OffsetOutOfRange extends RangeError {
  constructor(readonly offset: string) {
    super(`offset ${offset} is not an integer in 0..2^53-1: the checker cannot hold it exactly`);
    this.name = 'OffsetOutOfRange';
  }
}

export function offsetOf(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new OffsetOutOfRange(text);
  return n;
}

// Offsets below this go in a dense Int32Array (4 B each, grown by doubling); above it, in a Map (a hand-made
// history with a huge offset must not allocate gigabytes).
const DENSE_LIMIT = 1 << 24;

// offset -> value id (NONE when nothing is there).
export class OffsetTable {
  private dense = new Int32Array(0);
  private sparse: Map<number, number> | null = null;
  private highest = NONE;
  private count = 0;

  get(offset: number): number {
    if (offset < this.dense.length) return this.dense[offset];
    return this.sparse?.get(offset) ?? NONE;
  }

  has(offset: number): boolean {
    return this.get(offset) !== NONE;
  }

  set(offset: number, id: number): void {
    if (this.get(offset) === NONE) this.count++;
    if (offset < DENSE_LIMIT) {
      if (offset >= this.dense.length) this.dense = grown(this.dense, offset + 1, NONE);
      this.dense[offset] = id;
    } else {
      (this.sparse ??= new Map()).set(offset, id);
    }
    if (offset > this.highest) this.highest = offset;
  }

  get end(): number { return this.highest; } // the highest offset set, NONE when empty
  get size(): number { return this.count; }
}

export class KeyLog {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  acked = new Float64Array(0); // value id -> acknowledged offset (NONE)
  seenAt = new Float64Array(0); // value id -> first offset it was observed at (NONE)
  flags = new Uint8Array(0);
  seenBy = new Int32Array(0); // value id -> source of its first observation (NONE)
  polledBy = new Int32Array(0); // value id -> source of the first poll or audit read that had it (NONE)
  readonly moreOffsets = new Map<number, number[]>(); // value id -> further offsets it was observed at
  readonly moreOffsetsBy = new Map<number, number[]>(); // value id -> the source of each of those (same order)
  readonly observed = new OffsetTable(); // offset -> first value observed there
  readonly observedBy = new OffsetTable(); // offset -> source of that first observation
  readonly moreValues = new Map<number, number[]>(); // offset -> further values observed there
  readonly moreValuesBy = new Map<number, number[]>(); // offset -> the source of each of those (same order)
  final: OffsetTable | null = null; // null: no final read of this key

  get values(): number { return this.names.length; }

  // The id of `value`, a new one the first time.
  id(value: string): number {
    let id = this.ids.get(value);
    if (id !== undefined) return id;
    id = this.names.length;
    this.ids.set(value, id);
    this.names.push(value);
    if (id >= this.flags.length) {
      const size = Math.max(1024, this.flags.length * 2);
      this.acked = grown(this.acked, size, NONE);
      this.seenAt = grown(this.seenAt, size, NONE);
      this.flags = grown(this.flags, size, 0);
      this.seenBy = grown(this.seenBy, size, NONE);
      this.polledBy = grown(this.polledBy, size, NONE);
    }
    return id;
  }

  // `value` was acknowledged at, or read from, `offset`, by `source`.
  observe(offset: number, id: number, source: number): void {
    const there = this.observed.get(offset);
    if (there === NONE) { this.observed.set(offset, id); this.observedBy.set(offset, source); }
    else if (there !== id) addOnce(this.moreValues, this.moreValuesBy, offset, id, source);
    const first = this.seenAt[id];
    if (first === NONE) { this.seenAt[id] = offset; this.seenBy[id] = source; }
    else if (first !== offset) addOnce(this.moreOffsets, this.moreOffsetsBy, id, offset, source);
  }
}

// Adds `item` to the list at `key` once, and its source beside it.
function addOnce(map: Map<number, number[]>, sources: Map<number, number[]>, key: number, item: number, source: number): void {
  const list = map.get(key);
  if (!list) { map.set(key, [item]); sources.set(key, [source]); }
  else if (!list.includes(item)) { list.push(item); sources.get(key)!.push(source); }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, atLeast: number, fill: number): T {
  let size = Math.max(1024, array.length);
  while (size < atLeast) size *= 2;
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  next.fill(fill, array.length);
  return next;
}
