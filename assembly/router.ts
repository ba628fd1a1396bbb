// Namespace packing and shard hashing, bit-compatible with Iggy (core/binary_protocol/src/namespace.rs,
// core/shard/src/shards_table.rs): ns = stream << 32 | topic << 20 | partition, shard = (murmur3_x86_32(ns as
// 8 little-endian bytes, seed 0) >> 16) % shards. The upper 16 bits are used because the low bits of murmur3
// are weak for small integers.

export const STREAM_BITS: u32 = 20;
export const TOPIC_BITS: u32 = 12;
export const PARTITION_BITS: u32 = 20;
export const MAX_STREAMS: u32 = 1 << STREAM_BITS;
export const MAX_TOPICS: u32 = 1 << TOPIC_BITS;
export const MAX_PARTITIONS: u32 = 1_000_000;
export const TOPIC_SHIFT: u64 = 20;
export const STREAM_SHIFT: u64 = 32;
export const PACKED_NAMESPACE_MAX: u64 = (<u64>1 << 52) - 1;

// The metadata consensus group. Above the packed range so no partition can collide with it; it always lives on
// shard 0 even though its hash points elsewhere (Iggy PR #3269 review: a control frame hashed to shard 1 wedged
// the metadata group).
export const METADATA_GROUP: u64 = <u64>1 << 63;

// METADATA_GROUP for hosts (they create the metadata group with it, never with a copy of their own).
export function metadataGroupId(): u64 {
  return METADATA_GROUP;
}

export const ROUTE_ERR_STREAM: i32 = -1;
export const ROUTE_ERR_TOPIC: i32 = -2;
export const ROUTE_ERR_PARTITION: i32 = -3;
export const ROUTE_ERR_SHARDS: i32 = -4;
export const ROUTE_ERR_GROUP: i32 = -5;

const C1: u32 = 0xcc9e2d51;
const C2: u32 = 0x1b873593;

// @ts-ignore: decorator
@inline function mixK(k: u32): u32 {
  return rotl<u32>(k * C1, 15) * C2;
}

// @ts-ignore: decorator
@inline function mixH(h: u32, k: u32): u32 {
  return rotl<u32>(h ^ mixK(k), 13) * 5 + 0xe6546b64;
}

// @ts-ignore: decorator
@inline function fmix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >> 16);
}

// murmur3_x86_32 over `len` bytes at `ptr`.
export function murmur3_32(ptr: usize, len: u32, seed: u32): u32 {
  let h = seed;
  const blocks = len >> 2;
  for (let i: u32 = 0; i < blocks; i++) h = mixH(h, load<u32>(ptr + (<usize>i << 2)));
  const tail = ptr + (<usize>blocks << 2);
  let k: u32 = 0;
  const rest = len & 3;
  if (rest == 3) k ^= <u32>load<u8>(tail, 2) << 16;
  if (rest >= 2) k ^= <u32>load<u8>(tail, 1) << 8;
  if (rest >= 1) {
    k ^= <u32>load<u8>(tail);
    h ^= mixK(k);
  }
  return fmix(h ^ len);
}

// murmur3_x86_32 of one u64 as 8 little-endian bytes, seed 0: the shard hash.
// @ts-ignore: decorator
@inline export function murmur3U64(value: u64): u32 {
  let h = mixH(0, <u32>value);
  h = mixH(h, <u32>(value >> 32));
  return fmix(h ^ 8);
}

// Not a valid group: above the packed range and not METADATA_GROUP.
export const INVALID_NAMESPACE: u64 = 0xffffffffffffffff;

// The packed namespace, or INVALID_NAMESPACE when a component is out of range (in every build: masking would
// alias two partitions onto one consensus group).
export function namespacePack(stream: u32, topic: u32, partition: u32): u64 {
  if (namespaceCheck(stream, topic, partition) != 0) return INVALID_NAMESPACE;
  return (<u64>stream << STREAM_SHIFT) | (<u64>topic << TOPIC_SHIFT) | <u64>partition;
}

// 0 when the components fit, otherwise the ROUTE_ERR_* of the first that does not.
export function namespaceCheck(stream: u32, topic: u32, partition: u32): i32 {
  if (stream >= MAX_STREAMS) return ROUTE_ERR_STREAM;
  if (topic >= MAX_TOPICS) return ROUTE_ERR_TOPIC;
  if (partition >= MAX_PARTITIONS) return ROUTE_ERR_PARTITION;
  return 0;
}

// @ts-ignore: decorator
@inline export function shardOfHash(value: u64, shards: u32): u32 {
  return (murmur3U64(value) >> 16) % shards;
}

export function routeMetadata(): i32 {
  return 0;
}

export function routePartition(stream: u32, topic: u32, partition: u32, shards: u32): i32 {
  if (shards == 0 || shards > 0xffff) return ROUTE_ERR_SHARDS;
  const err = namespaceCheck(stream, topic, partition);
  if (err != 0) return err;
  return <i32>shardOfHash(namespacePack(stream, topic, partition), shards);
}

// Consensus control frames (view change, commit, repair) carry only their group id.
export function routeConsensusControl(group: u64, shards: u32): i32 {
  if (shards == 0 || shards > 0xffff) return ROUTE_ERR_SHARDS;
  if (group == METADATA_GROUP) return 0;
  if (group > PACKED_NAMESPACE_MAX) return ROUTE_ERR_GROUP;
  return <i32>shardOfHash(group, shards);
}

// Routes `count` u64 groups at `groups` into u16 shard ids at `out`; the batched form amortises the call.
export function routeBatch(groups: usize, out: usize, count: u32, shards: u32): void {
  assert(shards != 0 && shards <= 0xffff, "routeBatch: bad shard count");
  for (let i: u32 = 0; i < count; i++) {
    const group = load<u64>(groups + (<usize>i << 3));
    const shard: u32 = group == METADATA_GROUP ? 0 : shardOfHash(group, shards);
    store<u16>(out + (<usize>i << 1), <u16>shard);
  }
}
