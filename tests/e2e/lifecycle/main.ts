// The long lifecycle profile: `npm run test:lifecycle -- --runs N [--seed S] [--minutes M]`. Prints a line per
// sequence and, at the end, the numbers: sequences, restarts (clean/kill), messages checked, findings (each with
// its seed, the shrunk sequence and how to replay it). Exit code 1 when there is a finding, 2 on a bad flag.
import { describeError } from '../../../host/shared/errors.js';
import { USAGE, parseLifecycleArgs } from './args.js';
import { runLifecycle } from './runner.js';

const log = (line: string) => console.log(line);

let args;
try {
  args = parseLifecycleArgs(process.argv.slice(2), () => Math.floor(Math.random() * 0x7fff_ffff));
} catch (error) {
  console.error(describeError(error));
  process.exit(2);
}
if (args === 'help') {
  console.log(USAGE);
  process.exit(0);
}

// The flags that shape generation (a replay needs the same ones), without those the replay sets itself.
const sameGeneration = process.argv.slice(2).filter((_, i, all) => {
  const flag = all[i].startsWith('--') ? all[i] : all[i - 1];
  return !['--seed', '--runs', '--minutes', '--path', '--replay-path', '--shrink-seconds'].includes(flag);
});
const quote = (arg: string) => (/^[\w./:-]+$/.test(arg) ? arg : `'${arg}'`);

const started = Date.now();
log(`lifecycle: seed ${args.seed}, up to ${args.runs === Number.MAX_SAFE_INTEGER ? '∞' : args.runs} sequence(s) of up to ${args.maxCommands} commands`
  + `${args.minutes ? `, ${args.minutes} min` : ''}, profiles ${args.profiles.map((p) => `shards ${p.shards}/journal ${p.journalSlots}`).join(', ')}`);
const result = await runLifecycle({ ...args, restartWeight: 2, log, verbose: true });
for (const [i, f] of result.findings.entries()) {
  log(`\n=== finding ${i + 1}: ${f.kinds.join(', ')} (seed ${f.seed}; data dir of the last failing run: ${f.dataDir ?? 'none'}) ===\n${f.report}`);
  log(`replay the shrunk sequence: npm run test:lifecycle -- ${[...sameGeneration, ...f.replay].map(quote).join(' ')}`);
}
const kinds = new Map<string, number>();
for (const f of result.findings) for (const k of f.kinds) kinds.set(k, (kinds.get(k) ?? 0) + 1);
const t = result.tally;
log(`\nlifecycle done in ${((Date.now() - started) / 60_000).toFixed(1)} min (seed ${args.seed}): ${result.sequences} sequences (+${result.shrinkRuns} shrink runs), `
  + `${t.commands} commands, ${t.metadataOps} metadata ops, ${result.checkpoints} checkpoints seen, `
  + `restarts ${t.cleanRestarts + t.killRestarts} (${t.cleanRestarts} clean / ${t.killRestarts} kill), ${t.checks} checks, `
  + `${t.messagesChecked} messages checked, in-flight batches at a kill kept ${t.maybeKept} / lost ${t.maybeLost}, `
  + `boots retried on fresh ports ${result.busyPortBoots}, findings ${result.findings.length}`
  + `${kinds.size > 0 ? ` (${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')})` : ''}`);
process.exit(result.findings.length > 0 ? 1 : 0);
