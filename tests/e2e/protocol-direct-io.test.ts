// --direct-io over the protocol: sends of every size (small frames on the JS heap, large ones in the frame arena),
// to partitions on both shards, are written through O_DIRECT descriptors, read back the same before and after a
// restart, and leave segments that recover without a truncation.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import type { Message } from '../../host/client/batch.js';
import { withTimeout } from './helpers/server.js';
import { serverSeries } from './helpers/protocol.js';
import { health } from './helpers/health.js';

const O_DIRECT = fs.constants.O_DIRECT ?? 0;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const summary = (m: Message) => ({ offset: m.offset, id: m.id, payload: text(m.payload) });

// Segment files the process holds open through an O_DIRECT descriptor.
function directSegments(pid: number): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    if (!target.endsWith('.log')) continue;
    const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    if (flags !== undefined && (parseInt(flags, 8) & O_DIRECT) !== 0) out.push(target);
  }
  return out;
}

describe('protocol: --direct-io', { skip: O_DIRECT === 0 || !fs.existsSync('/proc/self/fdinfo') }, () => {
  const series = serverSeries('direct-io');

  it('sends are written through O_DIRECT and read back the same across a restart', async () => {
    const first = await series.start(['--direct-io']);
    const c = await first.connect();
    const stream = await c.createStream('direct');
    const topic = await c.createTopic({ stream: stream.id, name: 't', partitionsCount: 2 });
    let id = 0n;
    for (const partition of [0, 1]) {
      for (const [count, size] of [[3, 10], [1, 5000], [7, 333], [90, 1000], [1, 1]]) {
        const messages = Array.from({ length: count }, () => ({ id: ++id, payload: `${id}:`.padEnd(size, String.fromCharCode(97 + Number(id % 26n))) }));
        await c.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition }, messages });
      }
    }
    const poll = (client: typeof c, partition: number) => client.pollMessages({ stream: stream.id, topic: topic.id, partition, strategy: { kind: 'first' }, count: 1000, verifyChecksums: true });
    const before = [(await poll(c, 0)).messages, (await poll(c, 1)).messages];
    assert.deepEqual(before.map((m) => m.length), [102, 102]);
    assert.equal(directSegments(first.server.child.pid!).length, 2, 'one O_DIRECT descriptor per written partition');
    await c.close();
    first.server.child.kill('SIGTERM');
    assert.equal((await withTimeout(first.server.exited, 15_000, 'stopped after SIGTERM')).code, 0, first.server.output());

    const second = await series.start(['--direct-io']);
    const r = await second.connect();
    try {
      const after = [(await poll(r, 0)).messages, (await poll(r, 1)).messages];
      assert.deepEqual(after.map((ms) => ms.map(summary)), before.map((ms) => ms.map(summary)));
      assert.deepEqual((await health(second.server)).reasons, [], 'nothing cut at recovery (recovery_truncation), nothing damaged');
      const [next] = await r.sendMessages({ stream: stream.id, topic: topic.id, partitioning: { kind: 'partition', partition: 1 }, messages: [{ payload: 'after' }] });
      assert.equal(next.baseOffset, 102n, 'appends continue after the kept tail block');
      const last = (await poll(r, 1)).messages.at(-1);
      assert.equal(last && text(last.payload), 'after');
    } finally {
      await r.close();
      await second.stop();
    }
  });
});
