// The descriptor of a metadata request: what the VSR core prepares in place of the real body (prepare bodies are
// capped at 256 B in the core). Inside the checksummed prepare it binds the real body (XXH3-64 and length), the
// requester and the proposal's timestamp to the op; the metadata WAL entry carries the real body next to it.
//   body xxh3 u64 | body length u32 | user id u32 | timestamp µs u64 | client u128 (lo, hi)
export const DESCRIPTOR_BYTES = 40;

export interface Descriptor {
  bodyHash: bigint;
  bodyLength: number;
  userId: number;
  timestampMicros: number;
  client: bigint; // u128 wire client id (0n for server-internal ops)
}

const U64 = 0xffff_ffff_ffff_ffffn;

export function encodeDescriptor(d: Descriptor): Uint8Array {
  const b = new Uint8Array(DESCRIPTOR_BYTES);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, d.bodyHash, true);
  v.setUint32(8, d.bodyLength, true);
  v.setUint32(12, d.userId >>> 0, true);
  v.setBigUint64(16, BigInt(d.timestampMicros), true);
  v.setBigUint64(24, d.client & U64, true);
  v.setBigUint64(32, (d.client >> 64n) & U64, true);
  return b;
}

// null unless exactly a descriptor.
export function decodeDescriptor(b: Uint8Array): Descriptor | null {
  if (b.length !== DESCRIPTOR_BYTES) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    bodyHash: v.getBigUint64(0, true),
    bodyLength: v.getUint32(8, true),
    userId: v.getUint32(12, true),
    timestampMicros: Number(v.getBigUint64(16, true)),
    client: v.getBigUint64(24, true) | (v.getBigUint64(32, true) << 64n),
  };
}

// The core keys its client table by u64: the wire's u128 folded. Random client ids keep collisions at 2^-64;
// the all-ones key is the server's own internal client and never a wire client's.
export const INTERNAL_CLIENT_KEY = U64;

export function clientKey(client: bigint): bigint {
  const key = (client & U64) ^ ((client >> 64n) & U64);
  return key === INTERNAL_CLIENT_KEY ? key - 1n : key;
}
