// The client's pure-TS XXH3-64 against the §13 vectors and hash-wasm (compiled from the reference C code).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxhash3 } from 'hash-wasm';
import { xxh3_64 } from '../../host/client/xxh3.js';

const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
const ramp = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

test('xxh3_64 matches the §13 test vectors', () => {
  assert.equal(hex(xxh3_64(new Uint8Array(0))), '2d06800538d394c2');
  assert.equal(hex(xxh3_64(new TextEncoder().encode('abc'))), '78af5f94892f3950');
  assert.equal(hex(xxh3_64(ramp(16))), '8355e3a6f61770db');
  assert.equal(hex(xxh3_64(ramp(100))), '004e4f921a64bd1c');
  assert.equal(hex(xxh3_64(ramp(200))), 'f42a8864feaf0703');
  assert.equal(hex(xxh3_64(ramp(1000))), 'd33dd80b46f60e50');
});

test('xxh3_64 equals hash-wasm on every length class and at unaligned views', async () => {
  let x = 7;
  const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff; });
  const lengths = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 97, 127, 128, 129, 160, 239, 240, 241,
    255, 256, 1023, 1024, 1025, 2048, 4097, 70_001];
  for (const len of lengths) {
    const backing = random(len + 3);
    const bytes = backing.subarray(3); // a non-zero byteOffset: the DataView must honour it
    assert.equal(hex(xxh3_64(bytes)), await xxhash3(bytes), `length ${len}`);
  }
});
