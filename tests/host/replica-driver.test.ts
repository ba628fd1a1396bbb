// The shared ReplicaDriver with peers (three replicas, each its own core instance, an in-memory bus and storage
// the test completes by hand): the multi-replica paths the server's groups will run once the replica plane
// exists. Prepare to peers, prepare_ok only after the backup's write is durable, sends a bus refuses (dropped,
// counted, retransmitted), a view change, repair of a prepare a backup missed, and inbound bad input.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff');
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, H, MESSAGE_MAX, Operation, Status, instantiateVsr } from '../../host/shared/vsr-abi.js';
import { ReplicaDriver, ReplicaDriverError, type JournalWrite, type PersistState } from '../../host/shared/replica-driver.js';
import { decodeReply, type GroupReply } from '../../host/node/consensus/group.js';

const module = new WebAssembly.Module(fs.readFileSync(fileURLToPath(new URL('../../../build/core.debug.wasm', import.meta.url))));
const PAGES = 48;
const CLUSTER = 11n;
const GROUP = 5n;
const TICKS_MAX = 20_000; // bound for "eventually": far above the core's view-change and retransmit timeouts

interface Packet { from: number; to: number; bytes: Uint8Array }

class Replica {
  readonly driver: ReplicaDriver;
  readonly writes: JournalWrite[] = []; // started, not yet durable
  readonly journal = new Map<number, Uint8Array>();
  readonly commits: number[] = [];
  readonly replies: GroupReply[] = [];
  persisted: PersistState | null = null;
  reads = 0;

  constructor(readonly index: number, net: Net, autoDurable: boolean) {
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
    const core = instantiateVsr(module, memory);
    core.__arena_init(65536, PAGES * 65536 - 65536);
    this.driver = ReplicaDriver.create(core, memory, { cluster: CLUSTER, group: GROUP, replica: index, replicaCount: 3, slots: 64, clientsMax: 8 }, {
      bus: { send: (to, message) => net.send(index, to, message) },
      storage: {
        write: (writes) => { this.writes.push(...writes); if (autoDurable) this.durable(); },
        read: (op, done) => { this.reads++; done(this.journal.get(op) ?? null); },
        persist: (state) => { this.persisted = state; },
      },
      callbacks: { commit: (op) => this.commits.push(op), reply: (reply) => this.replies.push(decodeReply(reply)) },
    });
  }

  // Reports the started writes durable, in order.
  durable(): void {
    for (const w of this.writes.splice(0)) {
      if (!w.headerOnly) this.journal.set(w.op, w.message);
      this.driver.onJournalWriteDone(w.op, w.checksum);
    }
    this.driver.flush();
  }
}

class Net {
  queue: Packet[] = [];
  sent: Packet[] = [];
  refuse: (p: Packet) => boolean = () => false;
  cut = new Set<number>(); // replicas whose messages (both ways) are lost
  replicas: Replica[] = [];

  send(from: number, to: number, bytes: Uint8Array): boolean {
    const p = { from, to, bytes };
    if (this.refuse(p)) return false;
    this.sent.push(p);
    if (!this.cut.has(from) && !this.cut.has(to)) this.queue.push(p);
    return true;
  }

  deliver(): void {
    for (let p = this.queue.shift(); p; p = this.queue.shift()) {
      const r = this.replicas[p.to];
      r.driver.onMessage(p.bytes);
      r.driver.flush();
    }
  }
}

function cluster(autoDurable = true): { net: Net; rs: Replica[] } {
  const net = new Net();
  const rs = [0, 1, 2].map((i) => new Replica(i, net, autoDurable));
  net.replicas = rs;
  return { net, rs };
}

function command(bytes: Uint8Array): number {
  return bytes[H.command];
}

// Ticks every replica not cut off and delivers, until `done` (bounded).
function until(net: Net, rs: Replica[], done: () => boolean, what: string): void {
  for (let t = 0; t < TICKS_MAX; t++) {
    if (done()) return;
    for (const r of rs) if (!net.cut.has(r.index)) { r.driver.tick(); r.driver.flush(); }
    net.deliver();
  }
  assert.fail(`not within ${TICKS_MAX} ticks: ${what}`);
}

