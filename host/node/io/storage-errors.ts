// Named storage errors. Each names the file and the byte offset of the problem, so an operator can look at it; none
// of them ever carries the damaged bytes as data.
import { ShardlogError } from '../../shared/errors.js';

export type StorageErrorCode =
  | 'PartitionCutRefused' // a cluster replica's replaced, uncommitted batches could not be cut off the segment
  | 'JournalHeaderCorrupt' // a prepare the header slots prove durable is damaged or missing: boot refused
  | 'JournalTornTail' // torn tail found and the policy is `fail`
  | 'JournalPoisoned' // a drain failed after its commit point; the journal refuses all I/O until reopened
  | 'JournalSlotBusy' // appending would evict an op no snapshot covers yet
  | 'JournalSlotCountMismatch' // the file was made with another slot count than configured: refused, not misread
  | 'JournalAppendRejected' // op order, parent chain or a badly sealed prepare
  | 'SuperblockCorrupt' // no valid superblock copy while at least one is non-empty
  | 'SuperblockCopyCorrupt' // one copy is bad; the other (valid) one is used
  | 'SegmentChecksumMismatch' // a batch read back from a segment does not verify
  | 'SegmentCorrupt' // a bad record in a segment that cannot be a torn tail: boot refused
  | 'SegmentTornTail' // torn tail found and the policy is `fail`
  | 'BatchInvalid' // an append was handed bytes that are not a valid batch
  | 'PartitionReadOnly' // the partition's log is damaged (found at recovery or by a read): appends are refused
  | 'NoSpace' // the device is full (ENOSPC, EDQUOT): the append was rolled back, nothing of it stays; the next one tries again
  | 'SegmentWriteFailed' // a write or sync of the log failed and could not be undone: appends refused until reopened
  | 'SnapshotCorrupt' // the metadata checkpoint file fails its checksums or framing: boot refused
  | 'SnapshotMissing' // the superblock records a checkpoint but its snapshot file is gone: boot refused
  | 'MetadataLogCorrupt' // the journal does not continue the checkpoint (a gap, or a prepare that does not chain)
  | 'MetadataGroupMismatch' // an intact journal prepared by another consensus group id than the core's METADATA_GROUP
  | 'OffsetOutOfRange'
  | 'TimestampOutOfRange';

export class StorageError extends ShardlogError {
  constructor(code: StorageErrorCode, readonly file: string, readonly offset: number, detail: string) {
    super(code, `${file} @ byte ${offset}: ${detail}`);
  }
}

export function storageError(code: StorageErrorCode, file: string, offset: number, detail: string): StorageError {
  return new StorageError(code, file, offset, detail);
}

// The device has no room for a write (or the quota is used up): nothing is wrong with the data, the write can be
// tried again once space is freed.
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'NoSpace';
}
