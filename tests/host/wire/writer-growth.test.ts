// The Writer grows its buffer: a write that crosses the capacity must land in the new buffer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writer } from '../../../host/shared/wire/buffer.js';

test('every Writer method writes correctly across a buffer growth', () => {
  const w = new Writer(1);
  w.u8(1).u16(0x0302).u32(0x07060504).u64(0x0f0e0d0c0b0a0908n).bytes(Uint8Array.of(0x10, 0x11)).u128(0x21201f1e1d1c1b1a191817161514131211n >> 8n);
  w.f32(1);
  const out = w.finish();
  assert.deepEqual([...out.subarray(0, 17)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(out.length, 1 + 2 + 4 + 8 + 2 + 16 + 4);
  assert.deepEqual([...out.subarray(out.length - 4)], [0, 0, 0x80, 0x3f]);
  const big = new Writer(4).bytes(new Uint8Array(1000).fill(7)).finish();
  assert.equal(big.length, 1000);
  assert.ok(big.every((b) => b === 7));
});
