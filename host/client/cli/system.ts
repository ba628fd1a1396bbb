// System commands (ping, stats, me, cluster) and the stored login (login, logout).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect } from './connect.js';
import { str, UsageError } from './args.js';
import type { Command } from './command.js';
import { isoMicros } from './output.js';
import { loginFile, readLogin, removeLogin, writeLogin } from './login-store.js';

const ROLES = ['leader', 'follower'];
const STATUSES = ['healthy', 'starting', 'stopping', 'unreachable', 'maintenance'];
const NEVER = 2n ** 64n - 1n;

const ping: Command = {
  name: 'ping', args: '', summary: 'check that the server answers (no login needed)', example: 'shardlog ping', anonymous: true,
  async run(ctx) {
    const client = await ctx.client();
    const started = performance.now();
    await client.ping();
    const ms = performance.now() - started;
    ctx.out.done(`pong from ${ctx.target.address} in ${ms.toFixed(2)} ms`, { address: ctx.target.address, ms });
  },
};

const stats: Command = {
  name: 'stats', args: '', summary: 'server statistics', example: 'shardlog stats',
  async run(ctx) {
    const s = await (await ctx.client()).getStats();
    ctx.out.record({ ...s, startTime: ctx.out.json ? s.startTime : isoMicros(s.startTime), cacheMetrics: undefined });
  },
};

const me: Command = {
  name: 'me', args: '', summary: 'this connection as the server sees it', example: 'shardlog me',
  async run(ctx) { ctx.out.record(await (await ctx.client()).getMe()); },
};

const cluster: Command = {
  name: 'cluster', args: '', summary: 'the cluster\'s nodes and which one leads', example: 'shardlog cluster',
  async run(ctx) {
    const c = await (await ctx.client()).getClusterMetadata();
    if (ctx.out.json) return ctx.out.record(c);
    process.stdout.write(`cluster ${c.name}\n`);
    ctx.out.table(c.nodes.map((n) => ({ ...n, role: ROLES[n.role] ?? n.role, status: STATUSES[n.status] ?? n.status })), ['name', 'ip', 'tcpPort', 'httpPort', 'role', 'status']);
  },
};

// Logs in with the given credentials, creates a personal access token and stores it (with the address and CA),
// so later commands need no password.
const login: Command = {
  name: 'login', args: '', summary: 'store a personal access token in the config directory (mode 0600)', example: 'shardlog login --username iggy --password iggy',
  options: { 'expiry-seconds': { type: 'string' } }, optionHelp: [['--expiry-seconds <n>', 'token lifetime [never]']],
  async run(ctx) {
    const t = ctx.target;
    if (!t.credentials || !('username' in t.credentials)) throw new UsageError('login needs --username and --password (or SHARDLOG_USERNAME and SHARDLOG_PASSWORD)');
    const seconds = str(ctx.values, 'expiry-seconds');
    if (seconds !== undefined && !/^\d+$/.test(seconds)) throw new UsageError(`--expiry-seconds must be a whole number, got "${seconds}"`);
    const client = await ctx.client();
    const tokenName = `shardlog-cli-${os.hostname()}-${Date.now()}`.slice(0, 255);
    const token = await client.createToken(tokenName, seconds === undefined ? NEVER : BigInt(seconds) * 1_000_000n);
    const file = writeLogin({ address: t.address, username: t.credentials.username, tokenName, token, tlsCa: str(ctx.values, 'tls-ca') ?? ctx.env.SHARDLOG_TLS_CA, transport: t.transport }, ctx.env);
    ctx.out.done(`logged in to ${t.address} as ${t.credentials.username}; token ${tokenName} stored in ${file}`, { address: t.address, username: t.credentials.username, tokenName, file });
  },
};

// Deletes the stored token on the server (when it can still log in with it) and removes the file.
const logout: Command = {
  name: 'logout', args: '', summary: 'delete the stored token (server and config directory)', example: 'shardlog logout', anonymous: true,
  async run(ctx) {
    const stored = readLogin(ctx.env);
    if (!stored) return ctx.out.done('not logged in', { loggedOut: false });
    let revoked = false;
    try {
      const client = await connect({ ...ctx.target, transport: stored.transport ?? 'tcp', address: stored.address, credentials: { token: stored.token } });
      try {
        await client.deleteToken(stored.tokenName);
        revoked = true;
      } finally {
        await client.close();
      }
    } catch (error) {
      process.stderr.write(`shardlog: the token could not be deleted on the server (${(error as Error).message}); removing it here anyway\n`);
    }
    removeLogin(ctx.env);
    ctx.out.done(`logged out (${loginFile(ctx.env)} removed${revoked ? ', token deleted' : ''})`, { loggedOut: true, revoked });
  },
};

export const SYSTEM_COMMANDS: Command[] = [ping, stats, me, cluster, login, logout];
