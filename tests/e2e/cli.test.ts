// The `shardlog` CLI against a real server, spawned as a user runs it (host/bin/shardlog.mjs, the package's bin;
// once by its shebang, as `npx shardlog` runs it): create -> send -> poll -> offsets -> delete with --json output, the exit codes
// (0 ok, 1 refused with the Iggy error named, 2 usage) and their one-line messages, auth failures, `login` storing
// a token 0600 that later commands use, and `poll --follow` until Ctrl-C. --help of every command in-process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../host/node/paths.js';
import { COMMANDS, main } from '../../host/client/cli/main.js';
import { tempDir, waitFor, withTimeout } from './helpers/server.js';
import { startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const BIN = path.join(repoRoot, 'host', 'bin', 'shardlog.mjs');
const ROOT = ['--username', 'iggy', '--password', 'iggy'];

interface Run { code: number | null; stdout: string; stderr: string }

describe('CLI: shardlog', () => {
  let s: ProtocolServer;
  let home: string;
  let env: NodeJS.ProcessEnv;

  // Runs the CLI with `args` (stdin: `input`, or nothing) and resolves when it exits.
  function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; command?: string[] } = {}): Promise<Run> {
    const [command, ...prefix] = options.command ?? [process.execPath, BIN];
    const child = spawn(command, [...prefix, ...args], { cwd: repoRoot, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.end(options.input ?? '');
    return withTimeout(new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))), 30_000, `shardlog ${args.join(' ')} exited`);
  }

  const json = async (args: string[], options?: Parameters<typeof cli>[1]) => {
    const r = await cli([...args, '--json'], options);
    assert.equal(r.code, 0, `shardlog ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  // A failing run: its exit code and the one line it printed.
  const fails = async (args: string[], code: number, line: RegExp, options?: Parameters<typeof cli>[1]) => {
    const r = await cli(args, options);
    assert.equal(r.code, code, `shardlog ${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, line);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(r.stdout, '');
  };

  // main() in this process with the same environment: for the many bad-input cases, whose spawning would only add
  // process start-up time.
  async function runsInProcess(args: string[], code: number, line: RegExp): Promise<void> {
    const out: string[] = [];
    const err: string[] = [];
    const exit = await main(args, { env, stdin: process.stdin, out: (l) => out.push(l), err: (l) => err.push(l) });
    assert.equal(exit, code, `shardlog ${args.join(' ')}: exit ${exit}, ${err.join('|')}`);
    assert.equal(err.length, 1, `one line: ${err.join('|')}`);
    assert.match(err[0], line);
    assert.deepEqual(out, []);
  }

  before(async () => {
    s = await startProtocolServer();
    home = tempDir('cli-home');
    // The user's environment without any SHARDLOG_* of the machine running the tests.
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHARDLOG_')));
    Object.assign(env, { SHARDLOG_TCP_ADDRESS: s.address, XDG_CONFIG_HOME: home });
  });
  after(async () => {
    await s?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('create -> send -> poll -> offsets -> delete, with --json', async () => {
    const stream = await json(['stream', 'create', 'cli-orders', ...ROOT]);
    assert.equal(stream.name, 'cli-orders');
    const topic = await json(['topic', 'create', 'cli-orders', 'created', '--partitions', '2', ...ROOT]);
    assert.deepEqual([topic.name, topic.partitionsCount], ['created', 2]);

    const sent = await json(['send', 'cli-orders', 'created', 'a', 'b', 'c', '--partition', '1', '--headers', 'src=cli,n=1', ...ROOT]);
    assert.deepEqual(sent, { sent: 3, batches: [{ partitionId: 1, baseOffset: 0, count: 3 }] });
    const piped = await json(['send', 'cli-orders', 'created', '--partition', '1', ...ROOT], { input: 'd\n\ne\n' });
    assert.deepEqual(piped, { sent: 2, batches: [{ partitionId: 1, baseOffset: 3, count: 2 }] }, 'stdin lines, the empty one skipped');
    const file = path.join(home, 'messages.txt');
    fs.writeFileSync(file, 'f\ng\n');
    assert.equal((await json(['send', 'cli-orders', 'created', '--partition', '1', '--file', file, ...ROOT])).batches[0].baseOffset, 5);
    const keyed = [await json(['send', 'cli-orders', 'created', 'k1', '--key', 'customer-7', ...ROOT]), await json(['send', 'cli-orders', 'created', 'k2', '--key', 'customer-7', ...ROOT])];
    assert.equal(keyed[0].batches[0].partitionId, keyed[1].batches[0].partitionId, 'one key, one partition');

    const polled = await json(['poll', 'cli-orders', 'created', '--partition', '1', '--count', '100', ...ROOT]);
    assert.deepEqual(polled.filter((m: { payload: string }) => !m.payload.startsWith('k')).map((m: { offset: number; payload: string }) => [m.offset, m.payload]),
      [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e'], [5, 'f'], [6, 'g']]);
    assert.deepEqual(polled[0].headers, { src: 'cli', n: '1' });
    assert.deepEqual((await json(['poll', 'cli-orders', 'created', '--partition', '1', '--offset', '5', '--count', '1', ...ROOT])).map((m: { payload: string }) => m.payload), ['f']);

    const target = ['cli-orders', 'created', '--partition', '1', '--consumer', '5'];
    assert.equal((await json(['poll', ...target, '--next', '--commit', '--count', '2', ...ROOT])).length, 2);
    assert.equal((await json(['offset', 'get', ...target, ...ROOT])).storedOffset, 1, 'poll --commit stored the offset');
    assert.deepEqual((await json(['poll', ...target, '--next', '--count', '1', ...ROOT])).map((m: { offset: number }) => m.offset), [2], '--next resumes after it');
    await json(['offset', 'store', 'cli-orders', 'created', '4', '--partition', '1', '--consumer', '5', ...ROOT]);
    assert.equal((await json(['offset', 'get', ...target, ...ROOT])).storedOffset, 4);
    await json(['offset', 'delete', ...target, ...ROOT]);
    await fails(['offset', 'get', ...target, ...ROOT], 1, /^shardlog: ConsumerOffsetNotFound \(3021\)/);

    const grouped = await json(['poll', 'cli-orders', 'created', '--group', 'cli-readers', '--commit', '--count', '100', ...ROOT]);
    assert.equal(grouped.length, 9, 'the group reads both partitions');
    assert.deepEqual((await json(['group', 'list', 'cli-orders', 'created', ...ROOT])).map((g: { name: string }) => g.name), ['cli-readers']);
    assert.equal((await json(['poll', 'cli-orders', 'created', '--group', 'cli-readers', '--commit', ...ROOT])).length, 0, 'the group committed everything');

    await json(['topic', 'delete', 'cli-orders', 'created', ...ROOT]);
    await json(['stream', 'delete', 'cli-orders', ...ROOT]);
    assert.deepEqual((await json(['stream', 'list', ...ROOT])).filter((x: { name: string }) => x.name === 'cli-orders'), []);
  });

  it('exit 2 for usage, one line naming the problem; exit 1 with the Iggy error named when the server refuses', async () => {
    // Spawned: the exit codes as a shell sees them.
    await fails(['strem', 'list'], 2, /^shardlog: unknown command "strem"/);
    await json(['stream', 'create', 'cli-twice', ...ROOT]);
    await fails(['stream', 'create', 'cli-twice', ...ROOT], 1, /^shardlog: StreamNameAlreadyExists \(1012\)$/m);
    await fails(['stream', 'list', '--username', 'iggy', '--password', 'wrong'], 1, /InvalidCredentials/);

    // In-process (main() is what the bin returns as its exit code): every other bad input.
    const usage: [string[], RegExp][] = [
      [['stream'], /^shardlog: stream needs a verb: create\|list\|get\|update\|delete\|purge$/],
      [['topic', 'create', 'x', ...ROOT], /^shardlog: missing <name> \(see shardlog topic create --help\)$/],
      [['stream', 'list', '--bogus', ...ROOT], /Unknown option '--bogus'/],
      [['stream', 'get', ...ROOT], /missing <stream>/],
      [['stream', 'list', 'extra', ...ROOT], /unexpected argument "extra"/],
      [['poll', 's', 't', '--count', 'many', ...ROOT], /--count must be a whole number, got "many"/],
      [['poll', 's', 't', '--first', '--last', ...ROOT], /--first and --last exclude each other/],
      [['poll', 's', 't', '--group', 'g', '--partition', '1', ...ROOT], /--group takes its partitions from the group/],
      [['send', 's', 't', 'm', '--key', 'k', '--partition', '1', ...ROOT], /--key and --partition exclude each other/],
      [['send', 's', 't', 'm', '--headers', 'novalue', ...ROOT], /--headers: "novalue" is not key=value/],
      [['send', 's', 't', '--file', '/no/such/file', ...ROOT], /--file \/no\/such\/file: ENOENT/],
      [['stream', 'create', 'x'.repeat(300), ...ROOT], /stream name must be 1\.\.255 bytes, got 300/],
      [['user', 'update', 'u', '--status', 'asleep', ...ROOT], /--status must be active or inactive, got "asleep"/],
      [['offset', 'store', 's', 't', '-1', ...ROOT], /<offset> must be a whole number, got "-1"|Unknown option '-1'/],
      [['stream', 'list', '--username', 'iggy'], /--username needs --password/],
      [['stream', 'list'], /not logged in/],
      [['stream', 'list', '--tls-ca', '/no/such/ca.pem', ...ROOT], /--tls-ca \/no\/such\/ca\.pem: ENOENT/],
    ];
    for (const [args, line] of usage) await runsInProcess(args, 2, line);
    const refused: [string[], RegExp][] = [
      [['stream', 'get', 'cli-missing', ...ROOT], /^shardlog: StreamIdNotFound \(1009\)/],
      [['send', 'cli-missing', 't', 'm', ...ROOT], /^shardlog: ResourceNotFound \(20\)/],
      [['stream', 'list', '--token', 'not-a-token'], /^shardlog: evicted: InvalidToken/],
      [['stream', 'list', '--tcp-address', '127.0.0.1:1', ...ROOT], /connect to 127\.0\.0\.1:1: .*ECONNREFUSED/],
    ];
    for (const [args, line] of refused) await runsInProcess(args, 1, line);
  });

  it('login stores a token (file mode 0600) that later commands use; logout deletes it; the package bin runs by its shebang', async () => {
    const login = await json(['login', ...ROOT]);
    const file = path.join(home, 'shardlog', 'login.json');
    assert.equal(login.file, file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
    const env2 = { SHARDLOG_TCP_ADDRESS: '' }; // the stored address is used
    assert.equal((await json(['me'], { env: env2 })).userId, 0, 'logged in with the stored token, no password given');
    assert.ok((await json(['pat', 'list'], { env: env2 })).some((t: { name: string }) => t.name === stored.tokenName));

    // What `npx shardlog` runs: the package's bin, executed through its shebang.
    const bin = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).bin.shardlog;
    const direct = await cli(['ping'], { command: [path.join(repoRoot, bin)] });
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stdout, /^pong from /);

    assert.deepEqual(await json(['logout']), { loggedOut: true, revoked: true });
    assert.equal(fs.existsSync(file), false);
    assert.ok(!(await json(['pat', 'list', ...ROOT])).some((t: { name: string }) => t.name === stored.tokenName), 'the token is gone from the server too');
    await fails(['me'], 2, /not logged in/);
  });

  it('poll --follow prints new messages as they arrive and exits 0 on Ctrl-C', async () => {
    await json(['stream', 'create', 'cli-follow', ...ROOT]);
    await json(['topic', 'create', 'cli-follow', 'live', ...ROOT]);
    const child = spawn(process.execPath, [BIN, 'poll', 'cli-follow', 'live', '--follow', '--json', ...ROOT], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).payload as string);
    for (const batch of [['one', 'two'], ['three']]) {
      await json(['send', 'cli-follow', 'live', ...batch, ...ROOT]);
      await waitFor(`follow printed ${batch.join(',')}`, 15_000, async () => (lines().includes(batch.at(-1)!) ? true : undefined));
    }
    assert.deepEqual(lines(), ['one', 'two', 'three']);
    child.kill('SIGINT');
    assert.equal(await withTimeout(exited, 15_000, 'poll --follow exited after SIGINT'), 0);
  });

  it('--help on every command prints its usage, options and an example (exit 0); server --help is the server\'s', async () => {
    const io = (sink: string[]) => ({ env: {}, stdin: process.stdin, out: (l: string) => sink.push(l), err: (l: string) => sink.push(l) });
    for (const command of COMMANDS) {
      const printed: string[] = [];
      assert.equal(await main([...command.name.split(' '), '--help'], io(printed)), 0, command.name);
      const text = printed.join('\n');
      assert.match(text, new RegExp(`^usage: shardlog ${command.name}`), command.name);
      assert.ok(text.includes(`example:\n  ${command.example}`), `${command.name}: example`);
      assert.ok(text.includes('--tcp-address'), `${command.name}: global options`);
    }
    const printed: string[] = [];
    assert.equal(await main(['--help'], io(printed)), 0);
    for (const command of COMMANDS) assert.ok(printed.join('\n').includes(command.name), `overview lists ${command.name}`);
    const group: string[] = [];
    assert.equal(await main(['topic', '--help'], io(group)), 0);
    assert.match(group.join('\n'), /topic create <stream> <name>/);
    const server = await cli(['server', '--help']);
    assert.equal(server.code, 0, server.stderr);
    assert.match(server.stdout, /usage: npm start -- \[flags\]/, '`shardlog server` is the server (its own --help)');
  });
});
