// Streams, topics, partitions and segments over a real server (iggy-client-wire.md §7.4 - §7.6, §11): every
// command's success path and its main rejection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writer } from '../../host/shared/wire/buffer.js';
import { IggyError } from '../../host/client/errors.js';
import { stringOption, u64Option } from '../../host/client/options.js';
import * as req from '../../host/client/requests.js';
import type { IggyClient } from '../../host/client/client.js';
import { code, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';


describe('protocol: streams and topics', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  before(async () => {
    s = await startProtocolServer();
    c = await s.connect();
  });
  after(async () => {
    await c?.close();
    await s?.stop();
  });

  it('stream create / list / get by id and name / update / purge / delete', async () => {
    const name = unique('stream');
    const created = await c.createStream(name);
    assert.deepEqual([created.name, created.topicsCount, created.messagesCount, created.sizeBytes], [name, 0, 0n, 0n]);
    assert.ok(created.createdAt > 0n);
    assert.ok((await c.getStreams()).some((x) => x.id === created.id && x.name === name));
    const byId = await c.getStream(created.id);
    assert.deepEqual(await c.getStream(name), byId);
    assert.deepEqual(byId?.topics, []);
    const renamed = unique('renamed');
    await c.updateStream(created.id, renamed);
    assert.equal((await c.getStream(created.id))?.name, renamed);
    assert.equal(await c.getStream(name), null, 'the old name no longer resolves');
    await c.purgeStream(renamed);
    await c.deleteStream(created.id);
    assert.equal(await c.getStream(created.id), null);
  });

  it('stream rejections: duplicate name 1012, missing stream 1009, unknown option 4041', async () => {
    const a = await c.createStream(unique('dup'));
    const b = await c.createStream(unique('dup'));
    assert.notEqual(a.id, b.id);
    await assert.rejects(c.createStream(a.name), code(1012));
    await assert.rejects(c.updateStream(b.id, a.name), code(1012));
    await assert.rejects(c.updateStream(999_999, unique('x')), code(1009));
    await assert.rejects(c.purgeStream(999_999), code(1009));
    await assert.rejects(c.deleteStream('no-such-stream'), code(1009));
    await assert.rejects(c.createStream(unique('opt'), [stringOption('no_such_key', 'x')]), code(4041));
    await c.deleteStream(a.id);
    await c.deleteStream(b.id);
  });

  it('topic with 0 partitions; add 22, delete 19; update, purge, delete with a trailing u32 (the SDK topic test)', async () => {
    const stream = await c.createStream(unique('topics'));
    const name = unique('topic');
    const topic = await c.createTopic({ stream: stream.id, name, partitionsCount: 0 });
    assert.deepEqual([topic.name, topic.partitionsCount, topic.partitions], [name, 0, []]);
    assert.ok([0n, 2n ** 64n - 1n].includes(topic.messageExpiry), `default expiry is the server default (0) or never (u64::MAX), got ${topic.messageExpiry}`);
    assert.equal((await c.getStream(stream.id))?.topicsCount, 1);
    const listed = await c.getTopics(stream.id);
    assert.deepEqual(listed.map((t) => t.name), [name]);
    assert.deepEqual(await c.getTopic(stream.name, name), await c.getTopic(stream.id, topic.id));

    await c.createPartitions(stream.id, topic.id, 22);
    const grown = await c.getTopic(stream.id, topic.id);
    assert.deepEqual(grown?.partitions.map((p) => p.id), Array.from({ length: 22 }, (_, i) => i));
    assert.ok(grown!.partitions.every((p) => p.segmentsCount >= 1 && p.currentOffset === 0n));
    await c.deletePartitions(stream.id, topic.id, 19);
    assert.deepEqual((await c.getTopic(stream.id, topic.id))?.partitions.map((p) => p.id), [0, 1, 2], 'the highest ones go');

    await c.updateTopic({ stream: stream.id, topic: topic.id, name, options: [u64Option('message_expiry', 42n)] });
    assert.equal((await c.getTopic(stream.id, topic.id))?.messageExpiry, 42n);
    await c.purgeTopic(stream.id, topic.id);

    const body = new Writer().bytes(req.streamAndTopic(stream.id, topic.id)).u32(0).finish();
    await c.rawCommand(303, body);
    assert.equal(await c.getTopic(stream.id, topic.id), null);
    assert.deepEqual(await c.getTopics(stream.id), []);
    await c.deleteStream(stream.id);
  });

  it('topic rejections: 2013, 1009, 2010, 4041, 4042; partitions 2015 and 2019', async () => {
    const stream = await c.createStream(unique('topic-errors'));
    const t = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: 2 });
    await assert.rejects(c.createTopic({ stream: stream.id, name: 't', partitionsCount: 1 }), code(2013));
    await assert.rejects(c.createTopic({ stream: 999_999, name: 't', partitionsCount: 1 }), code(1009));
    await assert.rejects(c.createTopic({ stream: stream.id, name: unique('o'), partitionsCount: 1, options: [stringOption('bogus', 'x')] }), code(4041));
    await assert.rejects(c.createTopic({ stream: stream.id, name: unique('o'), partitionsCount: 1, options: [stringOption('compression_algorithm', 'zip')] }), code(4042));
    await assert.rejects(c.updateTopic({ stream: stream.id, topic: 999, name: 'x' }), code(2010));
    await assert.rejects(c.purgeTopic(stream.id, 'missing'), code(2010));
    await assert.rejects(c.deleteTopic(stream.id, 999), code(2010));
    await assert.rejects(c.createPartitions(stream.id, t.id, 0), code(2015));
    await assert.rejects(c.createPartitions(stream.id, t.id, 1001), code(2015));
    await assert.rejects(c.deletePartitions(stream.id, t.id, 3), code(2019));
    await assert.rejects(c.createPartitions(stream.id, 999, 1), code(2010));
    assert.equal(await c.getTopic(stream.id, 999), null);
    assert.equal(await c.getTopic(999_999, 0), null);
    assert.deepEqual(await c.getTopics(999_999), [], 'count 0 for a missing stream');
    await c.deleteStream(stream.id);
  });

  it('DeleteSegments on an existing partition succeeds; on a missing stream it is refused', async () => {
    const stream = await c.createStream(unique('segments'));
    const t = await c.createTopic({ stream: stream.id, name: 'seg', partitionsCount: 1 });
    await c.sendMessages({ stream: stream.id, topic: t.id, partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'a' }, { payload: 'b' }] });
    await c.deleteSegments(stream.id, t.id, 0, 1);
    const after = await c.getTopic(stream.id, t.id);
    assert.ok(after!.partitions[0].segmentsCount >= 1, 'an active segment always remains');
    await assert.rejects(c.deleteSegments(999_999, t.id, 0, 1), (e: unknown) => e instanceof IggyError && [1009, 20].includes(e.code));
    await c.deleteStream(stream.id);
  });
});
