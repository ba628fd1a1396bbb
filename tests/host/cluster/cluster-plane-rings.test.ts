// The replica plane's paths over the rings, in one process over a 2-shard mesh: a message to replica R goes to R's
// owner shard read from the ReplicaOwnerTable; a consensus frame is delivered to the registered group on its shard;
// and every way a frame can be lost (no owner, a full ring, a forward to a shard without the link, an unregistered
// group, a frame on the wrong shard) is counted in frame_drops_total by variant and reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplicaCounters } from '../../../host/node/cluster/replica-counters.js';
import { ReplicaPlane, splitFrame } from '../../../host/node/cluster/replica-plane.js';
import type { ReplicaLink } from '../../../host/node/cluster/replica-link.js';
import { parseRoster } from '../../../host/node/cluster/roster.js';
import type { CoreExports } from '../../../host/shared/core.js';
import { ConsensusKind, DROP_REASON, DROP_VARIANT, F, FRAME_HEADER, Lifecycle, Variant } from '../../../host/shared/frames.js';
import { Command, H, HEADER_SIZE, Prep } from '../../../host/shared/vsr-abi.js';
import { loadMesh } from '../core-loader.js';

const METADATA_GROUP = 1n << 63n;
const C_GROUP = 168; // checked against the core's consensusGroupOf below

async function setUp() {
  const mesh = await loadMesh('release', 2, 16, 256);
  const cluster = {
    roster: parseRoster('0=127.0.0.1:1/2,1=127.0.0.1:3/4,2=127.0.0.1:5/6', 'test'), self: 0, clusterId: 0n, secret: 's',
    handshakeTimeoutMs: 1000, source: 'test',
  };
  const shards = [await mesh.shard(0), await mesh.shard(1)];
  const planes = shards.map((core, shard) => new ReplicaPlane({
    core, memory: mesh.memory, shard, shards: 2, cluster, counters: new ReplicaCounters(3, 2), checkRegion: () => { throw new Error('no links here'); },
  }));
  const u64 = new BigUint64Array(mesh.memory.buffer);
  const drops = (shard: number, variant: string, reason: string) => Number(Atomics.load(u64, mesh.main.dropCounterAddress(shard, DROP_VARIANT[variant], DROP_REASON[reason]) >> 3));
  const u8 = new Uint8Array(mesh.memory.buffer);
  const view = new DataView(mesh.memory.buffer);
  // A sealed Commit of `group` from replica 1, written in shard `from`'s scratch.
  const commit = (core: CoreExports, from: number, group: bigint): Uint8Array => {
    const at = core.shardScratchAddress(from);
    u8.fill(0, at, at + HEADER_SIZE);
    view.setUint32(at + H.size, HEADER_SIZE, true);
    view.setUint8(at + H.command, Command.Commit);
    view.setUint8(at + H.replica, 1);
    view.setBigUint64(at + C_GROUP, group, true);
    assert.equal(core.consensusGroupOf(at), group);
    core.vsrSealMessage(at);
    return u8.subarray(at, at + HEADER_SIZE);
  };
  // Puts `message` in the ring from shard `from` to `to` as a consensus frame of `group`.
  const ringConsensus = (from: number, to: number, group: bigint, message: Uint8Array) => {
    const core = shards[from];
    const at = core.sendBegin(to, Variant.consensus, ConsensusKind.control, 0, message.length);
    assert.notEqual(at, 0);
    u8.set(message, at);
    view.setBigUint64(at - FRAME_HEADER + F.group, group, true);
    core.sendCommit();
    core.shardFlush();
  };
  const receive = (shard: number): number => {
    const frame = shards[shard].recvNext();
    assert.notEqual(frame, 0, `a frame for shard ${shard}`);
    return frame;
  };
  return { mesh, shards, planes, drops, commit, ringConsensus, receive, view };
}

test('a message to a replica nobody owns, or to itself, is dropped and counted', async () => {
  const { planes, drops } = await setUp();
  assert.equal(planes[0].send(2, new Uint8Array(HEADER_SIZE)), false);
  assert.equal(drops(0, 'forward_replica_send', 'disconnected'), 1);
  assert.equal(planes[0].send(0, new Uint8Array(HEADER_SIZE)), false);
  assert.equal(planes[0].send(9, new Uint8Array(HEADER_SIZE)), false);
  assert.equal(drops(0, 'forward_replica_send', 'unroutable'), 2);
});

