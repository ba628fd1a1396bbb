// The metadata group's replication under load and a view change, in one process (three cores, an in-memory bus):
// checkpoints while ops after the commit are journaled (a backup restarted from such a checkpoint catches up),
// every journal write the driver handed over is answered, committed bodies are not kept, and a demoted primary
// answers a request it prepared as "outcome unknown", never "not accepted".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from '../../host/shared/vsr-abi.js';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir, until } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 16, quiet: true };
const N = 3;

interface Node { log: MetadataLog | null; state: ToyState; dir: string; shard: ShardCore }
type Drop = (from: number, to: number, message: Uint8Array) => boolean;


// Delivers on a later turn; `drop` decides per message (a stopped node gets nothing).
async function cluster(prefix: string, drop: Drop = () => false) {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`${prefix}${i}-`), shard: await shardCore() });
  const failures: string[] = [];
  const open = async (i: number) => {
    const n = nodes[i];
    const hooks = Object.assign(n.state, { failed: (e: unknown) => failures.push(`${i}: ${String(e)}`) });
    n.log = await MetadataLog.open(n.dir, n.shard.core, n.shard.memory, n.shard.sc, hooks, {
      ...OPTIONS,
      peers: {
        replica: i, replicaCount: N,
        send: (to, message, attachment) => {
          if (drop(i, to, message)) return true;
          const m = Uint8Array.from(message);
          const a = Uint8Array.from(attachment);
          setImmediate(() => nodes[to].log?.onMessage(m, a));
          return true;
        },
      },
    });
  };
  for (let i = 0; i < N; i++) await open(i);
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  // A new cluster forms through the recovery exchange (every replica starts lost): wait for it before writing.
  await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
  const stop = () => { clearInterval(ticker); for (const n of nodes) n.log?.close(); };
  return { nodes, open, stop, failures };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const inner = (log: MetadataLog) => log as any;

test('a backup checkpoints with uncommitted ops in its journal, restarts from it and catches up; every write is answered, no body is kept', async () => {
  const c = await cluster('shardlog-mdck');
  const { nodes } = c;
  // What the backup's journal held beyond its commit each time it checkpointed.
  const beyond: number[] = [];
  const snapshot = nodes[1].state.snapshot.bind(nodes[1].state);
  nodes[1].state.snapshot = () => { beyond.push(nodes[1].log!.journaledOp - nodes[1].log!.commitNumber); return snapshot(); };
  try {
    const log = nodes[0].log!;
    const clients = Array.from({ length: 10 }, (_, i) => 201n + BigInt(i));
    const sessions = await Promise.all(clients.map((client) => log.register(client).then((r) => r.session)));
    // Pipelined: ten clients in flight at once, over twice the journal's slots.
    await Promise.all(clients.map(async (client, j) => {
      for (let k = 1; k <= 14; k++) {
        const r = await log.propose({ client, session: sessions[j], request: BigInt(k), operation: 130, body: requestBody(k), userId: 1 });
        assert.equal(r.status, 0);
      }
    }));
    assert.deepEqual(c.failures, []);
    assert.ok(beyond.some((n) => n > 0), `the backup checkpointed with ops after its commit journaled (${beyond.join(',')})`);

    let head = log.commitNumber;
    await until(() => nodes.every((n) => n.log!.commitNumber === head && n.log!.journaledOp === head), 'every replica to commit and journal');
    for (const n of nodes) {
      assert.equal(inner(n.log!).group.driver.writing, 0, 'every journal write handed over was answered');
      assert.equal(inner(n.log!).attached.size, 0, 'no committed body is kept');
    }

    nodes[1].log!.close();
    nodes[1].log = null;
    nodes[1].state = new ToyState();
    await c.open(1);
    const more = await log.propose({ client: clients[0], session: sessions[0], request: 15n, operation: 130, body: requestBody(15), userId: 1 });
    assert.equal(more.status, 0);
    head = log.commitNumber;
    await until(() => nodes[1].log!.commitNumber === head, 'the restarted backup to catch up');
    assert.deepEqual(nodes[1].state.applied, nodes[0].state.applied);
    assert.deepEqual(c.failures, []);
  } finally {
    c.stop();
  }
});

test('a primary demoted with a prepared request answers it NotCommitted (it may still commit), not NotPrimary', async () => {
  let isolated = false; // the primary's messages are lost: the backups start a view change it hears of
  const c = await cluster('shardlog-mddemote', (from) => isolated && from === 0);
  try {
    const log = c.nodes[0].log!;
    const { session } = await log.register(301n);
    await until(() => c.nodes.every((n) => n.log!.commitNumber === log.commitNumber), 'every replica at the register');
    isolated = true;
    const pending = log.propose({ client: 301n, session, request: 1n, operation: 130, body: requestBody(1), userId: 1 });
    await assert.rejects(pending, (e: Error & { code?: string }) => e.code === 'MetadataNotCommitted');
    assert.ok(!log.isPrimary);
    await assert.rejects(log.propose({ client: 301n, session, request: 2n, operation: 130, body: requestBody(2), userId: 1 }),
      (e: Error & { code?: string }) => e.code === 'MetadataNotPrimary');
  } finally {
    c.stop();
  }
});
