// The short fixed-seed cluster torture profile (`npm run torture -- --seconds 15 --seed 20261219`, going on past 15 s
// until each fault kind struck once): three replicas with 2 shards each, each in a network namespace of its own
// with its data on a tmpfs of its own, the single-node run's workload through the SDK (leader following), one
// replica at a time killed and restarted, paused, cut off from one or both peers, wiped, its disk filled, a bit of
// its files flipped; healing, the final read through every replica's client port and the checker once per replica.
// Without root, link cuts and disk-full are left out (the run says why). SHARDLOG_TORTURE_SEED replays another seed.
//
// Two verdicts, both required: no safety anomaly that a live cluster cannot excuse (a value at two offsets, two
// values at one offset, a value nobody sent or whose send was refused, offsets handed out backwards or skipped, a
// commit going backwards or past every message), with messages acknowledged; and no crash, the cluster heals, every
// disk-full recovered and every flip repaired, and every replica serves every acknowledged message (no lost write,
// nothing unseen, no lost commit). The second was a to-do until replicas recovered from a full disk and repaired a
// flipped partition from their peers by themselves (README, Reliability: the cluster findings).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ANOMALIES, type Anomaly } from '../../host/torture/checker.js';
import { CLUSTER_FAULTS } from '../../host/torture/cluster-nemesis.js';
import { formatClusterResult, runClusterTorture, type ClusterTortureResult } from '../../host/torture/cluster-run.js';

const SEED = Number(process.env.SHARDLOG_TORTURE_SEED ?? 20261219);
// What a replica that is down, recovering or not yet caught up at the final read may show as well: judged below.
const NEEDS_LIVENESS: Anomaly[] = ['lost-write', 'unseen', 'lost-commit'];

describe('torture (3-replica cluster, short profile)', () => {
  let r: ClusterTortureResult;
  let report: string;

  before(async () => {
    const lines: string[] = [];
    r = await runClusterTorture({ seconds: 15, seed: SEED, everyFaultOnce: true, log: (line) => lines.push(line) });
    report = `${lines.join('\n')}\n${formatClusterResult(r)}`;
  });

  it(`every fault kind strikes with messages acknowledged and no safety anomaly on any replica's read (seed ${SEED})`, () => {
    for (const kind of CLUSTER_FAULTS) {
      if (!r.leftOut.some((l) => l.startsWith(`${kind}:`))) assert.ok(r.faults.faults[kind] >= 1, `${kind}\n${report}`);
    }
    assert.ok(r.faults.restarts >= r.faults.faults.kill + r.faults.faults.wipe + r.faults.faults.bitflip, report);
    assert.equal(r.verdicts.length, 3, report);
    assert.ok(r.verdicts[0].stats.messagesAcknowledged > 100, report);
    assert.ok(r.verdicts[0].stats.messagesPolled > 0 && r.verdicts[0].stats.commits > 0, report);
    for (const v of r.verdicts) {
      for (const a of ANOMALIES) if (!NEEDS_LIVENESS.includes(a)) assert.equal(v.counts[a], 0, `${a}\n${report}`);
    }
  });

  it('no replica exits on its own, the cluster heals, every replica serves every acknowledged message', () => {
    assert.deepEqual(r.faults.crashes, [], report);
    assert.deepEqual(r.faults.unrecovered, [], report);
    assert.equal(r.healing, null, report);
    assert.deepEqual(r.finalReadErrors, [], report);
    const acknowledged = r.verdicts[0].stats.messagesAcknowledged;
    for (const v of r.verdicts) {
      assert.equal(v.valid, true, report);
      assert.equal(v.stats.messagesVerified, acknowledged, report);
    }
    assert.equal(r.ok, true, report);
  });
});
