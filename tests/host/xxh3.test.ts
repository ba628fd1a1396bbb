// XXH3-64 of the core against an independent implementation (hash-wasm, compiled from the reference C code).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxhash3 } from 'hash-wasm';
import { storageCore } from '../../host/node/io/storage-core.js';

// Deterministic xorshift so a failure names a reproducible input.
function fill(bytes: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

test('xxh3_64 equals hash-wasm on every length class up to 1 MiB', async () => {
  const sc = await storageCore();
  const lengths = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 96, 97, 127, 128, 129, 160, 239, 240, 241,
    255, 256, 1023, 1024, 1025, 4096, 65537, 1 << 20];
  for (const len of lengths) {
    const at = sc.window;
    fill(sc.view(at, len), len + 1);
    assert.equal(sc.xxh3Hex(at, len), await xxhash3(sc.u8.slice(at, at + len)), `length ${len}`);
  }
});

test('xxh3_64 equals hash-wasm on 300 random inputs at random alignments', async () => {
  const sc = await storageCore();
  let seed = 12345;
  for (let i = 0; i < 300; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const len = seed % 3000;
    const at = sc.window + (seed >>> 20) % 61;
    fill(sc.view(at, len), seed);
    assert.equal(sc.xxh3Hex(at, len), await xxhash3(sc.u8.slice(at, at + len)), `input ${i}: length ${len}`);
  }
});

test('the three ABI variants agree', async () => {
  const sc = await storageCore();
  const at = sc.window;
  fill(sc.view(at, 1000), 9);
  sc.core.xxh3_64_into(at, 1000, sc.scratch);
  const viaMemory = Buffer.from(sc.u8.slice(sc.scratch, sc.scratch + 8)).readBigUInt64LE(0).toString(16).padStart(16, '0');
  assert.equal(viaMemory, sc.xxh3Hex(at, 1000));
});
