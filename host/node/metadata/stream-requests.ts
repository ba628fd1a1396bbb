// Request bodies of the streams ops (iggy-client-wire.md §7.4–7.7), decoded once and shared by the pre-consensus
// check (streams-prepare.ts) and the state machine (streams-apply.ts). Trailing bytes after a fully decoded
// fixed-shape body are ignored (§14: Node's DeleteTopic appends a u32); option blocks run to the end.
import { Reader, WireError, decodeUtf8 } from '../../shared/wire/buffer.js';
import { ErrorCode, Operation } from '../../shared/wire/codes.js';
import { readIdentifier, readName, type Identifier, type TlvEntry } from '../../shared/wire/primitives.js';
import { checkStreamOptions, readOptionsBlock, topicSettings, type TopicSettings } from './options.js';
import { MAX_PARTITIONS_PER_REQUEST } from './streams.js';
import { InternalOperation } from './types.js';

export type StreamsRequest =
  | { operation: 128; name: string; options: TlvEntry[] }
  | { operation: 129; stream: Identifier; name: string; options: TlvEntry[] }
  | { operation: 130 | 131; stream: Identifier }
  | { operation: 132; stream: Identifier; partitionsCount: number; name: string; options: TlvEntry[]; settings: TopicSettings }
  | { operation: 133; stream: Identifier; topic: Identifier; name: string; options: TlvEntry[]; settings: TopicSettings }
  | { operation: 134 | 135; stream: Identifier; topic: Identifier }
  | { operation: 136 | 137; stream: Identifier; topic: Identifier; count: number }
  | { operation: 138; stream: Identifier; topic: Identifier; partition: number; segmentsCount: number }
  | { operation: 139; stream: Identifier; topic: Identifier; name: string }
  | { operation: 140 | 148 | 149; stream: Identifier; topic: Identifier; group: Identifier }
  | { operation: 66; client: bigint };

export const STREAMS_OPERATIONS: ReadonlySet<number> = new Set([
  128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 148, 149, InternalOperation.removeConsumerGroupMember,
]);

export function isStreamsOperation(operation: number): boolean {
  return STREAMS_OPERATIONS.has(operation);
}

// Throws WireError (code 3 unless a more specific Iggy code applies).
export function decodeStreamsRequest(operation: number, body: Uint8Array): StreamsRequest {
  const r = new Reader(body);
  switch (operation) {
    case Operation.createStream: {
      const name = resourceName(r, 'stream name', ErrorCode.invalidStreamName);
      const options = readOptionsBlock(r, 'stream options');
      checkStreamOptions(options);
      return { operation, name, options };
    }
    case Operation.updateStream: {
      const stream = readIdentifier(r, 'stream id');
      const name = resourceName(r, 'stream name', ErrorCode.invalidStreamName);
      const options = readOptionsBlock(r, 'stream options');
      checkStreamOptions(options);
      return { operation, stream, name, options };
    }
    case Operation.deleteStream:
    case Operation.purgeStream:
      return { operation, stream: readIdentifier(r, 'stream id') };
    case Operation.createTopic: {
      const stream = readIdentifier(r, 'stream id');
      const partitionsCount = r.u32('partitions count');
      if (partitionsCount > MAX_PARTITIONS_PER_REQUEST) throw new WireError(`${partitionsCount} partitions exceed ${MAX_PARTITIONS_PER_REQUEST} per request`, ErrorCode.tooManyPartitions);
      const name = resourceName(r, 'topic name', ErrorCode.invalidTopicName);
      const options = readOptionsBlock(r, 'topic options');
      return { operation, stream, partitionsCount, name, options, settings: topicSettings(options) };
    }
    case Operation.updateTopic: {
      const stream = readIdentifier(r, 'stream id');
      const topic = readIdentifier(r, 'topic id');
      const name = resourceName(r, 'topic name', ErrorCode.invalidTopicName);
      const options = readOptionsBlock(r, 'topic options');
      return { operation, stream, topic, name, options, settings: topicSettings(options) };
    }
    case Operation.deleteTopic:
    case Operation.purgeTopic:
      return { operation, stream: readIdentifier(r, 'stream id'), topic: readIdentifier(r, 'topic id') };
    case Operation.createPartitions:
    case Operation.deletePartitions: {
      const stream = readIdentifier(r, 'stream id');
      const topic = readIdentifier(r, 'topic id');
      const count = r.u32('partitions count');
      if (count < 1 || count > MAX_PARTITIONS_PER_REQUEST) throw new WireError(`partitions count ${count} is not 1..${MAX_PARTITIONS_PER_REQUEST}`, ErrorCode.tooManyPartitions);
      return { operation, stream, topic, count };
    }
    case Operation.deleteSegments: {
      const stream = readIdentifier(r, 'stream id');
      const topic = readIdentifier(r, 'topic id');
      return { operation, stream, topic, partition: r.u32('partition id'), segmentsCount: r.u32('segments count') };
    }
    case Operation.createConsumerGroup: {
      const stream = readIdentifier(r, 'stream id');
      const topic = readIdentifier(r, 'topic id');
      return { operation, stream, topic, name: readName(r, 'consumer group name') };
    }
    case Operation.deleteConsumerGroup:
    case Operation.joinConsumerGroup:
    case Operation.leaveConsumerGroup:
      return { operation, stream: readIdentifier(r, 'stream id'), topic: readIdentifier(r, 'topic id'), group: readIdentifier(r, 'group id') };
    case InternalOperation.removeConsumerGroupMember:
      return { operation, client: r.u128('client id') };
    default:
      throw new WireError(`operation ${operation} is not a streams operation`);
  }
}

// A WireName whose emptiness or bad UTF-8 is the resource's own "invalid name" code.
function resourceName(r: Reader, what: string, code: number): string {
  const length = r.u8(`${what} length`);
  if (length === 0) throw new WireError(`${what} is empty`, code);
  const bytes = r.bytes(length, what);
  try {
    return decodeUtf8(bytes, what);
  } catch (e) {
    throw new WireError((e as Error).message, code);
  }
}
