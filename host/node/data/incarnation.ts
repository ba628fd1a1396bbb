// Which partition a directory belongs to. Ids are reused (a deleted stream's id goes to the next new stream), so
// `streams/0/topics/0/partitions/0` may hold the files of an earlier partition whose deletion was committed but
// not yet carried out when the process stopped. Each directory records the metadata op that created its
// partition; a directory with another op is removed before the new partition opens (it never inherits messages).
import fs from 'node:fs';
import path from 'node:path';
import { mkdirDurably, replaceFileDurably, writeFully } from '../io/durable-fs.js';
import { PartitionHome, partitionDir, type PartitionIds } from './partition-dir.js';

const FILE = 'incarnation';

// 'fresh': no directory yet; 'same': the directory is this partition's; 'replaced': an older partition's files
// were removed.
export function claimDirectory(dataDir: string, ids: PartitionIds, createdOp: number): 'fresh' | 'same' | 'replaced' {
  const dir = partitionDir(dataDir, ids);
  const file = path.join(dir, FILE);
  let outcome: 'fresh' | 'same' | 'replaced' = 'fresh';
  if (fs.existsSync(dir)) {
    const recorded = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null;
    if (recorded === String(createdOp)) return 'same';
    // No marker: a directory from before markers existed, or one whose marker write did not complete; either way
    // it cannot be shown to be this partition's.
    PartitionHome.remove(dataDir, ids);
    outcome = 'replaced';
  }
  writeIncarnation(dataDir, ids, createdOp);
  return outcome;
}

// Records the op that created the partition in its directory (again after a purge, which starts a new directory).
// Written before any message of the partition can be acknowledged.
export function writeIncarnation(dataDir: string, ids: PartitionIds, createdOp: number): void {
  const dir = partitionDir(dataDir, ids);
  mkdirDurably(dir);
  replaceFileDurably(path.join(dir, FILE), (fd) => writeFully(fd, Buffer.from(`${createdOp}\n`), 0));
}
