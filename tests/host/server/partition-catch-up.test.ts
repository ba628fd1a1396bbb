// PartitionCatchUp on real partition files: a replica whose segments end in batches a view change replaced, or that
// has none, pulls a peer's committed batches until its files are the peer's (the same bytes), takes the peer's
// consumer offsets, and only then reports the state installed; a chunk that breaks the catch-up (a batch failing
// its checksums, one cut short) is refused by name and changes nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PartitionHome, type PartitionIds } from '../../../host/node/data/partition-dir.js';
import { buildBatch } from '../../../host/node/io/batch-builder.js';
import { storageCore, type StorageCore } from '../../../host/node/io/storage-core.js';
import { PartitionCatchUp } from '../../../host/node/server/partition-catch-up.js';
import { Command, H } from '../../../host/shared/vsr-abi.js';
import { waitFor } from '../../e2e/helpers/server.js';
import { tempDir } from '../helpers.js';

const ids: PartitionIds = { streamId: 1, topicId: 1, partitionId: 0 };
const PEER = 0;
const ASKER = 1;
const CLIENTS = Uint8Array.from([7, 7, 7]);

// `n` batches of `count` messages of `size` B, tagged `tag`, appended with append times from `t0` on.
async function appendBatches(home: PartitionHome, sc: StorageCore, n: number, t0: number, tag: number, count = 5, size = 100): Promise<void> {
  const batches = Array.from({ length: n }, (_, b) => buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: Buffer.alloc(size, tag * 31 + b * 7 + i) }))));
  await home.appendAsync(batches, false, batches.map((_, b) => t0 + b * 10));
}

function segmentBytes(home: PartitionHome): Buffer {
  return Buffer.concat(fs.readdirSync(home.dir).filter((f) => f.endsWith('.log') && f !== 'offsets.log').sort().map((f) => fs.readFileSync(path.join(home.dir, f))));
}

// A peer and an asker wired to each other: the asker's messages reach the peer at once, the peer's chunks pass
// through `tamper` first; `served` runs after each chunk the peer sent.
function pair(peer: PartitionHome, asker: PartitionHome, tamper: (attachment: Uint8Array) => Uint8Array = (a) => a, served = () => {}) {
  let installed: { op: number; checksum: bigint; clients: Uint8Array; offsets: unknown[] } | null = null;
  const common = { cluster: 1n, group: 5n, seal: () => {} };
  let askerSide: PartitionCatchUp;
  const peerSide = new PartitionCatchUp({
    ...common, name: 'peer', home: peer, replica: PEER,
    send: (_to, message, attachment) => { askerSide.onChunk(message, tamper(attachment)); served(); return true; },
    settled: () => ({ op: 9, checksum: 99n, clients: CLIENTS, offsets: peer.offsets.entries() }),
    installed: () => assert.fail('the peer installs nothing'),
    logEnds: () => false,
  });
  askerSide = new PartitionCatchUp({
    ...common, name: 'asker', home: asker, replica: ASKER,
    send: (_to, message) => { assert.equal(message[H.command], Command.StateRequest); peerSide.onRequest(message); return true; },
    settled: () => null,
    logEnds: () => false,
    installed: (op, checksum, clients, offsets) => { installed = { op, checksum, clients: Uint8Array.from(clients), offsets }; },
  });
  return { peerSide, askerSide, installed: () => installed };
}

async function homes(segmentBytes?: number): Promise<{ sc: StorageCore; peer: PartitionHome; asker: PartitionHome }> {
  const sc = await storageCore();
  const peer = PartitionHome.open(tempDir(), ids, sc, { fsync: { kind: 'every-batch' }, segmentBytes });
  const asker = PartitionHome.open(tempDir(), ids, sc, { fsync: { kind: 'every-batch' }, segmentBytes });
  return { sc, peer, asker };
}

