// Superblock record (reference/iggy-server-ng.md §4.2), kept as two copies `superblock.a` / `superblock.b` written in
// turn (ping-pong); the newer valid copy wins. Record:
//   0 magic u32 "SBLK" | 4 version u16 = 2 | 6 reserved u16 | 8 sequence u64 | 16 parent_checksum u64 (the previous
//   record's checksum) | 24 payload_len u32 | 28 payload | then XXH3-64 over every preceding byte.
// Payload (VsrState, 80 B): 0 cluster u128 | 16 replica u8 | 17 replica_count u8 | 18 reserved u16 | 20 view u32 |
//   24 log_view u32 | 28 reserved u32 | 32 commit u64 | 40 checkpoint_op u64 | 48 checkpoint_checksum u64 | 56 reserved |
//   64 log_head u64 | 72 log_head_checksum u64.
// Version 1 (64 B of payload, without log_head) is still read: its log head is 0, as version 1 servers recovered.
// Version 2 adds the log head: a replica's journal ops accepted before its log_view and at or below log_head were
// confirmed by that view change (recovery.ts keeps them); without it, a restart after a view change dropped them.
import { xxh3_64 } from "../checksum/xxh3";

export const SB_MAGIC: u32 = 0x53424c4b;
export const SB_VERSION: u16 = 2;
export const SB_HEADER: u32 = 28;
export const SB_PAYLOAD: u32 = 80;
export const SB_RECORD: u32 = SB_HEADER + SB_PAYLOAD + 8;
export const SB_VERSION_1: u16 = 1;
export const SB_PAYLOAD_V1: u32 = 64; // a version 1 record: SB_HEADER + 64 + 8 bytes

export const SB_OK: u32 = 0;
export const SB_EMPTY: u32 = 1;
export const SB_SHORT: u32 = 2;
export const SB_BAD_MAGIC: u32 = 3;
export const SB_BAD_VERSION: u32 = 4;
export const SB_BAD_LENGTH: u32 = 5;
export const SB_CHECKSUM: u32 = 6;

export const PICK_A: u32 = 0;
export const PICK_B: u32 = 1;
export const PICK_NONE: u32 = 2; // both copies absent or empty: a fresh replica
export const PICK_FAIL: u32 = 3; // no valid copy, yet something was written: refuse to boot

let errorAt: u32 = 0;

export function superblockErrorAt(): u32 {
  return errorAt;
}

// The host has written the payload at p + 28; `prev` is the previous record (0 for the first).
export function superblockSeal(p: usize, sequence: f64, prev: usize): void {
  store<u32>(p, SB_MAGIC);
  store<u16>(p + 4, SB_VERSION);
  store<u16>(p + 6, 0);
  store<u64>(p + 8, <u64>sequence);
  store<u64>(p + 16, prev == 0 ? 0 : load<u64>(prev + SB_HEADER + load<u32>(prev + 24))); // prev may be version 1
  store<u32>(p + 24, SB_PAYLOAD);
  store<u64>(p + SB_HEADER + SB_PAYLOAD, xxh3_64(p, SB_HEADER + SB_PAYLOAD));
}

export function superblockCheck(p: usize, len: u32): u32 {
  if (len == 0) return fail(0, SB_EMPTY);
  let zero = true;
  for (let i: u32 = 0; i < len; i++) if (load<u8>(p + i) != 0) { zero = false; break; }
  if (zero) return fail(0, SB_EMPTY);
  if (len < SB_HEADER) return fail(len, SB_SHORT);
  if (load<u32>(p) != SB_MAGIC) return fail(0, SB_BAD_MAGIC);
  const version = load<u16>(p + 4);
  if (version != SB_VERSION && version != SB_VERSION_1) return fail(4, SB_BAD_VERSION);
  const payload = load<u32>(p + 24);
  if (payload != (version == SB_VERSION ? SB_PAYLOAD : SB_PAYLOAD_V1)) return fail(24, SB_BAD_LENGTH);
  const record = SB_HEADER + payload + 8;
  if (len != record) return fail(len < record ? len : record, SB_SHORT);
  if (xxh3_64(p, SB_HEADER + payload) != load<u64>(p + SB_HEADER + payload)) return fail(SB_HEADER + payload, SB_CHECKSUM);
  return SB_OK;
}

export function superblockSequence(p: usize): f64 {
  return <f64>load<u64>(p + 8);
}

// The newer valid copy wins; an invalid copy loses to a valid one (it is overwritten by the next write). With no
// valid copy, only "both empty" is a fresh start: anything else may have been the newer state, so boot must stop.
export function superblockPick(verdictA: u32, seqA: f64, verdictB: u32, seqB: f64): u32 {
  const okA = verdictA == SB_OK;
  const okB = verdictB == SB_OK;
  if (okA && okB) return seqA >= seqB ? PICK_A : PICK_B;
  if (okA) return PICK_A;
  if (okB) return PICK_B;
  return verdictA == SB_EMPTY && verdictB == SB_EMPTY ? PICK_NONE : PICK_FAIL;
}

// Which copy the next write replaces: never the one that won.
export function superblockWriteSlot(pick: u32): u32 {
  return pick == PICK_A ? PICK_B : PICK_A;
}

function fail(at: u32, verdict: u32): u32 {
  errorAt = at;
  return verdict;
}
