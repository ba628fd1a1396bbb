// After a restart the first request already sees every partition's stats: shard 0 serves clients only once every
// shard has opened its partitions and published their message counts (they are pushed between shards, not read on
// demand), so GetTopic never reports a partition of another shard as empty while that shard is still opening.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { tempDir, withTimeout } from './helpers/server.js';
import { ROOT, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const PARTITIONS = 40;

describe('protocol: stats right after a restart', () => {
  const dataDir = tempDir('restart-stats');
  const servers: ProtocolServer[] = [];
  after(async () => {
    for (const s of servers) if (s.server.child.exitCode === null) s.server.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.server.exited));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`GetTopic's first answer counts the messages of all ${PARTITIONS} partitions on both shards`, async () => {
    const first = await startProtocolServer(['--data-dir', dataDir, '--shards', '2']);
    servers.push(first);
    const c = await first.connect(ROOT);
    const stream = await c.createStream('stats');
    const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: PARTITIONS });
    const sent = [0, 1, 2, 3, 5, 8, 13, PARTITIONS - 2, PARTITIONS - 1];
    for (const partition of sent) {
      await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: `p${partition}` }] });
    }
    await c.close();
    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'the server stopped after SIGTERM')).code, 0, first.server.output());

    // Shard 1 opens its partitions late: clients that came in meanwhile would see its partitions as empty.
    const second = await startProtocolServer(['--data-dir', dataDir, '--shards', '2'], { SHARDLOG_FAULT: 'slow-boot:1:1500' });
    servers.push(second);
    const r = await second.connect(ROOT);
    try {
      const details = await r.getTopic(stream.id, topic.id);
      const counted = details!.partitions.filter((p) => p.messagesCount > 0n).map((p) => p.id);
      assert.deepEqual(counted, sent);
    } finally {
      await r.close();
    }
  });
});
