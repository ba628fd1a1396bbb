// XXH32 (MessagesKey partitioning, string consumer ids) against published vectors and an independent
// implementation (hash-wasm, compiled from the reference C code).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxhash32 } from 'hash-wasm';
import { xxh32 } from '../../../host/shared/xxh32.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('xxh32 matches the spec and the reference vectors', () => {
  assert.equal(xxh32(text('abc')), 0x32d153ff); // iggy-client-wire.md §13
  assert.equal(xxh32(text('')), 0x02cc5d05);
  assert.equal(xxh32(text('a')), 0x550d7456);
  assert.equal(xxh32(text('Nobody inspects the spammish repetition')), 0xe2293b2f);
  assert.equal(xxh32(text(''), 1), 0x0b2cb792);
});

function fill(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

test('xxh32 equals hash-wasm for every length 0..64 and longer inputs, seeds 0 and non-zero', async () => {
  const lengths = [...Array(65).keys(), 100, 255, 1000, 4099];
  for (const len of lengths) {
    for (const seed of [0, 0x9e3779b1]) {
      const bytes = fill(len, len + 7);
      const expected = parseInt(await xxhash32(bytes, seed), 16);
      assert.equal(xxh32(bytes, seed), expected, `length ${len} seed ${seed}`);
    }
  }
});
