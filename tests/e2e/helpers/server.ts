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
  tcpAddress: string | null; // null with --help
  dataDir: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  closed: Promise<void>; // exited, and both output streams read to their end
}

export interface StartOptions {
  nofile?: number; // run it with this descriptor limit (ulimit -n, through sh)
  ports?: () => Promise<number>; // where the addresses not given come from [freePort]; tests hand out a taken one
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `shardlog-${prefix}-`));
}

// Starts `shardlog-server` with `args` (--http-address and --tcp-address on free ports and a temp --data-dir are
// added unless given; a temp data directory is removed when the server exits, a given one is the caller's).
// Output of both streams is collected. It returns once the process is spawned: bootServer waits until it serves.
export async function startServer(args: string[] = [], env: NodeJS.ProcessEnv = {}, options: StartOptions = {}): Promise<RunningServer> {
  const ports = options.ports ?? freePort;
  const givenHttp = args.indexOf('--http-address');
  const httpAddress = givenHttp >= 0 ? args[givenHttp + 1] : `127.0.0.1:${await ports()}`;
  const givenTcp = args.indexOf('--tcp-address');
  const tcpAddress = givenTcp >= 0 ? args[givenTcp + 1] : args.includes('--help') ? null : `127.0.0.1:${await ports()}`;
  const given = args.indexOf('--data-dir');
  const dataDir = given >= 0 ? args[given + 1] : tempDir('data');
  const fullArgs = [...args];
  if (givenHttp < 0) fullArgs.push('--http-address', httpAddress);
  if (givenTcp < 0 && tcpAddress !== null) fullArgs.push('--tcp-address', tcpAddress);
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
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, httpAddress, tcpAddress, dataDir, output: () => text, exited, closed };
}

// A server that exited before it was ready (its exit status and full output in the message).
export class ServerExited extends Error {
  override name = 'ServerExited';
  constructor(readonly code: number | null, readonly output: string) {
    super(`server exited with ${code} before it was ready:\n${output}`);
  }
}

// How a server says it could not bind a port it was given (the TCP listener's EADDRINUSE, the HTTP listener's
// AddressInUse, the replica plane's "cannot listen for replicas: EADDRINUSE").
const PORT_TAKEN = /EADDRINUSE|AddressInUse/;

// A port picked free can be taken by another process on the machine (tests and their clients get ephemeral ports
// from the same range) before the server binds it: seen in CI. Such a boot is tried again on fresh ports, this
// many times in all.
export const BOOT_ATTEMPTS = 3;

// Whether `error` is a server's exit because a port it was given was taken.
export function lostPortRace(error: unknown): boolean {
  return error instanceof ServerExited && PORT_TAKEN.test(error.output);
}

// Runs `boot` (which picks fresh ports each time) until it returns; a boot that lost the race for its ports is run
// again, up to `attempts` in all; any other failure, or the last attempt's, is thrown.
export async function onFreshPorts<T>(boot: () => Promise<T>, attempts = BOOT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await boot();
    } catch (error) {
      if (attempt >= attempts || !lostPortRace(error)) throw error;
    }
  }
}

// The line the server logs once it listens on every address it was given and its shards are ready.
const READY_LINE = /\] shardlog \S+ ready: /;

export const serverLoggedReady = async (server: RunningServer): Promise<boolean> => READY_LINE.test(server.output());

// Waits (bounded) until `ready` holds for `server`; a server that exits first ends the wait at once with
// ServerExited (its output read to the end: the reason is often the last line). A wait that times out kills it.
export async function waitReady(server: RunningServer, ready: (server: RunningServer) => Promise<boolean>, boundMs: number): Promise<void> {
  let outcome: 'ready' | 'exited';
  try {
    outcome = await waitFor(`the server on ${server.tcpAddress} to be ready`, boundMs, async () =>
      (server.child.exitCode !== null || server.child.signalCode !== null ? 'exited' : await ready(server) ? 'ready' : undefined));
  } catch (error) {
    await stopServer(server);
    throw new Error(`${(error as Error).message}\nserver output:\n${server.output()}`);
  }
  if (outcome === 'exited') {
    await server.closed;
    throw new ServerExited(server.child.exitCode, server.output());
  }
}

export interface BootOptions extends StartOptions {
  ready?: (server: RunningServer) => Promise<boolean>; // [serverLoggedReady]; may throw while not yet (waitFor retries)
  boundMs?: number; // [15000]
  attempts?: number; // [BOOT_ATTEMPTS]
}

// Starts a server (as startServer) and waits until it is ready. When the ports are the helper's to pick (neither
// --tcp-address nor --http-address given) a boot that lost the race for them is started again on fresh ones.
export async function bootServer(args: string[] = [], env: NodeJS.ProcessEnv = {}, options: BootOptions = {}): Promise<RunningServer> {
  const picksPorts = !args.includes('--tcp-address') && !args.includes('--http-address');
  return onFreshPorts(async () => {
    const server = await startServer(args, env, options);
    await waitReady(server, options.ready ?? serverLoggedReady, options.boundMs ?? 15_000);
    return server;
  }, picksPorts ? options.attempts : 1);
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
