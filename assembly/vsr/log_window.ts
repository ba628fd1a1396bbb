// The in-memory log window: the last `slots` ops of this replica's log, one fixed slot each (op & mask).
// A slot knows which op it is about, the checksum of the prepare the replica believes belongs there, and whether
// the bytes are present, canonical, and durable in the host's journal.
import { SLOT_SIZE } from "./constants";

export const F_HEADER: u8 = 1; //  checksum known (from a prepare, or a header in DVC/SV)
export const F_BODY: u8 = 2; //    the prepare bytes are in the slot and match the checksum
export const F_TRUSTED: u8 = 4; // known to be the canonical prepare for this op in the current view's history
export const F_DURABLE: u8 = 8; // the host reported the journal write of exactly this prepare done
export const F_FAULTY: u8 = 16; // the journal held a corrupt copy: not a nack, we may have acked it

export class LogWindow {
  slots: u32;
  mask: u64;
  data: usize;
  ops: StaticArray<u64>;
  checksums: StaticArray<u64>;
  flags: StaticArray<u8>;

  constructor(slots: u32) {
    assert(slots >= 64 && (slots & (slots - 1)) == 0, "log window: slots must be a power of two >= 64");
    this.slots = slots;
    this.mask = <u64>(slots - 1);
    this.data = heap.alloc(<usize>slots * SLOT_SIZE);
    this.ops = new StaticArray<u64>(slots);
    this.checksums = new StaticArray<u64>(slots);
    this.flags = new StaticArray<u8>(slots);
  }

  // Every slot about no op, as after construction (a reused replica). The prepare bytes are left: a slot's
  // flags say whether they mean anything.
  clear(): void {
    memory.fill(changetype<usize>(this.ops), 0, <usize>this.slots << 3);
    memory.fill(changetype<usize>(this.checksums), 0, <usize>this.slots << 3);
    memory.fill(changetype<usize>(this.flags), 0, <usize>this.slots);
  }

  // @ts-ignore: decorator
  @inline index(op: u64): i32 {
    return <i32>(op & this.mask);
  }

  // @ts-ignore: decorator
  @inline prepare(op: u64): usize {
    return this.data + <usize>this.index(op) * SLOT_SIZE;
  }

  // Flags of `op`, or 0 when the slot is about another op.
  has(op: u64): u8 {
    const i = this.index(op);
    if (op == 0 || unchecked(this.ops[i]) != op) return 0;
    return unchecked(this.flags[i]);
  }

  checksum(op: u64): u64 {
    assert(this.has(op) & F_HEADER, "log window: checksum of an unknown op");
    return unchecked(this.checksums[this.index(op)]);
  }

  // Stores a prepare (already verified). Replaces whatever the slot held.
  put(op: u64, message: usize, size: u32, checksum: u64, flags: u8): void {
    assert(size <= SLOT_SIZE, "log window: prepare larger than a slot");
    const i = this.index(op);
    memory.copy(this.prepare(op), message, size);
    unchecked(this.ops[i] = op);
    unchecked(this.checksums[i] = checksum);
    unchecked(this.flags[i] = flags | F_HEADER | F_BODY);
  }

  // Records that `op` should hold the prepare with `checksum`; keeps the bytes only if they match.
  expect(op: u64, checksum: u64): void {
    const i = this.index(op);
    if (unchecked(this.ops[i]) == op && (unchecked(this.flags[i]) & F_BODY) && unchecked(this.checksums[i]) == checksum) {
      unchecked(this.flags[i] = unchecked(this.flags[i]) | F_TRUSTED);
      return;
    }
    // A corrupt journal copy stays marked: this replica may have acked that prepare (it must not nack it).
    const faulty = unchecked(this.ops[i]) == op ? unchecked(this.flags[i]) & F_FAULTY : 0;
    unchecked(this.ops[i] = op);
    unchecked(this.checksums[i] = checksum);
    unchecked(this.flags[i] = F_HEADER | F_TRUSTED | faulty);
  }

  setFlag(op: u64, flag: u8): void {
    const i = this.index(op);
    assert(unchecked(this.ops[i]) == op, "log window: flag on a foreign slot");
    unchecked(this.flags[i] = unchecked(this.flags[i]) | flag);
  }

  clearFlag(op: u64, flag: u8): void {
    const i = this.index(op);
    if (unchecked(this.ops[i]) == op) unchecked(this.flags[i] = unchecked(this.flags[i]) & ~flag);
  }

  markFaulty(op: u64): void {
    const i = this.index(op);
    unchecked(this.ops[i] = op);
    unchecked(this.checksums[i] = 0);
    unchecked(this.flags[i] = F_FAULTY);
  }

  forget(op: u64): void {
    const i = this.index(op);
    if (unchecked(this.ops[i]) == op) {
      unchecked(this.ops[i] = 0);
      unchecked(this.flags[i] = 0);
    }
  }
}
