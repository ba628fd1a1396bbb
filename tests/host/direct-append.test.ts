// --direct-io appends (host/node/io/direct-append.ts): written through an O_DIRECT descriptor in aligned blocks with
// the last partial block written buffered, they must leave exactly the bytes a buffered append leaves, whatever the
// alignment of each group, across groups larger than the aligned buffer, and mixed with buffered appends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Partition } from '../../host/node/io/partition.js';
import { DIRECT_REGION_BYTES, DIRECT_RESERVE_BYTES } from '../../host/node/io/direct-append.js';
import { batchPayloads, buildBatch } from '../../host/node/io/batch-builder.js';
import { StorageCore, storageCore } from '../../host/node/io/storage-core.js';
import { takesDirect, tempDir } from './helpers.js';

const O_DIRECT = fs.constants.O_DIRECT ?? 0;

function payload(offset: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (offset * 131 + i * 7) & 0xff;
  return b;
}

async function batchOf(first: number, count: number, size: number): Promise<Buffer> {
  const sc = await storageCore();
  return buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: payload(first + i, size) })), 1000);
}

// The descriptors this process holds on `file` opened with O_DIRECT (Linux's /proc/self/fdinfo flags are octal).
function directDescriptors(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== file) continue;
    const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    if (flags !== undefined && (parseInt(flags, 8) & O_DIRECT) !== 0) n++;
  }
  return n;
}


// Groups of uneven sizes (so that every group starts and ends at a different place within a block), one larger
// than the aligned buffer, and buffered sync appends between them.
const PLAN: Array<{ count: number; size: number; sync?: boolean }> = [
  { count: 3, size: 100 }, { count: 1, size: 5000 }, { count: 2, size: 37 }, { count: 1, size: 4096 - 256 - 64 },
  { count: 4, size: 999, sync: true }, { count: 7, size: 333 }, { count: 40, size: Math.ceil(DIRECT_REGION_BYTES / 30) },
  { count: 1, size: 1, sync: true }, { count: 1, size: 1 }, { count: 9, size: 1234 },
];

async function writePlan(dir: string, directIo: boolean): Promise<Partition> {
  let clock = 1_000_000;
  const p = await Partition.open({ dir, partitionId: 1, directIo, nowMicros: () => (clock += 10), quiet: true });
  let offset = 0;
  for (const step of PLAN) {
    const batch = await batchOf(offset, step.count, step.size);
    const result = step.sync ? p.append([batch]) : await p.appendAsync([batch]);
    assert.equal(result.baseOffset, offset);
    offset += step.count;
  }
  return p;
}

test('direct appends leave the same bytes as buffered ones, and recover and read back whole', { skip: O_DIRECT === 0 }, async () => {
  const directDir = tempDir();
  const bufferedDir = tempDir();
  const direct = await writePlan(directDir, true);
  const logPath = path.join(directDir, `${'0'.padStart(20, '0')}.log`);
  assert.equal(directDescriptors(logPath), takesDirect(directDir) ? 1 : 0, 'written through O_DIRECT where the file system takes it');
  direct.close();
  (await writePlan(bufferedDir, false)).close();
  const log = (dir: string) => fs.readFileSync(path.join(dir, `${'0'.padStart(20, '0')}.log`));
  assert.ok(log(directDir).equals(log(bufferedDir)), 'segment bytes differ from the buffered partition\'s');
  const total = PLAN.reduce((sum, s) => sum + s.count, 0);
  const reopened = await Partition.open({ dir: directDir, partitionId: 1, quiet: true });
  try {
    assert.equal(reopened.nextOffset, total);
    assert.deepEqual(reopened.recovery.truncated, []);
    const batches = reopened.readFromOffset(total - 1);
    assert.deepEqual(batchPayloads(batches[0].bytes).at(-1), payload(total - 1, 1234));
  } finally {
    reopened.close();
  }
});

test('the O_DIRECT descriptor is opened only with directIo, and closed with the partition', { skip: O_DIRECT === 0 }, async () => {
  const dir = tempDir();
  const logPath = path.join(dir, `${'0'.padStart(20, '0')}.log`);
  const buffered = await Partition.open({ dir, partitionId: 1, quiet: true });
  await buffered.appendAsync([await batchOf(0, 2, 300)]);
  assert.equal(directDescriptors(logPath), 0);
  assert.equal(buffered.directAppends, 0);
  buffered.close();
  const direct = await Partition.open({ dir, partitionId: 1, directIo: true, quiet: true });
  await direct.appendAsync([await batchOf(2, 2, 300)]);
  assert.equal(directDescriptors(logPath), takesDirect(dir) ? 1 : 0);
  assert.equal(direct.directAppends, takesDirect(dir) ? 1 : 0, 'the partition says whether the append went through O_DIRECT');
  direct.close();
  assert.equal(directDescriptors(logPath), 0, 'closed with the partition');
});

test('a storage region without room to spare writes buffered instead of taking it from later partitions', { skip: O_DIRECT === 0 }, async () => {
  // 64 MiB: the read window, staging and scratch leave less than the reserve a direct buffer must not touch.
  const small = await StorageCore.load({ memoryBytes: 64 << 20 });
  assert.ok(small.unallocated < DIRECT_REGION_BYTES + DIRECT_RESERVE_BYTES);
  const dir = tempDir();
  const before = small.unallocated;
  const p = await Partition.open({ dir, partitionId: 1, directIo: true, quiet: true }, small);
  const result = await p.appendAsync([await batchOf(0, 3, 700)]);
  assert.equal(result.nextOffset, 3);
  assert.equal(directDescriptors(path.join(dir, `${'0'.padStart(20, '0')}.log`)), 0, 'no O_DIRECT descriptor');
  assert.ok(before - small.unallocated < DIRECT_REGION_BYTES, 'no direct buffer was carved');
  assert.equal(p.directAppends, 0, 'the partition says it wrote buffered');
  p.close();
});
