// `npm run bench:compare`: the same workloads on shardlog, NATS JetStream and Redis Streams, interleaved over
// rounds (round r runs the targets in a rotated order), with the machine's own limits measured in each round with
// the same volume. Prints one table of medians, min..max and ratios to shardlog.
import { COMPARE_HELP, parseCompareOptions, type CompareOptions } from './compare-options.js';
import { loopbackTcpMBps, writeFdatasyncMBps } from './machine-limits.js';
import { machine } from './machine.js';
import { BenchOptionError, DEFAULTS, type BenchOptions, type TargetName } from './options.js';
import { jsonRows, type JsonRow } from './report.js';
import { runBench } from './run.js';
import { rotated, spread, type Spread } from './stats.js';
import { MissingServerBinary } from './server-process.js';
import { makeTarget } from './targets/index.js';

interface Cell { mb: number[]; p99: number[]; failures: string[]; durability: string }

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

function available(o: CompareOptions): TargetName[] {
  return o.targets.filter((t) => {
    try {
      makeTarget(t, { messageSize: DEFAULTS.messageSize, messagesPerBatch: DEFAULTS.messagesPerBatch, durability: o.durability, shards: DEFAULTS.shards });
      return true;
    } catch (error) {
      if (!(error instanceof MissingServerBinary)) throw error;
      console.error(`bench:compare: skipping ${t}: ${error.message}`);
      return false;
    }
  });
}

function benchOptions(o: CompareOptions, kind: BenchOptions['kind'], target: TargetName): BenchOptions {
  return {
    kind, target, transport: 'tcp', producers: o.producers, consumers: o.producers, streams: null, partitions: null,
    messageSize: DEFAULTS.messageSize, messagesPerBatch: DEFAULTS.messagesPerBatch, messageBatches: null, totalData: o.totalData,
    rateLimit: null, durability: o.durability, shards: DEFAULTS.shards, pollsInFlight: target === 'shardlog' ? o.pollsInFlight : 1, json: false, report: null,
  };
}

async function compare(o: CompareOptions): Promise<void> {
  const targets = available(o);
  const cells = new Map<string, Cell>(); // `${kind}|${role}|${target}`
  const tcp: number[] = [];
  const disk: number[] = [];
  const rows: JsonRow[] = [];
  for (let round = 0; round < o.rounds; round++) {
    tcp.push(await loopbackTcpMBps(o.totalData));
    disk.push(writeFdatasyncMBps(o.totalData));
    console.error(`round ${round + 1}/${o.rounds}: loopback TCP ${f1(tcp.at(-1)!)} MB/s, 1 MiB write+fdatasync ${f1(disk.at(-1)!)} MB/s`);
    for (const kind of o.kinds) {
      for (const target of rotated(targets, round)) {
        try {
          const result = await runBench(benchOptions(o, kind, target));
          for (const row of jsonRows(result)) {
            rows.push({ ...row, round: round + 1 } as JsonRow);
            const cell = cellOf(cells, kind, row.role, target);
            cell.mb.push(row.mb_per_s);
            cell.p99.push(row.p99_ms);
            cell.durability = row.durability_detail;
            console.error(`  ${kind} ${row.role} ${target}: ${f1(row.mb_per_s)} MB/s, p99 ${row.p99_ms.toFixed(2)} ms`);
          }
        } catch (error) {
          if (error instanceof BenchOptionError) throw error;
          const message = `${(error as Error).name}: ${(error as Error).message.split('\n')[0]}`;
          cellOf(cells, kind, '?', target).failures.push(message);
          console.error(`  ${kind} ${target}: FAILED ${message}`);
        }
      }
    }
  }
  if (o.json) {
    console.log(JSON.stringify({ machine: machine(), loopback_tcp_mb_per_s: spread(tcp), write_fdatasync_mb_per_s: spread(disk), results: rows }, null, 2));
    return;
  }
  console.log(summary(o, targets, cells, spread(tcp), spread(disk), rows, tcp));
}

function cellOf(cells: Map<string, Cell>, kind: string, role: string, target: string): Cell {
  const key = `${kind}|${role}|${target}`;
  let cell = cells.get(key);
  if (!cell) cells.set(key, cell = { mb: [], p99: [], failures: [], durability: '' });
  return cell;
}

