// The client's batches and the server core's batch code must agree byte for byte: what the client seals the core
// verifies, what the core stamps the client reads back with valid checksums.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storageCore } from '../../host/node/io/storage-core.js';
import { buildBatch as coreBuildBatch } from '../../host/node/io/batch-builder.js';
import { buildBatch, readBatch } from '../../host/client/batch.js';
import { stringHeader } from '../../host/client/options.js';

test('a client batch equals the core-sealed one for the same messages', async () => {
  const sc = await storageCore();
  const payloads = ['a', 'bb', 'x'.repeat(300), ''].map((p) => new TextEncoder().encode(p));
  const core = coreBuildBatch(sc, payloads.map((payload, i) => ({ payload, id: BigInt(i + 1) })), 5_000);
  const mine = buildBatch(payloads.map((payload, i) => ({ payload, id: BigInt(i + 1), originTimestamp: 5_000n })));
  assert.deepEqual(mine, new Uint8Array(core.buffer, core.byteOffset, core.byteLength));
});

test('the core verifies client batches with headers and stamps them into batches the client reads', async () => {
  const sc = await storageCore();
  const batch = buildBatch([
    { payload: 'first', id: 11n, headers: [stringHeader('k', 'v'), stringHeader('trace', 'abc')], originTimestamp: 1_000n },
    { payload: new Uint8Array(5000).fill(9), id: 12n, originTimestamp: 1_250n },
  ]);
  const at = sc.window;
  sc.u8.set(batch, at);
  assert.equal(sc.core.batchVerify(at, batch.length, sc.scratch, sc.scratchLen, true), 0, 'the core accepts the client batch');
  assert.equal(sc.core.batchStamp(at, batch.length, 3, 40, 777_000, sc.scratch, sc.scratchLen, true), 0);
  const stamped = sc.u8.slice(at, at + batch.length);
  const messages = readBatch(stamped, true);
  assert.deepEqual(messages.map((m) => [m.offset, m.id, m.timestamp, m.originTimestamp]), [[40n, 11n, 777_000n, 1_000n], [41n, 12n, 777_000n, 1_250n]]);
  assert.deepEqual(messages[0].headers.map((h) => new TextDecoder().decode(h.value)), ['v', 'abc']);
  stamped[300] ^= 1;
  sc.u8.set(stamped, at);
  assert.notEqual(sc.core.batchVerify(at, batch.length, sc.scratch, sc.scratchLen, true), 0, 'and both notice a flipped byte');
  assert.throws(() => readBatch(stamped, true));
});
