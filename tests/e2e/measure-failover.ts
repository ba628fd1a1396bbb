// Not a test (no assertion on time): measures, on a 3-replica cluster on loopback (2 shards each), the time from a
// SIGKILL of the metadata group's primary to the first metadata write acknowledged by the new primary, the way a
// client sees it (log in again, retry on TransientNotAccepted). Run: `node host/tools/build.mjs all &&
// node --no-liftoff dist/tests/e2e/measure-failover.js [rounds]`.
import { IggyClient } from '../../host/client/client.js';
import { TestCluster } from './helpers/cluster.js';
import { ROOT } from './helpers/protocol.js';

const rounds = Number(process.argv[2] ?? 5);
const LEADER = 0;

async function connect(cluster: TestCluster, id: number, timeoutMs: number): Promise<IggyClient> {
  return IggyClient.connect({ address: `127.0.0.1:${cluster.ports[id].tcp}`, ...ROOT, heartbeatMs: 0, timeoutMs });
}

async function leaderOf(cluster: TestCluster, live: number[], not: number): Promise<number> {
  for (;;) {
    for (const id of live) {
      const client = await connect(cluster, id, 1_000).catch(() => null);
      const meta = await client?.getClusterMetadata().catch(() => null);
      await client?.close().catch(() => undefined);
      const leader = meta ? meta.nodes.findIndex((n) => n.role === LEADER) : -1;
      if (leader >= 0 && leader !== not && live.includes(leader)) return leader;
    }
  }
}

const samples: number[] = [];
for (let round = 0; round < rounds; round++) {
  const cluster = await TestCluster.create(3);
  try {
    await Promise.all([0, 1, 2].map((id) => cluster.start(id)));
    const first = await leaderOf(cluster, [0, 1, 2], -1);
    const client = await connect(cluster, first, 5_000);
    await client.createStream(`before-${round}`);
    await client.close();
    const killedAt = performance.now();
    await cluster.kill(first);
    const live = [0, 1, 2].filter((id) => id !== first);
    let acknowledged = false;
    while (!acknowledged) {
      // What a leader-following client does: ask a survivor who leads, log in there, write; retry on refusal.
      const leader = await leaderOf(cluster, live, first);
      const c = await connect(cluster, leader, 1_000).catch(() => null);
      acknowledged = c !== null && await c.createStream(`after-${round}`).then(() => true, () => false);
      await c?.close().catch(() => undefined);
    }
    const ms = performance.now() - killedAt;
    samples.push(ms);
    console.log(`round ${round}: primary ${first} SIGKILLed -> first acknowledged write on the new primary after ${ms.toFixed(0)} ms`);
  } finally {
    await cluster.stop();
  }
}
samples.sort((a, b) => a - b);
console.log(`failover (SIGKILL -> first acknowledged write), ${samples.length} rounds: min ${samples[0].toFixed(0)} ms, median ${samples[Math.floor(samples.length / 2)].toFixed(0)} ms, max ${samples.at(-1)!.toFixed(0)} ms`);
