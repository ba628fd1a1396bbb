// A cluster's replica that finds a partition's files at boot starts that partition's group as a replica that lost
// its state, at once: it takes no session and prepares nothing, even as view 0's primary and flushed before its first
// tick, and its Recovery carries the tail of its files (what a whole cluster restarted from differing files forms
// again from: assembly/journal/formation.ts). Once it prepared its Register first (op 1), its Recovery carried no
// tail and the whole cluster waited for ever (tests/e2e/cluster-whole-crash.test.ts, one run in a few on a loaded
// machine).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionHome } from '../../../host/node/data/partition-dir.js';
import { buildBatch } from '../../../host/node/io/batch-builder.js';
import { PartitionGroup, type PartitionPeers } from '../../../host/node/server/partition-group.js';
import type { ShardContext } from '../../../host/node/server/context.js';
import { Command, H, HEADER_SIZE, Status } from '../../../host/shared/vsr-abi.js';
import { CoreJournalTailMatch } from '../../../host/shared/core-abi.generated.js';
import { shardCore } from '../consensus-core.js';
import { tempDir } from '../helpers.js';

test('a partition found at boot: lost from the start (no Register as view 0\'s primary), its Recovery carries its files\' tail', async () => {
  const { core, memory, sc } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  const home = PartitionHome.open(tempDir(), { streamId: 1, topicId: 1, partitionId: 0 }, sc, { fsync: { kind: 'every-batch' } });
  const batches = Array.from({ length: 3 }, (_, b) => buildBatch(sc, [{ payload: Buffer.alloc(10, b) }, { payload: Buffer.alloc(10, b + 1) }]));
  await home.appendAsync(batches, false, [1000, 1010, 1020]);
  const sent: { to: number; command: number; size: number }[] = [];
  const peers: PartitionPeers = {
    replica: 0, // view 0's primary
    replicaCount: 3,
    durability: 'persisted',
    cluster: 1n,
    send: (to, message) => { sent.push({ to, command: message[H.command], size: message.length }); return true; },
    register: () => () => {},
    split: (frame) => ({ message: frame, attachment: new Uint8Array(0) }),
    attachmentMax: 1 << 20,
    leader: () => ({ view: 0, status: Status.Normal }), // it leads the metadata group
  };
  const group = new PartitionGroup(ctx, 5n, '1/1/0', home, () => {}, undefined, peers, 'found');
  group.flush(); // the owner's flush that the constructor's onWork asks for: before any tick
  const { status, op, primary } = group.summary();
  assert.deepEqual({ status, op, primary }, { status: Status.Recovering, op: 0, primary: true }, 'recovering, nothing prepared');
  const recoveries = sent.filter((s) => s.command === Command.Recovery);
  assert.deepEqual(recoveries.map((s) => s.to).sort(), [1, 2], 'a Recovery to each peer');
  for (const r of recoveries) assert.equal(r.size, HEADER_SIZE + 3 * CoreJournalTailMatch.TAIL_ENTRY_BYTES, 'with the tail of its three batches');
  assert.equal(sent.filter((s) => s.command === Command.Prepare).length, 0, 'no prepare (no Register) went out');
  group.tick();
  group.flush();
  assert.equal(group.summary().op, 0, 'nor after its first tick');
  group.release();
});
