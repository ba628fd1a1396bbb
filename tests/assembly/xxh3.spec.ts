import { xxh3_64, xxh3_64_low, xxh3_last_high } from "../../assembly/checksum/xxh3";

// Fill `len` bytes with i & 0xff, the pattern of the wire spec's vectors (protocol/iggy-client-wire.md §13).
function ramp(len: i32): usize {
  const buf = heap.alloc(max(len, 1));
  for (let i = 0; i < len; i++) store<u8>(buf + i, <u8>(i & 0xff));
  return buf;
}

function hashRamp(len: i32): u64 {
  const buf = ramp(len);
  const h = xxh3_64(buf, len);
  heap.free(buf);
  return h;
}

describe("xxh3_64 (seed 0)", () => {
  it("matches the published vectors of every length class", () => {
    expect(xxh3_64(0, 0)).toBe(0x2d06800538d394c2);
    const abc = String.UTF8.encode("abc");
    expect(xxh3_64(changetype<usize>(abc), 3)).toBe(0x78af5f94892f3950);
    expect(hashRamp(16)).toBe(0x8355e3a6f61770db);
    expect(hashRamp(100)).toBe(0x004e4f921a64bd1c);
    expect(hashRamp(200)).toBe(0xf42a8864feaf0703);
    expect(hashRamp(1000)).toBe(0xd33dd80b46f60e50);
  });

  it("the split-halves variant returns the same 64 bits", () => {
    const buf = ramp(1000);
    const lo = xxh3_64_low(buf, 1000);
    expect((<u64>xxh3_last_high() << 32) | <u64>lo).toBe(0xd33dd80b46f60e50);
    heap.free(buf);
  });

  it("a one-bit change changes the hash", () => {
    const buf = ramp(4096);
    const before = xxh3_64(buf, 4096);
    store<u8>(buf + 2049, load<u8>(buf + 2049) ^ 0x10);
    expect(xxh3_64(buf, 4096)).not.toBe(before);
    heap.free(buf);
  });
});
