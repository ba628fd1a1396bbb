// A view change restamps prepares a backup accepted (a header-only write): the backup must not answer prepare_ok
// for an op whose prepare is still held behind a gap in its journal. Replica 2 misses op 3, holds op 4, then
// replica 0 is cut off; every prepare_ok replica 2 sends is checked against its journal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { Command, H, Prep, Status } from '../../host/shared/vsr-abi.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir, until } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 8, quiet: true };
const N = 3;
const K_OP = 160;
interface Node { log: MetadataLog | null; state: ToyState; dir: string; shard: ShardCore }


test('a backup never sends prepare_ok for an op it has not journaled (a header-only rewrite waits for its held prepare)', async () => {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`shardlog-ho${i}-`), shard: await shardCore() });
  let phase = 0;
  const violations: string[] = [];
  let op4ToReplica2 = false;
  const sendFrom = (from: number) => (to: number, message: Uint8Array, attachment: Uint8Array): boolean => {
    const m = Uint8Array.from(message); const a = Uint8Array.from(attachment);
    const cmd = m[H.command];
    const dv = new DataView(m.buffer);
    if (phase >= 1) {
      if ((cmd === Command.Prepare || cmd === Command.RepairPrepare) && to === 2 && Number(dv.getBigUint64(Prep.op, true)) === 3) return true; // lost
      if (cmd === Command.PrepareOk && from === 1 && to === 0) return true; // replica 1's acks lost: 3 and 4 stay uncommitted
      if ((cmd === Command.Prepare) && to === 2 && Number(dv.getBigUint64(Prep.op, true)) === 4) op4ToReplica2 = true;
    }
    if (phase >= 2 && (from === 0 || to === 0)) return true; // replica 0 partitioned away
    if (cmd === Command.PrepareOk && from === 2) {
      const op = Number(dv.getBigUint64(K_OP, true));
      const journaled = nodes[2].log!.journaledOp;
      if (op > journaled) violations.push(`replica 2 prepare_ok op ${op} to ${to}, its journal ends at op ${journaled}`);
    }
    setImmediate(() => nodes[to].log?.onMessage(m, a));
    return true;
  };
  for (let i = 0; i < N; i++) {
    nodes[i].log = await MetadataLog.open(nodes[i].dir, nodes[i].shard.core, nodes[i].shard.memory, nodes[i].shard.sc, nodes[i].state, { ...OPTIONS, peers: { replica: i, replicaCount: N, send: sendFrom(i) } });
  }
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  // A new cluster forms through the recovery exchange (every replica starts lost): wait for it before writing.
  await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
  try {
    const log = nodes[0].log!;
    const a = await log.register(11n);
    const b = await log.register(12n);
    await until(() => nodes.every((n) => n.log!.commitNumber === log.commitNumber), 'all at op 2');
    console.log('# ops so far', log.op);
    phase = 1;
    const p3 = log.propose({ client: 11n, session: a.session, request: 1n, operation: 130, body: requestBody(1), userId: 1 }).catch((e) => e);
    const p4 = log.propose({ client: 12n, session: b.session, request: 1n, operation: 130, body: requestBody(2), userId: 1 }).catch((e) => e);
    await until(() => op4ToReplica2 && nodes[1].log!.journaledOp >= 4, 'op 4 at replica 2 and journaled at 1');
    await new Promise((r) => setTimeout(r, 50));
    console.log('# before partition: journaled', nodes.map((n) => n.log!.journaledOp), 'commit', nodes.map((n) => n.log!.commitNumber));
    phase = 2;
    await until(() => nodes[1].log!.leading || nodes[2].log!.leading, 'a new primary', 10_000);
    await new Promise((r) => setTimeout(r, 500));
    console.log('# after: view', nodes.map((n) => n.log!.view), 'journaled', nodes.map((n) => n.log!.journaledOp), 'commit', nodes.map((n) => n.log!.commitNumber));
    console.log('# violations', JSON.stringify(violations));
    void p3; void p4;
    assert.deepEqual(violations, []);
  } finally {
    clearInterval(ticker);
    for (const n of nodes) n.log?.close();
  }
});
