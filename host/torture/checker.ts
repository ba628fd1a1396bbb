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
import type { HistoryEvent, Key } from './history.js';

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

interface KeyState {
  acked: Map<string, bigint>; // value -> acknowledged offset
  sent: Set<string>; // every value a send was invoked with
  failed: Set<string>; // values of sends the server refused: nothing of them may be read
  offsetValues: Map<bigint, Set<string>>;
  valueOffsets: Map<string, Set<bigint>>;
  polled: Set<string>; // values a consumer or audit saw
  final: Map<bigint, string> | null; // null: no final read of this key
  finalValues: Set<string>;
}

function keyState(): KeyState {
  return { acked: new Map(), sent: new Set(), failed: new Set(), offsetValues: new Map(), valueOffsets: new Map(), polled: new Set(), final: null, finalValues: new Set() };
}

class Tally {
  readonly counts = Object.fromEntries(ANOMALIES.map((a) => [a, 0])) as Record<Anomaly, number>;
  readonly examples: Partial<Record<Anomaly, string>> = {};
  add(anomaly: Anomaly, example: () => string): void {
    this.counts[anomaly] += 1;
    if (this.examples[anomaly] === undefined) this.examples[anomaly] = example();
  }
}

export function check(history: HistoryEvent[]): Verdict {
  const keys = new Map<Key, KeyState>();
  const state = (key: Key) => { let s = keys.get(key); if (!s) { s = keyState(); keys.set(key, s); } return s; };
  const tally = new Tally();
  const stats = { sendsAcknowledged: 0, messagesAcknowledged: 0, messagesVerified: 0, sendsIndefinite: 0, sendsFailed: 0, polls: 0, messagesPolled: 0, commits: 0, commitsIndefinite: 0, resumes: 0, keys: 0 };

  const observe = (s: KeyState, offset: bigint, value: string) => {
    let values = s.offsetValues.get(offset);
    if (!values) { values = new Set(); s.offsetValues.set(offset, values); }
    values.add(value);
    let offsets = s.valueOffsets.get(value);
    if (!offsets) { offsets = new Set(); s.valueOffsets.set(value, offsets); }
    offsets.add(offset);
  };

  const lastSend = new Map<string, bigint>(); // process|key -> last acknowledged offset
  for (const e of history) {
    if (e.f === 'send') {
      const s = state(e.key);
      if (e.type === 'invoke') for (const v of e.values) s.sent.add(v);
      else if (e.type === 'ok') {
        stats.sendsAcknowledged += 1;
        stats.messagesAcknowledged += e.values.length;
        const base = BigInt(e.offset);
        e.values.forEach((v, i) => { s.sent.add(v); s.acked.set(v, base + BigInt(i)); observe(s, base + BigInt(i), v); });
        const id = `${e.process}|${e.key}`;
        const previous = lastSend.get(id);
        if (previous !== undefined && base <= previous) {
          tally.add('nonmonotonic-send', () => `${e.process} on ${e.key}: acknowledged at ${base} after ${previous} (t=${e.t} ms)`);
        }
        lastSend.set(id, base + BigInt(e.values.length - 1));
      } else if (e.type === 'info') stats.sendsIndefinite += 1;
      else {
        stats.sendsFailed += 1;
        for (const v of e.values) s.failed.add(v);
      }
    } else if (e.f === 'poll' || e.f === 'read') {
      const s = state(e.key);
      if (e.f === 'poll') { stats.polls += 1; stats.messagesPolled += e.messages.length; }
      for (const [o, v] of e.messages) {
        observe(s, BigInt(o), v);
        if (e.f === 'poll' || !e.final) s.polled.add(v);
      }
      if (e.f === 'read' && e.final) {
        s.final ??= new Map();
        for (const [o, v] of e.messages) { s.final.set(BigInt(o), v); s.finalValues.add(v); }
      }
    }
  }

  checkPolls(history, keys, tally);
  checkCommits(history, keys, tally, stats);
  for (const [key, s] of keys) {
    stats.keys += 1;
    for (const [offset, values] of s.offsetValues) {
      if (values.size > 1) tally.add('inconsistent-offsets', () => `${key} offset ${offset} holds ${[...values].map((v) => JSON.stringify(v)).join(' and ')}`);
    }
    for (const [value, offsets] of s.valueOffsets) {
      if (offsets.size > 1) tally.add('duplicate', () => `${key}: ${JSON.stringify(value)} at offsets ${[...offsets].sort(compare).join(', ')}`);
      if (!s.sent.has(value)) tally.add('unexpected', () => `${key}: ${JSON.stringify(value)} at offset ${[...offsets][0]} was never sent`);
      if (s.failed.has(value)) tally.add('failed-but-observed', () => `${key}: ${JSON.stringify(value)} at offset ${[...offsets][0]}, although its send was refused`);
    }
    const finalEnd = s.final && s.final.size > 0 ? [...s.final.keys()].reduce((a, b) => (a > b ? a : b)) : -1n;
    for (const [value, offset] of s.acked) {
      if (s.finalValues.has(value)) {
        if (s.final?.get(offset) === value) stats.messagesVerified += 1;
        continue; // at another offset: a duplicate or inconsistent offset, counted above
      }
      if (finalEnd >= offset || s.polled.has(value)) {
        tally.add('lost-write', () => `${key}: ${JSON.stringify(value)} acknowledged at offset ${offset}, ${s.polled.has(value) ? 'seen by a poll, ' : ''}missing from the final read (which reaches offset ${finalEnd})`);
      } else {
        tally.add('unseen', () => `${key}: ${JSON.stringify(value)} acknowledged at offset ${offset}, but the final read ${s.final ? `ends at offset ${finalEnd}` : 'never happened'}`);
      }
    }
  }
  const valid = ANOMALIES.every((a) => tally.counts[a] === 0);
  return { valid, counts: tally.counts, examples: tally.examples, stats };
}

