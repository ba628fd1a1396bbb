// A shard's storage runs on the shard's own core instance and its storage region of the process's shared memory
// (one instance per thread, one memory per process), not on a private copy of the core.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Partition } from '../../host/node/io/partition.js';
import { batchPayloads, buildBatch } from '../../host/node/io/batch-builder.js';
import { StorageCore } from '../../host/node/io/storage-core.js';
import { loadMesh } from './core-loader.js';
import { tempDir } from './helpers.js';

describe('storage on a shard', () => {
  it('appends and reads a partition through the shard instance, inside its storage region only', async () => {
    const size = 64 << 20;
    const mesh = await loadMesh('release', 2, 8, 64, size);
    const shard = await mesh.shard(1);
    const base = shard.shardStorageAddress(1);
    assert.equal(shard.shardStorageSize(), size);
    assert.ok(base >= shard.shardArenaAddress(1) + shard.shardArenaSize(), 'storage sits above the arenas');
    const neighbour = new Uint8Array(mesh.memory.buffer, shard.shardStorageAddress(0), size);
    neighbour.fill(0xa5);

    const sc = StorageCore.attach(shard, mesh.memory, base, size);
    assert.ok(sc.scratch >= base && sc.staging + sc.stagingLen <= base + size);
    const partition = await Partition.open({ dir: tempDir(), partitionId: 4, quiet: true }, sc);
    const payloads = [Buffer.from('first'), Buffer.from('second')];
    const result = partition.append([buildBatch(sc, payloads.map((payload) => ({ payload })), 1000)]);
    assert.equal(result.baseOffset, 0);
    const [stored] = partition.readFromOffset(0);
    assert.deepEqual(batchPayloads(stored.bytes), payloads);
    partition.close();
    assert.ok(neighbour.every((b) => b === 0xa5), "shard 0's storage region is untouched");
    assert.throws(() => StorageCore.attach(shard, mesh.memory, base, mesh.memory.buffer.byteLength), /outside the memory/);
  });
});
