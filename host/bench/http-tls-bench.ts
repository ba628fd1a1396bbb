// `npm run bench:http`: the REST API and TLS next to plain binary TCP, in one run. Two servers on loopback (one
// plain, one with TLS on both listeners, certificates from make-test-certs.mjs); one producer sends `--batches`
// batches of `--messages` × `--size` B, one request at a time, then polls them back by offset, over: binary TCP,
// HTTP (undici, keep-alive, JSON with base64 payloads as Iggy's API), binary TCP over TLS, taking turns
// (`--rounds`). Prints the median MB/s of each.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { IggyClient } from '../client/client.js';
import { buildBatch } from '../client/batch.js';
import * as req from '../client/requests.js';
import { repoRoot } from '../node/paths.js';
import { freePort } from '../node/free-port.js';

const args = Object.fromEntries(process.argv.slice(2).reduce<string[][]>((pairs, a, i, all) => (i % 2 === 0 ? [...pairs, [a.replace(/^--/, ''), all[i + 1]]] : pairs), []));
const BATCHES = Number(args.batches ?? 30);
const MESSAGES = Number(args.messages ?? 1000);
const SIZE = Number(args.size ?? 1000);
const FSYNC = args.fsync ?? 'every-batch';
const ROUNDS = Number(args.rounds ?? 3); // the three transports take turns this many times; medians are printed

interface Server { child: ChildProcess; tcp: string; http: string; dir: string }

async function start(tls: { cert: string; key: string } | null, ca: string | null): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-httpbench-'));
  const tcp = `127.0.0.1:${await freePort()}`;
  const http = `127.0.0.1:${await freePort()}`;
  const flags = ['--shards', '2', '--data-dir', dir, '--tcp-address', tcp, '--http-address', http, '--fsync', FSYNC, '--log-level', 'warn',
    '--http-max-request-bytes', String(8 << 20), ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : [])];
  const child = spawn(process.execPath, [path.join(repoRoot, 'host/bin/shardlog-server.mjs'), ...flags], { stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await IggyClient.connect({ address: tcp, timeoutMs: 1000, heartbeatMs: 0, ...(ca ? { tls: { ca } } : {}) });
      await c.ping();
      await c.close();
      return { child, tcp, http, dir };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not come up: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const mbps = (bytes: number, ms: number) => (bytes / (ms / 1000) / 1e6).toFixed(1);

async function binary(label: string, address: string, ca: string | null): Promise<[number, number]> {
  const client = await IggyClient.connect({ address, username: 'iggy', password: 'iggy', heartbeatMs: 0, ...(ca ? { tls: { ca } } : {}) });
  const name = `bench-${label}-${Date.now()}`;
  await client.createStream(name);
  await client.createTopic({ stream: name, name: 't', partitionsCount: 1 });
  const messages = Array.from({ length: MESSAGES }, (_, i) => ({ id: BigInt(i + 1), payload: new Uint8Array(SIZE).fill(0x61) }));
  const body = req.sendMessages({ stream: name, topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages }, buildBatch(messages));
  let t = performance.now();
  for (let b = 0; b < BATCHES; b++) await client.rawCommand(101, body);
  const send = performance.now() - t;
  t = performance.now();
  for (let offset = 0; offset < BATCHES * MESSAGES;) {
    const polled = await client.pollMessages({ stream: name, topic: 't', partition: 0, strategy: { kind: 'offset', value: BigInt(offset) }, count: MESSAGES });
    offset += polled.count;
  }
  const poll = performance.now() - t;
  await client.close();
  return [send, poll];
}

async function http(base: string, dispatcher: Dispatcher): Promise<[number, number]> {
  const call = async (method: Dispatcher.HttpMethod, p: string, token: string | null, body?: string) => {
    const res = await request(`${base}${p}`, { method, dispatcher, body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 200)}`);
    return text;
  };
  const token = JSON.parse(await call('POST', '/users/login', null, JSON.stringify({ username: 'iggy', password: 'iggy' }))).access_token.token as string;
  const name = `bench-http-${Date.now()}`;
  await call('POST', '/streams', token, JSON.stringify({ name }));
  await call('POST', `/streams/${name}/topics`, token, JSON.stringify({ name: 't', partitions_count: 1 }));
  const payload = Buffer.alloc(SIZE, 0x61).toString('base64');
  const body = JSON.stringify({ partitioning: { kind: 'partition_id', value: 0 }, messages: Array.from({ length: MESSAGES }, (_, i) => ({ id: i + 1, payload })) });
  let t = performance.now();
  for (let b = 0; b < BATCHES; b++) await call('POST', `/streams/${name}/topics/t/messages`, token, body);
  const send = performance.now() - t;
  t = performance.now();
  for (let offset = 0; offset < BATCHES * MESSAGES;) {
    const polled = JSON.parse(await call('GET', `/streams/${name}/topics/t/messages?partition_id=0&kind=offset&value=${offset}&count=${MESSAGES}`, token));
    offset += polled.count;
  }
  return [send, performance.now() - t];
}

async function main(): Promise<void> {
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-httpbench-certs-'));
  execFileSync(process.execPath, [path.join(repoRoot, 'host/tools/make-test-certs.mjs'), certs], { stdio: 'ignore' });
  const ca = fs.readFileSync(path.join(certs, 'ca.pem'), 'utf8');
  const plain = await start(null, null);
  const secure = await start({ cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server.key') }, ca);
  const bytes = BATCHES * MESSAGES * SIZE;
  console.log(`http/tls bench: ${BATCHES} batches × ${MESSAGES} msg × ${SIZE} B, 1 producer then 1 consumer, 2 shards, fsync ${FSYNC}`);
  try {
    const agent = new Agent({ connections: 1 });
    const runs: Record<string, [number, number][]> = { 'binary TCP': [], 'binary TCP+TLS': [], 'HTTP (undici)': [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs['binary TCP'].push(await binary('tcp', plain.tcp, null));
      runs['binary TCP+TLS'].push(await binary('tls', secure.tcp, ca));
      runs['HTTP (undici)'].push(await http(`http://${plain.http}`, agent));
    }
    await agent.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [label, results] of Object.entries(runs)) {
      const [send, poll] = [median(results.map((r) => r[0])), median(results.map((r) => r[1]))];
      console.log(`${label.padEnd(16)} send ${mbps(bytes, send).padStart(7)} MB/s   poll ${mbps(bytes, poll).padStart(7)} MB/s   (median of ${ROUNDS})`);
    }
  } finally {
    for (const s of [plain, secure]) {
      s.child.kill('SIGTERM');
      await new Promise((resolve) => s.child.once('exit', resolve));
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
    fs.rmSync(certs, { recursive: true, force: true });
  }
}

await main();
