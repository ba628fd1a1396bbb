// The partition requests home shards send to owners: a send request is written into the headroom in front of its
// batch (a view into the client's decoded frame) instead of copying the batch, and decodes the same either way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Method, decodePartitionRequest, encodePartitionRequest, encodeSendRequestInPlace, encodeSharedSendRequest } from '../../../host/node/server/shard-protocol.js';

const target = { appliedOp: 77, streamId: 3, topicId: 4, partitionId: 5 };

test('a send request is written in front of its batch without copying it, and decodes to the same request', () => {
  const frame = new Uint8Array(300);
  const batch = frame.subarray(40);
  batch.fill(0xab);
  const encoded = encodeSendRequestInPlace(target, batch);
  assert.equal(encoded.buffer, frame.buffer, 'the frame\'s own buffer');
  assert.equal(encoded.byteOffset + encoded.length, frame.byteOffset + frame.length);
  const decoded = decodePartitionRequest(encoded);
  assert.equal(decoded.method, Method.send);
  assert.deepEqual(decoded.target, target);
  assert.ok(decoded.method === Method.send && decoded.batch.every((b) => b === 0xab) && decoded.batch.length === 260);
  assert.deepEqual(encoded, encodePartitionRequest({ method: Method.send, target, batch: new Uint8Array(260).fill(0xab) }));
});

test('a batch with no room in front of it is copied behind the request header', () => {
  const batch = new Uint8Array(30).fill(7);
  const encoded = encodeSendRequestInPlace(target, batch);
  assert.notEqual(encoded.buffer, batch.buffer);
  const decoded = decodePartitionRequest(encoded);
  assert.ok(decoded.method === Method.send && decoded.batch.every((b) => b === 7) && decoded.batch.length === 30);
});

test('a shared send names its batch in the shared memory and decodes to a send whose batch is a view of it', () => {
  const memory = new Uint8Array(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer as unknown as ArrayBuffer);
  const batch = memory.subarray(1000, 1500).fill(9);
  const target = { appliedOp: 7, streamId: 1, topicId: 2, partitionId: 3 };
  const request = encodeSharedSendRequest(target, memory, batch);
  assert.equal(request.length, 29, 'the batch does not travel');
  const decoded = decodePartitionRequest(request, memory);
  assert.equal(decoded.method, Method.send);
  assert.deepEqual(decoded.target, target);
  if (decoded.method !== Method.send) return;
  assert.equal(decoded.batch.buffer, memory.buffer);
  assert.deepEqual([decoded.batch.byteOffset, decoded.batch.length], [1000, 500]);
  assert.throws(() => decodePartitionRequest(request), /outside the shared memory/, 'no memory to read it from');
  assert.throws(() => encodeSharedSendRequest(target, memory, new Uint8Array(10)), /not in the shared memory/);
});
