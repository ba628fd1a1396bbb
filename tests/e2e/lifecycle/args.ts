// Flags of the long lifecycle profile (`npm run test:lifecycle -- --runs N [--seed S] [--minutes M] ...`).
import { userError } from '../../../host/shared/errors.js';
import type { ServerProfile } from './system.js';

export interface LifecycleArgs {
  runs: number;
  seed: number;
  minutes?: number;
  path?: string;
  replayPath?: string;
  maxCommands: number;
  shrinkSeconds: number;
  profiles: ServerProfile[];
}

export const USAGE = `usage: npm run test:lifecycle -- [--runs N] [--seed S] [--minutes M] [--max-commands N] [--shrink-seconds N]
                                 [--shards 1|2] [--journal-slots N] [--path P --replay-path R]
  --runs N            command sequences to run [100; unbounded with --minutes]
  --seed S            fast-check seed [random, printed]
  --minutes M         start no new sequence or shrink run after M minutes
  --max-commands N    longest sequence [300]
  --shrink-seconds N  time to shrink a failure against the real server [300; 0 = no shrinking]
  --shards N          only this shard count [1 and 2]
  --journal-slots N   only this --metadata-journal-slots [64 and 1024]
  --path P, --replay-path R   replay the counterexample a failure printed (with its --seed)`;

const INTS = ['--runs', '--seed', '--max-commands', '--shrink-seconds', '--shards', '--journal-slots'];

export function parseLifecycleArgs(argv: string[], randomSeed: () => number): LifecycleArgs | 'help' {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return 'help';
    if (![...INTS, '--minutes', '--path', '--replay-path'].includes(flag)) throw userError('UnknownFlag', `unknown flag ${JSON.stringify(flag)}\n${USAGE}`);
    const value = argv[++i];
    if (value === undefined) throw userError('MissingFlagValue', `${flag} needs a value`);
    if (INTS.includes(flag) && !/^\d+$/.test(value)) throw userError('InvalidFlagValue', `${flag} ${JSON.stringify(value)} is not a whole number`);
    if (flag === '--minutes' && !(Number(value) > 0)) throw userError('InvalidFlagValue', `--minutes ${JSON.stringify(value)} is not a positive number`);
    given.set(flag, value);
  }
  const int = (flag: string) => (given.has(flag) ? Number(given.get(flag)) : undefined);
  const shards = int('--shards');
  const slots = int('--journal-slots');
  if (shards !== undefined && (shards < 1 || shards > 2)) throw userError('InvalidFlagValue', `--shards ${shards}: 1 or 2`);
  if (slots !== undefined && (slots < 64 || slots > 16_384)) throw userError('InvalidFlagValue', `--journal-slots ${slots}: 64 to 16384`);
  const minutes = given.has('--minutes') ? Number(given.get('--minutes')) : undefined;
  const profiles = (shards ? [shards] : [1, 2]).flatMap((s) => (slots ? [slots] : [64, 1024]).map((journalSlots) => ({ shards: s, journalSlots })));
  return {
    runs: int('--runs') ?? (minutes !== undefined ? Number.MAX_SAFE_INTEGER : 100),
    seed: int('--seed') ?? randomSeed(),
    minutes,
    path: given.get('--path'),
    replayPath: given.get('--replay-path'),
    maxCommands: int('--max-commands') ?? 300,
    shrinkSeconds: int('--shrink-seconds') ?? 300,
    profiles,
  };
}
