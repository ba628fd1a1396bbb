// The metadata group's consensus id is the core's METADATA_GROUP (1 << 63), taken from the core: every metadata
// prepare carries it, so its consensus frames route to shard 0 with any shard count (with id 0 they would hash to
// another shard, Iggy PR #3269's bug). A journal prepared under another id is refused at boot by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataLog, type MetadataLogOptions } from '../../host/node/consensus/metadata-log.js';
import { readPrepare } from '../../host/node/consensus/group.js';
import { PrepareJournal } from '../../host/node/io/prepare-journal.js';
import type { VsrExports } from '../../host/shared/vsr-abi.js';
import { shardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { tempDir } from './helpers.js';

const OPTIONS: MetadataLogOptions = { slotCount: 64, clientsMax: 8, quiet: true };
const CLIENT = 77n;
const WAL_HEADER = 256; // a journal entry: [PrepareJournal header][u32 n][the core's prepare, n B][body]

// The core prepares the metadata log journals while `fn` runs.
async function journaledPrepares(fn: () => Promise<void>): Promise<Uint8Array[]> {
  const original = PrepareJournal.prototype.append;
  const prepares: Uint8Array[] = [];
  PrepareJournal.prototype.append = function (this: PrepareJournal, entries: Uint8Array[]) {
    for (const e of entries) {
      const n = new DataView(e.buffer, e.byteOffset).getUint32(WAL_HEADER, true);
      prepares.push(e.slice(WAL_HEADER + 4, WAL_HEADER + 4 + n));
    }
    return original.call(this, entries);
  };
  try {
    await fn();
  } finally {
    PrepareJournal.prototype.append = original;
  }
  return prepares;
}

async function writeSome(log: MetadataLog): Promise<void> {
  const { session } = await log.register(CLIENT);
  for (let k = 1; k <= 3; k++) {
    const r = await log.propose({ client: CLIENT, session, request: BigInt(k), operation: 130, body: requestBody(k), userId: 1 });
    assert.equal(r.status, 0);
  }
}

test('metadata prepares carry the core\'s METADATA_GROUP and route to shard 0 of 2 (group id 0 would not)', async () => {
  const shard = await shardCore();
  const log = await MetadataLog.open(tempDir('shardlog-mdgroup-'), shard.core, shard.memory, shard.sc, new ToyState(), OPTIONS);
  const prepares = await journaledPrepares(() => writeSome(log));
  log.close();
  const metadataGroup = shard.core.metadataGroupId();
  assert.equal(metadataGroup, 1n << 63n, 'the core exports its sentinel');
  assert.equal(log.groupId, metadataGroup);
  assert.equal(prepares.length, 4);
  for (const prepare of prepares) {
    const group = readPrepare(prepare).group;
    assert.equal(group, metadataGroup);
    assert.equal(shard.core.routeConsensusControl(group, 2), 0, 'a metadata consensus frame must reach shard 0');
  }
  // Why the sentinel matters: the id the server used to give the group routes elsewhere, or nowhere.
  const routes = [2, 3, 4, 5, 6, 7, 8].map((shards) => shard.core.routeConsensusControl(0n, shards));
  assert.ok(routes.some((s) => s !== 0), `group 0 routes to shard 0 for every shard count (${routes}): pick another witness`);
});

test('a metadata journal prepared under another group id (0, as before) is refused at boot: MetadataGroupMismatch', async () => {
  const shard = await shardCore();
  const dir = tempDir('shardlog-mdgroup-');
  // The core as an older server saw it: the metadata group created with id 0.
  const legacyCore = new Proxy(shard.core, { get: (core, key) => key === 'metadataGroupId' ? () => 0n : Reflect.get(core, key) }) as VsrExports;
  const legacy = await MetadataLog.open(dir, legacyCore, shard.memory, shard.sc, new ToyState(), OPTIONS);
  await writeSome(legacy);
  legacy.close();
  await assert.rejects(MetadataLog.open(dir, shard.core, shard.memory, shard.sc, new ToyState(), OPTIONS),
    (e: Error) => e.name === 'MetadataGroupMismatch' && /consensus group 0\b/.test(e.message) && /9223372036854775808/.test(e.message));
  // The same directory under the id it was written with still boots: only the id differs.
  const again = await MetadataLog.open(dir, legacyCore, shard.memory, shard.sc, new ToyState(), OPTIONS);
  assert.equal(again.commitNumber, 4);
  again.close();
});
