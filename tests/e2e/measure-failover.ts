// Not a test (no assertion on time): measures, on a 3-replica cluster on loopback (2 shards each), the time from a
// SIGKILL of the primary to the first metadata write (a stream created) and to the first message send (a partition
// group's op, which follows the metadata leader) acknowledged by the new primary, the way a client sees it (log in
// again, retry on TransientNotAccepted). Run: `node host/tools/build.mjs all &&
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
const sendSamples: number[] = [];

// Retries `write` through whoever leads until one is acknowledged.
async function firstAcknowledged(cluster: TestCluster, live: number[], killed: number, write: (c: IggyClient) => Promise<unknown>): Promise<void> {
  for (;;) {
    const leader = await leaderOf(cluster, live, killed);
    const c = await connect(cluster, leader, 1_000).catch(() => null);
    const acknowledged = c !== null && await write(c).then(() => true, () => false);
    await c?.close().catch(() => undefined);
    if (acknowledged) return;
  }
}

for (let round = 0; round < rounds; round++) {
  const cluster = await TestCluster.form(3);
  try {
    const first = await leaderOf(cluster, [0, 1, 2], -1);
    const client = await connect(cluster, first, 5_000);
    await client.createStream(`before-${round}`);
    await client.createTopic({ stream: `before-${round}`, name: 't', partitionsCount: 1 });
    const send = (c: IggyClient) => c.sendMessages({ stream: `before-${round}`, topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'm' }] });
    await client.close();
    await firstAcknowledged(cluster, [0, 1, 2], -1, send); // the new partition's group takes its first session

    const killedAt = performance.now();
    await cluster.kill(first);
    const live = [0, 1, 2].filter((id) => id !== first);
    // What a leader-following client does: ask a survivor who leads, log in there, write; retry on refusal. The
    // stream and the send race: each is timed from the kill.
    let metadataMs = 0;
    let sendMs = 0;
    await Promise.all([
      firstAcknowledged(cluster, live, first, (c) => c.createStream(`after-${round}`)).then(() => { metadataMs = performance.now() - killedAt; }),
      firstAcknowledged(cluster, live, first, send).then(() => { sendMs = performance.now() - killedAt; }),
    ]);
    samples.push(metadataMs);
    sendSamples.push(sendMs);
    console.log(`round ${round}: primary ${first} SIGKILLed -> first acknowledged metadata write after ${metadataMs.toFixed(0)} ms, first acknowledged send after ${sendMs.toFixed(0)} ms`);
  } finally {
    await cluster.stop();
  }
}
for (const [what, all] of [['metadata write', samples], ['message send', sendSamples]] as const) {
  all.sort((a, b) => a - b);
  console.log(`failover (SIGKILL -> first acknowledged ${what}), ${all.length} rounds: min ${all[0].toFixed(0)} ms, median ${all[Math.floor(all.length / 2)].toFixed(0)} ms, max ${all.at(-1)!.toFixed(0)} ms`);
}
