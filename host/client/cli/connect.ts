// The CLI's connection: transport, address, TLS and credentials from flags, then SHARDLOG_* variables, then the
// stored `shardlog login`. A command that needs a user and finds no credentials anywhere is a usage error.
// The transport: --http-address picks the REST API (HttpClient), --tcp-address the binary protocol (both flags:
// a usage error); without a flag SHARDLOG_TCP_ADDRESS, then SHARDLOG_HTTP_ADDRESS, then the stored login's, then
// TCP (a server's environment often sets both variables: the binary protocol wins, as it does by default).
import fs from 'node:fs';
import { IggyClient, type ConnectOptions } from '../client.js';
import { HttpClient } from '../http-client.js';
import { str, UsageError, type Values } from './args.js';
import { readLogin, type StoredLogin } from './login-store.js';

export const DEFAULT_ADDRESS = '127.0.0.1:8090';

// Both clients answer the calls the commands make, with the same results.
export type CliClient = IggyClient | HttpClient;

export interface Target {
  transport: 'tcp' | 'http';
  address: string;
  tls?: ConnectOptions['tls'];
  credentials: { username: string; password: string } | { token: string } | null;
  stored: StoredLogin | null;
}

export function target(values: Values, given: NodeJS.ProcessEnv): Target {
  // An empty variable counts as unset, as for the server's SHARDLOG_* variables.
  const env = Object.fromEntries(Object.entries(given).filter(([k, v]) => k.startsWith('SHARDLOG_') && v !== '')) as NodeJS.ProcessEnv;
  const stored = readLogin(given);
  const flagUser = str(values, 'username');
  const flagPassword = str(values, 'password');
  const flagToken = str(values, 'token');
  if (flagUser !== undefined && flagToken !== undefined) throw new UsageError('--username and --token exclude each other');
  if (flagPassword !== undefined && flagUser === undefined && env.SHARDLOG_USERNAME === undefined) throw new UsageError('--password needs --username (or SHARDLOG_USERNAME)');
  // Flags first, then the environment, then the stored login.
  const username = flagUser ?? (flagToken === undefined ? env.SHARDLOG_USERNAME : undefined);
  const password = flagPassword ?? env.SHARDLOG_PASSWORD;
  const token = username === undefined ? flagToken ?? env.SHARDLOG_TOKEN : undefined;
  if (username !== undefined && password === undefined) throw new UsageError('--username needs --password (or SHARDLOG_PASSWORD)');
  const credentials = username !== undefined ? { username, password: password! } : token !== undefined ? { token } : stored ? { token: stored.token } : null;
  const fromStore = username === undefined && token === undefined && stored !== null;
  const { transport, address } = transportOf(values, env, fromStore ? stored : null);
  const caFile = str(values, 'tls-ca') ?? env.SHARDLOG_TLS_CA ?? (fromStore ? stored.tlsCa : undefined);
  let tls: ConnectOptions['tls'];
  if (caFile !== undefined) {
    let ca: Buffer;
    try {
      ca = fs.readFileSync(caFile);
    } catch (error) {
      throw new UsageError(`--tls-ca ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    tls = { ca, servername: str(values, 'tls-servername') };
  }
  return { transport, address, tls, credentials, stored };
}

function transportOf(values: Values, env: NodeJS.ProcessEnv, stored: StoredLogin | null): Pick<Target, 'transport' | 'address'> {
  const tcpFlag = str(values, 'tcp-address');
  const httpFlag = str(values, 'http-address');
  if (tcpFlag !== undefined && httpFlag !== undefined) throw new UsageError('--tcp-address and --http-address exclude each other (one transport per command)');
  if (httpFlag !== undefined) return { transport: 'http', address: httpFlag };
  if (tcpFlag !== undefined) return { transport: 'tcp', address: tcpFlag };
  if (env.SHARDLOG_TCP_ADDRESS !== undefined) return { transport: 'tcp', address: env.SHARDLOG_TCP_ADDRESS };
  if (env.SHARDLOG_HTTP_ADDRESS !== undefined) return { transport: 'http', address: env.SHARDLOG_HTTP_ADDRESS };
  if (stored) return { transport: stored.transport ?? 'tcp', address: stored.address };
  return { transport: 'tcp', address: DEFAULT_ADDRESS };
}

// Connects (and logs in unless `anonymous`). One attempt, no reconnect (unless `extra` asks): a CLI reports, the
// user retries; `poll --follow` is the exception. Over HTTP there is no connection to keep: `extra` does not apply.
export async function connect(t: Target, anonymous = false, extra: Partial<ConnectOptions> = {}): Promise<CliClient> {
  if (!anonymous && !t.credentials) {
    throw new UsageError('not logged in: pass --username and --password, set SHARDLOG_USERNAME and SHARDLOG_PASSWORD, or run `shardlog login`');
  }
  const credentials = anonymous ? {} : t.credentials;
  if (t.transport === 'http') return HttpClient.connect({ address: t.address, tls: t.tls, timeoutMs: 10_000, connections: 1, ...credentials });
  return IggyClient.connect({ address: t.address, tls: t.tls, timeoutMs: 10_000, heartbeatMs: 0, ...extra, ...credentials });
}
