// Streams, topics, partitions, segments and consumer groups: each route is the binary command of the same name.
import * as req from '../../client/requests.js';
import * as res from '../../client/responses.js';
import { Code } from './commands.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { badInput, refusal } from './rest-errors.js';
import { int, parseBody, pathId, queryObject, str, u64, type Json } from './json-input.js';
import { stringOption, u64Option } from '../../client/options.js';
import type { TlvEntry } from '../../shared/wire/primitives.js';
import { noContent, type Call, type Route } from './route.js';

import { MAX_PARTITIONS_PER_REQUEST as MAX_PARTITIONS } from '../metadata/streams.js'; // per request, as Iggy's validation
const stream = (c: Call) => pathId(c.params.stream, 'stream_id');
const topic = (c: Call) => pathId(c.params.topic, 'topic_id');
const MEMBER = '/streams/:stream/topics/:topic/consumer-groups/:group/members/me';
const member = (c: Call) => req.group(stream(c), topic(c), pathId(c.params.group, 'group_id'));

// A read that answers "none" with an empty body: 404 in HTTP, as Iggy.
async function found<T>(call: Call, code: number, body: Uint8Array, read: (b: Uint8Array) => T, what: string, notFound: number): Promise<T> {
  const payload = await call.run(code, body, what);
  if (payload.length === 0) throw refusal(notFound, what);
  return read(payload);
}

// Iggy's topic fields as the options block the binary command carries: 0 (or absent) is the server default, so
// the option is left out; `replication_factor` can only be 1 on a single node.
function topicOptions(body: Json): TlvEntry[] {
  const options: TlvEntry[] = [];
  for (const field of ['message_expiry', 'max_topic_size']) {
    const value = u64(body, field, 0n);
    if (value !== 0n) options.push(u64Option(field, value));
  }
  const compression = body.compression_algorithm;
  if (compression !== undefined && compression !== null) {
    if (compression !== 'none' && compression !== 'gzip') throw badInput('compression_algorithm', `must be none or gzip, not ${JSON.stringify(compression)}`);
    if (compression !== 'none') options.push(stringOption('compression_algorithm', compression));
  }
  int(body, 'replication_factor', 0, 1, 1);
  return options;
}

