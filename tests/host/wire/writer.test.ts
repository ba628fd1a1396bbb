// Writer growth: writes that outgrow the capacity land in the grown buffer, not in the discarded one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writer } from '../../../host/shared/wire/buffer.js';

test('every Writer method keeps its bytes when it grows the buffer', () => {
  const big = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  const out = Buffer.from(new Writer(1).u8(1).u16(0x0203).u32(0xdeadbeef).f32(1.5).u64(9n).u128(1n << 100n).bytes(big).u8(7).finish());
  assert.equal(out.length, 1 + 2 + 4 + 4 + 8 + 16 + 1000 + 1);
  assert.deepEqual([out[0], out.readUInt16LE(1), out.readUInt32LE(3), out.readFloatLE(7), out.readBigUInt64LE(11)], [1, 0x0203, 0xdeadbeef, 1.5, 9n]);
  assert.equal(out.readBigUInt64LE(27), 1n << 36n);
  assert.deepEqual(out.subarray(35, 1035), Buffer.from(big));
  assert.equal(out[1035], 7);
});
