// The resource commands: stream, topic, partition, user, group, pat and offset, with the verbs each allows
// (create / list / get / update / delete, purge where Iggy has it, store for offsets). Ids: a number is a numeric
// id, anything else a name.
import { ErrorCode } from '../../shared/wire/codes.js';
import { IggyError } from '../errors.js';
import { UserStatus, type ConsumerInput, type OffsetTarget } from '../requests.js';
import { bigint, id, integer, str, UsageError, type Values } from './args.js';
import type { Command, Context } from './command.js';
import { isoMicros } from './output.js';

const NEVER = 2n ** 64n - 1n;

// A single-object read that came back empty: the server's "not found", named like its errors.
function found<T>(value: T | null, code: number, what: string): T {
  if (value === null) throw new IggyError(code, `${what} not found`);
  return value;
}

const when = <T extends { createdAt: bigint }>(x: T) => ({ ...x, created: isoMicros(x.createdAt) });

const partitionOption = { partition: { type: 'string' as const } };

function consumerOf(values: Values): ConsumerInput {
  const group = str(values, 'group');
  const consumer = str(values, 'consumer');
  if (group !== undefined && consumer !== undefined) throw new UsageError('--group and --consumer exclude each other');
  if (group !== undefined) return { kind: 'group', id: id(group, '--group') };
  return { kind: 'consumer', id: consumer === undefined ? 0 : id(consumer, '--consumer') };
}

function offsetTarget(ctx: Context): OffsetTarget {
  const partition = str(ctx.values, 'partition');
  return {
    consumer: consumerOf(ctx.values), stream: id(ctx.args[0], '<stream>'), topic: id(ctx.args[1], '<topic>'),
    partition: partition === undefined ? 0 : integer(partition, '--partition'),
  };
}

const offsetOptions = { ...partitionOption, consumer: { type: 'string' as const }, group: { type: 'string' as const } };
const offsetHelp: [string, string][] = [
  ['--partition <id>', 'partition [0]'], ['--consumer <id>', 'single consumer id or name [0]'], ['--group <id>', 'a consumer group\'s offset instead'],
];

const statusOf = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (value !== 'active' && value !== 'inactive') throw new UsageError(`--status must be active or inactive, got "${value}"`);
  return UserStatus[value];
};

