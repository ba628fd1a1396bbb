// A partition's group when its journal write (the partition append) fails: the writers of that group are answered
// with an error and nothing later is accepted, and the failure stays inside the partition (the flush does not
// throw into the shard loop, which would stop the server).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionGroup } from '../../../host/node/server/partition-group.js';
import type { ShardContext } from '../../../host/node/server/context.js';
import type { PartitionHome } from '../../../host/node/data/send-api.js';
import { shardCore } from '../consensus-core.js';

function batch(messages: number): Uint8Array {
  const b = new Uint8Array(256);
  new DataView(b.buffer).setUint32(48, messages, true);
  return b;
}

test('a failed append answers its writers with error 1 and refuses later writes; flush does not throw', async () => {
  const { core, memory } = await shardCore();
  const ctx = { core, storage: { memory } } as unknown as ShardContext;
  let appends = 0;
  const home = {
    append: () => { appends++; throw new Error('ENOSPC: no space left on device, write'); },
    offsets: { store() {}, delete() {}, flush() {} },
  } as unknown as PartitionHome;
  const group = new PartitionGroup(ctx, 5n, '0/0/0', home, () => {});
  group.flush(); // the owner's session
  const first = group.send(batch(1));
  const second = group.send(batch(2));
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1);
  assert.deepEqual(await Promise.all([first, second]), [{ status: 1, baseOffset: 0 }, { status: 1, baseOffset: 0 }]);
  assert.deepEqual(await group.send(batch(1)), { status: 1, baseOffset: 0 });
  assert.equal(await group.storeOffset({ kind: 1, id: 0 }, 3), 1);
  assert.doesNotThrow(() => group.flush());
  assert.equal(appends, 1, 'nothing is written after the failure');
});
