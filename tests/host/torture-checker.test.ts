// The torture checker on hand-made histories: a clean one is valid, and each anomaly of Jepsen's queue vocabulary
// is found, counted once, with its first example, and nothing else is reported for it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ANOMALIES, check, checkFile, formatVerdict, type Anomaly } from '../../host/torture/checker.js';
import { OffsetOutOfRange } from '../../host/torture/key-log.js';
import { HistoryWriter, readHistory, type HistoryEvent, type Untimed } from '../../host/torture/history.js';

const K = '1/1/0';
let clock = 0;
const at = (e: Untimed<HistoryEvent>): HistoryEvent => ({ t: clock++, ...e } as HistoryEvent);
const sendOk = (process: string, values: string[], offset: number, key = K) => [
  at({ process, type: 'invoke', f: 'send', key, values }),
  at({ process, type: 'ok', f: 'send', key, values, offset: String(offset) }),
];
const poll = (process: string, pairs: [number, string][], group?: string, key = K) =>
  at({ process, type: 'ok', f: 'poll', key, messages: pairs.map(([o, v]) => [String(o), v]), ...(group ? { group } : {}) });
const commit = (process: string, offset: number, group?: string, key = K) => [
  at({ process, type: 'invoke', f: 'commit', key, ...(group ? { group } : {}) }),
  at({ process, type: 'ok', f: 'commit', key, offset: String(offset), ...(group ? { group } : {}) }),
];
const resume = (process: string, offset: number | null, group?: string, key = K) => [
  at({ process, type: 'invoke', f: 'resume', key, ...(group ? { group } : {}) }),
  at({ process, type: 'ok', f: 'resume', key, offset: offset === null ? null : String(offset), ...(group ? { group } : {}) }),
];
const finalRead = (pairs: [number, string][], key = K) => at({ process: 'final', type: 'ok', f: 'read', key, messages: pairs.map(([o, v]) => [String(o), v]), final: true });

// p0 sends a, b (offsets 0, 1) then c (2); c0 polls all three; the final read has all three.
function clean(): HistoryEvent[] {
  return [...sendOk('p0', ['a', 'b'], 0), ...sendOk('p0', ['c'], 2), poll('c0', [[0, 'a'], [1, 'b']]), poll('c0', [[2, 'c']]), finalRead([[0, 'a'], [1, 'b'], [2, 'c']])];
}

function only(history: HistoryEvent[], anomaly: Anomaly, count = 1) {
  const v = check(history);
  assert.equal(v.valid, false);
  for (const a of ANOMALIES) assert.equal(v.counts[a], a === anomaly ? count : 0, `${a} in ${formatVerdict(v)}`);
  assert.ok(v.examples[anomaly], `an example of ${anomaly}`);
  return v;
}

