// Prometheus exporter. Shard counters live in shared memory, written by the core; at scrape time each metric's
// collect() copies them out with Atomics loads. The `shard` label is attached here, not by the core.
import client from 'prom-client';
import { CTL, MAILBOX_METRIC, METRIC, MeshView } from '../shared/layout.js';
import { DROP_REASONS, DROP_VARIANTS, LANES } from '../shared/frames.js';
import type { NetCounters } from './net/net-counters.js';
import type { ConditionKind, StorageCounters, StorageHealthReport } from './server/storage-health.js';

// `storage`: each shard's last storage report (server/storage-health.ts), posted by the shard when it changes.
export function createMetricsRegistry(
  mesh: MeshView, isAlive: (shard: number) => boolean, net: NetCounters, storage: () => Iterable<StorageHealthReport> = () => [],
): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const shards = Array.from({ length: mesh.shards }, (_, i) => i);

  new client.Counter({
    name: 'frame_drops_total',
    help: 'Frames a shard could not deliver to another shard (try-send-or-drop), by frame variant and reason',
    labelNames: ['shard', 'variant', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const shard of shards) {
        // The family is always present; other pairs appear after their first drop (as in Iggy).
        this.inc({ shard: String(shard), variant: 'consensus', reason: 'full' }, 0);
        DROP_VARIANTS.forEach((variant, v) => DROP_REASONS.forEach((reason, r) => {
          const value = Number(mesh.drops(shard, v, r));
          if (value > 0) this.inc({ shard: String(shard), variant, reason }, value);
        }));
      }
    },
  });

  const perShardCounter = (name: string, help: string, which: number) => new client.Counter({
    name, help, labelNames: ['shard'], registers: [registry],
    collect() {
      this.reset();
      for (const shard of shards) this.inc({ shard: String(shard) }, Number(mesh.metric(shard, which)));
    },
  });
  perShardCounter('shard_frames_sent_total', 'Frames a shard put into rings', METRIC.framesSent);
  perShardCounter('shard_frames_received_total', 'Frames a shard took out of its rings', METRIC.framesReceived);
  perShardCounter('client_connections_total', 'Client (Iggy binary protocol) connections a shard accepted', METRIC.clientsTotal);
  perShardCounter('client_requests_total', 'Client requests a shard answered', METRIC.requests);
  perShardCounter('client_request_errors_total', 'Client requests answered with a non-zero status', METRIC.requestErrors);
  perShardCounter('client_evictions_total', 'Client requests answered with an Eviction', METRIC.evictions);
  perShardCounter('retention_passes_total', 'Passes of the retention timer over the partitions a shard owns', METRIC.retentionPasses);

  // Retention (topic message_expiry / max_topic_size): what the owner shard removed, by reason.
  const byReason = (name: string, help: string, expiry: number, size: number) => new client.Counter({
    name, help, labelNames: ['shard', 'reason'], registers: [registry],
    collect() {
      this.reset();
      for (const shard of shards) {
        this.inc({ shard: String(shard), reason: 'expiry' }, Number(mesh.metric(shard, expiry)));
        this.inc({ shard: String(shard), reason: 'size' }, Number(mesh.metric(shard, size)));
      }
    },
  });
  byReason('retention_segments_removed_total', 'Sealed segments removed by retention, by reason (expiry: message_expiry; size: max_topic_size)',
    METRIC.retentionSegmentsExpiry, METRIC.retentionSegmentsSize);
  byReason('retention_bytes_removed_total', 'Bytes of the sealed segments removed by retention, by reason',
    METRIC.retentionBytesExpiry, METRIC.retentionBytesSize);
  perShardCounter('client_login_failures_total', 'Logins refused for their credentials (wrong password or token, inactive user)', METRIC.loginFailures);
  perShardCounter('client_login_throttled_total', 'Logins refused unchecked from a locked-out address, and connections closed after too many failed logins', METRIC.loginsThrottled);
  perShardCounter('client_sessions_revoked_total', 'Sessions ended because their user was deleted or deactivated, or their password or token revoked', METRIC.sessionsRevoked);
  perShardCounter('partition_ops_total', 'Ops the shard\'s partition groups committed (sends, offset changes); a request refused before it is proposed (a batch that fails its checksums) is none', METRIC.partitionOps);

  new client.Gauge({
    name: 'client_connections',
    help: 'Open client connections, per serving shard',
    labelNames: ['shard'],
    registers: [registry],
    collect() {
      for (const shard of shards) this.set({ shard: String(shard) }, Number(mesh.metric(shard, METRIC.clientsOpen)));
    },
  });

  new client.Gauge({
    name: 'shard_ring_depth_slots',
    help: 'Occupied slots of the ring into `shard` from `from`, per lane, as last published by both ends',
    labelNames: ['shard', 'from', 'lane'],
    registers: [registry],
    collect() {
      for (const dst of shards) for (const src of shards) for (const [lane, name] of LANES.entries()) {
        this.set({ shard: String(dst), from: String(src), lane: name }, mesh.ringDepth(src, dst, lane));
      }
    },
  });

  new client.Gauge({
    name: 'shard_ring_capacity_slots',
    help: 'Slots per ring, per lane',
    labelNames: ['lane'],
    registers: [registry],
    collect() {
      for (const [lane, name] of LANES.entries()) this.set({ lane: name }, mesh.ringCapacity(lane));
    },
  });

  // The mailbox's queue from `shard` towards `target` (host/node/server/mailbox.ts): what waits for the target's
  // full rings, and the producers (a client request, a metadata proposal) held back while it was over its bound.
  const perTarget = (which: number, value: (raw: bigint) => number) => function (this: client.Gauge | client.Counter) {
    if (this instanceof client.Counter) this.reset();
    for (const shard of shards) for (const target of shards) {
      if (target === shard) continue;
      const labels = { shard: String(shard), target: String(target) };
      const v = value(mesh.mailboxMetric(shard, target, which));
      if (this instanceof client.Counter) this.inc(labels, v);
      else this.set(labels, v);
    }
  };
  new client.Gauge({
    name: 'shard_backlog_bytes', help: 'Bytes a shard has queued for another shard whose rings are full (not yet in a ring)',
    labelNames: ['shard', 'target'], registers: [registry], collect: perTarget(MAILBOX_METRIC.backlogBytes, Number),
  });
  new client.Gauge({
    name: 'shard_backlog_messages', help: 'Messages a shard has queued for another shard whose rings are full',
    labelNames: ['shard', 'target'], registers: [registry], collect: perTarget(MAILBOX_METRIC.backlogMessages, Number),
  });
  new client.Counter({
    name: 'shard_backpressure_waits_total',
    help: 'Requests and metadata proposals held back (their client socket not read) because the backlog towards target was over its bound',
    labelNames: ['shard', 'target'], registers: [registry], collect: perTarget(MAILBOX_METRIC.waits, Number),
  });
  new client.Counter({
    name: 'shard_backpressure_wait_seconds_total', help: 'Time those requests and proposals spent held back, summed',
    labelNames: ['shard', 'target'], registers: [registry], collect: perTarget(MAILBOX_METRIC.waitMicros, (raw) => Number(raw) / 1e6),
  });

  new client.Gauge({
    name: 'shard_up',
    help: '1 while the shard is running and its loop makes progress',
    labelNames: ['shard'],
    registers: [registry],
    collect() {
      for (const shard of shards) this.set({ shard: String(shard) }, isAlive(shard) ? 1 : 0);
    },
  });

  new client.Counter({
    name: 'shard_loop_turns_total',
    help: 'Loop turns of a shard (its heartbeat)',
    labelNames: ['shard'],
    registers: [registry],
    collect() {
      this.reset();
      for (const shard of shards) this.inc({ shard: String(shard) }, mesh.ctl(shard, CTL.heartbeat) >>> 0);
    },
  });

  // The client listener's protection (net/net-counters.ts): one family per spec, a labelled series per counter.
  const families = new Map<string, { help: string; label: string; gauge: boolean }>();
  for (const { spec } of net.entries()) families.set(spec.family, { help: spec.help, label: spec.label, gauge: spec.gauge === true });
  for (const [family, { help, label, gauge }] of families) {
    const series = () => net.entries().filter((e) => e.spec.family === family);
    const labelNames = label ? [label] : [];
    if (gauge) {
      new client.Gauge({ name: family, help, labelNames, registers: [registry], collect() {
        for (const { spec, value } of series()) this.set(label ? { [label]: spec.value } : {}, value);
      } });
    } else {
      new client.Counter({ name: family, help, labelNames, registers: [registry], collect() {
        this.reset();
        for (const { spec, value } of series()) this.inc(label ? { [label]: spec.value } : {}, value);
      } });
    }
  }

  // Storage conditions, per shard (0 until the shard reports one): what /health lists as reasons, counted.
  const conditionGauge = (name: string, help: string, kind: ConditionKind) => new client.Gauge({
    name, help, labelNames: ['shard'], registers: [registry],
    collect() {
      for (const shard of shards) this.set({ shard: String(shard) }, 0);
      for (const report of storage()) {
        this.set({ shard: String(report.shard) }, report.conditions.filter((c) => c.kind === kind).length);
      }
    },
  });
  conditionGauge('partitions_offline', 'Partitions that could not be opened and are not served (requests get 3003)', 'partition_offline');
  conditionGauge('partitions_read_only', 'Partitions with a damaged log: the intact prefix is served, sends get 3003', 'partition_read_only');
  conditionGauge('partitions_fenced', 'Partitions whose last write found the device full (writes get 4006/10006 until one succeeds)', 'partition_fenced');
  conditionGauge('partitions_write_failed', 'Partitions that stopped taking writes after an I/O error, until a restart (a cluster replica reopens one that failed on a full device once there is room)', 'partition_write_failed');
  conditionGauge('metadata_log_failed', '1 while the metadata log cannot write (metadata changes are refused until a restart; a cluster replica reopens it once a full device has room)', 'metadata_log_failed');
  conditionGauge('recovery_truncated_partitions', 'Partitions whose logs recovery truncated at this boot', 'recovery_truncation');

  const storageCounter = (name: string, help: string, which: keyof StorageCounters) => new client.Counter({
    name, help, labelNames: ['shard'], registers: [registry],
    collect() {
      this.reset();
      for (const shard of shards) this.inc({ shard: String(shard) }, 0);
      for (const report of storage()) this.inc({ shard: String(report.shard) }, report.counters[which]);
    },
  });
  storageCounter('recovery_truncations_total', 'Log tails (segments, consumer offsets) cut at recovery', 'truncations');
  storageCounter('recovery_truncated_bytes_total', 'Bytes cut off log tails at recovery', 'truncatedBytes');
  storageCounter('recovery_truncated_messages_total', 'Messages the records cut at recovery claimed (from their unverified headers)', 'truncatedMessages');
  storageCounter('partition_read_corruptions_total', 'Stored batches found damaged by reads (once per partition; polls reaching it get 4011)', 'readCorruptions');
  storageCounter('partition_no_space_writes_total', 'Writes (sends, offset changes) refused because the device was full', 'noSpaceWrites');

  return registry;
}
