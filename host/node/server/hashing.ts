// XXH3-64 (seed 0) of host bytes through the shard's own core instance: the request_checksum check and the
// message-key hash use the core's implementation, never a host copy of it.
import type { StorageCore } from '../io/storage-core.js';

export function xxh3Of(sc: StorageCore, bytes: Uint8Array): bigint {
  if (bytes.length > sc.windowLen) return -1n; // larger than anything a client stamps; never equal to a checksum
  const at = bytes.length <= sc.scratchLen ? sc.scratch : sc.window;
  sc.u8.set(bytes, at);
  const low = BigInt(sc.core.xxh3_64_low(at, bytes.length) >>> 0);
  const high = BigInt(sc.core.xxh3_last_high() >>> 0);
  return (high << 32n) | low;
}
