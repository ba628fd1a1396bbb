// State transfer of the metadata group (three MetadataLogs with peers in one process, joined by an in-memory bus):
// a backup whose directory is wiped stays recovering (marked lost on disk) until a peer's snapshot is installed,
// then serves the same state; a backup behind the primary's checkpoint (its journal drained) is sent the state
// instead of being repaired; a corrupt transfer is refused by its checksum and the next one installs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { Command, H, HEADER_SIZE, Status } from '../../host/shared/vsr-abi.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 8, quiet: true };
const CLIENT = 77n;
const N = 3;

interface Node { log: MetadataLog | null; state: ToyState; dir: string; shard: ShardCore }

function cluster(nodes: Node[], tamper: (to: number, message: Uint8Array) => void = () => {}) {
  const send = (replica: number, message: Uint8Array, attachment: Uint8Array): boolean => {
    const m = Uint8Array.from(message);
    const a = Uint8Array.from(attachment);
    tamper(replica, m);
    setImmediate(() => nodes[replica].log?.onMessage(m, a));
    return true;
  };
  const open = async (i: number) => {
    const n = nodes[i];
    n.log = await MetadataLog.open(n.dir, n.shard.core, n.shard.memory, n.shard.sc, n.state, { ...OPTIONS, peers: { replica: i, replicaCount: N, send } });
  };
  const ticker = setInterval(() => { for (const n of nodes) n.log?.tick(); }, 2);
  return { open, stop: () => clearInterval(ticker) };
}

async function until(check: () => boolean, what: string, bound = 15_000): Promise<void> {
  const end = Date.now() + bound;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function start(prefix: string, tamper?: (to: number, message: Uint8Array) => void) {
  const nodes: Node[] = [];
  for (let i = 0; i < N; i++) nodes.push({ log: null, state: new ToyState(), dir: tempDir(`${prefix}${i}-`), shard: await shardCore() });
  const c = cluster(nodes, tamper);
  for (let i = 0; i < N; i++) await c.open(i);
  await until(() => nodes.every((n) => n.log!.status === Status.Normal), 'the cluster to form');
  const { session } = await nodes[0].log!.register(CLIENT);
  let request = 0n;
  const write = async (n: number) => {
    for (let k = 0; k < n; k++) {
      request++;
      const r = await nodes[0].log!.propose({ client: CLIENT, session, request, operation: 130, body: requestBody(Number(request) % 9 + 1), userId: 1 });
      assert.equal(r.status, 0);
    }
  };
  return { nodes, c, write };
}

function wipe(dir: string): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

test('a backup whose directory is wiped recovers by state transfer: lost (marked on disk) until installed, then the same state; writes go on meanwhile', async () => {
  const { nodes, c, write } = await start('shardlog-xfer-wipe');
  try {
    await write(5);
    nodes[2].log!.close();
    nodes[2].log = null;
    wipe(nodes[2].dir);
    nodes[2].state = new ToyState();
    await c.open(2);
    const lost = nodes[2].log!;
    assert.equal(lost.stateLost, true);
    assert.equal(lost.status, Status.Recovering);
    assert.ok(fs.existsSync(path.join(nodes[2].dir, 'state-lost')), 'marked lost before anything else');
    await write(3); // the cluster keeps committing with the other backup
    const head = nodes[0].log!.commitNumber;
    await until(() => lost.status === Status.Normal && lost.commitNumber === head, 'the wiped backup to catch up');
    assert.deepEqual(nodes[2].state.applied, nodes[0].state.applied);
    assert.equal(lost.stateTransfers.installed, 1);
    assert.equal(nodes[0].log!.stateTransfers.served + nodes[1].log!.stateTransfers.served >= 1, true);
    await until(() => !lost.stateLost, 'the lost mark to clear');
    assert.equal(fs.existsSync(path.join(nodes[2].dir, 'state-lost')), false);
    assert.ok(fs.existsSync(path.join(nodes[2].dir, 'snapshot')), 'the transferred snapshot is its checkpoint');
    await write(2); // and it acks again: it commits what follows
    await until(() => lost.commitNumber === nodes[0].log!.commitNumber, 'the recovered backup to commit new ops');
  } finally {
    c.stop();
    for (const n of nodes) n.log?.close();
  }
});

test('a backup behind the primary\'s checkpoint (its journal drained) is sent the state instead of being repaired', async () => {
  const { nodes, c, write } = await start('shardlog-xfer-lag');
  try {
    await write(2);
    await until(() => nodes[2].log!.commitNumber === nodes[0].log!.commitNumber, 'replica 2 to commit');
    nodes[2].log!.close();
    nodes[2].log = null;
    await write(80); // > slotCount: the primary checkpoints and drains its journal
    assert.ok(nodes[0].log!.journaledOp > 0);
    nodes[2].state = new ToyState();
    await c.open(2);
    const head = nodes[0].log!.commitNumber;
    await until(() => nodes[2].log!.commitNumber === head, 'the lagging backup to catch up');
    assert.equal(nodes[2].log!.stateTransfers.installed >= 1, true, 'caught up by transfer, not repair');
    assert.deepEqual(nodes[2].state.applied, nodes[0].state.applied);
  } finally {
    c.stop();
    for (const n of nodes) n.log?.close();
  }
});

test('a transfer with a corrupted chunk is refused by its checksum; the next one installs', async () => {
  let corrupted = 0;
  const flipFirstChunk = (_to: number, m: Uint8Array) => {
    if (m[H.command] === Command.StateChunk && corrupted === 0 && m.length > HEADER_SIZE + 200) { m[m.length - 1] ^= 0x40; corrupted++; }
  };
  const { nodes, c, write } = await start('shardlog-xfer-bad', flipFirstChunk);
  try {
    await write(4);
    nodes[2].log!.close();
    nodes[2].log = null;
    wipe(nodes[2].dir);
    nodes[2].state = new ToyState();
    await c.open(2);
    const head = nodes[0].log!.commitNumber;
    await until(() => nodes[2].log!.status === Status.Normal && nodes[2].log!.commitNumber === head, 'the wiped backup to catch up');
    assert.equal(corrupted, 1);
    assert.equal(nodes[2].log!.stateTransfers.refused, 1);
    assert.equal(nodes[2].log!.stateTransfers.installed, 1);
    assert.deepEqual(nodes[2].state.applied, nodes[0].state.applied);
  } finally {
    c.stop();
    for (const n of nodes) n.log?.close();
  }
});
