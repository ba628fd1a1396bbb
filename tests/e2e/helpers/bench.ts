// Runs `npm run bench`'s compiled entry as a child process and returns its exit code and output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../../host/node/paths.js';
import { withTimeout } from './server.js';

export const benchEntry = path.join(repoRoot, 'dist', 'host', 'bench', 'suite', 'main.js');

export interface BenchRun { code: number | null; stdout: string; stderr: string }

export async function runBench(args: string[], timeoutMs = 60_000): Promise<BenchRun> {
  const child = spawn(process.execPath, [benchEntry, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const code = await withTimeout(new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))), timeoutMs, `bench ${args.join(' ')} did not finish`)
    .catch((error) => { child.kill('SIGKILL'); throw error; });
  return { code, stdout, stderr };
}

export interface BenchJsonRow { target: string; version: string; kind: string; role: string; durability: string; durability_detail: string; mb_per_s: number; msg_per_s: number; bytes: number; p50_ms: number; p99_ms: number; p999_ms: number; max_ms: number }

// A tiny run (2 MB of 1000-B messages in batches of 100) with --json; returns the parsed rows.
export async function runTiny(kind: string, target: string, extra: string[] = []): Promise<BenchJsonRow[]> {
  const run = await runBench([kind, '--target', target, '--total-data', '2MB', '--messages-per-batch', '100', '--json', ...extra]);
  if (run.code !== 0) throw new Error(`bench ${kind} --target ${target} exited ${run.code}\n${run.stderr}`);
  return (JSON.parse(run.stdout) as { results: BenchJsonRow[] }).results;
}
