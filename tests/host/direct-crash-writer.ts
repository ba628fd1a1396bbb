// Child process of direct-crash.test: appends to a partition with --direct-io (appendAsync: aligned blocks through
// O_DIRECT and the partial block through O_DSYNC, both in flight at once) as fast as it can, printing
// `A <next offset>` once each append has returned. The parent SIGKILLs it at random moments. Its first append comes
// before `READY direct` (or `READY buffered`, where the file system has no O_DIRECT and the partition writes
// buffered), so the parent knows what it is testing.
import fs from 'node:fs';
import path from 'node:path';
import { buildBatch } from '../../host/node/io/batch-builder.js';
import { Partition } from '../../host/node/io/partition.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { messagePayload } from './crash-writer.js';
import { prng } from './helpers-prng.js';

// Small segments, so that kills also land around rollovers (a new segment's first direct append).
export const directPartitionOptions = (dir: string) => ({ dir: path.join(dir, 'partition'), partitionId: 1, segmentBytes: 192 << 10, retention: { maxBytes: 2 << 20 }, quiet: true });

async function main(): Promise<void> {
  const [dir, seedText] = process.argv.slice(2);
  const random = prng(Number(seedText));
  const sc = await storageCore();
  const partition = await Partition.open({ ...directPartitionOptions(dir), directIo: true }, sc);
  for (let first = true; ; first = false) {
    let offset = partition.nextOffset;
    const batches: Buffer[] = [];
    for (let g = 1 + Math.floor(random() * 3); g > 0; g--) {
      const count = 1 + Math.floor(random() * 40);
      batches.push(buildBatch(sc, Array.from({ length: count }, (_, i) => ({ payload: messagePayload(offset + i) }))));
      offset += count;
    }
    const result = await partition.appendAsync(batches);
    if (first) fs.writeSync(1, `READY ${partition.directAppends > 0 ? 'direct' : 'buffered'}\n`);
    fs.writeSync(1, `A ${result.nextOffset}\n`);
    partition.applyRetention();
  }
}

if (path.basename(process.argv[1] ?? '') === 'direct-crash-writer.js') {
  main().catch((error) => {
    fs.writeSync(2, `direct-crash-writer: ${(error as Error).stack}\n`);
    process.exit(3);
  });
}
