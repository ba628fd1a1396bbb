// One shardlog server process under the nemesis: started on fixed loopback ports and one data directory (so a
// restart is the same node), killed, paused and resumed by signal. Its output is kept for the report (the last
// start's in memory; every start's appended to `logFile` when given, a cluster run's replica logs).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { IggyClient } from '../client/client.js';
import { repoRoot } from '../node/paths.js';

const SERVER_ENTRY = path.join(repoRoot, 'host', 'bin', 'shardlog-server.mjs');
const BOOT_BOUND_MS = 30_000;

// `wrap`: a command the server runs under (a cluster replica in its network namespace: `ip netns exec NS`, which
// execs in place, so the pid and its signals stay the server's).
export interface NodeAddresses { tcp: string; http: string; dataDir: string; shards: number; args?: string[]; wrap?: string[] }

// What the torture runs read of /health: the node's status and damage reports, and a cluster replica's consensus
// groups (the metadata group and each partition's: status `normal` once it takes part again).
export interface GroupHealth { group: string; role: string; status: string; view: number; op: number; commit: number }
export interface NodeHealth {
  status: string;
  reasons: { kind: string; subject: string; detail: string }[];
  replicas?: { groups?: GroupHealth[] };
}

export type BootOutcome = { ok: true } | { ok: false; code: number | null; signal: string | null; output: string };

export class NodeProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private text = '';
  paused = false;
  starts = 0;
  private killed = false; // the last exit was our SIGKILL

  constructor(readonly addresses: NodeAddresses, private readonly env: NodeJS.ProcessEnv = {}, readonly logFile?: string) {}

  get running(): boolean { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null; }
  get pid(): number | undefined { return this.child?.pid; }
  // It exited without our SIGKILL (a failed shard stops the process): how, and why (the [main] line that says what
  // failed, else its first ERROR line); null otherwise.
  get crash(): string | null {
    const c = this.child;
    if (c === null || this.running || this.killed) return null;
    const errors = this.text.split('\n').filter((line) => line.includes(' ERROR '));
    const error = errors.find((line) => / \[main\] .*failed/.test(line)) ?? errors[0] ?? '(no ERROR line)';
    return `exit ${c.exitCode ?? c.signalCode}: ${error}`;
  }
  output(): string { return this.text; }

  // Starts the server and waits until a Ping gets through, or until it exits (a refused boot: that outcome is
  // returned, not thrown, since the nemesis may have earned it).
  async start(): Promise<BootOutcome> {
    const a = this.addresses;
    this.text = '';
    const command = [...(a.wrap ?? []), process.execPath, SERVER_ENTRY, '--shards', String(a.shards), '--data-dir', a.dataDir, '--tcp-address', a.tcp, '--http-address', a.http, ...(a.args ?? [])];
    const child = spawn(command[0], command.slice(1), {
      cwd: repoRoot, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.killed = false;
    this.starts += 1;
    this.paused = false;
    const keep = (d: Buffer) => {
      this.text += d;
      if (this.logFile) fs.appendFileSync(this.logFile, d);
    };
    if (this.logFile) fs.appendFileSync(this.logFile, `--- torture: start ${this.starts} (pid ${child.pid}) at ${new Date().toISOString()}\n`);
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + BOOT_BOUND_MS;
    while (Date.now() < deadline) {
      if (!this.running) return { ok: false, code: child.exitCode, signal: child.signalCode, output: this.text };
      if (await pingOnce(a.tcp)) return { ok: true };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the server did not answer a Ping on ${a.tcp} within ${BOOT_BOUND_MS} ms:\n${this.text}`);
  }

  async kill(): Promise<void> {
    if (this.running) {
      this.killed = true;
      if (this.logFile) fs.appendFileSync(this.logFile, `--- torture: SIGKILL pid ${this.pid} at ${new Date().toISOString()}\n`);
      this.child!.kill('SIGKILL');
    }
    await this.exited;
    this.paused = false;
  }

  pause(): void { if (this.running && !this.paused) { this.mark('SIGSTOP'); this.child!.kill('SIGSTOP'); this.paused = true; } }
  resume(): void { if (this.running && this.paused) { this.mark('SIGCONT'); this.child!.kill('SIGCONT'); this.paused = false; } }

  // A `--- torture:` line in the log file: what the nemesis did to this replica's surroundings (a link cut, its
  // disk filled), for a reader matching the replica's own lines to the faults.
  note(what: string): void { this.mark(what); }

  private mark(what: string): void {
    if (this.logFile) fs.appendFileSync(this.logFile, `--- torture: ${what} pid ${this.pid} at ${new Date().toISOString()}\n`);
  }

  async health(): Promise<NodeHealth> {
    const res = await request(`http://${this.addresses.http}/health`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    return (await res.body.json()) as NodeHealth;
  }
}

async function pingOnce(address: string): Promise<boolean> {
  let client: IggyClient | undefined;
  try {
    client = await IggyClient.connect({ address, timeoutMs: 1_000 });
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    await client?.close().catch(() => {});
  }
}
