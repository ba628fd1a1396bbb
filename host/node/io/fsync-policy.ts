// When an append counts as acknowledged.
//   every-batch (default): after the append's fdatasync returns. An acknowledged batch survives a crash or power loss.
//   interval:<ms> (WEAKER): after the write() returns; fdatasync runs every <ms>. A process crash loses nothing (the
//     page cache has it), but a power loss or kernel crash can lose up to <ms> of acknowledged batches.
import { userError } from '../../shared/errors.js';

export type FsyncPolicy = { kind: 'every-batch' } | { kind: 'interval'; ms: number };

export const FSYNC_POLICY_HELP =
  'every-batch (default: acknowledged = fsynced) | interval:<ms> (WEAKER: acknowledged before fsync; a power loss can lose the last <ms> of acknowledged writes)';

export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'every-batch') return { kind: 'every-batch' };
  const m = /^interval:(\d+)$/.exec(text);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 60_000) return { kind: 'interval', ms: Number(m[1]) };
  throw userError('InvalidFsyncPolicy', `fsync policy "${text}": expected ${FSYNC_POLICY_HELP}`);
}

export function formatFsyncPolicy(policy: FsyncPolicy): string {
  return policy.kind === 'every-batch' ? 'every-batch' : `interval:${policy.ms}`;
}
