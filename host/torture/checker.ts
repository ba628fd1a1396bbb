// The history checker, in Jepsen's queue vocabulary (jepsen.tests.kafka: lost-write, duplicate,
// inconsistent-offsets, nonmonotonic-send, nonmonotonic-poll, poll-skip, unseen), plus `unexpected` (a value read
// that nobody sent, Jepsen's queue checker) and `failed-but-observed` (a value read whose send definitely failed:
// the server answered it with an error, so it said nothing was written). Each anomaly is counted, with the first example in history order.
// Any non-zero count makes the history invalid.
//
// Per key (partition), the checker builds what was acknowledged (value -> offset) and what was observed (offset
// -> values, value -> offsets, from acknowledgements and every read), and the final read after healing:
// * lost-write: acknowledged, not in the final read, although the final read reaches past its offset or some
//   poll saw it (it was there and is gone, or a later message is readable and it is not).
// * unseen: acknowledged, not in the final read, never seen, and the final read ends before its offset (the log
//   ends early: acknowledged but not readable after healing).
// * duplicate: one value at more than one offset (acknowledgements and reads).
// * inconsistent-offsets: more than one value at one offset (acknowledgements and reads).
// * nonmonotonic-send: a producer's acknowledged offsets for a key do not increase.
// * nonmonotonic-poll: a consumer is handed an offset at or below one it was already handed (since its reset).
// * poll-skip: a consumer (not a group member, whose partitions move) goes from offset a to b > a + 1 while an
//   offset between them holds a message in the final read.
// * failed-but-observed: a value of a send the server refused (type fail) was read by a poll or the final read.
//   Indefinite sends (type info) may or may not be read: never an anomaly.
// Offset commits, per committer (a single consumer: its process and key; a group: the group and key), in real time
// (an operation invoked after another completed must see it, Jepsen's rule for overlapping operations):
// * nonmonotonic-commit: an acknowledged commit below one acknowledged before it was invoked (since a reset).
// * lost-commit: a consumer resuming reads back a stored offset below (or none, after) the newest commit
//   acknowledged before it began: an acknowledged commit undone, its messages delivered again.
// * commit-beyond-ack: a committed offset (acknowledged, or read back at a resume) past every offset the history
//   ever saw hold a message (acknowledged, polled or read): the consumer would resume past the log's end and skip
//   what is appended there.
// * poll-skip also covers a resume: the consumer's next poll must start right after the stored offset it read.
//
// Each example names who saw each side of it (`c1 poll from r2`, `p0 ack from r0`, `final-r1 read`): on a cluster,
// the replica that answered that send or poll (the history records it), so a finding points at a replica's log.
//
// The checker reads the history once, in order, keeping per key only what key-log.ts holds (no event is kept):
// `HistoryChecker.add` each event, then `finish`. Checks that need the final read, which comes last (poll-skip,
// commit-beyond-ack, lost-write, unseen), keep small candidate lists until then.
import { eachEvent, type HistoryEvent, type Key } from './history.js';
import { FAILED, FINAL, KeyLog, NONE, OffsetTable, POLLED, SENT, offsetOf } from './key-log.js';

export const ANOMALIES = ['lost-write', 'unseen', 'duplicate', 'inconsistent-offsets', 'nonmonotonic-send', 'nonmonotonic-poll', 'poll-skip', 'unexpected', 'failed-but-observed',
  'nonmonotonic-commit', 'lost-commit', 'commit-beyond-ack'] as const;
export type Anomaly = typeof ANOMALIES[number];

export interface Verdict {
  valid: boolean;
  counts: Record<Anomaly, number>;
  examples: Partial<Record<Anomaly, string>>; // the first of each, in words
  stats: {
    sendsAcknowledged: number; // send operations acknowledged
    messagesAcknowledged: number;
    messagesVerified: number; // acknowledged and found at their offset in the final read
    sendsIndefinite: number; // info: outcome unknown
    sendsFailed: number;
    polls: number;
    messagesPolled: number;
    commits: number; // offset commits acknowledged
    commitsIndefinite: number;
    resumes: number; // consumers that read their stored offset back and went on from it
    keys: number;
  };
}

class Tally {
  readonly counts = Object.fromEntries(ANOMALIES.map((a) => [a, 0])) as Record<Anomaly, number>;
  readonly examples: Partial<Record<Anomaly, string>> = {};
  add(anomaly: Anomaly, example: () => string): void {
    this.counts[anomaly] += 1;
    if (this.examples[anomaly] === undefined) this.examples[anomaly] = example();
  }
}

