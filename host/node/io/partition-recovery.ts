// Boot of one partition: walk every segment's `.log` through the core, rebuild the in-memory sparse index, and at
// the end of the last segment truncate a torn tail after the last valid batch (or refuse, if the core says the bad
// record cannot be a torn write, or if the policy is `fail`). Everything truncated is returned (Recovery.truncated)
// with the byte range and the offsets its records claimed, for the caller to report (the server logs an ERROR, counts
// it in /metrics and lists it in /health); a partition opened without `quiet` also logs it itself.
import fs from 'node:fs';
import { SegmentFile } from './segment-file.js';
import { storageError } from './storage-errors.js';
import type { StorageCore } from './storage-core.js';
import { CoreJournalBatch as B, CoreJournalSegment as S } from '../../shared/core-abi.generated.js';

const { SCAN_END, TAIL_TRUNCATE } = S;
const { BATCH_INCOMPLETE } = B;

// segmentScan's verdicts (a BATCH_* check of one batch, or a SCAN_* of the sequence), in words.
export const SCAN_VERDICTS: Record<number, string> = {
  [B.BATCH_INCOMPLETE]: 'incomplete batch', [B.BATCH_BAD_LENGTH]: 'bad batch length', [B.BATCH_BAD_RESERVED]: 'non-zero reserved bytes',
  [B.BATCH_BAD_FRAMES]: 'frames do not tile the batch', [B.BATCH_FRAME_CHECKSUM]: 'frame checksum mismatch',
  [B.BATCH_CHECKSUM]: 'batch checksum mismatch', [B.BATCH_TOO_MANY_MESSAGES]: 'too many messages', [S.SCAN_OFFSET_GAP]: 'offset gap',
  [S.SCAN_TIMESTAMP_BACKWARDS]: 'timestamp goes backwards',
};

export interface Truncation {
  file: string;
  at: number; // first byte cut
  bytes: number; // cut: bytes [at, at + bytes) of the file
  reason: string; // what the core said of the first bad record
  errorAt: number; // the byte it found wrong
  firstOffset: number; // the first offset no longer stored (the partition's next offset after the cut)
  // Messages the cut records' (unverified) headers claimed, from firstOffset on; 0 when no whole header was left.
  claimedMessages: number;
}

// One line naming the file, the byte range and the offsets dropped.
export function describeTruncation(t: Truncation): string {
  const offsets = t.claimedMessages > 0
    ? `offsets ${t.firstOffset}–${t.firstOffset + t.claimedMessages - 1} dropped (${t.claimedMessages} message(s), as the cut records' headers claim)`
    : `no whole batch header in the cut bytes (offsets from ${t.firstOffset} on, if any, dropped)`;
  return `truncated ${t.file}: bytes ${t.at}–${t.at + t.bytes - 1} (${t.bytes} bytes; torn tail: ${t.reason} at byte ${t.errorAt}); ${offsets}`;
}

export interface RecoveryContext {
  sc: StorageCore;
  index: number;
  onTornTail: 'truncate' | 'fail';
  maxWrite: number;
  report: (message: string) => void;
}

// Scans `segment` from byte 0, expecting its batches to start at its base offset. Returns the truncation done, if any.
export function recoverSegment(ctx: RecoveryContext, segment: SegmentFile, isLast: boolean, minTimestamp: number): Truncation | null {
  const { sc } = ctx;
  const core = sc.core;
  let pos = 0;
  let expected = segment.baseOffset;
  let lastTimestamp = minTimestamp;
  while (pos < segment.size) {
    const want = Math.min(sc.windowLen, segment.size - pos);
    const n = readInto(sc, segment.fd, want, pos);
    const verdict = core.segmentScan(sc.window, n, pos, expected, lastTimestamp, ctx.index, segment.ordinal, sc.scratch, sc.scratchLen, true);
    const consumed = core.segmentScanConsumed();
    if (core.segmentScanBatches() > 0) {
      expected = core.segmentScanNextOffset();
      lastTimestamp = core.segmentScanLastTimestamp();
    }
    const errorAt = pos + core.segmentScanErrorAt();
    pos += consumed;
    if (verdict === SCAN_END) continue;
    // A batch cut by the end of the window (not of the file): read on from its start.
    if (verdict === BATCH_INCOMPLETE && n === want && pos + core.segmentScanNeed() <= segment.size && consumed > 0) continue;
    segment.nextOffset = expected;
    segment.lastTimestamp = lastTimestamp;
    return badRecord(ctx, segment, isLast, pos, errorAt, verdict);
  }
  segment.nextOffset = expected;
  segment.lastTimestamp = lastTimestamp;
  return null;
}

function badRecord(ctx: RecoveryContext, segment: SegmentFile, isLast: boolean, pos: number, errorAt: number, verdict: number): Truncation {
  const { sc } = ctx;
  const reason = SCAN_VERDICTS[verdict] ?? `verdict ${verdict}`;
  const remaining = segment.size - pos;
  const n = readInto(sc, segment.fd, Math.min(sc.windowLen, remaining), pos);
  const decision = sc.core.segmentTailDecision(sc.window, n, remaining, pos, segment.nextOffset, verdict, sc.scratch, sc.scratchLen, ctx.maxWrite);
  // A sealed segment was fsynced before its successor existed: nothing in it can be a torn write.
  if (!isLast || decision !== TAIL_TRUNCATE) {
    throw storageError('SegmentCorrupt', segment.logPath, pos,
      `batch starting here: ${reason} at byte ${errorAt}; the ${remaining} bytes from here cannot be a torn tail (acknowledged data would be lost): refusing to open`);
  }
  if (ctx.onTornTail === 'fail') {
    throw storageError('SegmentTornTail', segment.logPath, pos, `${reason} at byte ${errorAt}; ${remaining} trailing bytes (policy: fail)`);
  }
  const claimedMessages = sc.core.segmentTailClaimedMessages(sc.window, n, segment.nextOffset);
  segment.truncate(pos);
  const cut: Truncation = { file: segment.logPath, at: pos, bytes: remaining, reason, errorAt, firstOffset: segment.nextOffset, claimedMessages };
  ctx.report(describeTruncation(cut));
  return cut;
}

export function readInto(sc: StorageCore, fd: number, len: number, position: number, at = sc.window): number {
  let done = 0;
  while (done < len) {
    const got = fs.readSync(fd, sc.u8, at + done, len - done, position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}
