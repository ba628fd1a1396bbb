// The replicas of one core instance share its outbox (assembly/vsr/api.ts): a server's shard holds the metadata group
// and partition groups in one instance, and a metadata commit opens partitions, whose groups call into the core at
// once (creation, setTail, recoverLost). Such a call, made while another driver walks the outbox, waits for the walk
// to end: before, the new driver walked the outbox itself and performed the metadata group's remaining actions (its
// Reply) as its own, and the metadata walk then read past the cleared outbox ("unknown outbox action 0").
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff');
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, H, Operation, Status, instantiateVsr } from '../../host/shared/vsr-abi.js';
import { ReplicaDriver, type JournalWrite, type ReplicaIo } from '../../host/shared/replica-driver.js';

const module = new WebAssembly.Module(fs.readFileSync(fileURLToPath(new URL('../../../build/core.debug.wasm', import.meta.url))));
const PAGES = 64;

interface Heard { sends: { to: number; command: number }[]; replies: number; commits: number[] }

function io(heard: Heard, durable: (writes: JournalWrite[]) => void): ReplicaIo {
  return {
    bus: { send: (to, message) => { heard.sends.push({ to, command: message[H.command] }); return true; } },
    storage: { write: durable, read: (_op, done) => done(null), persist: () => {} },
    callbacks: { commit: (op) => heard.commits.push(op), reply: () => heard.replies++ },
  };
}

test('a group created and told to recover inside another group\'s commit callback: each performs its own actions, in order', () => {
  const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
  const core = instantiateVsr(module, memory);
  core.__arena_init(65536, PAGES * 65536 - 65536);
  const metadata: Heard = { sends: [], replies: 0, commits: [] };
  const partition: Heard = { sends: [], replies: 0, commits: [] };
  const opened: { driver: ReplicaDriver | null } = { driver: null };
  let statusInWalk = -1;
  let driver!: ReplicaDriver;
  const durableAtOnce = (writes: JournalWrite[]) => { for (const w of writes) driver.onJournalWriteDone(w.op, w.checksum); };
  const single = io(metadata, durableAtOnce);
  driver = ReplicaDriver.create(core, memory, { cluster: 1n, group: 1n, replica: 0, replicaCount: 1, slots: 64, clientsMax: 8 }, {
    ...single,
    callbacks: {
      ...single.callbacks,
      // The commit opens a partition whose files were found: its group recovers as a lost replica of three.
      commit: (op, prepare) => {
        single.callbacks.commit(op, prepare);
        const group = ReplicaDriver.create(core, memory, { cluster: 1n, group: 7n, replica: 0, replicaCount: 3, slots: 64, clientsMax: 8 }, io(partition, () => {}));
        group.recoverLost(42n);
        statusInWalk = group.status;
        opened.driver = group;
      },
    },
  });
  driver.submit({ client: 9n, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  assert.doesNotThrow(() => driver.flush());
  assert.deepEqual(metadata.commits, [1]);
  assert.equal(metadata.replies, 1, 'the metadata group\'s Reply, after the Commit in the same walk, is its own');
  assert.deepEqual(metadata.sends, [], 'a single replica sends nothing');
  assert.ok(opened.driver, 'the partition group was opened');
  assert.equal(statusInWalk, Status.Normal, 'its recovery waited while the metadata walk was under way');
  assert.equal(opened.driver.status, Status.Recovering, 'its recovery ran once the walk was done');
  assert.deepEqual(partition.sends.map((s) => [s.to, s.command]).sort(), [[1, Command.Recovery], [2, Command.Recovery]]);
  assert.equal(partition.replies + partition.commits.length, 0, 'nothing of the metadata group was performed as the partition\'s');
});

// A metadata driver (one replica) whose next commit runs `during` inside its walk; returns what it heard.
function metadataWith(during: (core: ReturnType<typeof instantiateVsr>, memory: WebAssembly.Memory) => void) {
  const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
  const core = instantiateVsr(module, memory);
  core.__arena_init(65536, PAGES * 65536 - 65536);
  const heard: Heard = { sends: [], replies: 0, commits: [] };
  let driver!: ReplicaDriver;
  const single = io(heard, (writes) => { for (const w of writes) driver.onJournalWriteDone(w.op, w.checksum); });
  driver = ReplicaDriver.create(core, memory, { cluster: 1n, group: 1n, replica: 0, replicaCount: 1, slots: 64, clientsMax: 8 }, {
    ...single, callbacks: { ...single.callbacks, commit: (op, prepare) => { single.callbacks.commit(op, prepare); during(core, memory); } },
  });
  driver.submit({ client: 9n, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  return { driver, heard, core, memory };
}

test('thousands of calls waiting for one walk run in order, in one flat loop (no stack per waiting call)', () => {
  const ticks: ReplicaDriver[] = [];
  let group: ReplicaDriver | null = null;
  const { driver, heard } = metadataWith((core, memory) => {
    group = ReplicaDriver.create(core, memory, { cluster: 1n, group: 7n, replica: 0, replicaCount: 1, slots: 64, clientsMax: 8 }, io({ sends: [], replies: 0, commits: [] }, () => {}));
    for (let i = 0; i < 20_000; i++) { group.tick(); ticks.push(group); }
  });
  assert.doesNotThrow(() => driver.flush());
  assert.equal(heard.replies, 1);
  assert.equal(ticks.length, 20_000);
  assert.ok(group, 'opened');
});

test('a walk that throws: the calls that waited for it still run first, and nothing of it is performed by another group', () => {
  const partition: Heard = { sends: [], replies: 0, commits: [] };
  let group: ReplicaDriver | null = null;
  const { driver } = metadataWith((core, memory) => {
    group = ReplicaDriver.create(core, memory, { cluster: 1n, group: 7n, replica: 0, replicaCount: 3, slots: 64, clientsMax: 8 }, io(partition, () => {}));
    group.recoverLost(42n);
    throw new Error('the state machine refused the op');
  });
  assert.throws(() => driver.flush(), /refused the op/);
  const opened = group as ReplicaDriver | null;
  assert.ok(opened);
  opened.tick(); // its recoverLost, which waited for the failed walk, runs before this tick
  assert.equal(opened.status, Status.Recovering);
  assert.deepEqual(partition.sends.map((s) => s.command), [Command.Recovery, Command.Recovery]);
  assert.equal(partition.replies + partition.commits.length, 0, 'the failed walk\'s Reply was not performed as the partition\'s');
});
