#!/usr/bin/env node
// Makes a local certificate authority and a server certificate signed by it, with `openssl`, for trying TLS on
// loopback: `node host/tools/make-test-certs.mjs DIR [HOST...]` writes DIR/ca.pem, ca.key, server.pem, server.key
// (subject alternative names: localhost, 127.0.0.1, ::1 and any HOST given), and a client certificate for mutual
// TLS (client.pem, client.key). Not for production: the keys are unencrypted and the CA is yours alone.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [dir, ...hosts] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node host/tools/make-test-certs.mjs DIR [HOST...]');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const at = (name) => path.join(dir, name);
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))];
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=shardlog test CA',
  '-keyout', at('ca.key'), '-out', at('ca.pem'), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

function leaf(name, subject, extensions) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`));
  fs.writeFileSync(at(`${name}.ext`), extensions);
  openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '825',
    '-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`));
  fs.rmSync(at(`${name}.csr`));
  fs.rmSync(at(`${name}.ext`));
}

leaf('server', '/CN=localhost', `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
leaf('client', '/CN=shardlog test client', 'extendedKeyUsage=clientAuth\n');
for (const key of ['ca.key', 'server.key', 'client.key']) fs.chmodSync(at(key), 0o600);
console.log(`wrote ${['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key'].map(at).join(', ')}`);
