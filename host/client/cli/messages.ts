// `shardlog send` and `shardlog poll`. Send takes messages from its arguments, a file or standard input (one
// message per line, empty lines skipped) and sends them in batches of up to 1000. Poll reads once (by offset,
// first, last or the consumer's next), as a consumer group, or follows the stream until Ctrl-C.
import fs from 'node:fs';
import readline from 'node:readline';
import { stringHeader } from '../options.js';
import type { Message } from '../batch.js';
import { Consumer } from '../consumer.js';
import type { Partitioning, PollingStrategy, TlvEntry } from '../../shared/wire/primitives.js';
import type { MessageInput } from '../batch.js';
import { bigint, id, integer, str, UsageError, type Values } from './args.js';
import type { Command, Context } from './command.js';
import { connect } from './connect.js';
import { isoMicros, plain, tlv } from './output.js';

const BATCH = 1000;
const encoder = new TextEncoder();

function partitioningOf(values: Values): Partitioning {
  const key = str(values, 'key');
  const partition = str(values, 'partition');
  if (key !== undefined && partition !== undefined) throw new UsageError('--key and --partition exclude each other');
  if (partition !== undefined) return { kind: 'partition', partition: integer(partition, '--partition') };
  if (key !== undefined) {
    const bytes = encoder.encode(key);
    if (bytes.length < 1 || bytes.length > 255) throw new UsageError(`--key must be 1..255 bytes, got ${bytes.length}`);
    return { kind: 'key', key: bytes };
  }
  return { kind: 'balanced' };
}

