// Storage benchmark (`npm run bench:storage [-- --quick] [--dir D] [--recovery-gib N] [--cold]`):
//   1. the floor: write 1 KiB + fdatasync in a loop;
//   2. durable partition appends (fsync every-batch) of 1 KiB messages in batches of 1, 10, 100, 1000, in alternating
//      rounds with a raw sequential write + fdatasync loop of the same bytes per op (the comparison);
//   3. recovery (reopen + verify every checksum + rebuild the index) of a 1 GiB partition; --cold also measures it
//      after dropping the page cache (needs root; affects the whole machine).
// Everything runs in the same process on the same disk, so the ratios are meaningful; absolute numbers are this VM's.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff'); // design/toolchain.md §0: before any wasm compile

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBatch } from '../node/io/batch-builder.js';
import { Partition } from '../node/io/partition.js';
import { PrepareJournal, sealPrepare } from '../node/io/prepare-journal.js';
import { storageCore } from '../node/io/storage-core.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const root = fs.mkdtempSync(path.join(flag('--dir', os.tmpdir()), 'shardlog-bench-'));
const recoveryGiB = Number(flag('--recovery-gib', quick ? '0.25' : '1'));
const MESSAGE = 1024;
const MB = 1e6;

interface Row { name: string; ops: number; seconds: number; bytes: number; messages: number }

// Appends `count` copies of `chunk` bytes with write + fdatasync each, to an open file (the raw floor).
function rawAppends(fd: number, buf: Buffer, count: number, pos: number): number {
  for (let i = 0; i < count; i++) {
    pos += fs.writeSync(fd, buf, 0, buf.length, pos);
    fs.fdatasyncSync(fd);
  }
  return pos;
}

function rawLoop(name: string, chunk: number, count: number): Row {
  const file = path.join(root, `raw-${chunk}`);
  const fd = fs.openSync(file, 'w');
  const t = performance.now();
  const bytes = rawAppends(fd, Buffer.alloc(chunk, 0x5a), count, 0);
  const seconds = (performance.now() - t) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { name, ops: count, seconds, bytes, messages: 0 };
}

// The partition and the raw loop in alternating rounds over the same bytes per op, so that the disk's drift on this
// shared VM hits both alike; each side's time is the sum of its rounds.
async function sideBySide(batchSize: number, count: number, verifyOnAppend = true): Promise<{ raw: Row; row: Row }> {
  const sc = await storageCore();
  const dir = path.join(root, `p-${batchSize}-${verifyOnAppend}`);
  const p = await Partition.open({ dir, partitionId: 1, quiet: true, verifyOnAppend });
  const payload = Buffer.alloc(MESSAGE, 0x33);
  const batch = buildBatch(sc, Array.from({ length: batchSize }, () => ({ payload })));
  const rawFile = path.join(root, `raw-${batchSize}`);
  const fd = fs.openSync(rawFile, 'w');
  const rawBuf = Buffer.alloc(batch.length, 0x5a);
  const rounds = 10;
  let rawPos = 0;
  let rawSeconds = 0;
  let seconds = 0;
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    const n = Math.ceil(count / rounds);
    let t = performance.now();
    rawPos = rawAppends(fd, rawBuf, n, rawPos);
    rawSeconds += (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < n; i++) bytes += p.append([batch]).bytes;
    seconds += (performance.now() - t) / 1000;
  }
  const ops = Math.ceil(count / rounds) * rounds;
  p.close();
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true });
  fs.rmSync(rawFile);
  const name = `partition append, batch ${batchSize} × 1 KiB${verifyOnAppend ? '' : ' (no re-hash on append)'}`;
  return {
    raw: { name: `raw write ${batch.length} B + fdatasync`, ops, seconds: rawSeconds, bytes: rawPos, messages: 0 },
    row: { name, ops, seconds, bytes, messages: ops * batchSize },
  };
}