test('a message to a replica owned by another shard goes to that shard; a link that went meanwhile is a forward failure', async () => {
  const { mesh, planes, drops, receive, view } = await setUp();
  const token = mesh.main.replicaOwnerClaim(2, 1);
  assert.notEqual(token, 0);
  assert.equal(planes[0].send(2, new Uint8Array(HEADER_SIZE).fill(7)), true);
  const frame = receive(1);
  assert.equal(view.getUint8(frame + F.kind), Lifecycle.forwardReplicaSend);
  assert.equal(view.getUint32(frame + F.correlation, true), 2, 'the frame names the replica');
  assert.equal(planes[1].onFrame(frame), true);
  assert.equal(drops(1, 'forward_replica_send', 'delivery_failed'), 1, 'shard 1 has no link to 2 (it went)');
  // Until the ring is full; then every further send is refused and counted by the core.
  let sent = 0;
  while (planes[0].send(2, new Uint8Array(HEADER_SIZE)) && sent < 1000) sent++;
  assert.ok(sent > 0 && sent < 1000);
  assert.equal(drops(0, 'forward_replica_send', 'full'), 1);
  assert.equal(mesh.main.replicaOwnerClear(2, token), true);
  assert.equal(planes[0].send(2, new Uint8Array(HEADER_SIZE)), false);
  assert.equal(drops(0, 'forward_replica_send', 'disconnected'), 1);
});

test('a consensus frame reaches the group registered on its shard; no group there is a namespace miss', async () => {
  const { shards, planes, drops, commit, ringConsensus, receive } = await setUp();
  ringConsensus(1, 0, METADATA_GROUP, commit(shards[1], 1, METADATA_GROUP));
  assert.equal(planes[0].onFrame(receive(0)), true);
  assert.equal(drops(0, 'consensus', 'namespace_miss'), 1);

  const got: Uint8Array[] = [];
  const unregister = planes[0].registry.register(METADATA_GROUP, (m) => got.push(Buffer.from(m)));
  const message = Buffer.from(commit(shards[1], 1, METADATA_GROUP));
  ringConsensus(1, 0, METADATA_GROUP, message);
  assert.equal(planes[0].onFrame(receive(0)), true);
  assert.equal(got.length, 1);
  assert.deepEqual(Buffer.from(got[0]), message);
  assert.throws(() => planes[0].registry.register(METADATA_GROUP, () => {}), /registered twice/);
  unregister();
  ringConsensus(1, 0, METADATA_GROUP, commit(shards[1], 1, METADATA_GROUP));
  planes[0].onFrame(receive(0));
  assert.equal(got.length, 1);
  assert.equal(drops(0, 'consensus', 'namespace_miss'), 2);
});

test('a consensus frame on a shard its group does not route to is counted as misrouted, not delivered', async () => {
  const { shards, planes, drops, commit, ringConsensus, receive } = await setUp();
  let delivered = 0;
  planes[0].registry.register(0n, () => delivered++);
  ringConsensus(1, 0, 0n, commit(shards[1], 1, 0n)); // group 0 lives on shard 1 of 2
  assert.equal(planes[0].onFrame(receive(0)), true);
  assert.equal(delivered, 0);
  assert.equal(drops(0, 'consensus', 'misrouted'), 1);
});

test('other frames are left to the mailbox', async () => {
  const { shards, planes, receive } = await setUp();
  assert.notEqual(shards[1].sendBegin(0, Variant.lifecycle, Lifecycle.ping, 1, 0), 0);
  shards[1].sendCommit();
  shards[1].shardFlush();
  assert.equal(planes[0].onFrame(receive(0)), false);
});

