import {
  INVALID_NAMESPACE, METADATA_GROUP, ROUTE_ERR_GROUP, ROUTE_ERR_PARTITION, ROUTE_ERR_SHARDS, ROUTE_ERR_STREAM, ROUTE_ERR_TOPIC, murmur3U64,
  murmur3_32, namespaceCheck, namespacePack, routeBatch, routeConsensusControl, routeMetadata, routePartition,
} from "../../assembly/router";

function hashOf(value: u64): u32 {
  const buf = heap.alloc(8);
  store<u64>(buf, value);
  const h = murmur3_32(buf, 8, 0);
  heap.free(buf);
  return h;
}

function hashBytes(text: string, seed: u32): u32 {
  const bytes = String.UTF8.encode(text);
  return murmur3_32(changetype<usize>(bytes), <u32>bytes.byteLength, seed);
}

describe("murmur3_x86_32", () => {
  it("matches Iggy's shard-hash vectors on 8 little-endian bytes", () => {
    expect(hashOf(0)).toBe(0x63852afc);
    expect(hashOf(1)).toBe(0x53075d44);
    expect(hashOf(METADATA_GROUP)).toBe(0x516faf25);
    expect(hashOf(0x5_0020_0007)).toBe(0x4a90bb6b);
  });

  it("the 8-byte fast path equals the general function", () => {
    let x: u64 = 0x9e3779b97f4a7c15;
    for (let i = 0; i < 1000; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      expect(murmur3U64(x)).toBe(hashOf(x));
    }
  });

  it("matches the reference implementation on byte strings of every tail length", () => {
    // Published vectors of the C++ reference (SMHasher MurmurHash3_x86_32).
    expect(murmur3_32(0, 0, 0)).toBe(0);
    expect(murmur3_32(0, 0, 1)).toBe(0x514e28b7);
    expect(murmur3_32(0, 0, 0xffffffff)).toBe(0x81f16f39);
    expect(hashBytes("a", 0x9747b28c)).toBe(0x7fa09ea6);
    expect(hashBytes("aa", 0x9747b28c)).toBe(0x5d211726);
    expect(hashBytes("aaa", 0x9747b28c)).toBe(0x283e0130);
    expect(hashBytes("aaaa", 0x9747b28c)).toBe(0x5a97808a);
    expect(hashBytes("Hello, world!", 0x9747b28c)).toBe(0x24884cba);
    expect(hashBytes("The quick brown fox jumps over the lazy dog", 0x9747b28c)).toBe(0x2fa826cd);
  });
});

describe("namespace packing", () => {
  it("packs stream << 32 | topic << 20 | partition (Iggy golden vectors)", () => {
    expect(namespacePack(5, 2, 7)).toBe(0x5_0020_0007);
    expect(namespacePack(1, 0, 0)).toBe(0x1_0000_0000);
    expect(namespacePack(4095, 4095, 999_999)).toBe(0xfff_ffff_423f);
    expect(namespacePack(4096, 0, 0)).toBe(0x1000_0000_0000);
  });

  it("rejects every component at its limit instead of masking it", () => {
    expect(namespaceCheck((1 << 20) - 1, 4095, 999_999)).toBe(0);
    expect(namespaceCheck(1 << 20, 0, 0)).toBe(ROUTE_ERR_STREAM);
    expect(namespaceCheck(0, 4096, 0)).toBe(ROUTE_ERR_TOPIC);
    expect(namespaceCheck(0, 0, 1_000_000)).toBe(ROUTE_ERR_PARTITION);
    expect(routePartition(0, 4096, 0, 2)).toBe(ROUTE_ERR_TOPIC);
    expect(namespacePack(0, 4096, 0)).toBe(INVALID_NAMESPACE);
    expect(namespacePack(0, 0, 1 << 20)).toBe(INVALID_NAMESPACE);
    expect(routeConsensusControl(INVALID_NAMESPACE, 2)).toBe(ROUTE_ERR_GROUP);
  });
});

describe("routing", () => {
  it("routes a partition by the upper 16 bits of its hash", () => {
    // (5,2,7): hash 0x4a90bb6b, >> 16 = 19088.
    expect(routePartition(5, 2, 7, 1)).toBe(0);
    expect(routePartition(5, 2, 7, 3)).toBe(19088 % 3);
    expect(routePartition(5, 2, 7, 7)).toBe(19088 % 7);
    expect(routePartition(0, 0, 0, 65535)).toBe(25477);
  });

  it("pins METADATA_GROUP to shard 0 although its hash points elsewhere", () => {
    // 0x516faf25 >> 16 = 20847; 20847 % 2 = 1 and % 3 = 0, % 5 = 2: the hash alone would steal it.
    expect((hashOf(METADATA_GROUP) >> 16) % 2).toBe(1);
    for (let shards: u32 = 1; shards <= 64; shards++) {
      expect(routeConsensusControl(METADATA_GROUP, shards)).toBe(0);
    }
    expect(routeMetadata()).toBe(0);
  });

  it("routes consensus control frames of a partition group like the partition", () => {
    for (let p: u32 = 0; p < 200; p++) {
      expect(routeConsensusControl(namespacePack(3, 1, p), 5)).toBe(routePartition(3, 1, p, 5));
    }
  });

  it("rejects zero or too many shards and unpackable groups", () => {
    expect(routePartition(1, 1, 1, 0)).toBe(ROUTE_ERR_SHARDS);
    expect(routePartition(1, 1, 1, 65536)).toBe(ROUTE_ERR_SHARDS);
    expect(routeConsensusControl(1, 0)).toBe(ROUTE_ERR_SHARDS);
    expect(routeConsensusControl(<u64>1 << 52, 4)).toBe(ROUTE_ERR_GROUP);
  });

  it("routes a batch exactly like one at a time, metadata included", () => {
    const n: u32 = 64;
    const keys = heap.alloc(n * 8);
    const out = heap.alloc(n * 2);
    for (let i: u32 = 0; i < n; i++) store<u64>(keys + i * 8, i == 7 ? METADATA_GROUP : namespacePack(i, i & 7, i * 3));
    routeBatch(keys, out, n, 6);
    for (let i: u32 = 0; i < n; i++) {
      expect(<i32>load<u16>(out + i * 2)).toBe(routeConsensusControl(load<u64>(keys + i * 8), 6));
    }
    heap.free(keys);
    heap.free(out);
  });
});
