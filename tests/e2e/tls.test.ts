// TLS on the binary TCP listener and on HTTP, with a CA made for the test by host/tools/make-test-certs.mjs: the same
// session works over TLS, a plain-text client on the TLS port fails cleanly and harms nothing, and unusable TLS
// files stop the server at startup with one line and exit 2.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { IggyClient } from '../../host/client/client.js';
import { ConnectionClosed } from '../../host/client/errors.js';
import { repoRoot } from '../../host/node/paths.js';
import { freePort, runServer, startServer, stopServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';
import { BOOT_BOUND_MS, ROOT, unique } from './helpers/protocol.js';
import { Rest } from './helpers/rest.js';

describe('tls: binary TCP and HTTP', () => {
  const certs = tempDir('certs');
  const file = (name: string) => path.join(certs, name);
  let server: RunningServer;
  let address: string;
  let ca: string;
  let identity: { cert: string; key: string }; // the client certificate mutual TLS asks for
  const connect = (options: Partial<Parameters<typeof IggyClient.connect>[0]> = {}) =>
    IggyClient.connect({ address, timeoutMs: 5_000, heartbeatMs: 0, ...ROOT, tls: { ca, ...identity }, ...options });

  before(async () => {
    execFileSync(process.execPath, [path.join(repoRoot, 'host/tools/make-test-certs.mjs'), certs], { stdio: 'ignore' });
    ca = fs.readFileSync(file('ca.pem'), 'utf8');
    identity = { cert: fs.readFileSync(file('client.pem'), 'utf8'), key: fs.readFileSync(file('client.key'), 'utf8') };
    address = `127.0.0.1:${await freePort()}`;
    server = await startServer(['--tcp-address', address, '--shards', '2', '--tls-cert', file('server.pem'), '--tls-key', file('server.key'), '--tls-client-ca', file('ca.pem')]);
    await waitFor(`a ping over TLS on ${address}`, BOOT_BOUND_MS, async () => {
      if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
      const client = await connect();
      await client.ping();
      await client.close();
      return true;
    });
  });
  after(async () => {
    if (server) await stopServer(server);
    fs.rmSync(certs, { recursive: true, force: true });
  });

  it('a binary session over TLS: login, create, send, poll', async () => {
    const client = await connect();
    try {
      const stream = unique('tls');
      await client.createStream(stream);
      await client.createTopic({ stream, name: 't', partitionsCount: 1 });
      await client.sendMessages({ stream, topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: [{ payload: 'over tls' }] });
      const polled = await client.pollMessages({ stream, topic: 't', partition: 0, strategy: { kind: 'first' }, count: 10 });
      assert.deepEqual(polled.messages.map((m) => Buffer.from(m.payload).toString()), ['over tls']);
    } finally {
      await client.close();
    }
  });

  it('a client that does not trust the CA is refused in the handshake', async () => {
    await assert.rejects(IggyClient.connect({ address, timeoutMs: 5_000, heartbeatMs: 0, ...ROOT, tls: {} }), (e: unknown) => e instanceof ConnectionClosed && /self-signed|unable to verify|certificate/i.test((e as Error).message));
  });

  it('mutual TLS: a client without a certificate the client CA signed is refused', async () => {
    const anonymous = IggyClient.connect({ address, timeoutMs: 5_000, heartbeatMs: 0, ...ROOT, tls: { ca } });
    await assert.rejects(anonymous, ConnectionClosed);
    const client = await connect();
    assert.ok(client.userId !== null, 'with the certificate it logs in');
    await client.close();
  });

  it('a plain-text client on the TLS port fails cleanly and the server goes on', async () => {
    const plain = await IggyClient.connect({ address, timeoutMs: 5_000, heartbeatMs: 0 });
    await assert.rejects(plain.ping(), ConnectionClosed);
    await plain.close();
    const client = await connect();
    await client.ping();
    await client.close();
    assert.equal(server.child.exitCode, null, 'still running');
    assert.match(server.output(), /TLS handshake.* failed/);
  });

  it('HTTPS: the REST API and /health with the same certificate', async () => {
    const dispatcher = new Agent({ connect: { ca, ...identity } });
    try {
      const rest = new Rest(`https://${server.httpAddress}`, dispatcher);
      assert.equal((await rest.login()).status, 200);
      assert.equal((await rest.call('GET', '/streams')).status, 200);
      assert.equal((await rest.call('GET', '/health', undefined, { token: null })).status, 200);
    } finally {
      await dispatcher.close();
    }
  });

  it('startup: an unreadable file or a key of another certificate is one line and exit 2', async () => {
    const missing = await runServer(['--tls-cert', file('nope.pem'), '--tls-key', file('server.key')]);
    assert.equal(missing.code, 2, missing.output);
    assert.match(missing.output, /TlsFileUnreadable: --tls-cert: cannot read .*nope\.pem: ENOENT/);
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('other.key')], { stdio: 'ignore' });
    const mismatched = await runServer(['--tls-cert', file('server.pem'), '--tls-key', file('other.key')]);
    assert.equal(mismatched.code, 2, mismatched.output);
    assert.match(mismatched.output, /TlsKeyMismatch: .*does not belong to the certificate/);
    assert.equal(mismatched.output.trim().split('\n').filter((l) => /Tls/.test(l)).length, 1, 'one line');
  });
});
