// The exporter reads what the core counted in shared memory: a flood that overfills a ring must show up as
// frame_drops_total{shard,variant,reason="full"} with the exact count, and ring depth as a gauge.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusKind, Variant } from '../../host/shared/frames.js';
import { MeshView } from '../../host/shared/layout.js';
import { createMetricsRegistry } from '../../host/node/metrics.js';
import { RetentionCounters } from '../../host/node/server/retention-counters.js';
import { NetCounters } from '../../host/node/net/net-counters.js';
import { healthBody, healthHttpStatus } from '../../host/node/http.js';
import type { Supervisor } from '../../host/node/supervisor.js';
import { StorageHealth, type StorageHealthReport } from '../../host/node/server/storage-health.js';
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

  it('exports the storage conditions and counters the shards reported, and /health lists them as reasons', async () => {
    const mesh = await loadMesh('release', 2, 8);
    const view = new MeshView(mesh.memory, mesh.main);
    const posted: StorageHealthReport[] = [];
    const board = new StorageHealth(1, (r) => posted.push(r));
    board.set('partition_fenced', '1/1/0', 'ENOSPC: no space for an append');
    board.set('partition_read_only', '1/1/1', 'damaged at byte 4096');
    board.set('recovery_truncation', '1/1/1', 'truncated ...');
    board.count('truncations');
    board.count('truncatedBytes', 1316);
    board.count('noSpaceWrites', 3);
    board.clear('partition_fenced', '1/1/0');
    board.set('partition_fenced', '1/1/0', 'ENOSPC again');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(posted.length, 1, 'one report per turn, whatever changed in it');
    board.clearSubject('1/1/1'); // the partition was deleted: its truncation stays listed, its read-only state goes
    await new Promise((resolve) => setImmediate(resolve));
    const reports = new Map([[1, posted.at(-1)!]]);
    assert.deepEqual(reports.get(1)!.conditions.map((c) => [c.kind, c.subject]), [['recovery_truncation', '1/1/1'], ['partition_fenced', '1/1/0']]);

    const text = await createMetricsRegistry(view, () => true, new NetCounters(), () => reports.values()).metrics();
    assert.match(text, /^partitions_fenced\{shard="1"\} 1$/m);
    assert.match(text, /^partitions_fenced\{shard="0"\} 0$/m);
    assert.match(text, /^partitions_read_only\{shard="1"\} 0$/m);
    assert.match(text, /^recovery_truncated_partitions\{shard="1"\} 1$/m);
    assert.match(text, /^recovery_truncations_total\{shard="1"\} 1$/m);
    assert.match(text, /^recovery_truncated_bytes_total\{shard="1"\} 1316$/m);
    assert.match(text, /^partition_no_space_writes_total\{shard="1"\} 3$/m);
    assert.match(text, /^metadata_log_failed\{shard="0"\} 0$/m);

    const supervisor = {
      booted: true, mesh: view, shards: [{ id: 0, cpu: 0 }, { id: 1, cpu: 1 }], shutdownReason: 0, startedAt: Date.now(), storage: reports,
      isAlive: () => true,
    } as unknown as Supervisor;
    const body = healthBody(supervisor);
    assert.equal(body.status, 'degraded');
    assert.equal(body.reasons_total, 2);
    assert.equal(healthHttpStatus(body.status), 200);
    assert.deepEqual(body.reasons.map((r) => [r.kind, r.subject, r.shard]), [['recovery_truncation', '1/1/1', 1], ['partition_fenced', '1/1/0', 1]]);
    assert.equal(healthBody({ ...supervisor, isAlive: (id: number) => id !== 1 } as unknown as Supervisor).status, 'unavailable');
    assert.equal(healthHttpStatus('unavailable'), 503);
    assert.equal(healthBody({ ...supervisor, storage: new Map() } as unknown as Supervisor).status, 'ok');
  });
});