describe('torture checker', () => {
  it('a clean history is valid, and every acknowledged message is verified', () => {
    const v = check(clean());
    assert.equal(v.valid, true, formatVerdict(v));
    assert.equal(v.stats.messagesAcknowledged, 3);
    assert.equal(v.stats.messagesVerified, 3);
    assert.match(formatVerdict(v), /verdict: valid/);
  });

  it('indefinite sends are not anomalies, read or not (Jepsen: recovered); failed sends left unread are not either', () => {
    const h = [...clean(),
      at({ process: 'p1', type: 'invoke', f: 'send', key: K, values: ['d'] }), at({ process: 'p1', type: 'info', f: 'send', key: K, values: ['d'], error: 'ConnectionClosed' }),
      at({ process: 'p1', type: 'invoke', f: 'send', key: K, values: ['e'] }), at({ process: 'p1', type: 'fail', f: 'send', key: K, values: ['e'], error: 'IggyError' })];
    h.push(finalRead([[3, 'd']]));
    const v = check(h);
    assert.equal(v.valid, true, formatVerdict(v));
    assert.equal(v.stats.sendsIndefinite, 1);
    assert.equal(v.stats.sendsFailed, 1);
  });

  it('failed-but-observed: a value whose send the server refused is read by a poll or the final read', () => {
    const refused = (values: string[]) => [at({ process: 'p1', type: 'invoke', f: 'send', key: K, values }), at({ process: 'p1', type: 'fail', f: 'send', key: K, values, error: 'IggyError' })];
    const polled = only([...clean(), ...refused(['e']), poll('c1', [[3, 'e']]), finalRead([[0, 'a'], [1, 'b'], [2, 'c']])], 'failed-but-observed');
    assert.match(polled.examples['failed-but-observed']!, /"e" at offset 3 \(c1 poll\), although its send was refused/);
    only([...clean(), ...refused(['e', 'f']), finalRead([[3, 'e'], [4, 'f']])], 'failed-but-observed', 2);
  });

  it('lost write: acknowledged, a later offset is readable, it is not', () => {
    const h = [...sendOk('p0', ['a'], 0), ...sendOk('p0', ['b'], 1), finalRead([[1, 'b']])];
    const v = only(h, 'lost-write');
    assert.match(v.examples['lost-write']!, /"a" acknowledged at offset 0/);
  });

  it('lost write: seen by a poll, gone from the final read', () => {
    only([...sendOk('p0', ['a'], 0), poll('c0', [[0, 'a']]), finalRead([])], 'lost-write');
  });

  it('unseen: acknowledged, the final read ends before it and nobody saw it', () => {
    const v = only([...sendOk('p0', ['a'], 0), ...sendOk('p0', ['b', 'c'], 1), finalRead([[0, 'a']])], 'unseen', 2);
    assert.match(v.examples.unseen!, /"b" acknowledged at offset 1 \(p0 ack\), but the final read ends at offset 0/);
  });

  it('duplicate: one value at two offsets', () => {
    const v = only([...sendOk('p0', ['a'], 0), ...sendOk('p0', ['b'], 1), poll('c0', [[0, 'a'], [1, 'b'], [2, 'a']]), finalRead([[0, 'a'], [1, 'b'], [2, 'a']])], 'duplicate');
    assert.match(v.examples.duplicate!, /"a" at offsets 0 \(p0 ack\), 2 \(c0 poll\)/);
  });

  it('inconsistent offsets: two values at one offset (an acknowledgement and a read disagree)', () => {
    const h = [...sendOk('p0', ['a'], 0), at({ process: 'p1', type: 'invoke', f: 'send', key: K, values: ['x'] }), at({ process: 'p1', type: 'info', f: 'send', key: K, values: ['x'], error: 'timeout' }),
      poll('c0', [[0, 'x']]), finalRead([[0, 'a']])];
    const v = only(h, 'inconsistent-offsets');
    assert.match(v.examples['inconsistent-offsets']!, /offset 0 holds "a" \(p0 ack\) and "x" \(c0 poll\)/);
  });

  it('nonmonotonic send: a producer acknowledged at a lower offset than before', () => {
    // Two keys keep the offsets apart; on one key p0's second ack goes backwards (b at 0 would also be
    // inconsistent, so the values sit at distinct offsets of distinct keys' views).
    const h = [...sendOk('p0', ['a'], 5), ...sendOk('p0', ['b'], 3), finalRead([[3, 'b'], [5, 'a']])];
    const v = only(h, 'nonmonotonic-send');
    assert.match(v.examples['nonmonotonic-send']!, /acknowledged at 3 after 5/);
  });

  it('nonmonotonic poll: a consumer handed an offset it already had; a reset starts it afresh', () => {
    const base = [...sendOk('p0', ['a', 'b'], 0)];
    const v = only([...base, poll('c0', [[0, 'a'], [1, 'b']]), poll('c0', [[1, 'b']]), finalRead([[0, 'a'], [1, 'b']])], 'nonmonotonic-poll');
    assert.match(v.examples['nonmonotonic-poll']!, /offset 1 after 1/);
    const reset = at({ process: 'c0', type: 'ok', f: 'reset', key: K });
    assert.equal(check([...base, poll('c0', [[0, 'a'], [1, 'b']]), reset, poll('c0', [[1, 'b']]), finalRead([[0, 'a'], [1, 'b']])]).valid, true);
  });

  it('poll skip: a consumer jumps over a readable offset; a group member may (its partitions move)', () => {
    const base = sendOk('p0', ['a', 'b', 'c'], 0);
    const end = finalRead([[0, 'a'], [1, 'b'], [2, 'c']]);
    const v = only([...base, poll('c0', [[0, 'a']]), poll('c0', [[2, 'c']]), end], 'poll-skip');
    assert.match(v.examples['poll-skip']!, /from offset 0 to 2, over 1 readable \(first 1\)/);
    assert.equal(check([...base, poll('g0', [[0, 'a']], 'g'), poll('g0', [[2, 'c']], 'g'), end]).valid, true);
    // Over an offset that holds nothing readable (e.g. removed by retention) it is no skip.
    assert.equal(check([...sendOk('p0', ['a'], 0), ...sendOk('p0', ['c'], 2), poll('c0', [[0, 'a']]), poll('c0', [[2, 'c']]), finalRead([[0, 'a'], [2, 'c']])]).valid, true);
  });

  // c0 reads a, b, c (offsets 0..2), committing 1 then 2; a restart reads 2 back and the next poll starts at 3.
  const committing = () => [...sendOk('p0', ['a', 'b', 'c', 'd'], 0), ...resume('c0', null), poll('c0', [[0, 'a'], [1, 'b']]), ...commit('c0', 1),
    poll('c0', [[2, 'c']]), ...commit('c0', 2)];
  const ending = finalRead([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']]);

  it('offset commits and resumes: a consumer that resumes after its stored offset is valid; counted', () => {
    const v = check([...committing(), ...resume('c0', 2), poll('c0', [[3, 'd']]), ending]);
    assert.equal(v.valid, true, formatVerdict(v));
    assert.equal(v.stats.commits, 2);
    assert.equal(v.stats.resumes, 2);
    assert.match(formatVerdict(v), /offset commits: 2 acknowledged \(0 indefinite\), resumes from a stored offset: 2/);
    // An indefinite commit may or may not be stored: resuming from it, or from before it, is no anomaly.
    const unknown = [at({ process: 'c0', type: 'invoke', f: 'commit', key: K }), at({ process: 'c0', type: 'info', f: 'commit', key: K, error: 'timeout' })];
    assert.equal(check([...committing(), ...unknown, ...resume('c0', 2), poll('c0', [[3, 'd']]), ending]).valid, true);
    // Two consumers commit the same partition under their own names: no order between them.
    assert.equal(check([...committing(), poll('c1', [[0, 'a']]), ...commit('c1', 0), ending]).valid, true);
  });

  it('nonmonotonic commit: an acknowledged commit goes back for one consumer (a group member\'s counts for its group); a reset allows it', () => {
    const v = only([...committing(), ...commit('c0', 1), ending], 'nonmonotonic-commit');
    assert.match(v.examples['nonmonotonic-commit']!, /c0 committed 1 after 2 was acknowledged/);
    only([...sendOk('p0', ['a', 'b', 'c', 'd'], 0), poll('g0', [[0, 'a'], [1, 'b'], [2, 'c']], 'g'), ...commit('g0', 2, 'g'), poll('g1', [[1, 'b']], 'g'), ...commit('g1', 1, 'g'), ending], 'nonmonotonic-commit');
    const reset = at({ process: 'c0', type: 'ok', f: 'reset', key: K });
    assert.equal(check([...committing(), reset, poll('c0', [[1, 'b']]), ...commit('c0', 1), ending]).valid, true);
  });

  it('nonmonotonic commit is real-time: two commits in flight at once may land in either order', () => {
    const h = [...sendOk('p0', ['a', 'b', 'c', 'd'], 0), poll('g0', [[0, 'a'], [1, 'b'], [2, 'c']], 'g'),
      at({ process: 'g1', type: 'invoke', f: 'commit', key: K, group: 'g' }), ...commit('g0', 2, 'g'),
      at({ process: 'g1', type: 'ok', f: 'commit', key: K, offset: '1', group: 'g' }), ending];
    assert.equal(check(h).valid, true, formatVerdict(check(h)));
  });

  it('lost commit: a restarted consumer reads back a stored offset below its acknowledged commit (or none)', () => {
    const v = only([...committing(), ...resume('c0', 1), poll('c0', [[2, 'c'], [3, 'd']]), ending], 'lost-commit');
    assert.match(v.examples['lost-commit']!, /c0 resumed from 1 after 2 was acknowledged/);
    only([...committing(), ...resume('c0', null), poll('c0', [[0, 'a']]), ending], 'lost-commit');
    only([...sendOk('p0', ['a', 'b', 'c', 'd'], 0), poll('g0', [[0, 'a'], [1, 'b'], [2, 'c']], 'g'), ...commit('g0', 2, 'g'), ...resume('g1', 0, 'g'), ending], 'lost-commit');
  });

  it('commit beyond ack: a committed or stored offset past every offset that ever held a message', () => {
    const v = only([...committing(), ...commit('c0', 7), ending], 'commit-beyond-ack');
    assert.match(v.examples['commit-beyond-ack']!, /c0 committed 7 .*no offset past 3 ever held a message/);
    only([...committing(), ...resume('c0', 9), ending], 'commit-beyond-ack');
  });

  it('poll skip after a resume: the next poll starts past the stored offset + 1', () => {
    const longer = [...sendOk('p0', ['e'], 4), finalRead([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']])];
    const v = only([...committing(), ...resume('c0', 2), poll('c0', [[4, 'e']]), ...longer], 'poll-skip');
    assert.match(v.examples['poll-skip']!, /from offset 2 to 4, over 1 readable \(first 3\)/);
    // Resuming after the stored offset re-delivers what came after the commit: no anomaly (at least once).
    assert.equal(check([...committing(), poll('c0', [[3, 'd']]), ...resume('c0', 2), poll('c0', [[3, 'd']]), ending]).valid, true);
  });

  it('unexpected: a value read that nobody sent', () => {
    const v = only([...clean(), finalRead([[3, 'zz']])], 'unexpected');
    assert.match(v.examples.unexpected!, /"zz" at offset 3 \(final read\) was never sent/);
  });

  it('counts every case and keeps the first example, key by key', () => {
    const h = [...sendOk('p0', ['a', 'b', 'c'], 0), ...sendOk('p0', ['d'], 0, '1/1/1'), finalRead([[0, 'a']]), finalRead([], '1/1/1')];
    const v = only(h, 'unseen', 3);
    assert.match(v.examples.unseen!, /^1\/1\/0: "b"/);
  });

  it('checkFile streams a history file and reaches check\'s verdict', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-history-')), 'history.jsonl');
    const w = new HistoryWriter(file);
    const events = [...committing(), ...commit('c0', 1), poll('c0', [[3, 'd']]), ...resume('c0', 2), ending, finalRead([[9, 'zz']], '1/1/1')];
    for (const { t: _t, ...e } of events) w.record(e as Untimed<HistoryEvent>);
    w.close();
    const streamed = await checkFile(file);
    assert.deepEqual(streamed, check(readHistory(file)));
    assert.deepEqual(ANOMALIES.filter((a) => streamed.counts[a] > 0), ['unexpected', 'nonmonotonic-commit']);
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('offsets far apart are kept exactly (no table up to them); offsets past 2^53 are refused by name', () => {
    const far = 2 ** 40;
    const v = check([...sendOk('p0', ['a', 'b'], far), poll('c0', [[far, 'a'], [far + 1, 'b']]), finalRead([[far, 'a'], [far + 1, 'b']])]);
    assert.equal(v.valid, true, formatVerdict(v));
    assert.equal(v.stats.messagesVerified, 2);
    const huge = [at({ process: 'p0', type: 'ok', f: 'send', key: K, values: ['a'], offset: '18446744073709551615' })];
    assert.throws(() => check(huge), (e) => e instanceof OffsetOutOfRange && /offset 18446744073709551615 is not an integer in 0\.\.2\^53-1/.test(e.message));
  });

  it('a cluster history: each replica\'s final read judged alone (one missing an acknowledged message is caught)', () => {
    const read = (process: string, messages: [number, string][]) => at({ process, type: 'ok', f: 'read', key: K, messages: messages.map(([o, v]) => [String(o), v]), final: true });
    const h = [...sendOk('p0', ['a'], 0), ...sendOk('p0', ['b'], 1), read('final-r0', [[0, 'a'], [1, 'b']]), read('final-r1', [[0, 'a']])];
    assert.equal(check(h).valid, true, 'every final read together holds both');
    const r0 = check(h, 'final-r0');
    assert.equal(r0.valid, true, formatVerdict(r0));
    assert.equal(r0.stats.messagesVerified, 2);
    const r1 = check(h, 'final-r1');
    assert.equal(r1.counts['lost-write'], 1, formatVerdict(r1));
    assert.match(r1.examples['lost-write']!, /"b" acknowledged at offset 1 \(p0 ack\), seen by final-r0 read, missing from the final read/);
    assert.equal(r1.stats.messagesVerified, 1);
  });

  it('a cluster history: an example names the replica that answered each side of it', () => {
    const h = [
      at({ process: 'p0', type: 'invoke', f: 'send', key: K, values: ['a'] }),
      at({ process: 'p0', type: 'ok', f: 'send', key: K, values: ['a'], offset: '0', replica: 1 }),
      at({ process: 'c0', type: 'ok', f: 'poll', key: K, messages: [['0', 'x']], replica: 2 }),
      at({ process: 'final-r0', type: 'ok', f: 'read', key: K, messages: [['0', 'a']], final: true }),
    ];
    const v = check(h, 'final-r0');
    assert.match(v.examples['inconsistent-offsets']!, /offset 0 holds "a" \(p0 ack from r1\) and "x" \(c0 poll from r2\)/);
    assert.match(v.examples.unexpected!, /"x" at offset 0 \(c0 poll from r2\) was never sent/);
    const lost = check([
      at({ process: 'c0', type: 'invoke', f: 'commit', key: K }), at({ process: 'c0', type: 'ok', f: 'commit', key: K, offset: '2', replica: 0 }),
      at({ process: 'c0', type: 'invoke', f: 'resume', key: K }), at({ process: 'c0', type: 'ok', f: 'resume', key: K, offset: '1', replica: 2 }),
      ...sendOk('p0', ['a', 'b', 'c'], 0), finalRead([[0, 'a'], [1, 'b'], [2, 'c']]),
    ]);
    assert.match(lost.examples['lost-commit']!, /c0 resumed from 1 from r2 after 2 was acknowledged/);
  });

  it('the history file round-trips, one JSON object per line', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-history-')), 'history.jsonl');
    const w = new HistoryWriter(file);
    w.record({ process: 'p0', type: 'invoke', f: 'send', key: K, values: ['a'] });
    w.record({ process: 'p0', type: 'ok', f: 'send', key: K, values: ['a'], offset: '18446744073709551615' });
    w.close();
    const read = readHistory(file);
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 2);
    assert.deepEqual(read.map((e) => e.type), ['invoke', 'ok']);
    assert.equal((read[1] as { offset: string }).offset, '18446744073709551615', 'u64 offsets survive');
    fs.appendFileSync(file, '{broken\n');
    assert.throws(() => readHistory(file), /history\.jsonl:3: not a history event/);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
