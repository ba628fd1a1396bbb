// What the checker keeps of one key (partition), compactly: a 10-minute torture run acknowledges over a million
// messages and polls each about twice, and a Map of Sets per offset and per value took more than 4 GB of heap. Here
// each distinct value gets a small integer id (the one string per value is the only object), per-value facts
// live in typed arrays indexed by id, per-offset facts in a dense table indexed by offset, and the rare second
// value at an offset or second offset of a value (the anomalies themselves) in small maps on the side.
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
  readonly moreOffsets = new Map<number, number[]>(); // value id -> further offsets it was observed at
  readonly observed = new OffsetTable(); // offset -> first value observed there
  readonly moreValues = new Map<number, number[]>(); // offset -> further values observed there
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
    }
    return id;
  }

  // `value` was acknowledged at, or read from, `offset`.
  observe(offset: number, id: number): void {
    const there = this.observed.get(offset);
    if (there === NONE) this.observed.set(offset, id);
    else if (there !== id) addOnce(this.moreValues, offset, id);
    const first = this.seenAt[id];
    if (first === NONE) this.seenAt[id] = offset;
    else if (first !== offset) addOnce(this.moreOffsets, id, offset);
  }
}

function addOnce(map: Map<number, number[]>, key: number, item: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [item]);
  else if (!list.includes(item)) list.push(item);
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, atLeast: number, fill: number): T {
  let size = Math.max(1024, array.length);
  while (size < atLeast) size *= 2;
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  next.fill(fill, array.length);
  return next;
}