// A jump of a non-group consumer over offsets, judged once the final read says whether they hold messages.
interface Jump { key: Key; process: string; from: number; to: number; t: number }
// A committed or resumed-from offset, judged once every offset that ever held a message is known.
interface Committed { key: Key; offset: number; process: string; t: number; resumed: boolean }

export function check(history: Iterable<HistoryEvent>, finalFrom?: string): Verdict {
  const checker = new HistoryChecker(finalFrom);
  for (const e of history) checker.add(e);
  return checker.finish();
}

// The verdict over a history file, read line by line (the file may be far larger than what the checker keeps).
// `finalFrom`: a cluster's history holds one final read per replica; the verdict takes that reader's (e.g.
// `final-r1`) as the final read and the others' as reads that saw what they served. [every final read]
export async function checkFile(file: string, finalFrom?: string): Promise<Verdict> {
  const checker = new HistoryChecker(finalFrom);
  for await (const e of eachEvent(file)) checker.add(e);
  return checker.finish();
}

export class HistoryChecker {
  private readonly keys = new Map<Key, KeyLog>();
  private readonly tally = new Tally();
  private readonly stats: Verdict['stats'] = { sendsAcknowledged: 0, messagesAcknowledged: 0, messagesVerified: 0, sendsIndefinite: 0, sendsFailed: 0, polls: 0, messagesPolled: 0, commits: 0, commitsIndefinite: 0, resumes: 0, keys: 0 };
  private readonly lastSend = new Map<string, number>(); // process|key -> last acknowledged offset
  private readonly lastPolled = new Map<string, number>(); // process|key -> last offset handed to it
  private readonly jumps: Jump[] = [];
  private readonly newest = new Map<string, number>(); // committer -> newest acknowledged commit
  private readonly atInvoke = new Map<string, number | undefined>(); // process -> newest of its committer when its operation began
  private readonly committed: Committed[] = [];
  private readonly sources: string[] = []; // who observed something: "c1 poll from r2", "final-r0 read", ...
  private readonly sourceIds = new Map<string, number>();

  constructor(private readonly finalFrom?: string) {}

  // The id of the source of a send acknowledgement, poll or read (a few dozen distinct ones in a run).
  private source(e: Extract<HistoryEvent, { f: 'send' | 'poll' | 'read' }>): number {
    const from = 'replica' in e && e.replica !== undefined ? ` from r${e.replica}` : '';
    const name = `${e.process} ${e.f === 'send' ? 'ack' : e.f}${from}`;
    let id = this.sourceIds.get(name);
    if (id === undefined) { id = this.sources.length; this.sources.push(name); this.sourceIds.set(name, id); }
    return id;
  }

  private sourceName(id: number): string { return this.sources[id] ?? 'unknown'; }

  private log(key: Key): KeyLog {
    let log = this.keys.get(key);
    if (!log) { log = new KeyLog(); this.keys.set(key, log); }
    return log;
  }

  add(e: HistoryEvent): void {
    if (e.f === 'send') this.send(e);
    else if (e.f === 'poll' || e.f === 'read') this.read(e);
    if (e.f === 'reset' || e.f === 'resume' || e.f === 'poll') this.order(e);
    if (e.f === 'reset' || e.f === 'commit' || e.f === 'resume') this.commitOrResume(e);
  }

  private send(e: Extract<HistoryEvent, { f: 'send' }>): void {
    const log = this.log(e.key);
    if (e.type === 'invoke') {
      for (const v of e.values) log.flags[log.id(v)] |= SENT;
    } else if (e.type === 'ok') {
      this.stats.sendsAcknowledged += 1;
      this.stats.messagesAcknowledged += e.values.length;
      const base = offsetOf(e.offset);
      const source = this.source(e);
      e.values.forEach((v, i) => {
        const id = log.id(v);
        log.flags[id] |= SENT;
        log.acked[id] = base + i;
        log.observe(base + i, id, source);
      });
      const who = `${e.process}|${e.key}`;
      const previous = this.lastSend.get(who);
      if (previous !== undefined && base <= previous) {
        this.tally.add('nonmonotonic-send', () => `${e.process} on ${e.key}: acknowledged at ${base} after ${previous} (t=${e.t} ms)`);
      }
      this.lastSend.set(who, base + e.values.length - 1);
    } else if (e.type === 'info') {
      this.stats.sendsIndefinite += 1;
    } else {
      this.stats.sendsFailed += 1;
      for (const v of e.values) log.flags[log.id(v)] |= FAILED;
    }
  }

