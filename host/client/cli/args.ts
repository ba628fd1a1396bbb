// Argument handling shared by the commands: node's util.parseArgs with the global options, and the checks that
// turn a bad argument into a UsageError (one line naming the problem, exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Id } from '../requests.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

// Accepted by every command (connection, credentials, output).
export const GLOBAL_OPTIONS: OptionSpec = {
  'tcp-address': { type: 'string' },
  'http-address': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-servername': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_HELP = [
  ['--tcp-address <host:port>', 'server address, binary protocol [SHARDLOG_TCP_ADDRESS, the stored login\'s, 127.0.0.1:8090]'],
  ['--http-address <host:port>', 'use the HTTP REST API at this address instead [SHARDLOG_HTTP_ADDRESS]'],
  ['--username <name>', 'log in as this user [SHARDLOG_USERNAME]'],
  ['--password <password>', 'with this password [SHARDLOG_PASSWORD]'],
  ['--token <pat>', 'log in with a personal access token [SHARDLOG_TOKEN]'],
  ['--tls-ca <file>', 'connect with TLS (HTTPS with --http-address), trusting this CA certificate (PEM) [SHARDLOG_TLS_CA]'],
  ['--tls-servername <name>', 'the name the server certificate must carry [the address host]'],
  ['--json', 'print JSON for scripts instead of tables'],
  ['--help', 'this text'],
];

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed { values: Values; positionals: string[] }

export function parse(argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
  }
}

// Numbers are numeric ids, anything else a name (as the SDK's Id).
export function id(value: string, what: string): Id {
  if (value === '') throw new UsageError(`${what} is empty`);
  return /^\d+$/.test(value) ? integer(value, what) : value;
}

export function integer(value: string, what: string, min = 0, max = 0xffff_ffff): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${value}`);
  return n;
}

export function bigint(value: string, what: string): bigint {
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} must be a whole number, got "${value}"`);
  const n = BigInt(value);
  if (n >= 2n ** 64n) throw new UsageError(`${what} must be below 2^64, got ${value}`);
  return n;
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

// Exactly the positionals a command takes; too few or too many is a usage error naming the first missing one.
export function positionals(given: string[], names: string[], optional: string[] = []): string[] {
  if (given.length < names.length) throw new UsageError(`missing <${names[given.length]}>`);
  if (given.length > names.length + optional.length && optional.at(-1) !== '...') throw new UsageError(`unexpected argument "${given[names.length + optional.length]}"`);
  return given;
}