function register(primary: Replica, client: bigint): void {
  primary.driver.submit({ client, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  primary.driver.flush();
}

test('a primary sends its prepare to both backups; a backup answers prepare_ok only once its write is durable', () => {
  const { net, rs } = cluster(false);
  const [primary, b1] = rs;
  register(primary, 9n);
  const prepares = net.sent.filter((p) => command(p.bytes) === Command.Prepare);
  assert.deepEqual(prepares.map((p) => p.to).sort(), [1, 2], 'the prepare goes to every backup');
  net.deliver();
  assert.equal(b1.writes.length, 1, 'the backup started its journal write');
  assert.equal(net.sent.filter((p) => command(p.bytes) === Command.PrepareOk).length, 0, 'prepare_ok before the write was durable');
  b1.durable();
  const oks = net.sent.filter((p) => command(p.bytes) === Command.PrepareOk);
  assert.deepEqual(oks.map((p) => [p.from, p.to]), [[1, 0]]);
  assert.equal(primary.commits.length, 0);
  net.deliver(); // the prepare_ok reaches the primary: 2 of 3 once its own write is durable
  assert.equal(primary.commits.length, 0, 'committed before the primary\'s own write was durable');
  primary.durable();
  assert.deepEqual(primary.commits, [1]);
  assert.equal(primary.replies.at(-1)?.status, 0);
  assert.equal(primary.replies.at(-1)?.session, 1n);
});

test('sends the bus refuses are dropped and counted; retransmission still commits the op everywhere', () => {
  const { net, rs } = cluster();
  let refused = 0;
  // Every message to replica 2 is refused for a while (its link is down): it catches up by retransmission/repair.
  net.refuse = (p) => p.to === 2 && refused < 5 && ++refused > 0;
  register(rs[0], 9n);
  net.deliver();
  until(net, rs, () => rs.every((r) => r.driver.commitMin === 1), 'replica 2 commits op 1');
  assert.equal(refused, 5);
  assert.equal(rs.reduce((n, r) => n + r.driver.sendsDropped, 0), 5, 'every refused send was counted');
});

test('the primary goes silent: the backups change view, and the new primary commits a request', () => {
  const { net, rs } = cluster();
  register(rs[0], 9n);
  net.deliver();
  until(net, rs, () => rs.every((r) => r.driver.commitMin === 1), 'op 1 committed everywhere');
  net.cut.add(0);
  until(net, rs, () => rs.some((r) => r.index !== 0 && r.driver.isPrimary && r.driver.status === Status.Normal), 'a backup becomes primary');
  const next = rs.find((r) => r.index !== 0 && r.driver.isPrimary)!;
  assert.ok(next.driver.view >= 1);
  assert.ok(next.persisted !== null && next.persisted.view >= 1, 'the new view was persisted');
  register(next, 10n);
  net.deliver();
  until(net, rs, () => next.driver.commitMin === 2, 'the new primary commits op 2');
  assert.equal(next.replies.at(-1)?.status, 0);
  assert.equal(next.replies.at(-1)?.client, 10n);
});

test('a backup that missed prepares is repaired and commits them', () => {
  const { net, rs } = cluster();
  net.cut.add(2);
  for (let c = 1n; c <= 3n; c++) { register(rs[0], c); net.deliver(); }
  until(net, rs, () => rs[0].driver.commitMin === 3, 'ops 1..3 committed by replicas 0 and 1');
  assert.equal(rs[2].driver.op, 0);
  net.cut.delete(2);
  until(net, rs, () => rs[2].driver.commitMin === 3, 'replica 2 repairs and commits ops 1..3');
  assert.deepEqual(rs[2].commits, [1, 2, 3]);
});

test('inbound bad input: a message larger than the inbox is dropped and counted, garbage is refused by the core', () => {
  const { rs } = cluster();
  const d = rs[1].driver;
  d.onMessage(new Uint8Array(MESSAGE_MAX + 1));
  assert.equal(d.messagesTooLarge, 1);
  const before = d.core.vsrMessagesRejected(d.handle);
  d.onMessage(new Uint8Array(300).fill(7));
  assert.equal(d.core.vsrMessagesRejected(d.handle), before + 1);
  assert.equal(d.op, 0);
});

test('a released driver refuses use (Released)', () => {
  const { rs } = cluster();
  rs[0].driver.release();
  assert.throws(() => rs[0].driver.tick(), (e: Error) => e instanceof ReplicaDriverError && e.code === 'Released');
});
