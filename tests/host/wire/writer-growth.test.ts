// The Writer grows its buffer on demand: every write method must land in the grown buffer, not the old one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader, Writer } from '../../../host/shared/wire/buffer.js';

test('writes that outgrow the initial capacity keep every byte', () => {
  const w = new Writer(1).u8(1).u16(2).u32(3).f32(1.5).u64(4n).u128((5n << 64n) | 6n).bytes(new Uint8Array(300).fill(7)).u32(8);
  const out = w.finish();
  assert.equal(out.length, 1 + 2 + 4 + 4 + 8 + 16 + 300 + 4);
  const r = new Reader(out);
  assert.deepEqual([r.u8(), r.u16(), r.u32()], [1, 2, 3]);
  r.bytes(4);
  assert.deepEqual([r.u64(), r.u128()], [4n, (5n << 64n) | 6n]);
  assert.ok(r.bytes(300).every((b) => b === 7));
  assert.equal(r.u32(), 8);
  for (let capacity = 0; capacity < 12; capacity++) {
    assert.deepEqual([...new Writer(capacity).u32(0x04030201).u64(0x0c0b0a0908070605n).finish()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], `capacity ${capacity}`);
  }
});
