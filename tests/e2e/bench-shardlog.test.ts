// `npm run bench` end to end against a real shardlog server the tool starts: every kind completes a tiny run with
// throughput (and two kinds over the REST API, --transport http); --report writes a self-contained page; bad
// options exit 2 with a named error. No speed is asserted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, after } from 'node:test';
import { KINDS } from '../../host/bench/suite/options.js';
import { runBench, runTiny } from './helpers/bench.js';
import { tempDir } from './helpers/server.js';

const ROLES: Record<string, string[]> = {
  'pinned-producer': ['producers'], 'balanced-producer': ['producers'], 'pinned-consumer': ['consumers'], 'balanced-consumer-group': ['consumers'],
  'pinned-producer-and-consumer': ['producers', 'consumers'], 'end-to-end-producing-consumer': ['producing-consumers'],
};

describe('npm run bench against shardlog', () => {
  const dir = tempDir('bench-report');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const kind of KINDS) {
    it(`${kind}: a tiny run moves all its data with non-zero throughput`, async () => {
      const rows = await runTiny(kind, 'shardlog');
      assert.deepEqual(rows.map((r) => r.role), ROLES[kind]);
      for (const r of rows) {
        assert.equal(r.target, 'shardlog');
        assert.equal(r.kind, kind);
        assert.equal(r.durability, 'fsync');
        assert.equal(r.bytes, 2e6, `${r.role} moved every byte once`);
        assert.ok(r.mb_per_s > 0 && r.msg_per_s > 0, `${r.role} throughput`);
        assert.ok(r.p50_ms > 0 && r.p50_ms <= r.p99_ms && r.p99_ms <= r.max_ms, `${r.role} percentiles in order`);
      }
    });
  }

  // Over the REST API (HttpClient): sends and polls, by partition and through a consumer group.
  for (const kind of ['pinned-producer-and-consumer', 'balanced-consumer-group'] as const) {
    it(`--transport http, ${kind}: a tiny run moves all its data through the REST API`, async () => {
      const rows = await runTiny(kind, 'shardlog', ['--transport', 'http']);
      assert.deepEqual(rows.map((r) => r.role), ROLES[kind]);
      for (const r of rows) {
        assert.match(r.version, /HTTP REST API via undici/, 'the report says which transport ran');
        assert.equal(r.bytes, 2e6, `${r.role} moved every byte once`);
        assert.ok(r.mb_per_s > 0 && r.msg_per_s > 0, `${r.role} throughput`);
      }
    });
  }

  // Polls sent ahead of their replies (poll-pipe.ts) against the server, which works on a connection's polls
  // together: every message is still read once, in order (the pipe checks each reply's first offset and count).
  it('--polls-in-flight 4, pinned-consumer: a tiny run reads every message once', async () => {
    const rows = await runTiny('pinned-consumer', 'shardlog', ['--polls-in-flight', '4']);
    assert.equal(rows[0].bytes, 2e6, 'every byte once');
    assert.ok(rows[0].mb_per_s > 0 && rows[0].p50_ms > 0);
  });

  it('--rate-limit and --report: the page inlines uPlot, the timeline, the machine and every setting', async () => {
    const file = path.join(dir, 'run.html');
    const rows = await runTiny('pinned-producer', 'shardlog', ['--rate-limit', '20MB', '--report', file]);
    assert.ok(rows[0].mb_per_s > 0);
    const page = fs.readFileSync(file, 'utf8');
    assert.match(page, /uPlot/);
    assert.doesNotMatch(page, /<script src=|<link /, 'nothing fetched from elsewhere');
    assert.match(page, /"t_s":/);
    assert.match(page, /rateLimit<\/th><td>20000000/);
    assert.match(page, /cpus<\/th><td>\d+/);
    assert.match(page, /every-batch/, 'the durability as run');
  });

  it('exits 2 with a named error for bad options, and 0 with the usage for --help', async () => {
    const http = await runBench(['pinned-producer', '--transport', 'http', '--target', 'redis']);
    assert.equal(http.code, 2);
    assert.match(http.stderr, /BenchOptionError: --transport http: only the shardlog target/);
    const unknown = await runBench(['pinned-sideways']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /BenchOptionError: kind must be one of/);
    const plan = await runBench(['pinned-producer-and-consumer', '--producers', '1', '--consumers', '2']);
    assert.equal(plan.code, 2, 'a plan the kind cannot run is a bad option too');
    assert.match(plan.stderr, /BenchOptionError/);
    const help = await runBench(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: npm run bench/);
  });
});
