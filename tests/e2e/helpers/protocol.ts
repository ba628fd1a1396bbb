// Shared set-up of the protocol e2e suites (tests/e2e/protocol-*.test.ts): one real server per file on a free
// loopback port, ready once a TCP connect + Ping succeeds, and IggyClient connections to it.
import fs from 'node:fs';
import { after } from 'node:test';
import { request } from 'undici';
import { IggyClient } from '../../../host/client/client.js';
import { IggyError } from '../../../host/client/errors.js';
import { bootServer, stopServer, tempDir, waitFor, type RunningServer, type StartOptions } from './server.js';

export const ROOT = { username: 'iggy', password: 'iggy' };

export interface ProtocolServer {
  server: RunningServer;
  address: string; // TCP host:port
  tcpPort: number;
  httpPort: number;
  connect(credentials?: { username: string; password: string } | null): Promise<IggyClient>;
  stop(): Promise<void>;
}

export const BOOT_BOUND_MS = 15_000;

// Whether a fresh connection gets a Ping through (it throws while the server does not listen: waitFor retries).
async function pingOnce(address: string): Promise<boolean> {
  const client = await IggyClient.connect({ address, timeoutMs: 1_000 });
  try {
    await client.ping();
    return true;
  } finally {
    await client.close();
  }
}

// Starts a server with 2 shards (plus `args`) and waits until it answers a Ping. Without `tcpPort` its ports are
// the helper's: a boot that finds one taken is started again on fresh ports (bootServer).
export async function startProtocolServer(args: string[] = [], env: NodeJS.ProcessEnv = {}, tcpPort?: number, options: StartOptions = {}): Promise<ProtocolServer> {
  const given = tcpPort === undefined ? [] : ['--tcp-address', `127.0.0.1:${tcpPort}`];
  const server = await bootServer([...given, '--shards', '2', ...args], env, { ...options, ready: (s) => pingOnce(s.tcpAddress!), boundMs: BOOT_BOUND_MS });
  const address = server.tcpAddress!;
  return {
    server,
    address,
    tcpPort: Number(address.split(':')[1]),
    httpPort: Number(server.httpAddress.split(':')[1]),
    connect: (credentials = ROOT) => IggyClient.connect({ address, timeoutMs: 10_000, ...(credentials ?? {}) }),
    stop: () => stopServer(server),
  };
}

// A name no other test in the file uses, so tests stay independent of each other's leftovers.
let counter = 0;
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

// Polls `check` until it holds (bounded): for state that settles asynchronously on the server, like a
// disconnected client leaving its consumer groups.
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, timeoutMs, async () => ((await check()) ? true : undefined));
}

// assert.rejects predicate: an IggyError (status or result section) with this code.
export const code = (n: number) => (e: unknown) => e instanceof IggyError && e.code === n;

export interface StreamFixture {
  s: ProtocolServer;
  c: IggyClient; // logged in as root
  stream: number;
  topic: number;
}

// The set-up most suites share: a server, a root client, and a fresh stream with one topic of `partitions`.
export async function openStreamFixture(prefix: string, topicName: string, partitions: number): Promise<StreamFixture> {
  const s = await startProtocolServer();
  const c = await s.connect();
  const stream = (await c.createStream(unique(prefix))).id;
  const topic = (await c.createTopic({ stream, name: topicName, partitionsCount: partitions })).id;
  return { s, c, stream, topic };
}

export async function closeStreamFixture(f: Partial<StreamFixture>): Promise<void> {
  await f.c?.close();
  await f.s?.stop();
}

// A per-shard counter of the serving shards from /metrics, summed: every shard accepts connections, and each
// counts what its connections did.
export async function servingMetric(s: ProtocolServer, name: string): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${s.httpPort}/metrics`)).body.text();
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{shard="`));
  if (lines.length === 0) throw new Error(`${name} is not in /metrics`);
  return lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

// A suite's servers on one data directory, started one after another (restarts, crashes): after the suite, those
// still running are killed and the directory is removed. Call it inside describe().
export interface ServerSeries {
  dataDir: string;
  started: ProtocolServer[];
  start(args?: string[], env?: NodeJS.ProcessEnv): Promise<ProtocolServer>;
}

export function serverSeries(prefix: string): ServerSeries {
  const dataDir = tempDir(prefix);
  const started: ProtocolServer[] = [];
  after(async () => {
    for (const s of started) if (s.server.child.exitCode === null && s.server.child.signalCode === null) s.server.child.kill('SIGKILL');
    await Promise.all(started.map((s) => s.server.exited));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    started,
    async start(args = [], env = {}) {
      const server = await startProtocolServer(['--data-dir', dataDir, ...args], env);
      started.push(server);
      return server;
    },
  };
}