// A sealed Prepare of the metadata group from replica 1 with a 32-byte descriptor, in shard `shard`'s storage region.
function prepareAt(core: CoreExports, u8: Uint8Array, view: DataView, shard: number): Uint8Array {
  const at = core.shardStorageAddress(shard);
  const size = HEADER_SIZE + 32;
  u8.fill(0, at, at + size);
  view.setUint32(at + H.size, size, true);
  view.setUint8(at + H.command, Command.Prepare);
  view.setUint8(at + H.replica, 1);
  view.setBigUint64(at + Prep.group, METADATA_GROUP, true);
  view.setBigUint64(at + Prep.op, 5n, true);
  core.vsrSealPrepare(at);
  return Buffer.from(u8.subarray(at, at + size));
}

test('a prepare travels with its attachment: checked whole, delivered whole, a flipped attachment byte refused', async () => {
  const mesh = await loadMesh('release', 2, 16, 256, 4 << 20);
  const shards = [await mesh.shard(0), await mesh.shard(1)];
  const cluster = {
    roster: parseRoster('0=127.0.0.1:1/2,1=127.0.0.1:3/4,2=127.0.0.1:5/6', 'test'), self: 0, clusterId: 0n, secret: 's',
    handshakeTimeoutMs: 1000, source: 'test',
  };
  const regions = [shards[0].shardStorageAddress(0) + (2 << 20), shards[1].shardStorageAddress(1) + (2 << 20)];
  const planes = shards.map((core, shard) => new ReplicaPlane({
    core, memory: mesh.memory, shard, shards: 2, cluster, counters: new ReplicaCounters(3, 2), checkRegion: () => regions[shard],
  }));
  const u8 = new Uint8Array(mesh.memory.buffer);
  const view = new DataView(mesh.memory.buffer);
  const prepare = prepareAt(shards[0], u8, view, 0);
  const attachment = Buffer.alloc(3000, 0).map((_, i) => (i * 13) & 0xff);

  // Out: to replica 2, whose link shard 1 owns, through the ring, as one frame of prepare + attachment.
  const token = mesh.main.replicaOwnerClaim(2, 1);
  assert.equal(planes[0].sendAttached(2, prepare, attachment), true);
  const frame = shards[1].recvNext();
  assert.notEqual(frame, 0);
  const length = view.getUint32(frame + F.payloadLen, true);
  const sent = Buffer.from(u8.subarray(frame + FRAME_HEADER, frame + FRAME_HEADER + length));
  assert.equal(length, prepare.length + attachment.length);
  assert.deepEqual(splitFrame(sent).attachment, attachment);
  mesh.main.replicaOwnerClear(2, token);

  // In: the receiving shard's plane asks the core about the header (the whole frame's size) and the whole frame.
  const link = { peer: 1, send: () => true } as unknown as ReplicaLink;
  assert.equal(planes[0].frameSize(link, sent.subarray(0, HEADER_SIZE)), sent.length);
  const got: Uint8Array[] = [];
  planes[0].registry.register(METADATA_GROUP, (m) => got.push(Buffer.from(m)));
  assert.equal(planes[0].frame(link, sent), null);
  assert.equal(got.length, 1);
  const parts = splitFrame(got[0]);
  assert.deepEqual(parts.message.subarray(HEADER_SIZE), prepare.subarray(HEADER_SIZE));
  assert.deepEqual(parts.attachment, attachment);

  const damaged = Buffer.from(sent);
  damaged[prepare.length + 1234] ^= 1;
  assert.equal(planes[0].frame(link, damaged), 'checksum');
  assert.equal(got.length, 1);
});

