// Writer growth: a field written when the buffer has to grow must land in the grown buffer (a stale view or
// buffer captured before room() grew it used to throw RangeError or silently drop the bytes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, Writer } from '../../../host/shared/wire/buffer.js';

describe('Writer growth', () => {
  it('keeps every integer written across a growth', () => {
    const w = new Writer(1).u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n).f32(1.5).u128(5n);
    const r = new Reader(w.finish());
    assert.deepEqual([r.u8(), r.u16(), r.u32(), r.u64()], [0xab, 0x1234, 0xdeadbeef, 0x0102030405060708n]);
    r.u32();
    assert.equal(r.u128(), 5n);
    assert.equal(r.remaining, 0);
  });

  it('keeps bytes written across a growth', () => {
    const payload = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    const out = new Writer(4).u8(9).bytes(payload).lenBytes32(payload).finish();
    assert.equal(out.length, 1 + 100 + 4 + 100);
    assert.deepEqual(out.subarray(1, 101), payload);
    assert.deepEqual(out.subarray(105), payload);
  });
});