function show(row: Row, versus?: Row): void {
  const perSec = row.ops / row.seconds;
  const mbs = row.bytes / MB / row.seconds;
  const unit = row.name.startsWith('journal') ? 'ops/s' : 'msg/s';
  const msgs = row.messages ? `${Math.round(row.messages / row.seconds).toLocaleString('en-US').padStart(10)} ${unit}` : ''.padStart(16);
  const ratio = versus ? `  ${((mbs / (versus.bytes / MB / versus.seconds)) * 100).toFixed(0).padStart(3)} % of raw` : '';
  console.log(`${row.name.padEnd(56)} ${Math.round(perSec).toLocaleString('en-US').padStart(7)} appends/s ${msgs} ${mbs.toFixed(1).padStart(7)} MB/s  ${((row.seconds / row.ops) * 1e6).toFixed(0).padStart(6)} µs/op${ratio}`);
}

// Metadata WAL group commit: prepares with a 256-byte body, `group` per append (one fdatasync each).
async function journalLoop(group: number, appends: number): Promise<Row> {
  const sc = await storageCore();
  const dir = path.join(root, `journal-${group}`);
  const j = await PrepareJournal.open({ dir, slotCount: 4096, quiet: true });
  const body = Buffer.alloc(256, 0x11);
  let parent: Buffer | null = null;
  let op = 1;
  let seconds = 0;
  let bytes = 0;
  for (let a = 0; a < appends; a++) {
    if (j.remaining < group + 1) j.drain(op - 2);
    const prepares: Buffer[] = [];
    for (let i = 0; i < group; i++) {
      parent = sealPrepare(sc, op++, parent, body);
      prepares.push(parent);
      bytes += parent.length;
    }
    const t = performance.now();
    j.append(prepares);
    seconds += (performance.now() - t) / 1000;
  }
  j.close();
  fs.rmSync(dir, { recursive: true });
  return { name: `journal append, groups of ${group} prepares (256 B body)`, ops: appends, seconds, bytes, messages: appends * group };
}

async function recovery(): Promise<void> {
  const sc = await storageCore();
  const dir = path.join(root, 'recovery');
  const p = await Partition.open({ dir, partitionId: 1, quiet: true });
  const payload = Buffer.alloc(MESSAGE, 0x44);
  const batch = buildBatch(sc, Array.from({ length: 1000 }, () => ({ payload })));
  const target = recoveryGiB * (1 << 30);
  const t0 = performance.now();
  while (p.sizeBytes + batch.length <= target) p.append([batch]);
  const wrote = (performance.now() - t0) / 1000;
  const size = p.sizeBytes;
  p.close();
  console.log(`recovery: wrote ${(size / 2 ** 30).toFixed(2)} GiB (${p.nextOffset.toLocaleString('en-US')} messages) in ${wrote.toFixed(1)} s`);
  const labels = ['reopen (page cache warm)', 'reopen again (warm)'];
  if (args.includes('--cold')) labels.push('reopen after drop_caches (cold)');
  for (const label of labels) {
    if (label.includes('cold')) fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    const q = await Partition.open({ dir, partitionId: 1, quiet: true });
    console.log(`recovery: ${label}: ${q.recovery.millis.toFixed(0)} ms for ${(q.recovery.bytes / 2 ** 30).toFixed(2)} GiB, ${q.recovery.segments} segment(s), next offset ${q.recovery.nextOffset.toLocaleString('en-US')}, every batch and frame checksum verified (${(q.recovery.bytes / MB / (q.recovery.millis / 1000)).toFixed(0)} MB/s)`);
    q.close();
  }
  fs.rmSync(dir, { recursive: true });
}

async function main(): Promise<void> {
  console.log(`storage bench: node ${process.version}, ${os.cpus().length} CPUs, dir ${root}${quick ? ' (quick)' : ''}`);
  const scale = quick ? 0.25 : 1;
  const floor = rawLoop('raw write 1 KiB + fdatasync (the floor)', 1024, Math.round(3000 * scale));
  show(floor);
  for (const [batchSize, count] of [[1, 3000], [10, 2000], [100, 600], [1000, 150]] as const) {
    const { raw, row } = await sideBySide(batchSize, Math.max(10, Math.round(count * scale)));
    show(raw);
    show(row, raw);
  }
  const { raw, row } = await sideBySide(1000, Math.max(10, Math.round(150 * scale)), false);
  show(raw);
  show(row, raw);
  for (const group of [1, 32]) show(await journalLoop(group, Math.round(1000 * scale)));
  await recovery();
  fs.rmSync(root, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  fs.rmSync(root, { recursive: true, force: true });
  process.exit(1);
});