  private read(e: Extract<HistoryEvent, { f: 'poll' | 'read' }>): void {
    const log = this.log(e.key);
    if (e.f === 'poll') { this.stats.polls += 1; this.stats.messagesPolled += e.messages.length; }
    const final = e.f === 'read' && e.final && (this.finalFrom === undefined || e.process === this.finalFrom);
    if (final) log.final ??= new OffsetTable();
    const source = this.source(e);
    for (const [o, v] of e.messages) {
      const offset = offsetOf(o);
      const id = log.id(v);
      log.observe(offset, id, source);
      if (!final) {
        log.flags[id] |= POLLED;
        if (log.polledBy[id] === NONE) log.polledBy[id] = source;
      } else { log.final!.set(offset, id); log.flags[id] |= FINAL; }
    }
  }

  // Consumer order: per process and key, offsets handed out must increase (nonmonotonic-poll), and a non-group
  // consumer must not jump over an offset that holds a message in the final read (poll-skip, judged at the end).
  private order(e: Extract<HistoryEvent, { f: 'reset' | 'resume' | 'poll' }>): void {
    const who = `${e.process}|${e.key}`;
    if (e.f === 'reset') { this.lastPolled.delete(who); return; }
    if (e.f === 'resume') {
      if (e.type === 'ok' && e.group === undefined) this.lastPolled.set(who, e.offset === null ? NONE : offsetOf(e.offset));
      return;
    }
    for (const [o] of e.messages) {
      const offset = offsetOf(o);
      const previous = this.lastPolled.get(who);
      if (previous !== undefined && offset <= previous) {
        this.tally.add('nonmonotonic-poll', () => `${e.process} on ${e.key}: offset ${offset} after ${previous} (t=${e.t} ms)`);
      } else if (previous !== undefined && offset > previous + 1 && e.group === undefined) {
        this.jumps.push({ key: e.key, process: e.process, from: previous, to: offset, t: e.t });
      }
      if (previous === undefined || offset > previous) this.lastPolled.set(who, offset);
    }
  }

  // Offset commits and resumes (see the top): per committer, the newest acknowledged commit; per process, the
  // value it had when the process's operation in flight was invoked.
  private commitOrResume(e: Extract<HistoryEvent, { f: 'reset' | 'commit' | 'resume' }>): void {
    if (e.f === 'reset') { this.newest.delete(`${e.process}|${e.key}`); return; }
    const committer = e.group === undefined ? `${e.process}|${e.key}` : `group ${e.group}|${e.key}`;
    if (e.type === 'invoke') { this.atInvoke.set(e.process, this.newest.get(committer)); return; }
    const before = this.atInvoke.get(e.process);
    this.atInvoke.delete(e.process);
    if (e.f === 'commit' && e.type !== 'ok') {
      if (e.type === 'info') this.stats.commitsIndefinite += 1;
      return;
    }
    const from = 'replica' in e && e.replica !== undefined ? ` from r${e.replica}` : '';
    if (e.f === 'commit' && e.type === 'ok') {
      this.stats.commits += 1;
      const offset = offsetOf(e.offset);
      if (before !== undefined && offset < before) this.tally.add('nonmonotonic-commit', () => `${committer}: ${e.process} committed ${offset}${from} after ${before} was acknowledged (t=${e.t} ms)`);
      const newest = this.newest.get(committer);
      if (newest === undefined || offset > newest) this.newest.set(committer, offset);
      this.committed.push({ key: e.key, offset, process: e.process, t: e.t, resumed: false });
    } else if (e.f === 'resume' && e.type === 'ok') {
      this.stats.resumes += 1;
      const stored = e.offset === null ? null : offsetOf(e.offset);
      if (before !== undefined && (stored === null || stored < before)) {
        this.tally.add('lost-commit', () => `${committer}: ${e.process} resumed from ${stored ?? 'no stored offset'}${from} after ${before} was acknowledged (t=${e.t} ms)`);
      }
      if (stored !== null) this.committed.push({ key: e.key, offset: stored, process: e.process, t: e.t, resumed: true });
    }
  }

