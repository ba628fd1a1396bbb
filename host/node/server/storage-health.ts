// What a shard knows about the state of its storage, for /health and /metrics on the main thread: the conditions an
// operator must hear about (a partition offline or read-only for damage, fenced by a full disk, a failed metadata
// log, a truncation at recovery) and counters. Each shard keeps its own board and posts the whole of it to the main
// thread when it changes (at most once per turn); the main thread keeps the last report of each shard.

// Why /health says `degraded` (one entry per partition and kind; `subject` names the partition or `metadata`).
export type ConditionKind =
  | 'partition_offline' // could not be opened at all (damaged consumer offsets, no core memory, an I/O error): not served
  | 'partition_read_only' // damaged log: the intact prefix is served, writes are refused
  | 'partition_fenced' // the last write found no space on the device; the next write tries again
  | 'partition_write_failed' // a write failed for another reason: writes refused until restart
  | 'metadata_log_failed' // the metadata log cannot write: metadata changes are refused until restart (a cluster replica's on a full device: until reopened)
  | 'recovery_truncation'; // boot cut bytes off a log's tail (a torn write, or damage that looks like one)

export const CONDITION_KINDS: readonly ConditionKind[] = [
  'partition_offline', 'partition_read_only', 'partition_fenced', 'partition_write_failed', 'metadata_log_failed', 'recovery_truncation',
];

export interface Condition {
  kind: ConditionKind;
  subject: string; // "stream/topic/partition", or "metadata"
  detail: string; // one line an operator can act on: file, byte, offsets, errno
  sinceMs: number; // wall clock when it was first seen
}

export interface StorageCounters {
  truncations: number; // log tails cut at recovery (segments and offsets logs)
  truncatedBytes: number;
  truncatedMessages: number; // messages the cut records claimed
  readCorruptions: number; // reads refused because a stored batch did not verify
  noSpaceWrites: number; // writes refused because the device was full
}

export interface StorageHealthReport {
  type: 'storage-health';
  shard: number;
  conditions: Condition[];
  counters: StorageCounters;
}

export function emptyCounters(): StorageCounters {
  return { truncations: 0, truncatedBytes: 0, truncatedMessages: 0, readCorruptions: 0, noSpaceWrites: 0 };
}

export class StorageHealth {
  private readonly conditions = new Map<string, Condition>();
  readonly counters = emptyCounters();
  private scheduled = false;

  constructor(private readonly shard: number, private readonly post: ((report: StorageHealthReport) => void) | null) {}

  // Sets (or updates the detail of) a condition; `sinceMs` stays that of its first sighting.
  set(kind: ConditionKind, subject: string, detail: string): void {
    const key = `${kind} ${subject}`;
    const known = this.conditions.get(key);
    if (known?.detail === detail) return;
    this.conditions.set(key, { kind, subject, detail, sinceMs: known?.sinceMs ?? Date.now() });
    this.changed();
  }

  // Adds `detail` to the condition's (one more event of that kind: two cuts at one boot), or sets it.
  add(kind: ConditionKind, subject: string, detail: string): void {
    const known = this.conditions.get(`${kind} ${subject}`);
    this.set(kind, subject, known ? `${known.detail}; ${detail}` : detail);
  }

  clear(kind: ConditionKind, subject: string): void {
    if (this.conditions.delete(`${kind} ${subject}`)) this.changed();
  }

  // A partition that is gone (deleted, or re-created under its ids) takes its conditions with it; what recovery cut
  // stays listed until the restart (it happened to acknowledged data, whatever became of the partition since).
  clearSubject(subject: string): void {
    let any = false;
    for (const [key, c] of this.conditions) {
      if (c.subject === subject && c.kind !== 'recovery_truncation') any = this.conditions.delete(key) || any;
    }
    if (any) this.changed();
  }

  has(kind: ConditionKind, subject: string): boolean {
    return this.conditions.has(`${kind} ${subject}`);
  }

  count(counter: keyof StorageCounters, n = 1): void {
    this.counters[counter] += n;
    this.changed();
  }

  // One log tail cut at recovery (or before a group formed): its bytes and the messages its records claimed.
  truncated(bytes: number, messages = 0): void {
    this.counters.truncations++;
    this.counters.truncatedBytes += bytes;
    this.counters.truncatedMessages += messages;
    this.changed();
  }

  report(): StorageHealthReport {
    return { type: 'storage-health', shard: this.shard, conditions: [...this.conditions.values()], counters: { ...this.counters } };
  }

  // Posted once per turn however many changes it saw.
  private changed(): void {
    if (!this.post || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.post!(this.report());
    });
  }
}
