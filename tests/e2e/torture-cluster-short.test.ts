// The short fixed-seed cluster torture profile (`npm run torture -- --cluster 3 --seconds 15 --seed 20261219`, going
// on past 15 s until each fault kind struck once): three replicas with 2 shards each, the single-node run's workload
// through the SDK (leader following), SIGKILL + restart and SIGSTOP/SIGCONT of one replica at a time, healing, the
// final read through every replica's client port and the checker once per replica: no anomaly, and every
// acknowledged message served by every replica at its offset (the restarted one caught its segments up).
// SHARDLOG_TORTURE_SEED replays another seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANOMALIES } from '../../host/torture/checker.js';
import { formatClusterResult, runClusterTorture } from '../../host/torture/cluster-run.js';

const SEED = Number(process.env.SHARDLOG_TORTURE_SEED ?? 20261219);

describe('torture (3-replica cluster, short profile)', () => {
  it(`survives kills and pauses of replicas with no anomaly, every replica serving every acknowledged message (seed ${SEED})`, async () => {
    const lines: string[] = [];
    const r = await runClusterTorture({ seconds: 15, seed: SEED, everyFaultOnce: true, log: (line) => lines.push(line) });
    const report = `${lines.join('\n')}\n${formatClusterResult(r)}`;
    assert.equal(r.ok, true, report);
    assert.deepEqual(r.faults.crashes, [], report);
    assert.equal(r.healing, null, report);
    assert.deepEqual(r.finalReadErrors, [], report);
    assert.ok(r.faults.kill >= 1 && r.faults.restarts === r.faults.kill && r.faults.pause >= 1, report);
    assert.equal(r.verdicts.length, 3, report);
    const acknowledged = r.verdicts[0].stats.messagesAcknowledged;
    assert.ok(acknowledged > 100, report);
    for (const v of r.verdicts) {
      for (const a of ANOMALIES) assert.equal(v.counts[a], 0, report);
      assert.equal(v.stats.messagesVerified, acknowledged, report);
    }
    assert.ok(r.finalReadCounts.every((n) => n >= acknowledged), report);
    assert.ok(r.verdicts[0].stats.messagesPolled > 0 && r.verdicts[0].stats.commits > 0, report);
  });
});
