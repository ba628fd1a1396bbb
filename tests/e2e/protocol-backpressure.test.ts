// Backpressure between shards on a real 2-shard server whose rings and backlog bound are tiny: many clients send
// concurrently to partitions the other shard owns (each client to the shard its connection is not on, so every
// request crosses the rings) and create topics concurrently (every commit crosses them too). Every send is acknowledged and every message is
// there once with its payload; every topic reached shard 1; /metrics counts the requests that were held back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { IggyClient } from '../../host/client/client.js';
import { loadMesh } from '../host/core-loader.js';
import { startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

// 2 slots of 4 KiB per ring (fragments of about 4 KiB), and at most 4 KiB or 2 messages queued per target.
const TINY = ['--inbox-capacity', '2', '--reply-inbox-capacity', '2', '--shard-backlog-bytes', '4096', '--shard-backlog-messages', '2'];
const CLIENTS = 16;
const BATCHES = 8; // per client
const PER_BATCH = 4;
const PAYLOAD = 1500; // bytes: a batch of 6 KiB crosses in fragments

const payloadOf = (client: number, batch: number, n: number) =>
  new Uint8Array(PAYLOAD).map((_, i) => (client * 131 + batch * 17 + n * 7 + i) & 0xff);

describe('protocol: backpressure between shards', () => {
  let s: ProtocolServer;
  let clients: IggyClient[] = [];
  let route: (stream: number, topic: number, partition: number) => number;
  let homes: number[] = []; // the shard serving each client's connection (a connection id is seq × shards + shard)
  before(async () => {
    const { main } = await loadMesh('release', 1);
    route = (stream, topic, partition) => main.routePartition(stream, topic, partition, 2);
    s = await startProtocolServer(TINY);
    clients = await Promise.all(Array.from({ length: CLIENTS }, () => s.connect()));
    homes = await Promise.all(clients.map(async (c) => (await c.getMe()).clientId % 2));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await s?.stop();
  });

  // Summed over both directions (shard 0 towards 1 and 1 towards 0).
  const metric = async (name: string) => {
    const text = await (await request(`http://127.0.0.1:${s.httpPort}/metrics`)).body.text();
    const lines = text.split('\n').filter((l) => l.startsWith(`${name}{shard="0",target="1"}`) || l.startsWith(`${name}{shard="1",target="0"}`));
    assert.equal(lines.length, 2, `${name} for both directions in /metrics`);
    return lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };
  // Per client, the partitions of 8 that the shard its connection is not on owns.
  const farFrom = (stream: number, topic: number) => homes.map((home) => {
    const far = Array.from({ length: 8 }, (_, p) => p).filter((p) => route(stream, topic, p) !== home);
    assert.ok(far.length > 0, `some partition of 8 is owned by shard ${1 - home}`);
    return far;
  });

  it('concurrent sends to the other shard\'s partitions all succeed and every message is there once, in its batch order', async (t) => {
    const c = clients[0];
    const stream = (await c.createStream(unique('backpressure'))).id;
    const topic = (await c.createTopic({ stream, name: 'far', partitionsCount: 8 })).id;
    const far = farFrom(stream, topic);
    await Promise.all(clients.map(async (client, k) => {
      for (let batch = 0; batch < BATCHES; batch++) {
        const partition = far[k][(k + batch) % far[k].length];
        const messages = Array.from({ length: PER_BATCH }, (_, n) => ({ id: BigInt(k * 1_000_000 + batch * 1000 + n + 1), payload: payloadOf(k, batch, n) }));
        await client.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages });
      }
    }));
    const seen = new Map<bigint, Uint8Array>();
    for (let partition = 0; partition < 8; partition++) {
      const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'first' }, count: CLIENTS * BATCHES * PER_BATCH, verifyChecksums: true });
      const last = new Map<bigint, bigint>(); // per client, the last batch * 1000 + n seen in this partition
      for (const m of polled.messages) {
        assert.ok(!seen.has(m.id), `message ${m.id} twice`);
        seen.set(m.id, m.payload);
        const [k, at] = [(m.id - 1n) / 1_000_000n, (m.id - 1n) % 1_000_000n];
        assert.ok(at > (last.get(k) ?? -1n), `client ${k}'s messages out of order in partition ${partition}`);
        last.set(k, at);
      }
    }
    assert.equal(seen.size, CLIENTS * BATCHES * PER_BATCH, 'every acknowledged message is there');
    for (let k = 0; k < CLIENTS; k++) for (let batch = 0; batch < BATCHES; batch++) for (let n = 0; n < PER_BATCH; n++) {
      assert.deepEqual(seen.get(BigInt(k * 1_000_000 + batch * 1000 + n + 1)), payloadOf(k, batch, n), `client ${k} batch ${batch} message ${n}`);
    }
    const waits = await metric('shard_backpressure_waits_total');
    t.diagnostic(`${waits} request(s) held back`);
    assert.ok(waits > 0, 'requests were held back at the bound');
    assert.equal(await metric('shard_backlog_bytes'), 0, 'nothing left queued');
  });

  it('topics created while the path to shard 1 is congested all reach it: a send to a partition it owns succeeds in each', async (t) => {
    const c = clients[0];
    const stream = (await c.createStream(unique('commits'))).id;
    const busy = (await c.createTopic({ stream, name: 'busy', partitionsCount: 8 })).id;
    const far = farFrom(stream, busy);
    const waitsBefore = await metric('shard_backpressure_waits_total');
    // Half the clients keep shard 1's path full with sends while the other half create topics (commits broadcast).
    const half = CLIENTS / 2;
    const [topics] = await Promise.all([
      Promise.all(clients.slice(half).map((client, k) => client.createTopic({ stream, name: `t${k}`, partitionsCount: 4 }))),
      Promise.all(clients.slice(0, half).map(async (client, k) => {
        for (let batch = 0; batch < BATCHES; batch++) {
          await client.sendMessages({ stream, topic: busy, partitioning: { kind: 'partition', partition: far[k][(k + batch) % far[k].length] }, messages: [{ payload: payloadOf(k, batch, 0) }] });
        }
      })),
    ]);
    for (const topic of topics) {
      const partition = [0, 1, 2, 3].find((p) => route(stream, topic.id, p) === 1);
      if (partition === undefined) continue; // all four on shard 0 (1 in 16): nothing to ask shard 1
      const [confirmation] = await c.sendMessages({ stream, topic: topic.id, partitioning: { kind: 'partition', partition }, messages: [{ payload: 'x' }] });
      assert.equal(confirmation.baseOffset, 0n, `topic ${topic.id}`);
    }
    let kept = 0;
    for (let partition = 0; partition < 8; partition++) kept += (await c.pollMessages({ stream, topic: busy, partition, strategy: { kind: 'first' }, count: 1000 })).messages.length;
    assert.equal(kept, (CLIENTS / 2) * BATCHES, 'every acknowledged send is there');
    t.diagnostic(`${await metric('shard_backpressure_waits_total') - waitsBefore} wait(s) meanwhile`);
    assert.equal(s.server.child.exitCode, null, s.server.output());
  });
});