test('a prepare to two backups is sealed once and crosses the ring once: the links\' shard sends its copy again; a restamped attachment is sealed again; a stale again is dropped', async () => {
  const mesh = await loadMesh('release', 2, 16, 256, 4 << 20);
  const shards = [await mesh.shard(0), await mesh.shard(1)];
  const cluster = {
    roster: parseRoster('0=127.0.0.1:1/2,1=127.0.0.1:3/4,2=127.0.0.1:5/6', 'test'), self: 0, clusterId: 0n, secret: 's',
    handshakeTimeoutMs: 1000, source: 'test',
  };
  // Shard 0's core, counting the sealings.
  let sealings = 0;
  const counted = Object.create(shards[0]) as CoreExports;
  Object.defineProperty(counted, 'replicaFrameAttach', { value: (m: number, a: number, n: number) => { sealings++; return shards[0].replicaFrameAttach(m, a, n); } });
  const regions = [shards[0].shardStorageAddress(0) + (2 << 20), shards[1].shardStorageAddress(1) + (2 << 20)];
  const planes = [counted, shards[1]].map((core, shard) => new ReplicaPlane({
    core, memory: mesh.memory, shard, shards: 2, cluster, counters: new ReplicaCounters(3, 2), checkRegion: () => regions[shard],
  }));
  const u8 = new Uint8Array(mesh.memory.buffer);
  const view = new DataView(mesh.memory.buffer);
  const u64 = new BigUint64Array(mesh.memory.buffer);
  const prepare = prepareAt(shards[0], u8, view, 0);
  // The attachment in core memory (a batch in the frame arena), away from the check region.
  const at = shards[0].shardStorageAddress(0) + (3 << 20) + (64 << 10);
  const attachment = u8.subarray(at, at + 3000);
  attachment.forEach((_, i) => { attachment[i] = (i * 29) & 0xff; });
  const tokens = [mesh.main.replicaOwnerClaim(1, 1), mesh.main.replicaOwnerClaim(2, 1)];
  // Shard 1 holds both links: stand-ins that record what they are given to write.
  const written: { replica: number; bytes: Buffer }[] = [];
  const links = (planes[1] as unknown as { links: Map<number, unknown> }).links;
  for (const replica of [1, 2]) {
    links.set(replica, {
      up: true,
      send: (m: Uint8Array) => { written.push({ replica, bytes: Buffer.from(m) }); return true; },
      sendParts: (parts: Buffer[], done?: () => void) => { written.push({ replica, bytes: Buffer.concat(parts) }); done?.(); return true; },
    });
  }
  const deliver = () => {
    const frame = shards[1].recvNext();
    assert.notEqual(frame, 0);
    assert.equal(planes[1].onFrame(frame), true);
    assert.equal(shards[1].recvNext(), 0); // releases the frame, and the flush publishes the room
    shards[1].shardFlush();
    return frame;
  };
  // One turn, as the driver sends a prepare to every backup in one walk of its outbox.
  assert.equal(planes[0].sendAttached(1, prepare, attachment), true);
  deliver();
  assert.equal(planes[0].sendAttached(2, prepare, attachment), true);
  const again = deliver();
  assert.equal(view.getUint32(again + F.payloadLen, true), 0, 'the second backup\'s forward carries nothing: shard 1 sends its copy again');
  assert.equal(sealings, 1);
  attachment[40] ^= 0xff; // the batch header restamped in place (the primary's own append)
  assert.equal(planes[0].sendAttached(1, prepare, attachment), true);
  deliver();
  assert.equal(sealings, 2);

  assert.deepEqual(written.map((w) => w.replica), [1, 2, 1]);
  assert.deepEqual(written[0].bytes, written[1].bytes);
  assert.deepEqual(splitFrame(written[2].bytes).attachment, Buffer.from(attachment));
  const link = { peer: 1, send: () => true } as unknown as ReplicaLink;
  let delivered = 0;
  planes[0].registry.register(METADATA_GROUP, () => delivered++);
  for (const { bytes } of written) assert.equal(planes[0].frame(link, bytes), null); // each checks: attachment and seal agree
  assert.equal(delivered, 3);

  // An empty forward naming another number than the last one that crossed (that one was lost on the ring): dropped.
  const failed = () => Number(Atomics.load(u64, mesh.main.dropCounterAddress(1, DROP_VARIANT.forward_replica_send, DROP_REASON.delivery_failed) >> 3));
  const before = failed();
  const stale = shards[0].sendBegin(1, Variant.lifecycle, Lifecycle.forwardReplicaSend, 2, 0);
  assert.notEqual(stale, 0);
  view.setBigUint64(stale - FRAME_HEADER + F.group, 12345n, true);
  shards[0].sendCommit();
  shards[0].shardFlush();
  deliver();
  assert.equal(written.length, 3);
  assert.equal(failed(), before + 1);
  tokens.forEach((token, i) => mesh.main.replicaOwnerClear(i + 1, token));
});
