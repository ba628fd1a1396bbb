// The options of `npm run bench:compare`: every target, interleaved over rounds, for a few kinds.
import { BenchOptionError, DURABILITIES, KINDS, TARGETS, parseSize, type Durability, type Kind, type TargetName } from './options.js';

export interface CompareOptions {
  rounds: number;
  kinds: Kind[];
  targets: TargetName[];
  totalData: number; // per kind and target, over all its measured actors
  producers: number;
  durability: Durability;
  pollsInFlight: number; // shardlog's reading consumers; the peers poll one at a time
  json: boolean;
}

export const COMPARE_DEFAULTS: CompareOptions = {
  rounds: 3, kinds: ['pinned-producer', 'pinned-consumer', 'end-to-end-producing-consumer'], targets: [...TARGETS],
  totalData: 200e6, producers: 2, durability: 'fsync', pollsInFlight: 1, json: false,
};

export const COMPARE_HELP = `usage: npm run bench:compare -- [options]
  --rounds N              rounds; each runs every kind on every target, in a rotated order [${COMPARE_DEFAULTS.rounds}]
  --kinds K[,K…]          kinds to compare [${COMPARE_DEFAULTS.kinds.join(',')}]
  --targets T[,T…]        targets [${COMPARE_DEFAULTS.targets.join(',')}]; a peer whose server is not installed is skipped
  --total-data SIZE       data per kind and target over all its actors [200MB]; the machine limits use the same volume
  --producers N           producers (and consumers) per run [${COMPARE_DEFAULTS.producers}]
  --durability fsync|relaxed  [fsync]
  --polls-in-flight N     polls a shardlog consumer keeps on the wire (npm run bench's flag; NATS and Redis
                          poll one at a time: their reads name the last id, not an offset) [1]
  --json                  print the rows as JSON
  --help`;

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((i) => !(allowed as readonly string[]).includes(i));
  if (items.length === 0 || bad !== undefined) throw new BenchOptionError(`${flag} takes a comma-separated list of ${allowed.join(', ')}, got "${text}"`);
  return items as T[];
}

export function parseCompareOptions(argv: string[]): CompareOptions | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const o: CompareOptions = { ...COMPARE_DEFAULTS, kinds: [...COMPARE_DEFAULTS.kinds], targets: [...COMPARE_DEFAULTS.targets] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--json') { o.json = true; continue; }
    const value = argv[++i];
    if (!['--rounds', '--kinds', '--targets', '--total-data', '--producers', '--durability', '--polls-in-flight'].includes(flag)) throw new BenchOptionError(`unknown option ${flag}`);
    if (value === undefined || value.startsWith('--')) throw new BenchOptionError(`${flag} needs a value`);
    if (flag === '--rounds' || flag === '--producers' || flag === '--polls-in-flight') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1) throw new BenchOptionError(`${flag} must be a positive integer, got "${value}"`);
      o[flag === '--rounds' ? 'rounds' : flag === '--producers' ? 'producers' : 'pollsInFlight'] = n;
    } else if (flag === '--kinds') o.kinds = list(flag, value, KINDS);
    else if (flag === '--targets') o.targets = list(flag, value, TARGETS);
    else if (flag === '--total-data') o.totalData = parseSize(flag, value);
    else if (!(DURABILITIES as readonly string[]).includes(value)) throw new BenchOptionError(`--durability must be one of ${DURABILITIES.join(', ')}, got "${value}"`);
    else o.durability = value as Durability;
  }
  return o;
}
