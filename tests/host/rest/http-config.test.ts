// The HTTP/TLS settings: flags, env and config keys; a JWT secret too short is refused without echoing it; TLS
// material that is incomplete, unreadable or mismatched is a named error; CORS headers only for configured origins.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type http from 'node:http';
import { parseConfig } from '../../../host/node/config.js';
import { corsPolicy } from '../../../host/node/http.js';
import { loadTls } from '../../../host/node/tls-material.js';
import { repoRoot } from '../../../host/node/paths.js';
import { tempDir } from '../helpers.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.kind, 'run');
  return parsed.kind === 'run' ? parsed.config : null!;
};

test('REST settings: defaults, flag > env > file', () => {
  const c = run([]);
  assert.deepEqual([c.jwtSecret, c.jwtAccessExpirySeconds, c.jwtRefreshExpirySeconds, c.httpCorsOrigins, c.httpMaxRequestBytes, c.tlsCert], [null, 3600, 604_800, null, 2 << 20, null]);
  const file = path.join(tempDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify({ http: { jwt_access_expiry_s: 60, cors_origins: '*' }, tls: { cert_file: 'a.pem', key_file: 'a.key' } }));
  const f = run(['--config', file], { SHARDLOG_JWT_ACCESS_EXPIRY_S: '90' });
  assert.deepEqual([f.jwtAccessExpirySeconds, f.httpCorsOrigins, f.tlsCert, f.tlsKey], [90, '*', 'a.pem', 'a.key']);
  assert.equal(run(['--jwt-access-expiry-s', '30'], { SHARDLOG_JWT_ACCESS_EXPIRY_S: '90' }).jwtAccessExpirySeconds, 30);
});

test('a JWT secret under 32 bytes is InvalidConfigValue, and the message does not contain it', () => {
  assert.throws(() => parseConfig(['--jwt-secret', 'short-secret'], {}), (e: Error) => e.name === 'InvalidConfigValue' && e.message.includes('--jwt-secret') && !e.message.includes('short-secret'));
  assert.equal(run(['--jwt-secret', 'x'.repeat(32)]).jwtSecret, 'x'.repeat(32));
});

test('TLS material: incomplete, unreadable, mismatched or not PEM is a named error naming the flag', () => {
  const dir = tempDir();
  execFileSync(process.execPath, [path.join(repoRoot, 'host/tools/make-test-certs.mjs'), dir], { stdio: 'ignore' });
  const f = (name: string) => path.join(dir, name);
  const named = (name: string, text: RegExp) => (e: Error) => e.name === name && text.test(e.message);
  assert.equal(loadTls(run([])), null);
  assert.throws(() => loadTls(run(['--tls-key', f('server.key')])), named('TlsIncomplete', /--tls-key needs --tls-cert/));
  assert.throws(() => loadTls(run(['--tls-cert', f('server.pem')])), named('TlsIncomplete', /--tls-cert needs --tls-key/));
  assert.throws(() => loadTls(run(['--tls-client-ca', f('ca.pem')])), named('TlsIncomplete', /--tls-client-ca needs/));
  assert.throws(() => loadTls(run(['--tls-cert', f('missing.pem'), '--tls-key', f('server.key')])), named('TlsFileUnreadable', /--tls-cert: cannot read .*missing\.pem: ENOENT/));
  assert.throws(() => loadTls(run(['--tls-cert', f('server.pem'), '--tls-key', f('client.key')])), named('TlsKeyMismatch', /does not belong/));
  fs.writeFileSync(f('junk.pem'), 'not a certificate\n');
  assert.throws(() => loadTls(run(['--tls-cert', f('junk.pem'), '--tls-key', f('server.key')])), named('TlsMaterialInvalid', /cannot use/));
  const ok = loadTls(run(['--tls-cert', f('server.pem'), '--tls-key', f('server.key'), '--tls-client-ca', f('ca.pem')]));
  assert.ok(ok?.cert.includes('BEGIN CERTIFICATE') && ok.ca !== null);
});

test('CORS: no headers unless configured; then only for listed origins (or any, with *)', () => {
  const headersFor = (origins: string | null, origin: string | undefined) => {
    const set: Record<string, string> = {};
    const res = { setHeader: (k: string, v: string) => { set[k] = v; } } as unknown as http.ServerResponse;
    corsPolicy(origins)({ headers: origin ? { origin } : {} } as http.IncomingMessage, res);
    return set;
  };
  assert.deepEqual(headersFor(null, 'https://a.example'), {});
  assert.deepEqual(headersFor('https://a.example, https://b.example', 'https://c.example'), {});
  assert.equal(headersFor('https://a.example, https://b.example', 'https://b.example')['access-control-allow-origin'], 'https://b.example');
  assert.equal(headersFor('*', 'https://z.example')['access-control-allow-origin'], '*');
  assert.match(headersFor('*', 'https://z.example')['access-control-allow-headers'], /authorization/);
});
