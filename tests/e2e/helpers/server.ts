// Runs the real server as a child process on loopback for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../../host/node/paths.js';
import { freePort } from '../../../host/node/free-port.js';

export { freePort };

export const serverEntry = path.join(repoRoot, 'host', 'bin', 'shardlog-server.mjs');

export interface RunningServer {
  child: ChildProcess;
  httpAddress: string;
  dataDir: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `shardlog-${prefix}-`));
}

// Starts `shardlog-server` with `args` (--http-address and --tcp-address on free ports and a temp --data-dir are
// added unless given; a temp data directory is removed when the server exits, a given one is the caller's).
// Output of both streams is collected. `nofile` runs it with that descriptor limit (ulimit -n, through sh).
export async function startServer(args: string[] = [], env: NodeJS.ProcessEnv = {}, options: { nofile?: number } = {}): Promise<RunningServer> {
  const givenHttp = args.indexOf('--http-address');
  const httpAddress = givenHttp >= 0 ? args[givenHttp + 1] : `127.0.0.1:${await freePort()}`;
  const given = args.indexOf('--data-dir');
  const dataDir = given >= 0 ? args[given + 1] : tempDir('data');
  const fullArgs = [...args];
  if (!args.includes('--http-address')) fullArgs.push('--http-address', httpAddress);
  if (!args.includes('--tcp-address') && !args.includes('--help')) fullArgs.push('--tcp-address', `127.0.0.1:${await freePort()}`);
  if (given < 0) fullArgs.push('--data-dir', dataDir);
  const command = [process.execPath, serverEntry, ...fullArgs];
  const launch = options.nofile === undefined ? command : ['sh', '-c', `ulimit -n ${options.nofile} && exec "$0" "$@"`, ...command];
  const child = spawn(launch[0], launch.slice(1), {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  child.stderr!.on('data', (d) => { text += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      if (given < 0) fs.rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, signal });
    });
  });
  return { child, httpAddress, dataDir, output: () => text, exited };
}

// Runs the server to completion (for commands that must fail fast or print help).
export async function runServer(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000) {
  const server = await startServer(args, env);
  const result = await withTimeout(server.exited, timeoutMs, `server ${args.join(' ')} did not exit`);
  return { ...result, output: server.output() };
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Polls `check` until it returns a value (not undefined) or the bound passes.
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}
