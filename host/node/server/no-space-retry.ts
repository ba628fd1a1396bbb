// A cluster replica's retry after a write found its device full: the partition group (or the metadata log) that
// failed is reopened from its files, after a backoff (1 s doubling to 10 s) and only once the device has room again.
// The reopen itself belongs to the caller (partition-owner.ts, metadata-owner.ts); this holds the timing, the room
// check and the log lines, so both retry the same way.
import fs from 'node:fs';
import { logger } from '../../shared/log.js';
import { isNoSpace } from '../io/storage-errors.js';

const log = logger('storage');
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 10_000;
// Free bytes the data directory's device needs before a reopen is tried: a reopen writes little (a marker, a
// segment's first pages), but one made into the last free page would fail again at once.
export const ROOM_MARGIN_BYTES = 1 << 20;
const SAY_EVERY_MS = 10_000;

// Free bytes on the device of `dir` for an unprivileged writer; null when statfs fails (then the reopen is tried and
// a write that finds no room fails again).
export function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

// `attempt` resolves true when the reopen is done (or no longer wanted), false to be tried again later.
export class NoSpaceRetry<K> {
  private readonly waiting = new Map<K, { timer: NodeJS.Timeout; delay: number; saidAt: number }>();
  private stopped = false;

  constructor(
    private readonly dataDir: string, private readonly attempt: (key: K) => Promise<boolean>,
    private readonly free: (dir: string) => number | null = freeBytes, // the device's free bytes (a test's own)
  ) {}

  has(key: K): boolean {
    return this.waiting.has(key);
  }

  // Schedules the first try (a second call for a key already waiting keeps the one scheduled). `why`: what made the
  // reopen necessary.
  schedule(key: K, what: string, why = 'the device was full'): void {
    if (this.stopped || this.waiting.has(key)) return;
    log.warn(`${what}: ${why}; reopening it from its files (first try in ${RETRY_FIRST_MS} ms, with room on its device)`);
    this.arm(key, what, RETRY_FIRST_MS, Date.now());
  }

  cancel(key: K): void {
    const entry = this.waiting.get(key);
    if (entry) clearTimeout(entry.timer);
    this.waiting.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const key of [...this.waiting.keys()]) this.cancel(key);
  }

  private arm(key: K, what: string, delay: number, saidAt: number): void {
    const timer = setTimeout(() => void this.fire(key, what), delay);
    timer.unref();
    this.waiting.set(key, { timer, delay, saidAt });
  }

  private async fire(key: K, what: string): Promise<void> {
    const entry = this.waiting.get(key);
    if (!entry || this.stopped) return;
    const next = Math.min(entry.delay * 2, RETRY_MAX_MS);
    const free = this.free(this.dataDir);
    let done = false;
    let why = '';
    if (free !== null && free <= ROOM_MARGIN_BYTES) {
      why = `${free} byte(s) free on ${this.dataDir}, waiting for more than ${ROOM_MARGIN_BYTES}`;
    } else {
      try {
        done = await this.attempt(key);
        why = 'the reopen found no room';
      } catch (error) {
        why = `the reopen failed: ${(error as Error).message}`;
      }
    }
    if (this.waiting.get(key) !== entry) return; // cancelled (or rescheduled) meanwhile
    if (done) {
      this.waiting.delete(key);
      return;
    }
    const now = Date.now();
    const say = now - entry.saidAt >= SAY_EVERY_MS;
    if (say) log.warn(`${what}: still not reopened (${why}); next try in ${next} ms`);
    this.arm(key, what, next, say ? now : entry.saidAt);
  }
}

// Whether a failure came from a full device: the error itself, its cause, or a journal poisoned by such a write
// (JournalPoisoned carries the write's error only in its message).
export function causedByNoSpace(error: unknown): boolean {
  if (isNoSpace(error) || isNoSpace((error as { cause?: unknown } | null)?.cause)) return true;
  // PartitionNoSpace: a later staging group of a cluster append found the device full (partition-replication.ts).
  if ((error as { code?: unknown } | null)?.code === 'PartitionNoSpace') return true;
  return error instanceof Error && /\b(ENOSPC|EDQUOT)\b/.test(error.message);
}
