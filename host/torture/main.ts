// `npm run torture -- [--minutes M | --seconds S] [--seed S] [--cluster 3|1] [--history FILE]`: one torture run of
// a 3-replica cluster (cluster-run.ts; --cluster 1: a single node, run.ts), its figures and the checker's verdict;
// `npm run torture -- --check FILE`: the checker's verdict on a recorded history. Exit 0 when valid, 1 on any
// anomaly or failure, 2 on bad usage.
import { parseArgs } from 'node:util';
import { checkFile, formatVerdict } from './checker.js';
import { CLUSTER_FAULTS } from './cluster-nemesis.js';
import { formatClusterResult, runClusterTorture } from './cluster-run.js';
import { FAULTS } from './nemesis.js';
import { formatResult, runTorture } from './run.js';

const USAGE = `usage: npm run torture -- [--minutes M | --seconds S] [--seed S] [--cluster 3|1] [--faults K,...] [--history FILE]
       npm run torture -- --check FILE
  --minutes M     how long the nemesis runs [1]
  --seconds S     the same in seconds (short profiles)
  --seed S        the seed of the nemesis and the workload [random, printed]
  --cluster N     3: a 3-replica cluster (kills, pauses, link cuts, a wiped replica, disk-full, bit flips;
                  link cuts need network namespaces and disk-full a tmpfs: root, else left out and said) [3];
                  1: a single node with 2 shards (kills, pauses, bit flips, disk-full)
  --faults K,...  only these fault kinds [all]: cluster ${CLUSTER_FAULTS.join(',')}; single node ${FAULTS.join(',')}
  --history FILE  where the history goes (JSON lines) [a file in a temp directory, printed]
  --check FILE    no run: check the history a run recorded in FILE`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: {
      minutes: { type: 'string' }, seconds: { type: 'string' }, seed: { type: 'string' }, cluster: { type: 'string' }, history: { type: 'string' }, check: { type: 'string' }, faults: { type: 'string' }, help: { type: 'boolean' },
    } }));
  } catch (error) {
    console.error(`torture: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  if (values.check !== undefined) {
    const verdict = await checkFile(values.check);
    console.log(formatVerdict(verdict));
    return verdict.valid ? 0 : 1;
  }
  const cluster = values.cluster ?? '3';
  if (cluster !== '1' && cluster !== '3') { console.error(`torture: --cluster must be 1 or 3, not ${JSON.stringify(cluster)}\n${USAGE}`); return 2; }
  const seconds = values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes ?? '1') * 60;
  if (!Number.isFinite(seconds) || seconds <= 0) { console.error(`torture: the duration must be a positive number\n${USAGE}`); return 2; }
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed) || seed < 0) { console.error(`torture: --seed must be a non-negative integer, not ${JSON.stringify(values.seed)}`); return 2; }
  const kinds: readonly string[] = cluster === '3' ? CLUSTER_FAULTS : FAULTS;
  const faults = values.faults?.split(',').map((k) => k.trim());
  const unknown = faults?.filter((k) => !kinds.includes(k)) ?? [];
  if (faults !== undefined && (unknown.length > 0 || faults.length === 0)) {
    console.error(`torture: --faults takes kinds of --cluster ${cluster} (${kinds.join(', ')}), not ${JSON.stringify(unknown.join(',') || values.faults)}\n${USAGE}`);
    return 2;
  }
  if (cluster === '3') {
    const result = await runClusterTorture({ seconds, seed, historyFile: values.history, faults: faults as (typeof CLUSTER_FAULTS[number])[] | undefined });
    console.log(formatClusterResult(result));
    return result.ok ? 0 : 1;
  }
  const result = await runTorture({ seconds, seed, historyFile: values.history, faults: faults as (typeof FAULTS[number])[] | undefined });
  console.log(formatResult(result));
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`torture: ${error instanceof Error ? error.stack : error}`);
  process.exit(1); // open sockets of the workload must not keep a failed run alive
});
