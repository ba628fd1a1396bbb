// Which partition a directory belongs to. Ids are reused (a deleted stream's id goes to the next new stream), so
// `streams/1/topics/0/partitions/0` may hold the files of an earlier partition whose deletion was committed but
// not yet carried out when the process stopped. Each directory records the metadata op that created its
// partition (its incarnation). Whether a directory's files may go is the core's decision (incarnationVerdict,
// assembly/journal/incarnation.ts), made from incarnations and the applied op, never from ids: files are removed
// only for an incarnation whose deletion committed, and a directory of an incarnation the committed state does
// not know (a later one) is never removed.
import fs from 'node:fs';
import path from 'node:path';
import { ShardlogError } from '../../shared/errors.js';
import { CoreJournalIncarnation as I } from '../../shared/core-abi.generated.js';
import type { StorageCore } from '../io/storage-core.js';
import { mkdirDurably, replaceFileDurably, writeFully } from '../io/durable-fs.js';
import { PartitionHome, partitionDir, type PartitionIds } from './partition-dir.js';

const FILE = 'incarnation';

// A directory holds files of a partition the committed metadata does not know (created by a later op than the
// state has applied, or with an unreadable marker): it is neither served nor removed.
export class IncarnationUnknown extends ShardlogError {
  constructor(readonly dir: string, recorded: number, wanted: number, applied: number) {
    super('PartitionIncarnationUnknown', `${dir}: holds the files of the partition created by op ${Number.isNaN(recorded) ? '(unreadable marker)' : recorded}, `
      + `which the committed metadata (applied op ${applied}${wanted ? `, this partition created by op ${wanted}` : ', no partition here'}) does not know: left untouched`);
  }
}

// 'fresh': no directory yet; 'same': the directory is this partition's; 'replaced': the files of an earlier
// partition whose deletion committed (or of one that never acknowledged anything) were removed.
export function claimDirectory(sc: StorageCore, dataDir: string, ids: PartitionIds, createdOp: number, appliedOp: number): 'fresh' | 'same' | 'replaced' {
  const dir = partitionDir(dataDir, ids);
  let outcome: 'fresh' | 'same' | 'replaced' = 'fresh';
  if (fs.existsSync(dir)) {
    if (!removeIfDeleted(sc, dataDir, ids, createdOp, appliedOp)) return 'same';
    outcome = 'replaced';
  }
  writeIncarnation(dataDir, ids, createdOp);
  return outcome;
}

// Removes the directory at `ids` if the core finds that its incarnation's deletion committed (or that it has no
// marker, so nothing of it was acknowledged). `wanted` is the creating op of the partition the committed state
// has at these ids (0: none). Returns false when the directory is the wanted partition's own (or absent);
// throws IncarnationUnknown, touching nothing, when it belongs to an incarnation the state does not know.
export function removeIfDeleted(sc: StorageCore, dataDir: string, ids: PartitionIds, wanted: number, appliedOp: number): boolean {
  const dir = partitionDir(dataDir, ids);
  if (!fs.existsSync(dir)) return false;
  const recorded = recordedIncarnation(dir);
  const verdict = sc.incarnationVerdict(recorded, wanted, appliedOp);
  if (verdict === I.INCARNATION_SAME) return false;
  if (verdict === I.INCARNATION_AHEAD) throw new IncarnationUnknown(dir, recorded, wanted, appliedOp);
  PartitionHome.remove(dataDir, ids);
  return true;
}

// Records the op that created the partition in its directory (again after a purge, which starts a new directory).
// Written before any message of the partition can be acknowledged.
export function writeIncarnation(dataDir: string, ids: PartitionIds, createdOp: number): void {
  const dir = partitionDir(dataDir, ids);
  mkdirDurably(dir);
  replaceFileDurably(path.join(dir, FILE), (fd) => writeFully(fd, Buffer.from(`${createdOp}\n`), 0));
}

// The op in a directory's marker: 0 when there is none (a directory from before markers existed, or one whose
// marker write did not complete), NaN when it is not an op.
function recordedIncarnation(dir: string): number {
  const file = path.join(dir, FILE);
  if (!fs.existsSync(file)) return 0;
  const text = fs.readFileSync(file, 'utf8').trim();
  return /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
}
