// Named errors of the partition data files beside the segments. Like the storage errors they name the file and the
// byte offset of the problem, and never carry the damaged bytes as data.
import { ShardlogError } from '../../shared/errors.js';

export type DataErrorCode =
  | 'ConsumerOffsetsCorrupt' // a damaged record in offsets.log that cannot be a torn tail: open refused, nothing rewritten
  | 'ConsumerOffsetsPoisoned'; // a write or fsync of offsets.log failed: what reached the disk is unknown until reopened

export class DataError extends ShardlogError {
  constructor(code: DataErrorCode, readonly file: string, readonly offset: number, detail: string) {
    super(code, `${file} @ byte ${offset}: ${detail}`);
  }
}
