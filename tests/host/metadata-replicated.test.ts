// The metadata group with three replicas (MetadataLog with peers), in one process: three core instances and
// data directories joined by an in-memory bus that carries each prepare with its attachment (the real body), as
// the replica plane does. What commits through the primary is journaled by the backups and applied by every
// replica, op for op; a backup refuses requests by name; a backup restarted from its directory catches up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir } from './helpers.js';
import { Status } from '../../host/shared/vsr-abi.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 8, quiet: true };
const CLIENT = 91n;
const N = 3;

interface Node { log: MetadataLog | null; state: ToyState; dir: string; shard: ShardCore }

// Delivers on a later turn (never inside the sender's outbox walk), in order; a stopped node gets nothing.
function cluster(nodes: Node[]) {
  let attachments = 0;
  const send = (to: number) => (replica: number, message: Uint8Array, attachment: Uint8Array): boolean => {
    const m = Uint8Array.from(message);
    const a = Uint8Array.from(attachment);
    if (a.length > 0) attachments++;
    setImmediate(() => nodes[replica].log?.onMessage(m, a));
    void to;
    return true;
  };
  const open = async (i: number) => {
    const n = nodes[i];
    n.log = await MetadataLog.open(n.dir, n.shard.core, n.shard.memory, n.shard.sc, n.state, {
      ...OPTIONS, peers: { replica: i, replicaCount: N, send: send(i) },
    });
  };
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  return { open, stop: () => clearInterval(ticker), attachments: () => attachments };
}

// Waits for `check` to hold, at most `bound` ms (a bound, not a sleep: it returns as soon as it holds).
async function until(check: () => boolean, what: string, bound = 10_000): Promise<void> {
  const end = Date.now() + bound;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('ops proposed at the primary are journaled by the backups, applied by every replica in order; a backup refuses requests by name', async () => {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`shardlog-mdrep${i}-`), shard: await shardCore() });
  const c = cluster(nodes);
  try {
    for (let i = 0; i < N; i++) await c.open(i);
    // Empty directories: every replica starts lost, and forms the cluster when every answer says so too.
    await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
    const primary = nodes.findIndex((n) => n.log!.isPrimary);
    assert.equal(primary, 0, 'a fresh cluster starts in view 0, whose primary is replica 0');
    assert.equal(nodes.filter((n) => n.log!.isPrimary).length, 1);

    const log = nodes[0].log!;
    const { status, session } = await log.register(CLIENT);
    assert.equal(status, 0);
    const bodies = [1, 2, 10, 3].map(requestBody); // op 3's body is 100 KiB
    for (let k = 0; k < bodies.length; k++) {
      const r = await log.propose({ client: CLIENT, session, request: BigInt(k + 1), operation: 130, body: bodies[k], userId: 1 });
      assert.equal(r.status, 0);
    }
    const last = log.commitNumber;
    await until(() => nodes.every((n) => n.log!.commitNumber === last), 'every replica to commit');
    for (const n of nodes) {
      assert.deepEqual(n.state.applied, nodes[0].state.applied, 'every replica applied the same ops, bodies and timestamps');
    }
    assert.equal(nodes[0].state.applied.length, bodies.length);
    assert.ok(c.attachments() >= 2 * bodies.length, 'each prepare travelled with its body to both backups');

    await assert.rejects(nodes[1].log!.propose({ client: CLIENT, session, request: 9n, operation: 130, body: bodies[0], userId: 1 }),
      (e: Error & { code?: string }) => e.code === 'MetadataNotPrimary' && /replica 0 is/.test(e.message));
    await assert.rejects(nodes[2].log!.register(CLIENT + 1n), (e: Error & { code?: string }) => e.code === 'MetadataNotPrimary');

    // A backup stops and reopens from its directory: its journal is its log; the rest comes from the primary.
    nodes[2].log!.close();
    nodes[2].log = null;
    const more = await log.propose({ client: CLIENT, session, request: 5n, operation: 130, body: requestBody(5), userId: 1 });
    assert.equal(more.status, 0);
    nodes[2].state = new ToyState();
    await c.open(2);
    const head = log.commitNumber;
    await until(() => nodes[2].log!.commitNumber === head, 'the restarted backup to catch up');
    assert.deepEqual(nodes[2].state.applied, nodes[0].state.applied);
  } finally {
    c.stop();
    for (const n of nodes) n.log?.close();
  }
});

test('a backup that commits ops before its own journal write of them ran still journals each with its body', async () => {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`shardlog-mdlag${i}-`), shard: await shardCore() });
  // Replica 2's messages wait and arrive in bursts, each one delivered in one synchronous loop: a prepare and the
  // commit that covers it reach it before the flush the prepare scheduled (a turn later) could journal it.
  const late: [Uint8Array, Uint8Array][] = [];
  const send = (replica: number, message: Uint8Array, attachment: Uint8Array): boolean => {
    const m = Uint8Array.from(message);
    const a = Uint8Array.from(attachment);
    if (replica === 2) late.push([m, a]);
    else setImmediate(() => nodes[replica].log?.onMessage(m, a));
    return true;
  };
  const burst = setInterval(() => { for (const [m, a] of late.splice(0)) nodes[2].log?.onMessage(m, a); }, 15);
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  try {
    for (let i = 0; i < N; i++) {
      nodes[i].log = await MetadataLog.open(nodes[i].dir, nodes[i].shard.core, nodes[i].shard.memory, nodes[i].shard.sc, nodes[i].state, {
        ...OPTIONS, peers: { replica: i, replicaCount: N, send },
      });
    }
    await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
    const log = nodes[0].log!;
    const { session } = await log.register(CLIENT);
    for (let k = 1; k <= 6; k++) {
      assert.equal((await log.propose({ client: CLIENT, session, request: BigInt(k), operation: 130, body: requestBody(k), userId: 1 })).status, 0);
    }
    const last = log.commitNumber;
    await until(() => nodes[2].log!.commitNumber === last, 'the lagging backup to commit');
    await until(() => nodes[2].log!.journaledOp === last, 'the lagging backup to journal every op');
    assert.deepEqual(nodes[2].state.applied, nodes[0].state.applied);
  } finally {
    clearInterval(burst);
    clearInterval(ticker);
    for (const n of nodes) n.log?.close();
  }
});
