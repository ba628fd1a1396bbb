// Crash durability over the real protocol: producers send to partitions on both shards and create streams while
// the server is SIGKILLed at a seeded moment; after each restart on the same --data-dir every acknowledged message
// is at its acknowledged offset with its payload, every acknowledged stream exists, and sends continue after it.
// SHARDLOG_CRASH_SEED replays a run; SHARDLOG_SERVER_KILLS sets the number of kills.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';

import { serverSeries } from './helpers/protocol.js';
import { waitFor } from './helpers/server.js';

const SEED = Number(process.env.SHARDLOG_CRASH_SEED ?? 20261128);
const KILLS = Number(process.env.SHARDLOG_SERVER_KILLS ?? 3);
const PARTITIONS = 4; // two or more land on each shard (murmur3 of the namespace)
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 0x1_0000_0000; };
}

interface Acked { partition: number; baseOffset: bigint; payloads: string[] }

// Sends until the connection dies, recording what the server acknowledged. Never throws.
async function produce(c: IggyClient, stream: number, topic: number, round: number, acked: Acked[], streams: string[]): Promise<void> {
  for (let n = 0; ; n++) {
    try {
      const partition = n % PARTITIONS;
      const payloads = Array.from({ length: 1 + (n % 7) }, (_, i) => `r${round}-n${n}-m${i}-${'x'.repeat((n * 31 + i) % 200)}`);
      const [confirmation] = await c.sendMessages({ stream, topic, partitioning: { kind: 'partition', partition }, messages: payloads.map((payload) => ({ payload })) });
      acked.push({ partition, baseOffset: confirmation.baseOffset, payloads });
      if (n % 10 === 9) {
        const name = `crash-r${round}-n${n}`;
        await c.createStream(name);
        streams.push(name);
      }
    } catch {
      return;
    }
  }
}

describe('protocol: crash durability', () => {
  const series = serverSeries('crash');

  it(`${KILLS} SIGKILLs during sends and stream creation lose nothing acknowledged (seed ${SEED})`, async () => {
    const random = prng(SEED);
    const acked: Acked[] = [];
    const streams: string[] = [];
    let server = await series.start();
    let c = await server.connect();
    const stream = (await c.createStream('crash')).id;
    const topic = (await c.createTopic({ stream, name: 't', partitionsCount: PARTITIONS })).id;
    for (let round = 0; round < KILLS; round++) {
      const producers = [c, await server.connect()].map((client) => produce(client, stream, topic, round, acked, streams));
      const before = acked.length;
      // The kill falls after this round's first acknowledgement (so every round has something to lose; on a loaded
      // machine a fixed delay could come before it), at a random moment drawn from the seed after that.
      await waitFor(`round ${round}: a first acknowledgement`, 20_000, async () => (acked.length > before ? true : undefined));
      const killAfterMs = Math.floor(random() * 400);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs)); // the crash moment, not synchronisation
      server.server.child.kill('SIGKILL');
      await server.server.exited;
      await Promise.all(producers);

      server = await series.start();
      c = await server.connect();
      await checkEverything(c, stream, topic, acked, streams, round);
    }
    await c.close();
  });
});

async function checkEverything(c: IggyClient, stream: number, topic: number, acked: Acked[], streams: string[], round: number): Promise<void> {
  const names = new Set((await c.getStreams()).map((s) => s.name));
  for (const name of streams) assert.ok(names.has(name), `round ${round}: acknowledged stream ${name} is gone`);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const stored = new Map<bigint, string>();
    for (let offset = 0n; ;) {
      const polled = await c.pollMessages({ stream, topic, partition, strategy: { kind: 'offset', value: offset }, count: 1000, verifyChecksums: true });
      if (polled.messages.length === 0) break;
      for (const m of polled.messages) stored.set(m.offset, text(m.payload));
      offset = polled.messages[polled.messages.length - 1].offset + 1n;
    }
    for (const a of acked.filter((x) => x.partition === partition)) {
      a.payloads.forEach((payload, i) => {
        const offset = a.baseOffset + BigInt(i);
        assert.equal(stored.get(offset), payload, `round ${round}: partition ${partition} offset ${offset} lost or changed`);
      });
    }
  }
}