function summary(o: CompareOptions, targets: TargetName[], cells: Map<string, Cell>, tcp: Spread, disk: Spread, rows: JsonRow[], tcpByRound: number[]): string {
  const m = machine();
  const range = (s: Spread): string => `${f1(s.min)}..${f1(s.max)}`;
  const lines = [
    `bench:compare, ${o.rounds} round(s), ${(o.totalData / 1e6).toFixed(0)} MB per run (${(o.totalData / o.producers / 1e6).toFixed(0)} MB per actor, ${o.producers} actors), ` +
      `1000 × 1000 B batches, durability ${o.durability}; ${m.cpus} cpus, ${m.kernel}, node ${m.node}`,
    `machine: loopback TCP ${f1(tcp.median)} MB/s (${range(tcp)}), 1 MiB write + fdatasync ${f1(disk.median)} MB/s (${range(disk)})`,
    '',
    `${'kind'.padEnd(31)}${'role'.padEnd(21)}${'target'.padEnd(10)}${'MB/s median'.padStart(12)}${'min..max'.padStart(16)}${'shardlog ×'.padStart(12)}${'p99 ms'.padStart(9)}${'min..max'.padStart(16)}`,
  ];
  const roles = [...new Set([...cells.keys()].map((k) => k.split('|').slice(0, 2).join('|')))].filter((k) => !k.endsWith('|?'));
  for (const kr of roles) {
    const [kind, role] = kr.split('|');
    const base = spread(cells.get(`${kr}|shardlog`)?.mb ?? []);
    for (const t of targets) {
      const cell = cells.get(`${kr}|${t}`);
      const failures = cells.get(`${kind}|?|${t}`)?.failures ?? [];
      if (!cell) { lines.push(`${kind.padEnd(31)}${role.padEnd(21)}${t.padEnd(10)}  failed: ${failures[0] ?? 'no result'}`); continue; }
      const mb = spread(cell.mb);
      const p99 = spread(cell.p99);
      const ratio = t === 'shardlog' ? '1.0' : f1(base.median / mb.median);
      lines.push(`${kind.padEnd(31)}${role.padEnd(21)}${t.padEnd(10)}${f1(mb.median).padStart(12)}${range(mb).padStart(16)}${ratio.padStart(12)}${p99.median.toFixed(2).padStart(9)}${`${p99.min.toFixed(1)}..${p99.max.toFixed(1)}`.padStart(16)}` +
        `${failures.length ? `  (${failures.length} failed)` : ''}`);
    }
  }
  const sendKey = 'pinned-producer|producers|shardlog';
  const pollKey = 'pinned-consumer|consumers|shardlog';
  lines.push('');
  if (cells.has(sendKey)) lines.push(`shardlog pinned-producer = ${f1((spread(cells.get(sendKey)!.mb).median / disk.median) * 100)} % of the write + fdatasync rate`);
  if (cells.has(pollKey)) {
    // Also per round (the consumer against the loopback rate measured just before it): the machine's slow phases
    // move both.
    const perRound = tcpByRound.map((t, r) => ((rows.find((x) => (x as JsonRow & { round: number }).round === r + 1 && x.kind === 'pinned-consumer' && x.target === 'shardlog')?.mb_per_s ?? NaN) / t) * 100);
    lines.push(`shardlog pinned-consumer = ${f1((spread(cells.get(pollKey)!.mb).median / tcp.median) * 100)} % of loopback TCP (per round: ${perRound.map(f1).join(', ')} %)` +
      `${o.pollsInFlight > 1 ? `; shardlog consumers keep ${o.pollsInFlight} polls in flight, the peers one` : ''}`);
  }
  lines.push('durability as run:');
  for (const t of targets) {
    const any = [...cells.entries()].find(([k, c]) => k.endsWith(`|${t}`) && c.durability);
    if (any) lines.push(`  ${t}: ${any[1].durability}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  let o: CompareOptions | null;
  try {
    o = parseCompareOptions(argv);
    if (o === null) { console.log(COMPARE_HELP); return 0; }
    await compare(o);
    return 0;
  } catch (error) {
    console.error(`bench:compare: ${(error as Error).name}: ${(error as Error).message}`);
    return error instanceof BenchOptionError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
