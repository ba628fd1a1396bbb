// Storage conditions reported truthfully, on a real server process (issue 14, items 2, 3, 6 and 7): a segment tail
// cut while the server was stopped, a log damaged while stopped and while running, and a device that fills up and
// frees again. Each must be an ERROR line, a reason in /health, a number in /metrics, and an answer naming the
// condition; the connection stays, and nothing acknowledged is lost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { STALE_MARKER } from '../../host/node/server/partition-group.js';
import { ErrorCode } from '../../host/shared/wire/codes.js';
import { fillDevice, mountTmpfs, unmount } from '../../host/torture/full-device.js';
import { health, metricSum } from './helpers/health.js';
import { code, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';
import { tempDir, waitFor, withTimeout } from './helpers/server.js';

const BATCHES = 5;
const PER_BATCH = 20;
const payloadOf = (offset: number) => `message-${String(offset).padStart(6, '0')}`; // equal sizes: equal batches

interface Setup {
  s: ProtocolServer;
  c: IggyClient;
  stream: number;
  topic: number;
  log: string; // the partition's first segment
  subject: string; // "stream/topic/partition" as /health names it
}

describe('storage conditions (real server)', () => {
  const servers: ProtocolServer[] = [];
  const dirs: string[] = [];
  const mounts: string[] = [];
  after(async () => {
    for (const s of servers) if (s.server.child.exitCode === null) s.server.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.server.exited));
    for (const m of mounts) unmount(m);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(dataDir: string): Promise<ProtocolServer> {
    const s = await startProtocolServer(['--data-dir', dataDir]);
    servers.push(s);
    return s;
  }

  async function stop(s: ProtocolServer): Promise<void> {
    s.server.child.kill('SIGTERM');
    const exit = await withTimeout(s.server.exited, 15_000, 'the server stopped after SIGTERM');
    assert.equal(exit.code, 0, s.server.output());
  }

  // A server with one partition holding BATCHES acknowledged batches of PER_BATCH messages (offsets 0..99).
  async function setup(dataDir: string): Promise<Setup> {
    const s = await start(dataDir);
    const c = await s.connect();
    const stream = (await c.createStream('storage')).id;
    const topic = (await c.createTopic({ stream, name: 'events', partitionsCount: 1 })).id;
    for (let b = 0; b < BATCHES; b++) await send(c, stream, topic, b * PER_BATCH, PER_BATCH);
    const log = path.join(dataDir, 'streams', String(stream), 'topics', String(topic), 'partitions', '0', '00000000000000000000.log');
    return { s, c, stream, topic, log, subject: `${stream}/${topic}/0` };
  }

  function send(c: IggyClient, stream: number, topic: number, from: number, count: number, pad = '') {
    return c.sendMessages({
      stream, topic, partitioning: { kind: 'partition', partition: 0 },
      messages: Array.from({ length: count }, (_, i) => ({ payload: payloadOf(from + i) + pad })),
    });
  }

  async function offsetsFrom(c: IggyClient, stream: number, topic: number, offset: number): Promise<bigint[]> {
    const polled = await c.pollMessages({ stream, topic, partition: 0, strategy: { kind: 'offset', value: BigInt(offset) }, count: 1000 });
    return polled.messages.map((m) => m.offset);
  }

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(from + i));

  function errorLine(s: ProtocolServer, ...parts: string[]): Promise<string> {
    return waitFor(`an ERROR line with ${parts.join(', ')}`, 10_000, async () =>
      s.server.output().split('\n').find((line) => line.includes('ERROR') && parts.every((p) => line.includes(p))));
  }

  function reason(s: ProtocolServer, kind: string, subject: string) {
    return waitFor(`/health to list ${kind} of ${subject}`, 10_000, async () => {
      const h = await health(s.server);
      const found = h.reasons.find((r) => r.kind === kind && r.subject === subject);
      return found ? { h, found } : undefined;
    });
  }

  it('item 2: tails cut while stopped (a segment, the metadata WAL) are ERRORs naming file, bytes and offsets, counted, listed in /health', async () => {
    const dataDir = tempDir('truncation');
    dirs.push(dataDir);
    const first = await setup(dataDir);
    await first.c.close();
    await stop(first.s);
    const size = fs.statSync(first.log).size;
    const batch = size / BATCHES;
    fs.truncateSync(first.log, size - 100); // the last batch (offsets 80..99) loses its last 100 bytes
    const wal = path.join(dataDir, 'metadata', 'journal.wal');
    const walSize = fs.statSync(wal).size;
    fs.appendFileSync(wal, Buffer.alloc(300, 7)); // the start of a prepare whose write never completed

    const s = await start(dataDir);
    const line = await errorLine(s, first.log, 'truncated');
    assert.ok(line.includes(`bytes ${4 * batch}–${size - 101}`), line);
    assert.ok(line.includes('offsets 80–99 dropped'), line);
    const { h, found } = await reason(s, 'recovery_truncation', first.subject);
    assert.equal(h.status, 'degraded');
    assert.equal(h.httpStatus, 200, 'degraded still serves');
    assert.ok(found.detail.includes('offsets 80–99'), found.detail);
    const walLine = await errorLine(s, wal, 'truncated');
    assert.ok(walLine.includes(`bytes ${walSize}–${walSize + 299}`), walLine);
    await reason(s, 'recovery_truncation', 'metadata');
    assert.equal(await metricSum(s.server, 'recovery_truncations_total'), 2);
    assert.equal(await metricSum(s.server, 'recovery_truncated_bytes_total'), batch - 100 + 300);
    assert.equal(await metricSum(s.server, 'recovery_truncated_messages_total'), PER_BATCH);

    const c = await s.connect();
    try {
      assert.deepEqual(await offsetsFrom(c, first.stream, first.topic, 0), range(0, 80));
      const [confirmation] = await send(c, first.stream, first.topic, 80, 1);
      assert.equal(confirmation.baseOffset, 80n, 'the partition goes on from the cut');
    } finally {
      await c.close();
    }
  });

  it('item 7: a log damaged while stopped serves its intact prefix read-only and answers named errors on an open connection', async () => {
    const dataDir = tempDir('damaged');
    dirs.push(dataDir);
    const first = await setup(dataDir);
    await first.c.close();
    await stop(first.s);
    const bytes = fs.readFileSync(first.log);
    const batch = bytes.length / BATCHES;
    bytes[2 * batch + batch - 5] ^= 0x10; // a payload bit of the third batch (offsets 40..59): not a torn tail
    fs.writeFileSync(first.log, bytes);

    const s = await start(dataDir);
    const line = await errorLine(s, first.log, 'read-only');
    assert.ok(line.includes('[0, 40)'), line);
    const { h } = await reason(s, 'partition_read_only', first.subject);
    assert.equal(h.status, 'degraded');
    assert.equal(await metricSum(s.server, 'partitions_read_only'), 1);

    const c = await s.connect();
    try {
      assert.deepEqual(await offsetsFrom(c, first.stream, first.topic, 0), range(0, 40), 'the prefix before the damage is served');
      await assert.rejects(offsetsFrom(c, first.stream, first.topic, 40), code(ErrorCode.cannotReadMessage));
      await assert.rejects(c.pollMessages({ stream: first.stream, topic: first.topic, partition: 0, strategy: { kind: 'last' }, count: 5 }), code(ErrorCode.cannotReadMessage),
        'the newest messages are not known: an error, not the prefix\'s end');
      await assert.rejects(send(c, first.stream, first.topic, 100, 1), code(ErrorCode.cannotOpenPartitionLogFile));
      await c.ping(); // the connection is kept
      assert.deepEqual(await offsetsFrom(c, first.stream, first.topic, 10), range(10, 40));
    } finally {
      await c.close();
    }
    await stop(s);
    assert.deepEqual(fs.readFileSync(first.log), bytes, 'a damaged log is left exactly as it was');
    assert.equal(fs.existsSync(path.join(path.dirname(first.log), STALE_MARKER)), false, 'a single node has no peers to repair from');
  });

  it('item 7: a damaged offsets.log takes its partition offline (3003), the file left as it was: a single node has no peers to repair from', async () => {
    const dataDir = tempDir('damaged-offsets');
    dirs.push(dataDir);
    const first = await setup(dataDir);
    await first.c.storeOffset({ consumer: { kind: 'consumer', id: 1 }, stream: first.stream, topic: first.topic, partition: 0 }, 10n);
    await first.c.close();
    await stop(first.s);
    const file = path.join(path.dirname(first.log), 'offsets.log');
    const bytes = fs.readFileSync(file);
    bytes[8] ^= 0x01; // the first record's offset: its checksum fails
    fs.writeFileSync(file, bytes);

    const s = await start(dataDir);
    await reason(s, 'partition_offline', first.subject);
    const c = await s.connect();
    try {
      await assert.rejects(offsetsFrom(c, first.stream, first.topic, 0), code(ErrorCode.cannotOpenPartitionLogFile));
    } finally {
      await c.close();
    }
    await stop(s);
    assert.deepEqual(fs.readFileSync(file), bytes, 'the damaged offsets log is left exactly as it was');
    assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('damaged') || f === STALE_MARKER), [], 'nothing set aside, no stale marker');
  });

  it('item 7: damage found by a poll is answered 4011 on the same connection, reported, and stops writes', async () => {
    const dataDir = tempDir('read-damage');
    dirs.push(dataDir);
    const { s, c, stream, topic, log, subject } = await setup(dataDir);
    try {
      const size = fs.statSync(log).size;
      const batch = size / BATCHES;
      const fd = fs.openSync(log, 'r+');
      const at = batch + 16; // the second batch's base timestamp, which its checksum covers (offsets 20..39)
      const one = Buffer.alloc(1);
      fs.readSync(fd, one, 0, 1, at);
      one[0] ^= 1;
      fs.writeSync(fd, one, 0, 1, at);
      fs.closeSync(fd);

      assert.deepEqual(await offsetsFrom(c, stream, topic, 0), range(0, 20), 'the batches before the damaged one are returned');
      await assert.rejects(offsetsFrom(c, stream, topic, 20), code(ErrorCode.cannotReadMessage));
      await c.ping(); // the connection is kept
      // Past a bad record its length cannot be trusted, so where the next batch starts is not known: reads that
      // would have to walk over it (all of these: the sparse index's only entry is at byte 0) are refused too.
      await assert.rejects(offsetsFrom(c, stream, topic, 40), code(ErrorCode.cannotReadMessage));
      await errorLine(s, log, 'polls from offset 20');
      await reason(s, 'partition_read_only', subject);
      assert.equal(await metricSum(s.server, 'partition_read_corruptions_total'), 1);
      await assert.rejects(send(c, stream, topic, 100, 1), code(ErrorCode.cannotOpenPartitionLogFile), 'no more writes to a log that will not recover past the damage');
    } finally {
      await c.close();
    }
  });

  it('item 3: a full device answers 4006, fences the partition in /health and /metrics, and clears by itself when space returns', async (t) => {
    const mount = tempDir('full');
    dirs.push(mount);
    const why = mountTmpfs(mount, '4m');
    if (why) {
      t.skip(why);
      return;
    }
    mounts.push(mount);
    const dataDir = path.join(mount, 'data');
    const { s, c, stream, topic, log, subject } = await setup(dataDir);
    try {
      const filler = path.join(mount, 'filler');
      fillDevice(filler);
      const before = fs.statSync(log).size;
      const big = 'x'.repeat(2000); // 20 × 2 KB: more than any partly used page can take
      await assert.rejects(send(c, stream, topic, 100, PER_BATCH, big), code(ErrorCode.cannotSaveMessagesToSegment));
      await assert.rejects(send(c, stream, topic, 100, PER_BATCH, big), code(ErrorCode.cannotSaveMessagesToSegment));
      assert.equal(fs.statSync(log).size, before, 'nothing of a refused append stays in the segment');
      const { h, found } = await reason(s, 'partition_fenced', subject);
      assert.equal(h.status, 'degraded');
      assert.match(found.detail, /ENOSPC/);
      assert.equal(await metricSum(s.server, 'partitions_fenced'), 1);
      assert.ok(await metricSum(s.server, 'partition_no_space_writes_total') >= 2);
      await c.ping(); // the connection is kept

      fs.rmSync(filler);
      const [confirmation] = await send(c, stream, topic, 100, PER_BATCH, big);
      assert.equal(confirmation.baseOffset, 100n, 'the refused sends took no offsets');
      await waitFor('/health ok again', 10_000, async () => ((await health(s.server)).status === 'ok' ? true : undefined));
      assert.equal(await metricSum(s.server, 'partitions_fenced'), 0);
      assert.deepEqual(await offsetsFrom(c, stream, topic, 0), range(0, 120), 'every acknowledged message, once');
    } finally {
      await c.close();
    }
    await stop(s);
  });
});
