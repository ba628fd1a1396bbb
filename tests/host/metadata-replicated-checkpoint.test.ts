// A cluster metadata group under pipelined load with one message in seven lost, over many more ops than the
// journal holds: checkpoints run at the commit (keeping the journaled ops after it), so no replica fills up and stops.
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

test('sustained pipelined load with a lossy bus over many more ops than the journal holds: no replica stops (checkpoints at the commit)', async () => {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`shardlog-rv${i}-`), shard: await shardCore() });
  let drops = 0; const send = (replica: number, message: Uint8Array, attachment: Uint8Array): boolean => { if (message[0] !== 255 && (drops++ % 7) === 3) return true;
    const m = Uint8Array.from(message); const a = Uint8Array.from(attachment);
    setImmediate(() => nodes[replica].log?.onMessage(m, a));
    return true;
  };
  const failures: unknown[] = [];
  for (let i = 0; i < N; i++) {
    const hooks = Object.assign(nodes[i].state, { failed: (e: unknown) => failures.push([i, String(e)]) });
    nodes[i].log = await MetadataLog.open(nodes[i].dir, nodes[i].shard.core, nodes[i].shard.memory, nodes[i].shard.sc, hooks, { ...OPTIONS, peers: { replica: i, replicaCount: N, send } });
  }
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  // A new cluster forms through the recovery exchange (every replica starts lost): wait for it before writing.
  await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
  try {
    const log = nodes[0].log!;
    const clients = Array.from({ length: 14 }, (_, i) => 101n + BigInt(i));
    const sessions = await Promise.all(clients.map((c) => log.register(c).then((r) => r.session)));
    let errors = 0;
    await Promise.all(clients.map(async (c, j) => {
      for (let k = 1; k <= 40; k++) {
        try { const r = await log.propose({ client: c, session: sessions[j], request: BigInt(k), operation: 130, body: requestBody(k % 5), userId: 1 }); if (r.status !== 0) errors++; }
        catch (e) { errors++; if (errors < 3) console.log('propose failed', String(e)); }
      }
    }));

    for (const n of nodes) console.log('# node attached', (n.log as any).attached.size, 'held', (n.log as any).held.size, (n.log as any).journal.firstOp, (n.log as any).journal.lastOp, n.log!.commitNumber);
    console.log('# errors', errors, 'failures', JSON.stringify(failures), 'commit', log.commitNumber, 'journal first..last', (log as any).journal.firstOp, (log as any).journal.lastOp);
    assert.equal(failures.length, 0);
    assert.equal(errors, 0);
  } finally {
    clearInterval(ticker);
    for (const n of nodes) n.log?.close();
  }
});
