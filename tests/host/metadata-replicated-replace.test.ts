// A view change replaces prepares a backup has journaled, in a real three-replica metadata group (in one process, an
// in-memory bus): replica 2 journals ops k and k+1 from primary 0, whose own writes never happen (it "crashes"
// before its flush) and whose acks from 2 are lost, so neither op commits. 0 restarts without them, forms view 1
// with replica 1 while 2 is cut off, and the new primary prepares other requests as ops k and k+1. When 2 rejoins,
// the core asks it for the new prepares at ops it holds: its journal is rewritten from k (replaceFrom), and every
// replica ends with the same journal, the same commits and the same applied state; 2 restarts from it. (Replica 2
// commits the new ops before its writes of them run: the tick used to drop their bodies then, since the journal
// held an entry at those ops, and replica 2 never journaled them.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, H, Status } from '../../host/shared/vsr-abi.js';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir, until } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 16, quiet: true };
const N = 3;

interface Node { log: MetadataLog | null; state: ToyState; dir: string; shard: ShardCore }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const inner = (log: MetadataLog) => log as any;

test('a backup whose journaled, uncommitted ops a view change replaced rewrites its journal and agrees with the group', async () => {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`shardlog-mdrepl${i}-`), shard: await shardCore() });
  let cut = (from: number, to: number, command: number) => { void from; void to; void command; return false; };
  const open = async (i: number) => {
    const n = nodes[i];
    n.log = await MetadataLog.open(n.dir, n.shard.core, n.shard.memory, n.shard.sc, n.state, {
      ...OPTIONS,
      peers: {
        replica: i, replicaCount: N,
        send: (to, message, attachment) => {
          if (cut(i, to, message[H.command])) return true;
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
  try {
    await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
    const first = nodes[0].log!;
    const clients = [401n, 402n];
    const sessions = await Promise.all(clients.map((c) => first.register(c).then((r) => r.session)));
    const k = first.commitNumber + 1;
    await until(() => nodes.every((n) => n.log!.journaledOp === k - 1 && n.log!.commitNumber === k - 1), 'every replica at op k - 1');

    // Ops k and k+1 reach replica 2 only, and its acks are lost; replica 0 crashes before its own journal write.
    cut = (from, to, command) => (from === 0 && to === 1) || (from === 2 && to === 0 && command === Command.PrepareOk);
    const lost = clients.map((client, j) => first.propose({ client, session: sessions[j], request: 1n, operation: 130, body: requestBody(j + 1), userId: 1 }).catch((e) => e));
    inner(first).failed = new Error('crashed before its flush');
    first.close();
    nodes[0].log = null;
    // Meanwhile replicas 1 and 2 cannot reach each other: no view forms without replica 0.
    cut = (from, to) => from === 0 || to === 0 || (from === 1 && to === 2) || (from === 2 && to === 1);
    await until(() => nodes[2].log!.journaledOp === k + 1, 'replica 2 to journal ops k and k+1');
    const old = [k, k + 1].map((op) => inner(nodes[2].log!).journalPrepare(op).checksum);
    await Promise.all(lost);

    // Replica 0 restarts without them and forms view 1 with replica 1; replica 2 stays cut off.
    cut = (from, to) => from === 2 || to === 2;
    nodes[0].state = new ToyState();
    await open(0);
    await until(() => nodes[1].log!.leading, 'replica 1 to lead a new view', 20_000);
    const primary = nodes[1].log!;
    for (const [j, client] of clients.entries()) {
      const r = await primary.propose({ client, session: sessions[j], request: 1n, operation: 130, body: requestBody(10 + j), userId: 1 });
      assert.equal(r.status, 0);
    }
    assert.equal(primary.commitNumber, k + 1, 'the new requests are ops k and k+1');

    // Replica 2 rejoins: it is asked for the new prepares at ops it has journaled.
    const replacements: number[] = [];
    const journal = inner(nodes[2].log!).journal;
    const replaceFrom = journal.replaceFrom.bind(journal);
    journal.replaceFrom = (op: number, entries: Uint8Array[]) => { replacements.push(op); replaceFrom(op, entries); };
    cut = () => false;
    const canonical = [k, k + 1].map((op) => inner(primary).journalPrepare(op).checksum);
    assert.notDeepEqual(canonical, old);
    const journaled = (i: number) => [k, k + 1].map((op) => inner(nodes[i].log!).journalPrepare(op)?.checksum);
    // Committed before its journal write ran, its journal still holding the old prepares: the bodies must outlive
    // the tick's pruning until the write comes.
    await until(() => nodes[2].log!.commitNumber === k + 1 && journaled(2).every((c, j) => c === canonical[j]), 'replica 2 to commit and journal the new ops', 20_000);
    assert.ok(replacements.length > 0 && replacements[0] === k, `replica 2 rewrote its journal from op k (${replacements.join(',')})`);
    await until(() => journaled(0).every((c, j) => c === canonical[j]), 'replica 0 to journal the new ops');
    assert.deepEqual(nodes[2].state.applied, nodes[1].state.applied);

    // Restarted, replica 2 boots from the rewritten journal and stays in step.
    nodes[2].log!.close();
    nodes[2].log = null;
    nodes[2].state = new ToyState();
    await open(2);
    const more = await primary.propose({ client: clients[0], session: sessions[0], request: 2n, operation: 130, body: requestBody(20), userId: 1 });
    assert.equal(more.status, 0);
    await until(() => nodes[2].log!.commitNumber === more.op, 'the restarted replica 2 to catch up');
    assert.deepEqual(nodes[2].state.applied, nodes[1].state.applied);
  } finally {
    clearInterval(ticker);
    for (const n of nodes) n.log?.close();
  }
});
