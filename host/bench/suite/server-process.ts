// A peer server the bench starts itself: a child process on loopback in a temp directory, waited for with a
// bound and stopped by the PID this process started (never by name), its directory removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

export class MissingServerBinary extends Error {
  override name = 'MissingServerBinary';
}

export interface ServerProcess {
  readonly pid: number;
  readonly dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

// The absolute path of `binary` on PATH (Debian puts nats-server in /usr/sbin, not on every user's PATH), or null.
export function findBinary(binary: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const full = path.join(dir, binary);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch { /* next */ }
  }
  return null;
}

export function versionOf(binary: string, args: string[]): string {
  const out = spawnSync(binary, args, { encoding: 'utf8', timeout: 10_000 });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

// Starts `command args…` (args may use the temp dir) and polls `ready` until it resolves true, the child exits,
// or the bound passes.
export async function startServer(
  name: string, command: string, args: (dataDir: string) => string[], ready: () => Promise<boolean>,
): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `shardlog-bench-${name}-`));
  const child: ChildProcess = spawn(command, args(dataDir), { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (d: Buffer): void => { text = (text + d.toString()).slice(-20_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const server: ServerProcess = {
    pid: child.pid ?? -1,
    dataDir,
    output: () => text,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => { if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL'); }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  let failure: Error | null = null;
  void spawnError.then((e) => { failure = e; });
  for (;;) {
    if (failure || child.exitCode !== null || child.signalCode !== null) {
      await server.stop();
      throw new ServerStartError(`${name} exited before it was ready${failure ? `: ${(failure as Error).message}` : ''}\n${text}`);
    }
    if (await ready().catch(() => false)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new ServerStartError(`${name} was not ready within ${START_TIMEOUT_MS} ms\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
