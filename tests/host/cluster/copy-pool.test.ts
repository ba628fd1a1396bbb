// CopyPool: an attachment's private copy goes back to the pool only when its last holder (the sealing turn, each
// socket write) lets go, so a slab a socket may still be sending is never handed out again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CopyPool } from '../../../host/node/cluster/copy-pool.js';

test('a slab is reused only after every holder released it; copies are exact; a larger copy is not pooled', () => {
  const pool = new CopyPool(16, 4);
  const shared = new Uint8Array(new SharedArrayBuffer(32)).map((_, i) => i + 1);
  const a = pool.copy(shared.subarray(4, 14));
  assert.deepEqual([...a.bytes], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  a.retain(); // a socket write
  a.release(); // the sealing turn ends
  assert.equal(pool.idle, 0, 'still held by the write');
  const b = pool.copy(new Uint8Array(3).fill(9));
  assert.notEqual(b.bytes.buffer, a.bytes.buffer, 'a held slab is not handed out');
  a.release(); // the write is done
  assert.equal(pool.idle, 1);
  const c = pool.copy(new Uint8Array(2).fill(7));
  assert.equal(c.bytes.buffer, a.bytes.buffer, 'the released slab is reused');
  assert.deepEqual([...c.bytes], [7, 7]);
  assert.throws(() => { a.release(); }, /released more often than held/);
  const big = pool.copy(new Uint8Array(40));
  big.release();
  b.release();
  c.release();
  assert.equal(pool.idle, 2, 'the larger copy had a buffer of its own, not kept');
});

test('slabs come from the source while it has them, and a slab beyond those kept goes back to it', () => {
  const memory = new SharedArrayBuffer(64);
  const given: number[] = [];
  let next = 0;
  const pool = new CopyPool(16, 1, {
    take: (bytes) => (next + bytes <= 32 ? Buffer.from(memory, (next += bytes) - bytes, bytes) : null), // two slabs, then none
    give: (slab) => given.push(slab.byteOffset),
  });
  const copies = [1, 2, 3].map((n) => pool.copy(new Uint8Array(4).fill(n)));
  assert.equal(copies[0].bytes.buffer, memory);
  assert.equal(copies[1].bytes.buffer, memory);
  assert.notEqual(copies[2].bytes.buffer, memory, 'the source ran dry: a heap slab');
  assert.deepEqual([...new Uint8Array(memory, 16, 4)], [2, 2, 2, 2]);
  copies.forEach((c) => c.release());
  assert.equal(pool.idle, 1);
  assert.deepEqual(given, [16], 'the second source slab went back (one is kept); the heap slab was dropped');
});
