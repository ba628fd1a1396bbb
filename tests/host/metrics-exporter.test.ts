// The exporter reads what the core counted in shared memory: a flood that overfills a ring must show up as
// frame_drops_total{shard,variant,reason="full"} with the exact count, and ring depth as a gauge.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusKind, Variant } from '../../host/shared/frames.js';
import { MeshView } from '../../host/shared/layout.js';
import { createMetricsRegistry } from '../../host/node/metrics.js';
import { RetentionCounters } from '../../host/node/server/retention-counters.js';
import { NetCounters } from '../../host/node/net/net-counters.js';
import { loadMesh } from './core-loader.js';

describe('metrics exporter', () => {
  it('exports drops, frame counts and ring depth per shard from shared memory', async () => {
    const capacity = 8;
    const mesh = await loadMesh('release', 2, capacity);
    const sender = await mesh.shard(1);
    let sent = 0;
    for (let i = 0; i < capacity + 3; i++) {
      if (sender.sendBegin(0, Variant.consensus, ConsensusKind.partition, i, 16) !== 0) {
        sender.sendCommit();
        sent++;
      }
    }
    sender.shardFlush();
    assert.equal(sent, capacity);
    const registry = createMetricsRegistry(new MeshView(mesh.memory, mesh.main), () => true, new NetCounters());
    const text = await registry.metrics();
    assert.match(text, /^frame_drops_total\{shard="1",variant="partition",reason="full"\} 3$/m);
    assert.doesNotMatch(text, /^frame_drops_total\{shard="0",variant="partition"/m);
    assert.match(text, /^shard_frames_sent_total\{shard="1"\} 8$/m);
    assert.match(text, /^shard_ring_depth_slots\{shard="0",from="1",lane="inbox"\} 8$/m);
    assert.match(text, /^shard_ring_capacity_slots\{lane="reply"\} 8$/m);
  });

  it('exports what retention counted on a shard: segments and bytes by reason, and passes', async () => {
    const mesh = await loadMesh('release', 2);
    const counters = new RetentionCounters(mesh.main, mesh.memory, 1);
    const removed = { logPath: 'x.log', firstOffset: 0, lastOffset: 9, lastTimestamp: 0 };
    counters.removed({ ...removed, bytes: 1000, reason: 'expiry' });
    counters.removed({ ...removed, bytes: 24, reason: 'expiry' });
    counters.removed({ ...removed, bytes: 7, reason: 'size' });
    counters.pass();
    const text = await createMetricsRegistry(new MeshView(mesh.memory, mesh.main), () => true, new NetCounters()).metrics();
    assert.match(text, /^retention_segments_removed_total\{shard="1",reason="expiry"\} 2$/m);
    assert.match(text, /^retention_segments_removed_total\{shard="1",reason="size"\} 1$/m);
    assert.match(text, /^retention_bytes_removed_total\{shard="1",reason="expiry"\} 1024$/m);
    assert.match(text, /^retention_bytes_removed_total\{shard="1",reason="size"\} 7$/m);
    assert.match(text, /^retention_segments_removed_total\{shard="0",reason="size"\} 0$/m);
    assert.match(text, /^retention_passes_total\{shard="1"\} 1$/m);
    // Nothing of it landed in the counters next to it.
    assert.match(text, /^client_evictions_total\{shard="1"\} 0$/m);
    assert.doesNotMatch(text, /^frame_drops_total\{shard="1"[^}]*\} [1-9]/m);
  });
});
