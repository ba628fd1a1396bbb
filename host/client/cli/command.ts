// What a CLI command is: its words, positional arguments, options, help and an example, and what it runs.
import { UsageError, type OptionSpec, type Values } from './args.js';
import type { Printer } from './output.js';
import type { CliClient, Target } from './connect.js';

export interface Context {
  values: Values;
  args: string[]; // the positionals, checked against the command's `args`
  out: Printer;
  target: Target;
  env: NodeJS.ProcessEnv;
  client(): Promise<CliClient>; // connected (and logged in unless the command is anonymous) on first use
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Command {
  name: string; // 'stream create'
  args: string; // '<stream> <name> [message...]'
  summary: string;
  options?: OptionSpec;
  optionHelp?: [string, string][];
  example: string;
  anonymous?: boolean; // connects without logging in
  run(ctx: Context): Promise<void>;
}

// Checks the positionals against `<required> [optional] [variadic...]`.
export function checkArgs(command: Command, given: string[]): string[] {
  const specs = command.args.match(/<[^>]+>|\[[^\]]+\]/g) ?? [];
  const required = specs.filter((s) => s.startsWith('<'));
  const variadic = specs.some((s) => s.endsWith('...]'));
  if (given.length < required.length) throw new UsageError(`missing ${required[given.length]}`);
  if (!variadic && given.length > specs.length) throw new UsageError(`unexpected argument "${given[specs.length]}"`);
  return given;
}
