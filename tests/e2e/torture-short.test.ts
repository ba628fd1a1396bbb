// The short fixed-seed torture profile (`npm run torture -- --cluster 1 --seconds 12 --seed 20261207`, going on
// past 12 s until every fault kind struck: a loaded machine fits fewer faults in 12 s): a single node with 2
// shards under every fault kind once (kill, pause, bit flip, disk-full where a tmpfs can be mounted), producers,
// single consumers and a consumer group through the SDK, and the checker over the history: no anomaly, every
// acknowledged message read back at its offset. SHARDLOG_TORTURE_SEED replays another seed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../host/node/paths.js';
import { ANOMALIES } from '../../host/torture/checker.js';
import { formatResult, runTorture } from '../../host/torture/run.js';

const SEED = Number(process.env.SHARDLOG_TORTURE_SEED ?? 20261207);
const MAIN = path.join(repoRoot, 'dist', 'host', 'torture', 'main.js');

describe('torture (single node, short profile)', () => {
  it(`survives kills, pauses, bit flips and a full disk with no anomaly (seed ${SEED})`, async () => {
    const lines: string[] = [];
    const r = await runTorture({ seconds: 12, seed: SEED, everyFaultOnce: true, log: (line) => lines.push(line) });
    const report = `${lines.join('\n')}\n${formatResult(r)}`;
    assert.equal(r.ok, true, report);
    for (const a of ANOMALIES) assert.equal(r.verdict.counts[a], 0, report);
    assert.ok(r.faults.kill >= 1 && r.faults.pause >= 1 && r.faults.bitflip >= 1, report);
    if (r.diskFullAvailable === null) assert.ok(r.faults['disk-full'] >= 1, report);
    assert.equal(r.faults.flipVerdicts.unreported, 0, report);
    assert.ok(r.verdict.stats.messagesAcknowledged > 100, report);
    assert.equal(r.verdict.stats.messagesVerified, r.verdict.stats.messagesAcknowledged, report);
    assert.ok(r.verdict.stats.messagesPolled > 0 && r.verdict.stats.commits > 0 && r.verdict.stats.resumes > 0, report);
  });

  it('bad flags exit 2 (--cluster other than 1 or 3, a bad seed, a fault kind the mode does not have)', () => {
    const bad = spawnSync(process.execPath, [MAIN, '--cluster', '2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--cluster must be 1 or 3/);
    const seed = spawnSync(process.execPath, [MAIN, '--seed', 'x'], { encoding: 'utf8' });
    assert.equal(seed.status, 2);
    assert.match(seed.stderr, /--seed must be a non-negative integer/);
    const kind = spawnSync(process.execPath, [MAIN, '--faults', 'kill,wipe', '--cluster', '1'], { encoding: 'utf8' });
    assert.equal(kind.status, 2);
    assert.match(kind.stderr, /--faults takes kinds of --cluster 1 \(kill, pause, bitflip, disk-full\), not "wipe"/);
  });
});