  finish(): Verdict {
    const { tally, stats } = this;
    for (const j of this.jumps) {
      const final = this.keys.get(j.key)?.final;
      if (!final) continue;
      let missed = 0;
      let first = NONE;
      for (let between = j.from + 1; between < j.to; between++) {
        if (final.has(between)) { missed++; if (first === NONE) first = between; }
      }
      if (missed > 0) tally.add('poll-skip', () => `${j.process} on ${j.key}: from offset ${j.from} to ${j.to}, over ${missed} readable (first ${first}) (t=${j.t} ms)`);
    }
    for (const c of this.committed) {
      const end = this.keys.get(c.key)?.observed.end ?? NONE;
      const what = c.resumed ? `${c.process} resumed from stored offset ${c.offset}` : `${c.process} committed ${c.offset}`;
      if (c.offset > end) tally.add('commit-beyond-ack', () => `${c.key}: ${what} (t=${c.t} ms), but no offset past ${end} ever held a message`);
    }
    for (const [key, log] of this.keys) {
      stats.keys += 1;
      this.finishKey(key, log);
    }
    const valid = ANOMALIES.every((a) => tally.counts[a] === 0);
    return { valid, counts: tally.counts, examples: tally.examples, stats };
  }

  private finishKey(key: Key, log: KeyLog): void {
    const { tally, stats } = this;
    const quoted = (id: number) => JSON.stringify(log.names[id]);
    const by = (source: number) => `(${this.sourceName(source)})`;
    for (const [offset, more] of log.moreValues) {
      const values = [log.observed.get(offset), ...more];
      const sources = [log.observedBy.get(offset), ...log.moreValuesBy.get(offset)!];
      tally.add('inconsistent-offsets', () => `${key} offset ${offset} holds ${values.map((v, i) => `${quoted(v)} ${by(sources[i])}`).join(' and ')}`);
    }
    for (const [id, more] of log.moreOffsets) {
      const offsets = [log.seenAt[id], ...more];
      const sources = [log.seenBy[id], ...log.moreOffsetsBy.get(id)!];
      const pairs = offsets.map((o, i) => [o, sources[i]]).sort((a, b) => a[0] - b[0]);
      tally.add('duplicate', () => `${key}: ${quoted(id)} at offsets ${pairs.map(([o, s]) => `${o} ${by(s)}`).join(', ')}`);
    }
    const finalEnd = log.final?.end ?? NONE;
    for (let id = 0; id < log.values; id++) {
      const flags = log.flags[id];
      if (log.seenAt[id] !== NONE) {
        if (!(flags & SENT)) tally.add('unexpected', () => `${key}: ${quoted(id)} at offset ${log.seenAt[id]} ${by(log.seenBy[id])} was never sent`);
        if (flags & FAILED) tally.add('failed-but-observed', () => `${key}: ${quoted(id)} at offset ${log.seenAt[id]} ${by(log.seenBy[id])}, although its send was refused`);
      }
      const offset = log.acked[id];
      if (offset === NONE) continue;
      if (flags & FINAL) {
        if (log.final!.get(offset) === id) stats.messagesVerified += 1;
        continue; // at another offset: a duplicate or inconsistent offset, counted above
      }
      if (finalEnd >= offset || flags & POLLED) {
        tally.add('lost-write', () => `${key}: ${quoted(id)} acknowledged at offset ${offset} ${by(log.seenBy[id])}, ${flags & POLLED ? `seen by ${this.sourceName(log.polledBy[id])}, ` : ''}missing from the final read (which reaches offset ${finalEnd})`);
      } else {
        tally.add('unseen', () => `${key}: ${quoted(id)} acknowledged at offset ${offset} ${by(log.seenBy[id])}, but the final read ${log.final ? `ends at offset ${finalEnd}` : 'never happened'}`);
      }
    }
  }
}

// The verdict as lines for a terminal: the figures, then each anomaly's count and first example.
export function formatVerdict(v: Verdict): string {
  const s = v.stats;
  const lines = [
    `sends: ${s.sendsAcknowledged} acknowledged (${s.messagesAcknowledged} messages), ${s.sendsFailed} failed, ${s.sendsIndefinite} indefinite`,
    `verified: ${s.messagesVerified} of ${s.messagesAcknowledged} acknowledged messages at their offset after healing (${s.keys} partitions)`,
    `polls: ${s.polls} (${s.messagesPolled} messages), offset commits: ${s.commits} acknowledged (${s.commitsIndefinite} indefinite), resumes from a stored offset: ${s.resumes}`,
  ];
  for (const a of ANOMALIES) lines.push(`${a.padEnd(21)} ${String(v.counts[a]).padStart(6)}${v.examples[a] ? `   first: ${v.examples[a]}` : ''}`);
  lines.push(v.valid ? 'verdict: valid (no anomalies)' : `verdict: INVALID (${ANOMALIES.filter((a) => v.counts[a] > 0).join(', ')})`);
  return lines.join('\n');
}
