// Child process of crash.test: recovers a data directory, then appends to a partition and to the metadata journal
// (with checkpoints: superblock, then drain) as fast as it can, printing each acknowledgement once the call that
// made it durable has returned:  A <next offset> | J <last op> | t/T <first op to remove> (before/after) | S <checkpoint op>.
// The parent SIGKILLs it at random.
// Every payload is a pure function of its offset (or op), so the parent can check any recovered byte.
// With SHARDLOG_CRASH_AT=n the writer kills itself at its n-th file-system step instead (writes are cut to a seeded
// prefix first): a crash point that replays exactly from the seed.
import fs from 'node:fs';
import path from 'node:path';
import { buildBatch } from '../../host/node/io/batch-builder.js';
import { Partition } from '../../host/node/io/partition.js';
import { PrepareJournal, sealPrepare } from '../../host/node/io/prepare-journal.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { prng } from './helpers-prng.js';
import { armSelfKill } from './self-kill.js';

export const SLOTS = 64;

export function messagePayload(offset: number): Buffer {
  const size = 16 + ((offset * 7919) % 400);
  const b = Buffer.alloc(size);
  b.writeUInt32LE(offset, 0);
  for (let i = 4; i < size; i++) b[i] = (offset * 31 + i) & 0xff;
  return b;
}

export function prepareBody(op: number): Buffer {
  const b = Buffer.alloc(32 + (op % 200));
  b.writeUInt32LE(op, 0);
  for (let i = 4; i < b.length; i++) b[i] = (op * 17 + i) & 0xff;
  return b;
}

export const partitionOptions = (dir: string) => ({
  dir: path.join(dir, 'partition'), partitionId: 1, segmentBytes: 256 << 10, retention: { maxBytes: 2 << 20 }, quiet: true, writeChunkBytes: 64,
});

function ack(line: string): void {
  fs.writeSync(1, `${line}\n`);
}

async function main(): Promise<void> {
  const [dir, seedText] = process.argv.slice(2);
  const random = prng(Number(seedText));
  if (process.env.SHARDLOG_CRASH_AT) armSelfKill(Number(process.env.SHARDLOG_CRASH_AT), prng(Number(seedText) ^ 0x5eed)).enable();
  const sc = await storageCore({ memoryBytes: 96 << 20 });
  const metadata = path.join(dir, 'metadata');
  const superblock = await SuperblockStore.open(metadata, sc, true);
  const checkpoint = superblock.state?.checkpointOp ?? 0;
  const journal = await PrepareJournal.open({ dir: metadata, slotCount: SLOTS, snapshotOp: Math.max(0, checkpoint - 1), quiet: true, writeChunkBytes: 32 }, sc);
  const partition = await Partition.open(partitionOptions(dir), sc);
  ack('READY');
  let parent = journal.lastOp === null ? null : journal.read(journal.lastOp);
  for (;;) {
    if (random() < 0.7) {
      const batches: Buffer[] = [];
      let offset = partition.nextOffset;
      const groups = 1 + Math.floor(random() * 4);
      for (let g = 0; g < groups; g++) {
        const count = 1 + Math.floor(random() * 12);
        batches.push(buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: messagePayload(offset + i) }))));
        offset += count;
      }
      const result = partition.append(batches);
      ack(`A ${result.nextOffset}`);
      partition.applyRetention();
    } else if (random() < 0.1 && journal.lastOp !== null && journal.lastOp - 3 > Math.max(journal.firstOp!, journal.snapshotOp + 1)) {
      // A view change: drop an uncommitted suffix (never at or below the checkpoint: committed ops stay).
      const from = journal.lastOp - Math.floor(random() * 3);
      ack(`t ${from}`); // intent: from here on, ops ≥ from may be gone (a crash inside leaves old or new state)
      journal.truncateFrom(from);
      parent = journal.read(from - 1);
      ack(`T ${from}`);
    } else {
      if (journal.remaining < 8) {
        const cp = journal.lastOp!;
        superblock.write({ cluster: 1n, replica: 0, replicaCount: 1, view: 0, logView: 0, commit: cp, checkpointOp: cp, checkpointChecksum: 0n, logHead: 0, logHeadChecksum: 0n });
        ack(`S ${cp}`);
        journal.drain(cp - 1); // keep the checkpoint's op: the next prepare chains to it
      }
      const first = (journal.lastOp ?? 0) + 1;
      const prepares: Buffer[] = [];
      for (let op = first; op < first + 1 + Math.floor(random() * 4); op++) {
        parent = sealPrepare(sc, op, parent, prepareBody(op));
        prepares.push(parent);
      }
      journal.append(prepares);
      ack(`J ${journal.lastOp}`);
    }
  }
}

// The exact name: direct-crash-writer.js imports this file, and its name ends the same.
if (path.basename(process.argv[1] ?? '') === 'crash-writer.js') {
  main().catch((error) => {
    fs.writeSync(2, `crash-writer: ${(error as Error).stack}\n`);
    process.exit(3);
  });
}
