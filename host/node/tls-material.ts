// TLS for the client listeners (binary TCP and HTTP): the certificate, key and optional client CA read once at
// startup and checked together, so an unreadable file or a key that does not match its certificate is one line and
// exit 2 before anything listens. The PEM text then goes to shard 0 (TCP) and the HTTP listener.
import fs from 'node:fs';
import tls from 'node:tls';
import { userError } from '../shared/errors.js';
import { sourceOf, type ServerConfig } from './config.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string | null; // clients must present a certificate this CA signed
}

// How long a client may take over its TLS handshake before the socket is closed (node's default is 120 s).
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function loadTls(config: ServerConfig): TlsMaterial | null {
  const certSource = sourceOf(config, 'tlsCert', 'tls.cert_file');
  const keySource = sourceOf(config, 'tlsKey', 'tls.key_file');
  if (config.tlsCert === null && config.tlsKey === null) {
    if (config.tlsClientCa !== null) throw userError('TlsIncomplete', `${sourceOf(config, 'tlsClientCa', 'tls.client_ca_file')} needs --tls-cert and --tls-key`);
    return null;
  }
  if (config.tlsCert === null) throw userError('TlsIncomplete', `${keySource} needs --tls-cert too`);
  if (config.tlsKey === null) throw userError('TlsIncomplete', `${certSource} needs --tls-key too`);
  const material: TlsMaterial = {
    cert: read(config.tlsCert, certSource),
    key: read(config.tlsKey, keySource),
    ca: config.tlsClientCa === null ? null : read(config.tlsClientCa, sourceOf(config, 'tlsClientCa', 'tls.client_ca_file')),
  };
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key, ca: material.ca ?? undefined });
  } catch (error) {
    const reason = (error as Error).message;
    const code = /key values mismatch/i.test(reason) ? 'TlsKeyMismatch' : 'TlsMaterialInvalid';
    const what = code === 'TlsKeyMismatch' ? `the key ${config.tlsKey} does not belong to the certificate ${config.tlsCert}` : `cannot use ${config.tlsCert} / ${config.tlsKey}${config.tlsClientCa ? ` / ${config.tlsClientCa}` : ''}`;
    throw userError(code, `${certSource}, ${keySource}: ${what} (${reason})`);
  }
  return material;
}

function read(file: string, source: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw userError('TlsFileUnreadable', `${source}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

// The server options both listeners use: with a client CA, a client without a certificate it signed is refused
// during the handshake.
export function tlsServerOptions(m: TlsMaterial): tls.TlsOptions {
  return {
    cert: m.cert, key: m.key, ca: m.ca ?? undefined, requestCert: m.ca !== null, rejectUnauthorized: m.ca !== null,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
}