export const STREAM_ROUTES: Route[] = [
  { method: 'GET', path: '/streams', handle: async (c) => ({ status: 200, json: res.readStreams(await c.run(Code.getStreams, req.empty(), 'get streams')) }) },
  {
    method: 'POST', path: '/streams',
    async handle(c) {
      const body = parseBody(c.body);
      if (body.stream_id !== undefined && body.stream_id !== null) throw badInput('stream_id', 'ids are assigned by the server', ErrorCode.featureUnavailable);
      const created = res.readStream(await c.run(Code.createStream, req.createStream(str(body, 'name')), 'create stream'));
      return { status: 201, json: created };
    },
  },
  { method: 'GET', path: '/streams/:stream', handle: async (c) => ({ status: 200, json: await found(c, Code.getStream, req.identifier(stream(c)), res.readStreamDetails, 'get stream', ErrorCode.streamIdNotFound) }) },
  {
    method: 'PUT', path: '/streams/:stream',
    async handle(c) {
      const id = stream(c);
      await c.run(Code.updateStream, req.updateStream(id, str(parseBody(c.body), 'name')), 'update stream');
      return noContent;
    },
  },
  { method: 'DELETE', path: '/streams/:stream', handle: async (c) => (await c.run(Code.deleteStream, req.identifier(stream(c)), 'delete stream'), noContent) },
  { method: 'DELETE', path: '/streams/:stream/purge', handle: async (c) => (await c.run(Code.purgeStream, req.identifier(stream(c)), 'purge stream'), noContent) },

  { method: 'GET', path: '/streams/:stream/topics', handle: async (c) => ({ status: 200, json: res.readTopics(await c.run(Code.getTopics, req.identifier(stream(c)), 'get topics')) }) },
  {
    method: 'POST', path: '/streams/:stream/topics',
    async handle(c) {
      const id = stream(c);
      const body = parseBody(c.body);
      if (body.topic_id !== undefined && body.topic_id !== null) throw badInput('topic_id', 'ids are assigned by the server', ErrorCode.featureUnavailable);
      const name = str(body, 'name');
      const partitions = int(body, 'partitions_count', 0, MAX_PARTITIONS);
      const created = res.readTopicDetails(await c.run(Code.createTopic, req.createTopic(id, partitions, name, topicOptions(body)), 'create topic'));
      return { status: 201, json: created };
    },
  },
  {
    method: 'GET', path: '/streams/:stream/topics/:topic',
    handle: async (c) => ({ status: 200, json: await found(c, Code.getTopic, req.streamAndTopic(stream(c), topic(c)), res.readTopicDetails, 'get topic', ErrorCode.topicIdNotFound) }),
  },
  {
    method: 'PUT', path: '/streams/:stream/topics/:topic',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const body = parseBody(c.body);
      const name = str(body, 'name');
      await c.run(Code.updateTopic, req.updateTopic(s, t, name, topicOptions(body)), 'update topic');
      return noContent;
    },
  },
  { method: 'DELETE', path: '/streams/:stream/topics/:topic', handle: async (c) => (await c.run(Code.deleteTopic, req.streamAndTopic(stream(c), topic(c)), 'delete topic'), noContent) },
  { method: 'DELETE', path: '/streams/:stream/topics/:topic/purge', handle: async (c) => (await c.run(Code.purgeTopic, req.streamAndTopic(stream(c), topic(c)), 'purge topic'), noContent) },

  {
    method: 'POST', path: '/streams/:stream/topics/:topic/partitions',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const count = int(parseBody(c.body), 'partitions_count', 1, MAX_PARTITIONS);
      await c.run(Code.createPartitions, req.partitionsCount(s, t, count), 'create partitions');
      return noContent;
    },
  },
  {
    method: 'DELETE', path: '/streams/:stream/topics/:topic/partitions',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const count = int(queryObject(c.query), 'partitions_count', 1, MAX_PARTITIONS);
      await c.run(Code.deletePartitions, req.partitionsCount(s, t, count), 'delete partitions');
      return noContent;
    },
  },
  {
    method: 'DELETE', path: '/streams/:stream/topics/:topic/partitions/:partition',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const partition = int({ partition_id: c.params.partition }, 'partition_id', 0, 0xffff_ffff);
      const segments = int(queryObject(c.query), 'segments_count', 1, 0xffff_ffff);
      await c.run(Code.deleteSegments, req.deleteSegments(s, t, partition, segments), 'delete segments');
      return noContent;
    },
  },

  {
    method: 'GET', path: '/streams/:stream/topics/:topic/consumer-groups',
    handle: async (c) => ({ status: 200, json: res.readGroups(await c.run(Code.getGroups, req.streamAndTopic(stream(c), topic(c)), 'get consumer groups')) }),
  },
  {
    method: 'POST', path: '/streams/:stream/topics/:topic/consumer-groups',
    async handle(c) {
      const [s, t] = [stream(c), topic(c)];
      const body = parseBody(c.body);
      if (body.group_id !== undefined && body.group_id !== null) throw badInput('group_id', 'ids are assigned by the server', ErrorCode.featureUnavailable);
      const created = res.readGroupDetails(await c.run(Code.createGroup, req.createGroup(s, t, str(body, 'name')), 'create consumer group'));
      return { status: 201, json: created };
    },
  },
  {
    method: 'GET', path: '/streams/:stream/topics/:topic/consumer-groups/:group',
    handle: async (c) => ({
      status: 200,
      json: await found(c, Code.getGroup, req.group(stream(c), topic(c), pathId(c.params.group, 'group_id')), res.readGroupDetails, 'get consumer group', ErrorCode.consumerGroupIdNotFound),
    }),
  },
  {
    method: 'DELETE', path: '/streams/:stream/topics/:topic/consumer-groups/:group',
    handle: async (c) => (await c.run(Code.deleteGroup, req.group(stream(c), topic(c), pathId(c.params.group, 'group_id')), 'delete consumer group'), noContent),
  },

  // Membership (not in Iggy's REST API, whose HTTP client refuses it): the member is the token's session, as a
  // binary connection is; JoinConsumerGroup, LeaveConsumerGroup and SyncConsumerGroup on it.
  { method: 'PUT', path: `${MEMBER}`, handle: async (c) => (await c.run(Code.joinGroup, member(c), 'join consumer group'), noContent) },
  { method: 'DELETE', path: `${MEMBER}`, handle: async (c) => (await c.run(Code.leaveGroup, member(c), 'leave consumer group'), noContent) },
  {
    method: 'GET', path: `${MEMBER}`,
    handle: async (c) => ({ status: 200, json: await found(c, Code.syncGroup, member(c), res.readAssignment, 'sync consumer group', ErrorCode.consumerGroupMemberNotFound) }),
  },
];

