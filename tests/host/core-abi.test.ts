// core.wasm as the host sees it: routing against an independent murmur3, the mesh across instances that share
// one memory, misroute handling in debug vs release, and the engine self-test.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { checkWaitCanary } from '../../host/shared/core.js';
import { compileCore, instantiateCore } from '../../host/node/core-file.js';
import { defaultCoreWasm } from '../../host/node/paths.js';
import { DROP_REASONS, DROP_VARIANTS, FRAME_HEADER, F, Lifecycle, Variant } from '../../host/shared/frames.js';
import { MAILBOX_METRIC, METRIC } from '../../host/shared/layout.js';
import { loadMesh } from './core-loader.js';

const require = createRequire(import.meta.url);
const murmur = require('murmurhash3js-revisited') as { x86: { hash32(bytes: Uint8Array, seed?: number): number } };

function u64le(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

// Independent reference for the shard of a group: the npm reference port of MurmurHash3_x86_32.
function referenceShard(group: bigint, shards: number): number {
  return (murmur.x86.hash32(u64le(group), 0) >>> 16) % shards;
}

describe('core.wasm ABI', () => {
  it('passes the atomics self-test under --no-liftoff', async () => {
    const mesh = await loadMesh('release', 1);
    assert.doesNotThrow(() => checkWaitCanary(mesh.main, 4096));
  });

  it('murmur3_x86_32 matches the reference implementation on 8 zero bytes, known inputs and random bytes', async () => {
    const { main, memory } = await loadMesh('release', 1);
    const bytes = new Uint8Array(memory.buffer);
    const scratch = 8192;
    const hash = (input: Uint8Array, seed: number) => {
      bytes.set(input, scratch);
      return main.murmur3_32(scratch, input.length, seed) >>> 0;
    };
    assert.equal(hash(new Uint8Array(8), 0), 0x63852afc);
    assert.equal(murmur.x86.hash32(new Uint8Array(8), 0) >>> 0, 0x63852afc);
    for (const group of [0n, 1n, 1n << 63n, 0x5_0020_0007n, 0xfff_ffff_423fn]) {
      assert.equal(hash(u64le(group), 0), murmur.x86.hash32(u64le(group), 0) >>> 0, `group ${group}`);
    }
    let x = 0x9e3779b9;
    for (let i = 0; i < 2000; i++) {
      const input = new Uint8Array(i % 67);
      for (let j = 0; j < input.length; j++) { x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0; input[j] = x & 0xff; }
      const seed = i % 3 === 0 ? 0 : x;
      assert.equal(hash(input, seed), murmur.x86.hash32(input, seed) >>> 0, `input ${i}`);
    }
  });

  it('routes partitions and control groups like the reference, and METADATA_GROUP always to shard 0', async () => {
    const { main } = await loadMesh('release', 1);
    for (const shards of [1, 2, 3, 7, 16, 65535]) {
      for (let p = 0; p < 300; p++) {
        const [stream, topic, partition] = [p % 17, p % 5, p * 7919 % 1_000_000];
        const group = (BigInt(stream) << 32n) | (BigInt(topic) << 20n) | BigInt(partition);
        assert.equal(main.namespacePack(stream, topic, partition), group);
        assert.equal(main.routePartition(stream, topic, partition, shards), referenceShard(group, shards));
        assert.equal(main.routeConsensusControl(group, shards), referenceShard(group, shards));
      }
      assert.equal(main.routeConsensusControl(1n << 63n, shards), 0);
      assert.equal(main.routeMetadata(), 0);
    }
    assert.equal(referenceShard(1n << 63n, 2), 1, 'the metadata group hashes to shard 1 of 2: pinning matters');
  });

  it('two instances over one memory exchange a ping and its pong through the rings', async () => {
    const mesh = await loadMesh('release', 2);
    const [a, b] = [await mesh.shard(0), await mesh.shard(1)];
    const view = new DataView(mesh.memory.buffer);
    const payload = a.sendBegin(1, Variant.lifecycle, Lifecycle.ping, 42, 4);
    assert.notEqual(payload, 0);
    view.setUint32(payload, 0xfeedbeef, true);
    a.sendCommit();
    assert.equal(b.recvNext(), 0, 'nothing is visible before the producer publishes');
    a.shardFlush();
    const ping = b.recvNext();
    assert.notEqual(ping, 0);
    assert.equal(view.getUint16(ping + F.source, true), 0);
    assert.equal(view.getUint32(ping + F.correlation, true), 42);
    assert.equal(view.getUint32(ping + FRAME_HEADER, true), 0xfeedbeef);
    assert.notEqual(b.sendBegin(0, Variant.lifecycle, Lifecycle.pong, 42, 0), 0);
    b.sendCommit();
    b.shardFlush();
    const pong = a.recvNext();
    assert.equal(view.getUint8(pong + F.kind), Lifecycle.pong);
    assert.equal(a.ringDepth(a.ringAddress(1, 0, 1)), 1, 'the pong travelled on the reply lane');
  });

  it('a misrouted frame traps in the debug build and is dropped and counted in release', async () => {
    for (const build of ['debug', 'release'] as const) {
      const mesh = await loadMesh(build, 2);
      const b = await mesh.shard(1);
      const view = new DataView(mesh.memory.buffer);
      const ring = mesh.main.ringAddress(0, 1, 0);
      const frame = mesh.main.ringReserve(ring, FRAME_HEADER);
      new Uint8Array(mesh.memory.buffer, frame, FRAME_HEADER).fill(0);
      view.setUint8(frame + F.variant, Variant.lifecycle);
      view.setUint8(frame + F.kind, Lifecycle.ping);
      view.setUint16(frame + F.target, 0, true); // says shard 0, sits in shard 1's inbox
      mesh.main.ringCommit(ring);
      mesh.main.ringPublish(ring);
      if (build === 'debug') {
        assert.throws(() => b.recvNext(), /misrouted frame/);
      } else {
        assert.equal(b.recvNext(), 0);
        const misrouted = mesh.main.dropCounterAddress(1, 7 /* lifecycle */, 4 /* misrouted */);
        assert.equal(new BigUint64Array(mesh.memory.buffer)[misrouted / 8], 1n);
      }
    }
  });

  it('gives each shard a mailbox metric per target and kind, all distinct and inside that shard\'s metrics block', async () => {
    for (const shards of [1, 2, 5, 33]) {
      const { main } = await loadMesh('release', shards);
      const seen = new Set<number>();
      const fixed = new Set(Object.values(METRIC).map((which) => main.metricsAddress(0, which)));
      for (let shard = 0; shard < shards; shard++) {
        // After the shard's last drop counter (the end of its fixed metrics), before the next shard's block.
        const block = main.dropCounterAddress(shard, DROP_VARIANTS.length - 1, DROP_REASONS.length - 1) + 8;
        const next = shard + 1 < shards ? main.metricsAddress(shard + 1, 0) : main.ringAddress(0, 0, 0);
        for (let target = 0; target < shards; target++) for (const which of Object.values(MAILBOX_METRIC)) {
          const at = main.mailboxMetricAddress(shard, target, which);
          assert.ok(at >= block && at + 8 <= next, `shard ${shard} target ${target} metric ${which} at ${at} outside [${block}, ${next})`);
          assert.ok(!seen.has(at) && !fixed.has(at), `shard ${shard} target ${target} metric ${which} shares ${at}`);
          seen.add(at);
        }
      }
    }
  });

  it('the release build (asserts stripped) still refuses out-of-range ids instead of touching the wrong memory', async () => {
    const mesh = await loadMesh('release', 2);
    const core = await mesh.shard(0);
    assert.equal(core.namespacePack(0, 4096, 0), 0xffff_ffff_ffff_ffffn, 'topic 4096 must not alias stream 1');
    assert.equal(core.namespacePack(0, 0, 1_000_000), 0xffff_ffff_ffff_ffffn);
    assert.equal(core.replicaOwnerClaim(256, 0), 0);
    assert.equal(core.replicaOwnerClaim(7, 0xffff), 0);
    assert.equal(core.replicaOwner(7), -1);
    assert.equal(core.replicaOwnerClear(256, 0x10000), false);
    const first = core.replicaOwnerClaim(7, 1);
    const second = core.replicaOwnerClaim(7, 1);
    assert.notEqual(second, first, 'a reconnect on the same shard gets a new token');
    assert.equal(core.replicaOwnerClear(7, first), false, 'the stale clear loses');
    assert.equal(core.replicaOwner(7), 1);
    assert.throws(() => core.shardInit(65536, 2), /unreachable/, 'shard id beyond the layout');
    assert.throws(() => core.sendBegin(1, 9, 0, 0, 0), /unreachable/, 'unknown frame variant');
  });

  it('each instance allocates only inside its own arena, and an exhausted or missing arena traps', async () => {
    const mesh = await loadMesh('release', 2);
    const [a, b] = [await mesh.shard(0), await mesh.shard(1)];
    const size = a.shardArenaSize();
    for (const [core, id] of [[a, 0], [b, 1]] as const) {
      const base = core.shardArenaAddress(id);
      const first = core.__alloc(100);
      const second = core.__alloc(100);
      assert.ok(first >= base && second > first && second + 100 <= base + size, `shard ${id}: ${first}, ${second} in [${base}, ${base + size})`);
      assert.equal(first % 16, 0, 'blocks are 16-byte aligned');
      assert.throws(() => core.__alloc(size), /unreachable/);
      core.__reset();
      assert.equal(core.__alloc(100), first, '__reset frees the whole arena');
    }
    const fresh = await instantiateCore(await compileCore(defaultCoreWasm), mesh.memory, defaultCoreWasm);
    assert.throws(() => fresh.__alloc(8), /unreachable/, 'no arena before __arena_init');
  });

  it('the layout keeps every region inside the memory and apart from each other', async () => {
    const shards = 3;
    const mesh = await loadMesh('release', shards);
    const { main, memory } = mesh;
    const regions: [string, number, number][] = [];
    for (let s = 0; s < shards; s++) {
      regions.push([`ctl${s}`, main.shardCtlAddress(s), 64]);
      regions.push([`arena${s}`, main.shardArenaAddress(s), main.shardArenaSize()]);
      regions.push([`scratch${s}`, main.shardScratchAddress(s), main.shardScratchSize()]);
      for (let d = 0; d < shards; d++) for (const lane of [0, 1]) {
        const ring = main.ringAddress(s, d, lane);
        regions.push([`ring${s}>${d}/${lane}`, ring, 256 + main.ringCapacity(ring) * 64]);
      }
    }
    regions.sort((x, y) => x[1] - y[1]);
    for (let i = 1; i < regions.length; i++) {
      const [prev, start, len] = regions[i - 1];
      assert.ok(start + len <= regions[i][1], `${prev} overlaps ${regions[i][0]}`);
    }
    const [, lastStart, lastLen] = regions[regions.length - 1];
    assert.ok(lastStart + lastLen <= memory.buffer.byteLength);
    assert.ok(main.layoutTotalBytes() <= memory.buffer.byteLength);
  });
});
