// The same session over TLS on both listeners, with a CA made in the test (host/tools/make-test-certs.mjs): the
// `shardlog` CLI spawned as a user runs it over HTTPS (--http-address) and binary TLS (--tcp-address), both trusting
// the CA with --tls-ca; refusals (a CA it does not trust, a wrong password) exit 1 with one line; the SDK's
// HttpClient over HTTPS; and the reconnecting IggyClient over TLS going on across a server restart.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpClient, IggyClient } from 'shardlog/client';
import { repoRoot } from '../../host/node/paths.js';
import { freePort, startServer, stopServer, tempDir, waitFor, withTimeout, type RunningServer } from './helpers/server.js';
import { BOOT_BOUND_MS, ROOT, unique } from './helpers/protocol.js';

const BIN = path.join(repoRoot, 'host', 'bin', 'shardlog.mjs');
const LOGIN = ['--username', 'iggy', '--password', 'iggy'];

interface Run { code: number | null; stdout: string; stderr: string }

describe('tls: the CLI and the SDK over HTTPS and binary TLS', () => {
  const certs = tempDir('cli-certs');
  const dataDir = tempDir('cli-tls-data');
  const file = (name: string) => path.join(certs, name);
  let server: RunningServer;
  let tcp: string;
  let http: string;
  let serverArgs: string[];
  let env: NodeJS.ProcessEnv;

  function cli(args: string[]): Promise<Run> {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.end('');
    return withTimeout(new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))), 30_000, `shardlog ${args.join(' ')} exited`);
  }

  const json = async (args: string[]) => {
    const r = await cli([...args, '--json']);
    assert.equal(r.code, 0, `shardlog ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  async function boot(): Promise<void> {
    server = await startServer(serverArgs);
    await waitFor(`a ping over TLS on ${tcp}`, BOOT_BOUND_MS, async () => {
      if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
      const client = await IggyClient.connect({ address: tcp, timeoutMs: 2_000, heartbeatMs: 0, tls: { ca: fs.readFileSync(file('ca.pem')) } }).catch(() => null);
      if (!client) return undefined;
      await client.close();
      return true;
    });
  }

  before(async () => {
    execFileSync(process.execPath, [path.join(repoRoot, 'host/tools/make-test-certs.mjs'), certs], { stdio: 'ignore' });
    tcp = `127.0.0.1:${await freePort()}`;
    http = `127.0.0.1:${await freePort()}`;
    serverArgs = ['--tcp-address', tcp, '--http-address', http, '--data-dir', dataDir, '--tls-cert', file('server.pem'), '--tls-key', file('server.key')];
    await boot();
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHARDLOG_')));
    Object.assign(env, { XDG_CONFIG_HOME: tempDir('cli-tls-home') });
  });
  after(async () => {
    if (server) await stopServer(server);
    for (const dir of [certs, dataDir, env?.XDG_CONFIG_HOME]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the CLI over HTTPS: create -> send -> poll -> offsets -> delete, with --json', async () => {
    const over = ['--http-address', http, '--tls-ca', file('ca.pem'), ...LOGIN];
    const stream = unique('cli-https');
    assert.equal((await json(['stream', 'create', stream, ...over])).name, stream);
    assert.equal((await json(['topic', 'create', stream, 't', '--partitions', '2', ...over])).partitionsCount, 2);
    assert.deepEqual(await json(['send', stream, 't', 'a', 'b', '--partition', '1', '--headers', 'src=https', ...over]), { sent: 2, batches: [{ partitionId: 1, baseOffset: 0, count: 2 }] });
    const polled = await json(['poll', stream, 't', '--partition', '1', '--consumer', '4', '--next', '--commit', ...over]);
    assert.deepEqual(polled.map((m: { offset: number; payload: string }) => [m.offset, m.payload]), [[0, 'a'], [1, 'b']]);
    assert.deepEqual(polled[0].headers, { src: 'https' });
    assert.equal((await json(['offset', 'get', stream, 't', '--partition', '1', '--consumer', '4', ...over])).storedOffset, 1);
    await json(['stream', 'delete', stream, ...over]);
    // SHARDLOG_HTTP_ADDRESS picks HTTP just as the flag does (what it says about the cluster is the server's).
    env.SHARDLOG_HTTP_ADDRESS = http;
    try {
      const cluster = await json(['cluster', '--tls-ca', file('ca.pem'), ...LOGIN]);
      assert.equal(cluster.nodes[0].tcpPort, Number(tcp.split(':')[1]));
    } finally {
      delete env.SHARDLOG_HTTP_ADDRESS;
    }
  });

  it('the CLI over binary TLS, and the refusals: an untrusted server, a wrong password, both transports named', async () => {
    const over = ['--tcp-address', tcp, '--tls-ca', file('ca.pem'), ...LOGIN];
    const stream = unique('cli-tls');
    await json(['stream', 'create', stream, ...over]);
    await json(['topic', 'create', stream, 't', ...over]);
    await json(['send', stream, 't', 'x', '--partition', '0', ...over]);
    assert.deepEqual((await json(['poll', stream, 't', ...over])).map((m: { payload: string }) => m.payload), ['x']);
    await json(['stream', 'delete', stream, ...over]);

    const failures: [string[], RegExp][] = [
      [['stream', 'list', '--http-address', http, ...LOGIN], /^shardlog: .*(socket|closed|other side|reset)/i], // plain HTTP on the TLS port
      [['stream', 'list', '--http-address', http, '--tls-ca', file('client.pem'), ...LOGIN], /certificate/i], // a CA that did not sign it
      [['stream', 'list', '--http-address', http, '--tls-ca', file('ca.pem'), '--username', 'iggy', '--password', 'wrong'], /^shardlog: InvalidCredentials \(42\)/],
      [['stream', 'list', '--tcp-address', tcp, '--tls-ca', file('ca.pem'), '--username', 'iggy', '--password', 'wrong'], /InvalidCredentials/],
    ];
    for (const [args, line] of failures) {
      const r = await cli(args);
      assert.equal(r.code, 1, `shardlog ${args.join(' ')}: exit ${r.code}, ${r.stderr}`);
      assert.match(r.stderr, line);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const both = await cli(['stream', 'list', '--http-address', http, '--tcp-address', tcp, ...LOGIN]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--tcp-address and --http-address exclude each other/);
  });

  it('the SDK: HttpClient over HTTPS; a reconnecting IggyClient over TLS goes on after a server restart', async () => {
    const ca = fs.readFileSync(file('ca.pem'));
    const web = await HttpClient.connect({ address: http, tls: { ca }, ...ROOT });
    const stream = unique('sdk-tls');
    try {
      await web.createStream(stream);
      await web.createTopic({ stream, name: 't', partitionsCount: 1 });
      await web.sendMessages({ stream, topic: 't', messages: [{ payload: 'before' }] });
    } finally {
      await web.close();
    }
    const client = await IggyClient.connect({ address: tcp, tls: { ca }, ...ROOT, heartbeatMs: 0, reconnect: { retries: 100, initialDelayMs: 50, maxDelayMs: 200 } });
    try {
      assert.equal((await client.pollMessages({ stream, topic: 't', partition: 0, strategy: { kind: 'first' }, count: 10 })).messages.length, 1);
      await stopServer(server);
      await boot();
      // The first call finds the socket gone, reconnects over TLS, logs in again and is answered.
      const polled = await client.pollMessages({ stream, topic: 't', partition: 0, strategy: { kind: 'first' }, count: 10 });
      assert.deepEqual(polled.messages.map((m) => Buffer.from(m.payload).toString()), ['before']);
      assert.ok(client.reconnects >= 1, 'it reconnected');
    } finally {
      await client.close();
    }
  });
});
