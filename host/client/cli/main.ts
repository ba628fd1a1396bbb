// `shardlog`, the command-line client: finds the command named by the first words, parses its options with
// util.parseArgs, connects on first use, prints tables (or --json) and maps every failure to one line on stderr
// and an exit code scripts can trust: 0 ok, 1 the server refused (the Iggy error's name is printed) or could not
// be reached, 2 usage (a bad or missing argument, named). `shardlog server` is handled by host/bin/shardlog.mjs.
import { WireError } from '../../shared/wire/buffer.js';
import { SDK_VERSION } from '../requests.js';
import { GLOBAL_HELP, parse, UsageError } from './args.js';
import { checkArgs, type Command, type Context } from './command.js';
import { connect, target, type CliClient } from './connect.js';
import { MESSAGE_COMMANDS } from './messages.js';
import { printer } from './output.js';
import { RESOURCE_COMMANDS } from './resources.js';
import { SYSTEM_COMMANDS } from './system.js';

export const COMMANDS: Command[] = [...RESOURCE_COMMANDS, ...MESSAGE_COMMANDS, ...SYSTEM_COMMANDS];
const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))];

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: Context['stdin'];
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo = (): Io => ({
  env: process.env, stdin: process.stdin,
  out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`),
});

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let client: CliClient | null = null;
  let command: Command | null = null;
  try {
    if (argv.length === 0) throw new UsageError('no command (try shardlog --help)');
    if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return io.out(overview()), EXIT.ok;
    if (argv[0] === '--version') return io.out(SDK_VERSION), EXIT.ok;
    const found = findCommand(argv, io);
    if (typeof found === 'number') return found;
    command = found.command;
    const { values, positionals } = parse(found.rest, command.options ?? {});
    if (values.help) return io.out(commandHelp(command)), EXIT.ok;
    const t = target(values, io.env);
    const ctx: Context = {
      values, args: checkArgs(command, positionals), out: printer(values.json === true, io.out), target: t, env: io.env, stdin: io.stdin,
      client: async () => (client ??= await connect(t, command!.anonymous === true)),
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (error) {
    return report(error, command, io);
  } finally {
    await (client as CliClient | null)?.close();
  }
}

// The command named by the first one or two words; `shardlog stream` alone or `shardlog stream --help` lists the
// verbs of the group.
function findCommand(argv: string[], io: Io): { command: Command; rest: string[] } | number {
  const [first, second] = argv;
  const single = COMMANDS.find((c) => c.name === first);
  if (single) return { command: single, rest: argv.slice(1) };
  if (!GROUPS.includes(first)) throw new UsageError(`unknown command "${first}" (try shardlog --help)`);
  const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (command) return { command, rest: argv.slice(2) };
  if (second === '--help' || second === '-h') return io.out(groupHelp(first)), EXIT.ok;
  const verbs = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]).join('|');
  throw new UsageError(second === undefined ? `${first} needs a verb: ${verbs}` : `unknown ${first} verb "${second}": ${verbs}`);
}

function report(error: unknown, command: Command | null, io: Io): number {
  const e = error as Error;
  if (error instanceof UsageError || error instanceof WireError || error instanceof RangeError) {
    io.err(`shardlog: ${e.message}${command ? ` (see shardlog ${command.name} --help)` : ''}`);
    return EXIT.usage;
  }
  if (error instanceof SyntaxError) { // a config file that is not JSON
    io.err(`shardlog: ${e.message}`);
    return EXIT.usage;
  }
  const known = ['IggyError', 'HttpRefusal', 'EvictionError', 'ConnectionClosed', 'RequestTimeout', 'ReconnectFailed', 'RequestOutcomeUnknown'];
  const named = known.includes(e.constructor?.name);
  io.err(`shardlog: ${named ? e.message : `unexpected ${e.name}: ${e.message}`}`.split('\n')[0]);
  return EXIT.refused;
}

const pad = (rows: [string, string][]): string[] => {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
};

function commandHelp(c: Command): string {
  return [
    `usage: shardlog ${c.name}${c.args ? ` ${c.args}` : ''} [options]`, '', c.summary, '',
    ...(c.optionHelp?.length ? ['options:', ...pad(c.optionHelp), ''] : []),
    'global options:', ...pad(GLOBAL_HELP as [string, string][]), '', 'example:', `  ${c.example}`,
  ].join('\n');
}

function groupHelp(group: string): string {
  const verbs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [`usage: shardlog ${group} <verb> ... [options]`, '', ...pad(verbs.map((c) => [`${c.name} ${c.args}`, c.summary])), '', `shardlog ${group} <verb> --help for one verb's options`].join('\n');
}

function overview(): string {
  return [
    'shardlog: command-line client of a shardlog (or Apache Iggy) server, over the binary TCP protocol or its HTTP REST API',
    '',
    'usage: shardlog <command> [verb] [arguments] [options]',
    '',
    'commands:',
    ...pad([['server [flags]', 'run the server (same as npm start; shardlog server --help for its flags)'], ...COMMANDS.map((c): [string, string] => [`${c.name} ${c.args}`.trim(), c.summary])]),
    '',
    'global options (every command):',
    ...pad(GLOBAL_HELP as [string, string][]),
    '',
    'Credentials: --username/--password, else --token, else SHARDLOG_USERNAME/SHARDLOG_PASSWORD or SHARDLOG_TOKEN,',
    'else the token stored by `shardlog login` ($XDG_CONFIG_HOME/shardlog/login.json, ~/.config when unset).',
    'Exit codes: 0 ok; 1 the server refused (the Iggy error is named) or could not be reached; 2 usage.',
  ].join('\n');
}
