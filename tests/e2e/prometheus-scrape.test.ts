// A real Prometheus (Debian's `prometheus`, installed by .ci/run) scrapes a 2-shard server and must see the
// per-shard series. Without the binary the test is skipped with a message saying how to get it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { freePort, startServer, stopServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const prometheusBinary = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 ? 'prometheus' : null;
if (!prometheusBinary && process.env.SHARDLOG_REQUIRE_PROMETHEUS) {
  throw new Error('SHARDLOG_REQUIRE_PROMETHEUS is set but no prometheus binary is on PATH');
}

interface QueryResult { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }

describe('Prometheus scrape', { skip: prometheusBinary ? false : 'prometheus not installed (apt-get install prometheus; .ci/run does)' }, () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => { for (const step of cleanup.reverse()) await step(); });

  it('scrapes frame_drops_total and shard_up for both shards', async () => {
    const server: RunningServer = await startServer(['--shards', '2']);
    cleanup.push(() => stopServer(server));
    const dir = tempDir('prom');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      `  - { job_name: shardlog, static_configs: [ { targets: ['${server.httpAddress}'] } ] }`,
      '',
    ].join('\n'));
    const promAddress = `127.0.0.1:${await freePort()}`;
    const prom = spawn(prometheusBinary!, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=${promAddress}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr.on('data', (d) => { promLog += d; });
    cleanup.push(() => { prom.kill('SIGKILL'); });

    const query = async (q: string) => {
      const res = await request(`http://${promAddress}/api/v1/query?query=${encodeURIComponent(q)}`);
      return (await res.body.json()) as QueryResult;
    };
    const drops = await waitFor('Prometheus to scrape frame_drops_total', 30_000, async () => {
      if (prom.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
      const result = await query('frame_drops_total{job="shardlog",variant="consensus",reason="full"}');
      return result.data.result.length === 2 ? result.data.result : undefined;
    });
    assert.deepEqual(drops.map((r) => r.metric.shard).sort(), ['0', '1']);
    assert.ok(drops.every((r) => r.value[1] === '0'));
    const up = await query('shard_up{job="shardlog"}');
    assert.deepEqual(up.data.result.map((r) => r.value[1]), ['1', '1']);
    const target = await query('up{job="shardlog"}');
    assert.equal(target.data.result[0]?.value[1], '1', 'the scrape itself succeeded');
  });
});