describe('partition catch-up', () => {
  it('cuts the batches a view change replaced, appends the committed ones as the peer stores them, takes its offsets', async () => {
    const { sc, peer, asker } = await homes();
    await appendBatches(peer, sc, 8, 1000, 1);
    peer.partition.committedEnd = peer.partition.nextOffset;
    peer.offsets.store(1, 5, 17);
    peer.offsets.flush();
    await appendBatches(asker, sc, 5, 1000, 1); // the same first five
    await appendBatches(asker, sc, 3, 5000, 2); // then three that never committed
    asker.offsets.store(2, 9, 3);
    asker.offsets.flush();
    asker.partition.committedEnd = asker.partition.nextOffset; // what a restart assumes
    const p = pair(peer, asker);
    p.askerSide.request(PEER);
    const done = await waitFor('the catch-up installed', 5000, async () => p.installed() ?? undefined);
    assert.deepEqual(done, { op: 9, checksum: 99n, clients: CLIENTS, offsets: [{ kind: 1, id: 5, offset: 17 }] });
    assert.ok(segmentBytes(asker).equals(segmentBytes(peer)), 'the same segment bytes as the peer');
    assert.deepEqual(asker.offsets.entries(), [{ kind: 1, id: 5, offset: 17 }]);
    assert.equal(p.askerSide.refused, 0);
    assert.equal(p.peerSide.served, 1, 'the last batches and the state at their end in one final chunk');
  });

  it('an empty replica takes every committed batch, chunk by chunk, and nothing past the committed end', async () => {
    const { sc, peer, asker } = await homes();
    await appendBatches(peer, sc, 30, 1000, 3, 10, 10_000); // ~3 MB: several chunks of at most 1 MiB
    const committed = peer.partition.nextOffset;
    await appendBatches(peer, sc, 2, 9000, 4); // prepared, not committed
    peer.partition.committedEnd = committed;
    const p = pair(peer, asker);
    p.askerSide.request(PEER);
    await waitFor('the catch-up installed', 10_000, async () => p.installed() ?? undefined);
    assert.equal(asker.partition.nextOffset, committed);
    assert.ok(p.peerSide.served >= 3, `served in ${p.peerSide.served} chunks`);
    assert.ok(segmentBytes(peer).subarray(0, segmentBytes(asker).length).equals(segmentBytes(asker)), 'a prefix of the peer\'s bytes');
  });

  it('refuses a chunk whose batch fails its checksums, or that is cut short: nothing appended, nothing installed', async () => {
    for (const tamper of [
      (a: Uint8Array) => { const b = Uint8Array.from(a); b[b.length - 3] ^= 0xff; return b; }, // a payload byte
      (a: Uint8Array) => a.subarray(0, a.length - 10),
    ]) {
      const { sc, peer, asker } = await homes();
      await appendBatches(peer, sc, 3, 1000, 5);
      peer.partition.committedEnd = peer.partition.nextOffset;
      const p = pair(peer, asker, tamper);
      p.askerSide.request(PEER);
      await waitFor('the chunk refused', 5000, async () => (p.askerSide.refused === 1 ? true : undefined));
      assert.equal(asker.partition.nextOffset, 0);
      assert.equal(p.installed(), null);
    }
  });

  it('finishes under a steady write load: the peer commits another batch after every chunk it sends', async () => {
    const { sc, peer, asker } = await homes();
    await appendBatches(peer, sc, 40, 1000, 7, 10, 10_000); // ~4 MB: several chunks
    peer.partition.committedEnd = peer.partition.nextOffset;
    let load = true;
    const p = pair(peer, asker, undefined, () => {
      if (!load) return;
      peer.partition.append([buildBatch(sc, [{ payload: Buffer.alloc(100, 9) }])]);
      peer.partition.committedEnd = peer.partition.nextOffset;
    });
    try {
      p.askerSide.request(PEER);
      await waitFor('the catch-up installed while the peer goes on committing', 10_000, async () => p.installed() ?? undefined);
    } finally {
      load = false;
    }
    assert.ok(asker.partition.nextOffset > 400 && asker.partition.nextOffset < peer.partition.nextOffset, 'installed at an end the peer had committed, with more committed after it');
    assert.ok(segmentBytes(peer).subarray(0, segmentBytes(asker).length).equals(segmentBytes(asker)), 'a prefix of the peer\'s bytes');
  });

  it('starts the log again at the peer\'s first offset when the peer\'s retention removed all the asker holds', async () => {
    const { sc, peer, asker } = await homes(1 << 16);
    for (let b = 0; b < 8; b++) await appendBatches(peer, sc, 1, 1000 + b * 10, 8, 10, 3000); // ~30 KB each: 4 segments
    peer.partition.committedEnd = peer.partition.nextOffset;
    assert.equal(peer.partition.deleteOldestSegments(2), 2);
    const first = peer.partition.firstOffset;
    await appendBatches(asker, sc, 2, 1000, 1); // offsets 0..9 only, far below
    const p = pair(peer, asker);
    p.askerSide.request(PEER);
    await waitFor('the catch-up installed', 5000, async () => p.installed() ?? undefined);
    assert.ok(first > 10, `the peer starts at ${first}`);
    assert.deepEqual([asker.partition.firstOffset, asker.partition.nextOffset], [first, peer.partition.nextOffset]);
    assert.ok(segmentBytes(asker).equals(segmentBytes(peer)), 'the peer\'s batches from its first offset on, byte for byte');
    assert.equal(p.askerSide.refused, 0);
  });

  it('waits while the peer has not committed up to the asker\'s batches', async () => {
    const { sc, peer, asker } = await homes();
    await appendBatches(peer, sc, 4, 1000, 6);
    peer.partition.committedEnd = 10; // two batches of five
    await appendBatches(asker, sc, 200, 1000, 6, 1, 10); // more than the 128 it describes, all past the peer's end
    const p = pair(peer, asker);
    p.askerSide.request(PEER);
    await waitFor('the asker told to wait', 5000, async () => (/has not committed up to this replica's batches yet/.test(p.askerSide.waitingFor) ? true : undefined));
    assert.equal(p.installed(), null);
    assert.equal(asker.partition.nextOffset, 200, 'nothing cut');
  });
});
