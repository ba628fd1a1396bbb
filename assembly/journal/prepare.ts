// The 256-byte Prepare header (reference/iggy-server-ng.md §3.2) as the metadata WAL stores it, and its checksums.
// u128 checksum fields hold the XXH3-64 value in their low 8 bytes; the high 8 bytes must be zero.
import { xxh3_64 } from "../checksum/xxh3";

export const PREPARE_HEADER: u32 = 256;
export const H_CHECKSUM: usize = 0;
export const H_CHECKSUM_BODY: usize = 16;
export const H_SIZE: usize = 48;
export const H_VIEW: usize = 52;
export const H_RELEASE: usize = 56;
export const H_COMMAND: usize = 60;
export const H_PARENT: usize = 144;
export const H_OP: usize = 176;
export const H_COMMIT: usize = 184;
export const COMMAND_PREPARE: u8 = 6;

// Header verdicts.
export const PREPARE_OK: u32 = 0;
export const PREPARE_BAD_COMMAND: u32 = 1;
export const PREPARE_BAD_SIZE: u32 = 2;
export const PREPARE_HEADER_CHECKSUM: u32 = 3;
export const PREPARE_BODY_CHECKSUM: u32 = 4;
export const PREPARE_NONZERO_RESERVED: u32 = 5;

// Header checksum: XXH3 over bytes 16..256, the view included. (Iggy's identity checksum reads the view as 0 so a
// retransmit may re-stamp it; on disk every bit must be covered, so a prepare is sealed with the view it is stored
// with, and a flipped view bit is caught like any other.)
export function prepareHeaderChecksum(p: usize): u64 {
  return xxh3_64(p + 16, PREPARE_HEADER - 16);
}

// Seals a prepare of `size` bytes (header + body) at `p`: command, size, body checksum, then identity checksum.
export function prepareSeal(p: usize, size: u32): void {
  store<u8>(p + H_COMMAND, COMMAND_PREPARE);
  store<u32>(p + H_SIZE, size);
  store<u64>(p + H_CHECKSUM_BODY, xxh3_64(p + PREPARE_HEADER, size - PREPARE_HEADER));
  store<u64>(p + H_CHECKSUM_BODY + 8, 0);
  store<u64>(p + H_CHECKSUM + 8, 0);
  store<u64>(p + H_CHECKSUM, prepareHeaderChecksum(p));
}

export function prepareCheckHeader(p: usize, maxEntry: u32): u32 {
  if (load<u8>(p + H_COMMAND) != COMMAND_PREPARE) return PREPARE_BAD_COMMAND;
  const size = load<u32>(p + H_SIZE);
  if (size < PREPARE_HEADER || size > maxEntry) return PREPARE_BAD_SIZE;
  if (load<u64>(p + H_CHECKSUM + 8) != 0 || load<u64>(p + H_CHECKSUM_BODY + 8) != 0) return PREPARE_NONZERO_RESERVED;
  if (load<u64>(p + H_CHECKSUM) != prepareHeaderChecksum(p)) return PREPARE_HEADER_CHECKSUM;
  return PREPARE_OK;
}

export function prepareCheckBody(p: usize): u32 {
  const size = load<u32>(p + H_SIZE);
  return xxh3_64(p + PREPARE_HEADER, size - PREPARE_HEADER) == load<u64>(p + H_CHECKSUM_BODY) ? PREPARE_OK : PREPARE_BODY_CHECKSUM;
}

export function prepareOp(p: usize): f64 {
  return <f64>load<u64>(p + H_OP);
}

export function prepareSize(p: usize): u32 {
  return load<u32>(p + H_SIZE);
}

export function isZero(p: usize, len: u32): bool {
  for (let i: u32 = 0; i < len; i += 8) if (load<u64>(p + i) != 0) return false;
  return true;
}
