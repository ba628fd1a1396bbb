// Messages between shards over the rings: any size (sent whole or in pieces) arrives whole and in order, a full ring holds messages back
// instead of dropping them, and no drop is counted for what waited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle, Variant } from '../../../host/shared/frames.js';
import { Mailbox, type ShardMessage } from '../../../host/node/server/mailbox.js';
import { loadMesh } from '../core-loader.js';

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[i] = x & 0xff; }
  return bytes;
}

describe('shard mailbox', () => {
  // Fragments of a quarter ring, and of half a ring (the largest the mailbox uses), which must wrap with padding.
  for (const fragment of [16 << 10, 1 << 20]) it(`carries messages from 0 B to 3 MiB through a 64 KiB ring in fragments of up to ${fragment >> 10} KiB, whole and in order, with nothing dropped`, async () => {
    const mesh = await loadMesh('release', 2, 64, 1024);
    const [a, b] = [await mesh.shard(0), await mesh.shard(1)];
    const sender = new Mailbox(a, mesh.memory, 0, 2, { fragmentBytes: fragment });
    const receiver = new Mailbox(b, mesh.memory, 1, 2);
    const sizes = [0, 1, 100, 16 << 10, (16 << 10) + 1, 40_000, 200_000, 3 << 20, 7, 50_000, 33_000];
    // Every other message goes as pieces (an empty one among them) that fragments cut anywhere: it must arrive as
    // the one message the pieces make back to back.
    const asPieces = (bytes: Uint8Array) => [bytes.subarray(0, bytes.length / 3), new Uint8Array(0), bytes.subarray(bytes.length / 3, (2 * bytes.length) / 3), bytes.subarray((2 * bytes.length) / 3)];
    for (const [i, size] of sizes.entries()) {
      const bytes = pattern(size, i + 1);
      sender.send(1, Variant.lifecycle, Lifecycle.metadataSubmit, i + 1, i % 2 === 1 ? asPieces(bytes) : bytes, BigInt(i) << 40n);
    }
    assert.ok(sender.pending > 0, 'a 3 MiB message cannot fit a 64 KiB ring at once');
    const got: ShardMessage[] = [];
    for (let turns = 0; got.length < sizes.length; turns++) {
      assert.ok(turns < 10_000, `stuck after ${got.length} messages`);
      sender.pump();
      for (let frame = b.recvNext(); frame !== 0; frame = b.recvNext()) {
        const message = receiver.receive(frame);
        if (message) got.push(message);
      }
      b.shardFlush();
    }
    assert.equal(sender.pending, 0);
    for (const [i, size] of sizes.entries()) {
      assert.equal(got[i].correlation, i + 1);
      assert.equal(got[i].source, 0);
      assert.equal(got[i].group, BigInt(i) << 40n);
      assert.deepEqual(new Uint8Array(got[i].payload), pattern(size, i + 1), `message ${i} (${size} B)`);
    }
    const drops = new BigUint64Array(mesh.memory.buffer);
    for (let variant = 0; variant < 8; variant++) {
      assert.equal(drops[a.dropCounterAddress(0, variant, 0) >> 3], 0n, `full-ring drops counted for variant ${variant}`);
    }
  });

  it('keeps the two lanes apart: a reply overtakes a large request that is still queued', async () => {
    const mesh = await loadMesh('release', 2, 16, 1024);
    const [a, b] = [await mesh.shard(0), await mesh.shard(1)];
    const sender = new Mailbox(a, mesh.memory, 0, 2, { fragmentBytes: 4 << 10 });
    const receiver = new Mailbox(b, mesh.memory, 1, 2);
    sender.send(1, Variant.lifecycle, Lifecycle.metadataSubmit, 1, pattern(1 << 20, 1));
    sender.send(1, Variant.lifecycle, Lifecycle.forwardClientSend, 2, pattern(10, 2));
    const first: number[] = [];
    for (let frame = b.recvNext(); frame !== 0; frame = b.recvNext()) {
      const message = receiver.receive(frame);
      if (message) first.push(message.correlation);
    }
    assert.deepEqual(first, [2], 'the reply lane delivered while the request was still being fragmented');
  });
});