function headersOf(values: Values): TlvEntry[] {
  const given = (values.headers as string[] | undefined) ?? [];
  const headers: TlvEntry[] = [];
  for (const pair of given.flatMap((g) => g.split(','))) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--headers: "${pair}" is not key=value`);
    headers.push(stringHeader(pair.slice(0, eq), pair.slice(eq + 1)));
  }
  return headers;
}

// The lines to send, in order, from exactly one source.
async function* linesOf(ctx: Context): AsyncGenerator<string> {
  const inline = ctx.args.slice(2);
  const file = str(ctx.values, 'file');
  if (inline.length > 0 && file !== undefined) throw new UsageError('give messages as arguments or with --file, not both');
  if (inline.length > 0) return yield* inline;
  if (file === undefined && ctx.stdin.isTTY) throw new UsageError('no messages: give them as arguments, with --file, or on standard input');
  let input: NodeJS.ReadableStream = ctx.stdin;
  if (file !== undefined) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (error) {
      throw new UsageError(`--file ${file}: ${(error as NodeJS.ErrnoException).code}`);
    }
    input = fs.createReadStream(file);
  }
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) if (line !== '') yield line;
}

const send: Command = {
  name: 'send', args: '<stream> <topic> [message...]', summary: 'send messages (arguments, --file, or stdin lines)',
  example: 'printf "a\\nb\\n" | shardlog send orders created --key customer-7 --headers source=cli',
  options: { key: { type: 'string' }, partition: { type: 'string' }, headers: { type: 'string', multiple: true }, file: { type: 'string' } },
  optionHelp: [
    ['--key <key>', 'route by this key (same key, same partition)'], ['--partition <id>', 'send to this partition [balanced]'],
    ['--headers <k=v,...>', 'string headers on every message (repeatable)'], ['--file <path>', 'one message per line of this file'],
  ],
  async run(ctx) {
    const stream = id(ctx.args[0], '<stream>');
    const topic = id(ctx.args[1], '<topic>');
    const partitioning = partitioningOf(ctx.values);
    const headers = headersOf(ctx.values);
    const batches: { partitionId: number; baseOffset: bigint; count: number }[] = [];
    let pending: MessageInput[] = [];
    const flush = async () => {
      const [confirmation] = await (await ctx.client()).sendMessages({ stream, topic, partitioning, messages: pending });
      if (confirmation) batches.push({ partitionId: confirmation.partitionId, baseOffset: confirmation.baseOffset, count: pending.length });
      pending = [];
    };
    for await (const line of linesOf(ctx)) {
      pending.push({ payload: line, headers });
      if (pending.length === BATCH) await flush();
    }
    if (pending.length > 0) await flush();
    const sent = batches.reduce((n, b) => n + b.count, 0);
    if (sent === 0 && batches.length === 0) throw new UsageError('no messages to send (the input was empty)');
    const where = [...new Set(batches.map((b) => b.partitionId))].join(', ');
    ctx.out.done(`sent ${sent} message(s) to partition ${where}`, { sent, batches });
  },
};

interface Row { partition: number; offset: bigint; timestamp: string; id: bigint; headers: ReturnType<typeof tlv>; payload: Uint8Array }

const row = (partition: number, m: Message): Row => ({ partition, offset: m.offset, timestamp: isoMicros(m.timestamp), id: m.id, headers: tlv(m.headers), payload: m.payload });
const COLUMNS = ['partition', 'offset', 'timestamp', 'headers', 'payload'];

function strategyOf(values: Values): PollingStrategy | null {
  const chosen = (['offset', 'first', 'last', 'next'] as const).filter((k) => values[k] !== undefined);
  if (chosen.length > 1) throw new UsageError(`--${chosen[0]} and --${chosen[1]} exclude each other`);
  const offset = str(values, 'offset');
  if (offset !== undefined) return { kind: 'offset', value: bigint(offset, '--offset') };
  return chosen.length === 0 ? null : { kind: chosen[0] as 'first' | 'last' | 'next' };
}

const poll: Command = {
  name: 'poll', args: '<stream> <topic>', summary: 'read messages once, as a group, or --follow until Ctrl-C',
  example: 'shardlog poll orders created --partition 0 --offset 0 --count 100',
  options: {
    partition: { type: 'string' }, consumer: { type: 'string' }, group: { type: 'string' }, count: { type: 'string' },
    offset: { type: 'string' }, first: { type: 'boolean' }, last: { type: 'boolean' }, next: { type: 'boolean' },
    commit: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' },
  },
  optionHelp: [
    ['--partition <id>', 'partition [0]'], ['--consumer <id>', 'single consumer id [0]'],
    ['--group <name>', 'read as this consumer group (joins it, creating it if missing)'],
    ['--count <n>', 'at most this many messages [10; --follow: no limit]'],
    ['--offset <n> | --first | --last | --next', 'where to start [--first; as a group or with --follow: the stored offset]'],
    ['--commit', 'store the consumer\'s offset as messages are read'], ['--follow, -f', 'keep reading new messages until Ctrl-C'],
  ],
  async run(ctx) {
    const strategy = strategyOf(ctx.values);
    const count = str(ctx.values, 'count');
    const limit = count === undefined ? (ctx.values.follow ? Infinity : 10) : integer(count, '--count', 1);
    const group = str(ctx.values, 'group');
    if (group !== undefined && (str(ctx.values, 'partition') !== undefined || str(ctx.values, 'consumer') !== undefined)) {
      throw new UsageError('--group takes its partitions from the group: drop --partition/--consumer');
    }
    if ((group !== undefined || ctx.values.follow) && strategy && strategy.kind !== 'offset') throw new UsageError(`--${strategy.kind} is for a one-off poll; a group or --follow starts at the stored offset (or --offset)`);
    if (group !== undefined && strategy) throw new UsageError('--offset is for a single consumer; a group starts at its stored offset');
    if (group === undefined && !ctx.values.follow) return pollOnce(ctx, strategy ?? { kind: 'first' }, limit);
    return consume(ctx, group, strategy?.kind === 'offset' ? strategy.value : undefined, limit);
  },
};

async function pollOnce(ctx: Context, strategy: PollingStrategy, count: number): Promise<void> {
  const partition = integer(str(ctx.values, 'partition') ?? '0', '--partition');
  const consumer = str(ctx.values, 'consumer');
  const polled = await (await ctx.client()).pollMessages({
    stream: id(ctx.args[0], '<stream>'), topic: id(ctx.args[1], '<topic>'), partition, strategy, count,
    consumer: { kind: 'consumer', id: consumer === undefined ? 0 : id(consumer, '--consumer') }, autoCommit: ctx.values.commit === true,
  });
  ctx.out.table(polled.messages.map((m) => row(polled.partitionId, m)), COLUMNS);
}

// A Consumer (its own reconnecting client): as a group, or following one partition. Ends after `limit`
// messages, at the end of the available messages when not following, or on SIGINT/SIGTERM.
async function consume(ctx: Context, group: string | undefined, startOffset: bigint | undefined, limit: number): Promise<void> {
  const client = await connect(ctx.target, false, { reconnect: true, heartbeatMs: 5_000 });
  const partition = str(ctx.values, 'partition');
  const consumerId = str(ctx.values, 'consumer');
  const consumer = new Consumer(client, {
    stream: id(ctx.args[0], '<stream>'), topic: id(ctx.args[1], '<topic>'),
    ...(group !== undefined
      ? { group: id(group, '--group') }
      : { partition: partition === undefined ? 0 : integer(partition, '--partition'), consumerId: consumerId === undefined ? 0 : integer(consumerId, '--consumer'), startOffset }),
    autoCommit: ctx.values.commit ? { kind: 'poll' } : { kind: 'manual' },
  });
  const stop = () => { void consumer.close(); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (ctx.values.follow) await follow(ctx, consumer, limit);
    else await drainOnce(ctx, consumer, limit);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await consumer.close();
    await client.close();
  }
}

async function follow(ctx: Context, consumer: Consumer, limit: number): Promise<void> {
  let seen = 0;
  for await (const m of consumer) {
    const r = row(m.partitionId, m);
    process.stdout.write(`${ctx.out.json ? JSON.stringify(plain(r)) : COLUMNS.map((c) => String(plain((r as unknown as Record<string, unknown>)[c]) ?? '-')).join('  ')}\n`);
    if (++seen >= limit) break;
  }
}

async function drainOnce(ctx: Context, consumer: Consumer, limit: number): Promise<void> {
  const rows: Row[] = [];
  // Two empty rounds in a row: the first may only have re-synced the group's assignment.
  for (let empty = 0; rows.length < limit && empty < 2;) {
    const batch = await consumer.poll(Math.min(100, limit - rows.length)); // never more than shown: they may be committed
    empty = batch.length === 0 ? empty + 1 : 0;
    rows.push(...batch.map((m) => row(m.partitionId, m)));
  }
  ctx.out.table(rows, COLUMNS);
}

export const MESSAGE_COMMANDS: Command[] = [send, poll];
