// The data lifecycle, model-based (fast-check), short profile: random sequences of stream/topic/partition creates
// and deletes on few ids (so ids are freed and reused), sends, purges, offset stores and restarts (SIGTERM,
// SIGKILL, SIGKILL with sends in flight) against a real server, crossing metadata checkpoints (a 64-slot journal
// checkpoints every 48 ops), each checked after every restart against an in-memory model (tests/e2e/lifecycle/).
// The seed is printed; SHARDLOG_LIFECYCLE_SEED=S npm test -- lifecycle replays it. The long profile is
// `npm run test:lifecycle -- --runs N`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLifecycleArgs } from './lifecycle/args.js';
import { runLifecycle } from './lifecycle/runner.js';

const SEED = Number(process.env.SHARDLOG_LIFECYCLE_SEED ?? Math.floor(Math.random() * 0x7fff_ffff));

describe('lifecycle: model-based', () => {
  it(`acknowledged data and committed objects survive random create/delete/send/purge/restart sequences (seed ${SEED})`, async () => {
    console.log(`lifecycle seed ${SEED} (replay: SHARDLOG_LIFECYCLE_SEED=${SEED} npm test -- lifecycle)`);
    const result = await runLifecycle({
      runs: 6, seed: SEED, maxCommands: 150, restartWeight: 2, shrinkSeconds: 15, verbose: true, log: (line) => console.log(line),
      // 1 shard: every partition on shard 0 (which replays the metadata log op by op at boot); 64 journal slots: a
      // checkpoint every 48 ops; 1024: a replay of everything since the start.
      profiles: [1, 2].flatMap((shards) => [64, 1024].map((journalSlots) => ({ shards, journalSlots }))),
    });
    const t = result.tally;
    console.log(`lifecycle: ${result.sequences} sequences, restarts ${t.cleanRestarts} clean / ${t.killRestarts} kill, ${t.messagesChecked} messages checked, ${result.checkpoints} checkpoints`);
    assert.deepEqual(result.findings.map((f) => `seed ${f.seed}:\n${f.report}`), [], 'no finding');
    assert.equal(result.sequences, 6);
    assert.ok(t.checks >= 12 && t.messagesChecked > 0, 'every sequence checked the server at the end and after its final restart');
  });

  it('the long profile\'s flags: defaults, and a named error for each bad one', () => {
    const args = parseLifecycleArgs(['--runs', '5', '--seed', '42', '--shards', '2'], () => 7);
    assert.ok(args !== 'help');
    assert.deepEqual([args.runs, args.seed, args.profiles.map((p) => p.shards)], [5, 42, [2, 2]]);
    assert.equal((parseLifecycleArgs([], () => 7) as { seed: number }).seed, 7, 'a random seed when none is given');
    for (const [argv, name] of [[['--bogus', '1'], 'UnknownFlag'], [['--runs'], 'MissingFlagValue'], [['--runs', 'x'], 'InvalidFlagValue'],
      [['--minutes', '0'], 'InvalidFlagValue'], [['--shards', '3'], 'InvalidFlagValue'], [['--journal-slots', '8'], 'InvalidFlagValue']] as const) {
      assert.throws(() => parseLifecycleArgs([...argv], () => 7), { name }, argv.join(' '));
    }
  });
});
