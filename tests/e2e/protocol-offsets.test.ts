// Consumer offsets over a real server (iggy-client-wire.md §7.8, §9.1): per consumer and per partition, string
// consumer ids, group offsets only for owned partitions, and the errors of each command.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { closeStreamFixture, openStreamFixture, code, unique, type ProtocolServer } from './helpers/protocol.js';


describe('protocol: consumer offsets', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  let stream: number;
  let topic: number;
  before(async () => {
    ({ s, c, stream, topic } = await openStreamFixture('offsets', 'o', 2));
    for (const partition of [0, 1]) {
      await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages: Array.from({ length: 4 }, (_, i) => ({ payload: `p${partition}-${i}` })) });
    }
  });
  after(() => closeStreamFixture({ s, c }));

  it('offsets are kept per consumer and per partition', async () => {
    const one = { consumer: { kind: 'consumer' as const, id: 1 }, stream, topic };
    const two = { consumer: { kind: 'consumer' as const, id: 2 }, stream, topic };
    assert.equal(await c.getOffset({ ...one, partition: 0 }), null, 'nothing stored yet');
    await c.storeOffset({ ...one, partition: 0 }, 1n);
    await c.storeOffset({ ...one, partition: 1 }, 3n);
    await c.storeOffset({ ...two, partition: 0 }, 2n);
    assert.deepEqual(await c.getOffset({ ...one, partition: 0 }), { partitionId: 0, currentOffset: 3n, storedOffset: 1n });
    assert.deepEqual(await c.getOffset({ ...one, partition: 1 }), { partitionId: 1, currentOffset: 3n, storedOffset: 3n });
    assert.deepEqual(await c.getOffset({ ...two, partition: 0 }), { partitionId: 0, currentOffset: 3n, storedOffset: 2n });
    const next = await c.pollMessages({ ...one, partition: 0, strategy: { kind: 'next' }, count: 10 });
    assert.deepEqual(next.messages.map((m) => m.offset), [2n, 3n], 'Next continues after the stored offset');
    await c.deleteOffset({ ...one, partition: 0 });
    assert.equal(await c.getOffset({ ...one, partition: 0 }), null);
    assert.notEqual(await c.getOffset({ ...one, partition: 1 }), null, 'other partitions keep theirs');
  });

  it('a string consumer id is its own consumer', async () => {
    const named = { consumer: { kind: 'consumer' as const, id: unique('reader') }, stream, topic, partition: 1 };
    await c.storeOffset(named, 2n);
    assert.equal((await c.getOffset(named))?.storedOffset, 2n);
    assert.equal((await c.getOffset({ ...named, consumer: { kind: 'consumer', id: 'someone-else' } })), null);
  });

  it('no partition given means partition 0 for a single consumer', async () => {
    const target = { consumer: { kind: 'consumer' as const, id: 9 }, stream, topic };
    await c.storeOffset({ ...target, partition: null }, 1n);
    assert.equal((await c.getOffset({ ...target, partition: 0 }))?.storedOffset, 1n);
  });

  it('unknown targets: store/delete are status 20, get is empty for a missing stream and 3007 for a missing partition', async () => {
    const base = { stream, topic };
    await assert.rejects(c.storeOffset({ ...base, stream: 999_999, partition: 0 }, 1n), code(20));
    await assert.rejects(c.storeOffset({ ...base, topic: 999, partition: 0 }, 1n), code(20));
    await assert.rejects(c.storeOffset({ ...base, partition: 9 }, 1n), code(20));
    await assert.rejects(c.deleteOffset({ ...base, partition: 9 }), code(20));
    assert.equal(await c.getOffset({ ...base, stream: 999_999, partition: 0 }), null);
    await assert.rejects(c.getOffset({ ...base, partition: 9 }), code(3007));
  });

  it('group offsets: refused (20) for a non-member, stored for an owned partition after join', async () => {
    const group = await c.createGroup(stream, topic, unique('g'));
    const target = { consumer: { kind: 'group' as const, id: group.id }, stream, topic, partition: 0 };
    await assert.rejects(c.storeOffset(target, 1n), code(20));
    await c.joinGroup(stream, topic, group.id);
    const assignment = await c.syncGroup(stream, topic, group.id);
    assert.deepEqual(assignment?.partitions.sort(), [0, 1], 'a sole member owns every partition');
    await c.storeOffset(target, 1n);
    assert.equal((await c.getOffset(target))?.storedOffset, 1n);
    assert.equal((await c.getOffset({ ...target, consumer: { kind: 'group', id: group.name } }))?.storedOffset, 1n, 'by group name too');
    await c.leaveGroup(stream, topic, group.id);
    await c.deleteGroup(stream, topic, group.id);
  });
});
