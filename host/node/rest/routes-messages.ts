// Messages (send and poll) and consumer offsets, in Iggy's JSON: payloads in base64; the consumer, partition and
// polling strategy of a poll in the query string (`consumer_id`, `partition_id`, `kind`, `value`, `count`,
// `auto_commit`); a consumer group is named with `consumer_kind=consumer_group`.
import * as req from '../../client/requests.js';
import * as res from '../../client/responses.js';
import { buildBatch, readPollReply, type MessageInput } from '../../client/batch.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import type { Partitioning, PollingStrategy, TlvEntry } from '../../shared/wire/primitives.js';
import { Code } from './commands.js';
import { base64, bool, int, parseBody, pathId, queryObject, u64, type Json } from './json-input.js';
import { messageJson, toJson } from './json-output.js';
import { badInput, refusal } from './rest-errors.js';
import { noContent, type Call, type Route } from './route.js';

const stream = (c: Call) => pathId(c.params.stream, 'stream_id');
const topic = (c: Call) => pathId(c.params.topic, 'topic_id');
const MAX_POLL_COUNT = 1_000_000;

function partitioning(v: unknown): Partitioning {
  if (v === undefined || v === null) return { kind: 'balanced' };
  if (typeof v !== 'object' || Array.isArray(v)) throw badInput('partitioning', 'must be an object {kind, value}');
  const p = v as Json;
  switch (p.kind) {
    case 'balanced':
      return { kind: 'balanced' };
    case 'partition_id': {
      // Iggy's JSON carries the id as its 4 little-endian bytes in base64; a plain number is taken too.
      if (typeof p.value === 'number') return { kind: 'partition', partition: int(p, 'value', 0, 0xffff_ffff) };
      const bytes = base64(p.value, 'partitioning.value');
      if (bytes.length !== 4) throw badInput('partitioning.value', `a partition id is 4 bytes, not ${bytes.length}`);
      return { kind: 'partition', partition: bytes.readUInt32LE(0) };
    }
    case 'messages_key': {
      const key = base64(p.value, 'partitioning.value');
      if (key.length < 1 || key.length > 255) throw badInput('partitioning.value', `a messages key is 1..255 bytes, not ${key.length}`);
      return { kind: 'key', key };
    }
    default:
      throw badInput('partitioning.kind', `must be balanced, partition_id or messages_key, not ${JSON.stringify(p.kind)}`);
  }
}

function userHeaders(v: unknown, field: string): TlvEntry[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badInput(field, 'must be a list of {key_kind, key, value_kind, value}');
  return v.map((h: Json, i) => ({
    keyKind: int(h, 'key_kind', 0, 255), key: base64(h.key, `${field}[${i}].key`),
    valueKind: int(h, 'value_kind', 0, 255), value: base64(h.value, `${field}[${i}].value`),
  }));
}

function messages(v: unknown): MessageInput[] {
  if (!Array.isArray(v) || v.length === 0) throw badInput('messages', 'must be a non-empty list', ErrorCode.invalidMessagesCount);
  return v.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw badInput(`messages[${i}]`, 'must be an object {id?, payload, headers?}');
    const o = m as Json;
    const payload = base64(o.payload, `messages[${i}].payload`);
    if (payload.length === 0) throw badInput(`messages[${i}].payload`, 'is empty', ErrorCode.emptyMessagePayload);
    let id: bigint | undefined;
    if (o.id !== undefined && o.id !== null) {
      if (!(typeof o.id === 'number' && Number.isSafeInteger(o.id) && o.id >= 0) && !(typeof o.id === 'string' && /^\d{1,39}$/.test(o.id) && BigInt(o.id) < 1n << 128n)) {
        throw badInput(`messages[${i}].id`, 'must be a whole number from 0 to 2^128-1 (0 or absent: a random one)');
      }
      id = BigInt(o.id);
    }
    const headersField = o.user_headers !== undefined ? 'user_headers' : 'headers'; // Iggy's name, or the short one
    return { payload, id, headers: userHeaders(o[headersField], `messages[${i}].${headersField}`) };
  });
}

// Consumer, stream, topic and partition of a poll or an offset request, from the query string (or a body).
function target(c: Call, o: Json, consumerRaw?: string): req.OffsetTarget {
  const kind = o.consumer_kind ?? 'consumer';
  if (kind !== 'consumer' && kind !== 'consumer_group') throw badInput('consumer_kind', `must be consumer or consumer_group, not ${JSON.stringify(kind)}`);
  const raw = consumerRaw ?? (o.consumer_id === undefined || o.consumer_id === null ? '0' : String(o.consumer_id));
  const partition = o.partition_id === undefined || o.partition_id === null || o.partition_id === '' ? null : int(o, 'partition_id', 0, 0xffff_ffff);
  return { consumer: { kind: kind === 'consumer' ? 'consumer' : 'group', id: pathId(raw, 'consumer_id') }, stream: stream(c), topic: topic(c), partition };
}

function strategy(o: Json): PollingStrategy {
  const kind = o.kind ?? 'next';
  if (kind === 'offset' || kind === 'timestamp') return { kind, value: u64(o, 'value', 0n) };
  if (kind === 'first' || kind === 'last' || kind === 'next') return { kind };
  throw badInput('kind', `must be offset, timestamp, first, last or next, not ${JSON.stringify(kind)}`);
}

export const MESSAGE_ROUTES: Route[] = [
  {
    method: 'POST', path: '/streams/:stream/topics/:topic/messages',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const body = parseBody(c.body);
      const send = { stream: s, topic: t, partitioning: partitioning(body.partitioning), messages: messages(body.messages) };
      const reply = await c.run(Code.sendMessages, req.sendMessages(send, buildBatch(send.messages, undefined, c.hash)), 'send messages');
      return { status: 201, json: reply.length === 0 ? [] : res.readSendConfirmations(reply) };
    },
  },
  {
    method: 'GET', path: '/streams/:stream/topics/:topic/messages',
    async handle(c) {
      const q = queryObject(c.query);
      const poll = { ...target(c, q), strategy: strategy(q), count: int(q, 'count', 1, MAX_POLL_COUNT, 10), autoCommit: bool(q, 'auto_commit', false) };
      const polled = readPollReply(await c.run(Code.pollMessages, req.pollMessages(poll), 'poll messages'));
      const json = { partition_id: polled.partitionId, current_offset: toJson(polled.currentOffset), count: polled.count, messages: polled.messages.map(messageJson) };
      return { status: 200, jsonText: JSON.stringify(json) };
    },
  },
  {
    method: 'GET', path: '/streams/:stream/topics/:topic/consumer-offsets',
    async handle(c) {
      const payload = await c.run(Code.getOffset, req.getOffset(target(c, queryObject(c.query))), 'get consumer offset');
      if (payload.length === 0) throw refusal(ErrorCode.consumerOffsetNotFound, 'get consumer offset');
      return { status: 200, json: res.readOffset(payload) };
    },
  },
  {
    method: 'PUT', path: '/streams/:stream/topics/:topic/consumer-offsets',
    async handle(c) {
      const body = parseBody(c.body);
      await c.run(Code.storeOffset, req.storeOffset(target(c, body), u64(body, 'offset'), 1), 'store consumer offset');
      return noContent;
    },
  },
  {
    method: 'DELETE', path: '/streams/:stream/topics/:topic/consumer-offsets/:consumer',
    async handle(c) {
      await c.run(Code.deleteOffset, req.deleteOffset(target(c, queryObject(c.query), c.params.consumer), 1), 'delete consumer offset');
      return noContent;
    },
  },
];
