// The server as a user runs it: boot with 2 shards, /health and /metrics, Ctrl-C, and every way it must fail.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { type RunningServer, startServer, stopServer, waitFor, withTimeout } from './helpers/server.js';

interface Health {
  status: string;
  shard_count: number;
  shards: { id: number; alive: boolean; state: string; mesh_peers_ok: number; frames_sent: number; frames_received: number }[];
}

async function health(server: RunningServer): Promise<{ status: number; body: Health }> {
  const res = await request(`http://${server.httpAddress}/health`);
  return { status: res.statusCode, body: (await res.body.json()) as Health };
}

async function waitHealthy(server: RunningServer): Promise<Health> {
  return waitFor('/health ok', 15_000, async () => {
    if (server.child.exitCode !== null) throw new Error(`server exited early:\n${server.output()}`);
    const { status, body } = await health(server);
    return status === 200 && body.status === 'ok' ? body : undefined;
  });
}

describe('server lifecycle (2 shards)', () => {
  const started: RunningServer[] = [];
  after(async () => { for (const s of started) await stopServer(s); });

  it('boots 2 shards that all exchanged frames, serves /health and /metrics, and stops on SIGINT with exit 0', async () => {
    const server = await startServer(['--shards', '2']);
    started.push(server);
    const body = await waitHealthy(server);
    assert.equal(body.shard_count, 2);
    for (const shard of body.shards) {
      assert.equal(shard.alive, true);
      assert.equal(shard.state, 'running');
      assert.equal(shard.mesh_peers_ok, 2, 'every shard got a reply from every shard, itself included');
      // Boot mesh check: a ping to each of the 2 shards and a pong for each ping received.
      assert.ok(shard.frames_sent >= 4 && shard.frames_received >= 4, JSON.stringify(shard));
    }

    const metrics = await request(`http://${server.httpAddress}/metrics`);
    assert.equal(metrics.statusCode, 200);
    assert.match(String(metrics.headers['content-type']), /text\/plain/);
    const text = await metrics.body.text();
    assert.match(text, /^# TYPE frame_drops_total counter$/m);
    assert.match(text, /^frame_drops_total\{shard="0",variant="consensus",reason="full"\} 0$/m);
    assert.match(text, /^frame_drops_total\{shard="1",variant="consensus",reason="full"\} 0$/m);
    assert.match(text, /^shard_frames_sent_total\{shard="1"\} [1-9]\d*$/m);
    assert.match(text, /^shard_ring_depth_slots\{shard="0",from="1",lane="reply"\} 0$/m);
    assert.match(text, /^shard_up\{shard="0"\} 1$/m);
    assert.match(text, /^process_resident_memory_bytes \d+/m);

    const started_at = Date.now();
    server.child.kill('SIGINT');
    const { code } = await withTimeout(server.exited, 5_000, 'server did not stop after SIGINT');
    assert.equal(code, 0, server.output());
    assert.ok(Date.now() - started_at < 5_000);
    assert.match(server.output(), /stopped cleanly/);
  });

  it('a shard that throws takes the whole process down with a non-zero exit', async () => {
    const server = await startServer(['--shards', '2'], { SHARDLOG_FAULT: 'crash-shard:1:100' });
    started.push(server);
    const { code } = await withTimeout(server.exited, 10_000, 'server did not exit after a shard crash');
    assert.equal(code, 1, server.output());
    assert.match(server.output(), /shard 1 failed: Error: injected fault/);
    assert.match(server.output(), /stopped with \d+ failure/);
  });

  it('a worker that fails to spawn stops the boot with a non-zero exit', async () => {
    const server = await startServer(['--shards', '2'], { SHARDLOG_FAULT: 'spawn-fail:1' });
    started.push(server);
    const { code } = await withTimeout(server.exited, 10_000, 'server did not exit after a failed spawn');
    assert.equal(code, 1, server.output());
    assert.match(server.output(), /worker for shard 1 failed to spawn/);
  });

  it('the watchdog stops the server when a shard loop stalls', async () => {
    const server = await startServer(['--shards', '2', '--watchdog-timeout-ms', '600', '--shutdown-join-timeout-ms', '500'], { SHARDLOG_FAULT: 'stall-shard:0:50' });
    started.push(server);
    const { code } = await withTimeout(server.exited, 10_000, 'server did not exit after a stalled shard');
    assert.equal(code, 1, server.output());
    assert.match(server.output(), /watchdog: shard 0 made no progress/);
  });

  it('a SIGINT during boot stops cleanly with exit 0 and no error', async () => {
    const server = await startServer(['--shards', '2']);
    started.push(server);
    await waitFor('the server to start booting', 10_000, async () => (/shared memory:/.test(server.output()) ? true : undefined));
    server.child.kill('SIGINT');
    const { code } = await withTimeout(server.exited, 5_000, 'server did not stop after a SIGINT during boot');
    assert.equal(code, 0, server.output());
    assert.doesNotMatch(server.output(), /ERROR/);
  });

  it('a second SIGINT aborts at once even while a shard refuses to stop', async () => {
    const server = await startServer(['--shards', '2', '--shutdown-join-timeout-ms', '60000', '--watchdog-timeout-ms', '60000'], { SHARDLOG_FAULT: 'stall-shard:1:0' });
    started.push(server);
    await waitFor('stall to begin', 10_000, async () => (/stalling this shard loop/.test(server.output()) ? true : undefined));
    server.child.kill('SIGINT');
    await waitFor('shutdown to start', 5_000, async () => (/shutdown requested: SIGINT/.test(server.output()) ? true : undefined));
    // Not synchronisation: a repeat within 150 ms of the first signal counts as the same keypress (SignalPolicy,
    // unit-tested in tests/host/signals.test.ts), so the second Ctrl-C must come later than that.
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGINT');
    const { code } = await withTimeout(server.exited, 5_000, 'second SIGINT did not abort');
    assert.equal(code, 130, server.output());
    assert.match(server.output(), /aborting without waiting/);
  });
});