export const RESOURCE_COMMANDS: Command[] = [
  // --- streams
  {
    name: 'stream create', args: '<name>', summary: 'create a stream', example: 'shardlog stream create orders',
    async run(ctx) { ctx.out.record(when(await (await ctx.client()).createStream(ctx.args[0]))); },
  },
  {
    name: 'stream list', args: '', summary: 'list the streams', example: 'shardlog stream list',
    async run(ctx) { ctx.out.table((await (await ctx.client()).getStreams()).map(when), ['id', 'name', 'topicsCount', 'messagesCount', 'sizeBytes', 'created']); },
  },
  {
    name: 'stream get', args: '<stream>', summary: 'show a stream and its topics', example: 'shardlog stream get orders',
    async run(ctx) {
      const s = found(await (await ctx.client()).getStream(id(ctx.args[0], '<stream>')), ErrorCode.streamIdNotFound, `stream ${ctx.args[0]}`);
      ctx.out.record(when(s));
      if (!ctx.out.json && s.topics.length > 0) ctx.out.table(s.topics.map(when), ['id', 'name', 'partitionsCount', 'messagesCount', 'sizeBytes', 'created']);
    },
  },
  {
    name: 'stream update', args: '<stream> <name>', summary: 'rename a stream', example: 'shardlog stream update orders orders-v2',
    async run(ctx) {
      await (await ctx.client()).updateStream(id(ctx.args[0], '<stream>'), ctx.args[1]);
      ctx.out.done(`stream ${ctx.args[0]} renamed to ${ctx.args[1]}`, { updated: { stream: ctx.args[0], name: ctx.args[1] } });
    },
  },
  {
    name: 'stream delete', args: '<stream>', summary: 'delete a stream with its topics and messages', example: 'shardlog stream delete orders',
    async run(ctx) {
      await (await ctx.client()).deleteStream(id(ctx.args[0], '<stream>'));
      ctx.out.done(`stream ${ctx.args[0]} deleted`, { deleted: { stream: ctx.args[0] } });
    },
  },
  {
    name: 'stream purge', args: '<stream>', summary: 'delete every message of a stream, keep its topics', example: 'shardlog stream purge orders',
    async run(ctx) {
      await (await ctx.client()).purgeStream(id(ctx.args[0], '<stream>'));
      ctx.out.done(`stream ${ctx.args[0]} purged`, { purged: { stream: ctx.args[0] } });
    },
  },
  // --- topics
  {
    name: 'topic create', args: '<stream> <name>', summary: 'create a topic', example: 'shardlog topic create orders created --partitions 3',
    options: { partitions: { type: 'string' } }, optionHelp: [['--partitions <n>', 'number of partitions [1]']],
    async run(ctx) {
      const partitionsCount = integer(str(ctx.values, 'partitions') ?? '1', '--partitions', 0, 1_000_000);
      const t = await (await ctx.client()).createTopic({ stream: id(ctx.args[0], '<stream>'), name: ctx.args[1], partitionsCount });
      ctx.out.record(when({ ...t, partitions: undefined }));
    },
  },
  {
    name: 'topic list', args: '<stream>', summary: 'list a stream\'s topics', example: 'shardlog topic list orders',
    async run(ctx) {
      const topics = await (await ctx.client()).getTopics(id(ctx.args[0], '<stream>'));
      ctx.out.table(topics.map(when), ['id', 'name', 'partitionsCount', 'messagesCount', 'sizeBytes', 'messageExpiry', 'created']);
    },
  },
  {
    name: 'topic get', args: '<stream> <topic>', summary: 'show a topic and its partitions', example: 'shardlog topic get orders created',
    async run(ctx) {
      const t = found(await (await ctx.client()).getTopic(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>')), ErrorCode.topicIdNotFound, `topic ${ctx.args[1]}`);
      ctx.out.record(when(t));
      if (!ctx.out.json) ctx.out.table(t.partitions.map(when), ['id', 'currentOffset', 'messagesCount', 'segmentsCount', 'sizeBytes', 'created']);
    },
  },
  {
    name: 'topic update', args: '<stream> <topic> <name>', summary: 'rename a topic', example: 'shardlog topic update orders created created-v2',
    async run(ctx) {
      await (await ctx.client()).updateTopic({ stream: id(ctx.args[0], '<stream>'), topic: id(ctx.args[1], '<topic>'), name: ctx.args[2] });
      ctx.out.done(`topic ${ctx.args[1]} renamed to ${ctx.args[2]}`, { updated: { topic: ctx.args[1], name: ctx.args[2] } });
    },
  },
  {
    name: 'topic delete', args: '<stream> <topic>', summary: 'delete a topic and its messages', example: 'shardlog topic delete orders created',
    async run(ctx) {
      await (await ctx.client()).deleteTopic(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'));
      ctx.out.done(`topic ${ctx.args[1]} deleted`, { deleted: { topic: ctx.args[1] } });
    },
  },
  {
    name: 'topic purge', args: '<stream> <topic>', summary: 'delete every message of a topic', example: 'shardlog topic purge orders created',
    async run(ctx) {
      await (await ctx.client()).purgeTopic(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'));
      ctx.out.done(`topic ${ctx.args[1]} purged`, { purged: { topic: ctx.args[1] } });
    },
  },
  // --- partitions
  {
    name: 'partition create', args: '<stream> <topic>', summary: 'add partitions to a topic', example: 'shardlog partition create orders created --count 2',
    options: { count: { type: 'string' } }, optionHelp: [['--count <n>', 'how many [1]']],
    async run(ctx) {
      const count = integer(str(ctx.values, 'count') ?? '1', '--count', 1, 1_000_000);
      await (await ctx.client()).createPartitions(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'), count);
      ctx.out.done(`${count} partition(s) added`, { created: { partitions: count } });
    },
  },
  {
    name: 'partition list', args: '<stream> <topic>', summary: 'list a topic\'s partitions', example: 'shardlog partition list orders created',
    async run(ctx) {
      const t = found(await (await ctx.client()).getTopic(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>')), ErrorCode.topicIdNotFound, `topic ${ctx.args[1]}`);
      ctx.out.table(t.partitions.map(when), ['id', 'currentOffset', 'messagesCount', 'segmentsCount', 'sizeBytes', 'created']);
    },
  },
  {
    name: 'partition delete', args: '<stream> <topic>', summary: 'remove the last partitions of a topic', example: 'shardlog partition delete orders created --count 1',
    options: { count: { type: 'string' } }, optionHelp: [['--count <n>', 'how many [1]']],
    async run(ctx) {
      const count = integer(str(ctx.values, 'count') ?? '1', '--count', 1, 1_000_000);
      await (await ctx.client()).deletePartitions(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'), count);
      ctx.out.done(`${count} partition(s) deleted`, { deleted: { partitions: count } });
    },
  },
  // --- users
  {
    name: 'user create', args: '<username> <password>', summary: 'create a user (no permissions unless granted)', example: 'shardlog user create alice s3cret',
    options: { inactive: { type: 'boolean' } }, optionHelp: [['--inactive', 'create it inactive (cannot log in)']],
    async run(ctx) {
      const u = await (await ctx.client()).createUser({ username: ctx.args[0], password: ctx.args[1], status: ctx.values.inactive ? UserStatus.inactive : UserStatus.active });
      ctx.out.record(when(u));
    },
  },
  {
    name: 'user list', args: '', summary: 'list the users', example: 'shardlog user list',
    async run(ctx) { ctx.out.table((await (await ctx.client()).getUsers()).map((u) => ({ ...when(u), status: statusName(u.status) })), ['id', 'username', 'status', 'created']); },
  },
  {
    name: 'user get', args: '<user>', summary: 'show a user and its permissions', example: 'shardlog user get alice',
    async run(ctx) {
      const u = found(await (await ctx.client()).getUser(id(ctx.args[0], '<user>')), ErrorCode.resourceNotFound, `user ${ctx.args[0]}`);
      ctx.out.record({ ...when(u), status: statusName(u.status), permissions: ctx.out.json ? u.permissions : JSON.stringify(u.permissions?.global ?? null) });
    },
  },
  {
    name: 'user update', args: '<user>', summary: 'rename a user or change its status', example: 'shardlog user update alice --status inactive',
    options: { name: { type: 'string' }, status: { type: 'string' } }, optionHelp: [['--name <username>', 'new username'], ['--status <active|inactive>', 'new status']],
    async run(ctx) {
      const update = { username: str(ctx.values, 'name'), status: statusOf(str(ctx.values, 'status')) };
      if (update.username === undefined && update.status === undefined) throw new UsageError('nothing to update: give --name or --status');
      await (await ctx.client()).updateUser(id(ctx.args[0], '<user>'), update);
      ctx.out.done(`user ${ctx.args[0]} updated`, { updated: { user: ctx.args[0] } });
    },
  },
  {
    name: 'user password', args: '<user> <current> <new>', summary: 'change a user\'s password', example: 'shardlog user password alice s3cret n3w-s3cret',
    async run(ctx) {
      await (await ctx.client()).changePassword(id(ctx.args[0], '<user>'), ctx.args[1], ctx.args[2]);
      ctx.out.done(`password of ${ctx.args[0]} changed`, { updated: { user: ctx.args[0] } });
    },
  },
  {
    name: 'user delete', args: '<user>', summary: 'delete a user', example: 'shardlog user delete alice',
    async run(ctx) {
      await (await ctx.client()).deleteUser(id(ctx.args[0], '<user>'));
      ctx.out.done(`user ${ctx.args[0]} deleted`, { deleted: { user: ctx.args[0] } });
    },
  },
  // --- consumer groups
  {
    name: 'group create', args: '<stream> <topic> <name>', summary: 'create a consumer group', example: 'shardlog group create orders created billing',
    async run(ctx) { ctx.out.record(await (await ctx.client()).createGroup(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'), ctx.args[2])); },
  },
  {
    name: 'group list', args: '<stream> <topic>', summary: 'list a topic\'s consumer groups', example: 'shardlog group list orders created',
    async run(ctx) { ctx.out.table(await (await ctx.client()).getGroups(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>')), ['id', 'name', 'partitionsCount', 'membersCount']); },
  },
  {
    name: 'group get', args: '<stream> <topic> <group>', summary: 'show a consumer group and its members', example: 'shardlog group get orders created billing',
    async run(ctx) {
      const g = found(await (await ctx.client()).getGroup(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'), id(ctx.args[2], '<group>')), ErrorCode.consumerGroupIdNotFound, `group ${ctx.args[2]}`);
      ctx.out.record(g);
      if (!ctx.out.json && g.members.length > 0) ctx.out.table(g.members, ['id', 'partitionsCount', 'partitions']);
    },
  },
  {
    name: 'group delete', args: '<stream> <topic> <group>', summary: 'delete a consumer group', example: 'shardlog group delete orders created billing',
    async run(ctx) {
      await (await ctx.client()).deleteGroup(id(ctx.args[0], '<stream>'), id(ctx.args[1], '<topic>'), id(ctx.args[2], '<group>'));
      ctx.out.done(`group ${ctx.args[2]} deleted`, { deleted: { group: ctx.args[2] } });
    },
  },
  // --- personal access tokens
  {
    name: 'pat create', args: '<name>', summary: 'create a personal access token (printed once)', example: 'shardlog pat create ci --expiry-seconds 86400',
    options: { 'expiry-seconds': { type: 'string' } }, optionHelp: [['--expiry-seconds <n>', 'lifetime [never]']],
    async run(ctx) {
      const seconds = str(ctx.values, 'expiry-seconds');
      const expiry = seconds === undefined ? NEVER : bigint(seconds, '--expiry-seconds') * 1_000_000n;
      const token = await (await ctx.client()).createToken(ctx.args[0], expiry);
      ctx.out.done(token, { name: ctx.args[0], token });
    },
  },
  {
    name: 'pat list', args: '', summary: 'list your personal access tokens', example: 'shardlog pat list',
    async run(ctx) {
      const tokens = await (await ctx.client()).getTokens();
      ctx.out.table(tokens.map((t) => ({ ...t, expires: t.expiryAt === 0n || t.expiryAt === NEVER ? 'never' : isoMicros(t.expiryAt) })), ['name', 'expires']);
    },
  },
  {
    name: 'pat delete', args: '<name>', summary: 'delete a personal access token', example: 'shardlog pat delete ci',
    async run(ctx) {
      await (await ctx.client()).deleteToken(ctx.args[0]);
      ctx.out.done(`token ${ctx.args[0]} deleted`, { deleted: { token: ctx.args[0] } });
    },
  },
  // --- consumer offsets
  {
    name: 'offset get', args: '<stream> <topic>', summary: 'show a consumer\'s stored offset', example: 'shardlog offset get orders created --consumer 1 --partition 0',
    options: offsetOptions, optionHelp: offsetHelp,
    async run(ctx) {
      const t = offsetTarget(ctx);
      const o = found(await (await ctx.client()).getOffset(t), ErrorCode.consumerOffsetNotFound, `offset of consumer ${t.consumer!.id} on partition ${t.partition}`);
      ctx.out.record(o);
    },
  },
  {
    name: 'offset store', args: '<stream> <topic> <offset>', summary: 'store a consumer\'s offset', example: 'shardlog offset store orders created 41 --consumer 1',
    options: offsetOptions, optionHelp: offsetHelp,
    async run(ctx) {
      const offset = bigint(ctx.args[2], '<offset>');
      await (await ctx.client()).storeOffset(offsetTarget(ctx), offset);
      ctx.out.done(`offset ${offset} stored`, { stored: { offset } });
    },
  },
  {
    name: 'offset delete', args: '<stream> <topic>', summary: 'delete a consumer\'s stored offset', example: 'shardlog offset delete orders created --consumer 1',
    options: offsetOptions, optionHelp: offsetHelp,
    async run(ctx) {
      await (await ctx.client()).deleteOffset(offsetTarget(ctx));
      ctx.out.done('offset deleted', { deleted: { offset: true } });
    },
  },
];

function statusName(status: number): string {
  return status === UserStatus.active ? 'active' : status === UserStatus.inactive ? 'inactive' : String(status);
}