// Consumer order: per process and key, offsets handed out must increase (nonmonotonic-poll), and a non-group
// consumer must not jump over an offset that holds a message in the final read (poll-skip).
function checkPolls(history: HistoryEvent[], keys: Map<Key, KeyState>, tally: Tally): void {
  const last = new Map<string, bigint>(); // process|key -> last offset handed to it
  for (const e of history) {
    const id = `${e.process}|${'key' in e ? e.key : ''}`;
    if (e.f === 'reset') { last.delete(id); continue; }
    if (e.f === 'resume' && e.type === 'ok' && e.group === undefined) { last.set(id, e.offset === null ? -1n : BigInt(e.offset)); continue; }
    if (e.f !== 'poll') continue;
    const final = keys.get(e.key)?.final;
    for (const [o] of e.messages) {
      const offset = BigInt(o);
      const previous = last.get(id);
      if (previous !== undefined && offset <= previous) {
        tally.add('nonmonotonic-poll', () => `${e.process} on ${e.key}: offset ${offset} after ${previous} (t=${e.t} ms)`);
      } else if (previous !== undefined && offset > previous + 1n && e.group === undefined && final) {
        const missed: bigint[] = [];
        for (let between = previous + 1n; between < offset; between++) if (final.has(between)) missed.push(between);
        if (missed.length > 0) tally.add('poll-skip', () => `${e.process} on ${e.key}: from offset ${previous} to ${offset}, over ${missed.length} readable (first ${missed[0]}) (t=${e.t} ms)`);
      }
      if (previous === undefined || offset > previous) last.set(id, offset);
    }
  }
}

// Offset commits and resumes (see the top): per committer, the newest acknowledged commit; per process, the value
// it had when the process's operation in flight was invoked.
function checkCommits(history: HistoryEvent[], keys: Map<Key, KeyState>, tally: Tally, stats: Verdict['stats']): void {
  const newest = new Map<string, bigint>(); // committer -> newest acknowledged commit
  const atInvoke = new Map<string, bigint | undefined>(); // process -> newest of its committer when its operation began
  const committed: { key: Key; offset: bigint; what: () => string }[] = [];
  for (const e of history) {
    if (e.f === 'reset') { newest.delete(`${e.process}|${e.key}`); continue; }
    if (e.f !== 'commit' && e.f !== 'resume') continue;
    const committer = e.group === undefined ? `${e.process}|${e.key}` : `group ${e.group}|${e.key}`;
    if (e.type === 'invoke') { atInvoke.set(e.process, newest.get(committer)); continue; }
    const before = atInvoke.get(e.process);
    atInvoke.delete(e.process);
    if (e.f === 'commit' && e.type !== 'ok') {
      if (e.type === 'info') stats.commitsIndefinite += 1;
      continue;
    }
    if (e.f === 'commit' && e.type === 'ok') {
      stats.commits += 1;
      const offset = BigInt(e.offset);
      if (before !== undefined && offset < before) tally.add('nonmonotonic-commit', () => `${committer}: ${e.process} committed ${offset} after ${before} was acknowledged (t=${e.t} ms)`);
      if (newest.get(committer) === undefined || offset > newest.get(committer)!) newest.set(committer, offset);
      committed.push({ key: e.key, offset, what: () => `${e.process} committed ${offset} (t=${e.t} ms)` });
    } else if (e.f === 'resume' && e.type === 'ok') {
      stats.resumes += 1;
      const stored = e.offset === null ? null : BigInt(e.offset);
      if (before !== undefined && (stored === null || stored < before)) {
        tally.add('lost-commit', () => `${committer}: ${e.process} resumed from ${stored ?? 'no stored offset'} after ${before} was acknowledged (t=${e.t} ms)`);
      }
      if (stored !== null) committed.push({ key: e.key, offset: stored, what: () => `${e.process} resumed from stored offset ${stored} (t=${e.t} ms)` });
    }
  }
  const ends = new Map<Key, bigint>(); // key -> the highest offset that ever held a message
  for (const [key, s] of keys) ends.set(key, [...s.offsetValues.keys()].reduce((a, b) => (a > b ? a : b), -1n));
  for (const c of committed) {
    const end = ends.get(c.key) ?? -1n;
    if (c.offset > end) tally.add('commit-beyond-ack', () => `${c.key}: ${c.what()}, but no offset past ${end} ever held a message`);
  }
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

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
