// Binary snapshot of the streams state for WAL checkpoints. Versioned; entities in id order so two states that
// applied the same ops encode to the same bytes. Topic settings are not stored: they are recomputed from the
// explicit options, exactly as the ops computed them.
import { Reader, WireError, Writer, decodeUtf8, utf8 } from '../../shared/wire/buffer.js';
import { readTlvBlock, type TlvEntry } from '../../shared/wire/primitives.js';
import { redeal } from './groups.js';
import { encodeOptionsBlock, topicSettings } from './options.js';
import { byId, StreamsState, type ConsumerGroup, type Stream, type Topic } from './streams.js';

const MAGIC = 0x54534c53; // "SLST"
const VERSION = 1;

export function encodeStreamsSnapshot(s: StreamsState): Uint8Array {
  const w = new Writer(1024).u32(MAGIC).u32(VERSION);
  const streams = s.sortedStreams();
  w.u32(streams.length);
  for (const stream of streams) {
    w.u32(stream.id).u64(stream.createdAt).u64(stream.createdOp);
    writeString(w, stream.name);
    w.lenBytes32(encodeOptionsBlock(stream.options));
    const topics = byId([...stream.topics.values()]);
    w.u32(topics.length);
    for (const topic of topics) writeTopic(w, topic);
  }
  return w.finish();
}

function writeTopic(w: Writer, topic: Topic): void {
  w.u32(topic.id).u64(topic.createdAt).u64(topic.createdOp);
  writeString(w, topic.name);
  w.lenBytes32(encodeOptionsBlock(topic.explicitOptions));
  w.u32(topic.partitions.length);
  for (const p of topic.partitions) w.u64(p.createdAt).u64(p.createdOp);
  const groups = byId([...topic.groups.values()]);
  w.u32(groups.length);
  for (const g of groups) {
    w.u32(g.id).u64(g.generation);
    writeString(w, g.name);
    w.u32(g.members.length);
    for (const m of g.members) w.u128(m.client).u32(m.memberId);
  }
}

function writeString(w: Writer, text: string): void {
  w.lenBytes32(utf8.encode(text));
}

// Throws WireError on anything but a complete, well-formed snapshot of a known version.
export function decodeStreamsSnapshot(bytes: Uint8Array): StreamsState {
  const r = new Reader(bytes);
  if (r.u32('snapshot magic') !== MAGIC) throw new WireError('not a streams snapshot (bad magic)');
  const version = r.u32('snapshot version');
  if (version !== VERSION) throw new WireError(`streams snapshot version ${version} is not ${VERSION}`);
  const state = new StreamsState();
  const count = r.u32('streams count');
  for (let i = 0; i < count; i++) {
    const stream = readStream(r);
    if (state.streams.has(stream.id) || state.streamIdsByName.has(stream.name)) throw new WireError(`snapshot repeats stream ${stream.id} '${stream.name}'`);
    state.streams.set(stream.id, stream);
    state.streamIdsByName.set(stream.name, stream.id);
  }
  r.done('streams snapshot');
  return state;
}

function readStream(r: Reader): Stream {
  const stream: Stream = {
    id: r.u32('stream id'), createdAt: num(r.u64('created_at')), createdOp: num(r.u64('created op')), name: readString(r, 'stream name'),
    options: readOptions(r, 'stream options'), topics: new Map(), topicIdsByName: new Map(),
  };
  const count = r.u32('topics count');
  for (let i = 0; i < count; i++) {
    const topic = readTopic(r);
    if (stream.topics.has(topic.id) || stream.topicIdsByName.has(topic.name)) throw new WireError(`snapshot repeats topic ${topic.id} '${topic.name}'`);
    stream.topics.set(topic.id, topic);
    stream.topicIdsByName.set(topic.name, topic.id);
  }
  return stream;
}

function readTopic(r: Reader): Topic {
  const id = r.u32('topic id');
  const createdAt = num(r.u64('created_at'));
  const createdOp = num(r.u64('created op'));
  const name = readString(r, 'topic name');
  const explicitOptions = readOptions(r, 'topic options');
  const topic: Topic = {
    id, createdAt, createdOp, name, explicitOptions, settings: topicSettings(explicitOptions), partitions: [], groups: new Map(), groupIdsByName: new Map(),
  };
  const partitions = r.u32('partitions count');
  for (let i = 0; i < partitions; i++) topic.partitions.push({ createdAt: num(r.u64('partition created_at')), createdOp: num(r.u64('partition created op')) });
  const groups = r.u32('groups count');
  for (let i = 0; i < groups; i++) {
    const group: ConsumerGroup = { id: r.u32('group id'), generation: num(r.u64('generation')), name: readString(r, 'group name'), members: [], held: [] };
    const members = r.u32('members count');
    for (let m = 0; m < members; m++) group.members.push({ client: r.u128('member client'), memberId: r.u32('member id') });
    redeal(topic, group);
    if (topic.groups.has(group.id) || topic.groupIdsByName.has(group.name)) throw new WireError(`snapshot repeats group ${group.id} '${group.name}'`);
    topic.groups.set(group.id, group);
    topic.groupIdsByName.set(group.name, group.id);
  }
  return topic;
}

function readOptions(r: Reader, what: string): TlvEntry[] {
  const length = r.u32(`${what} length`);
  const end = r.offset + length;
  if (end > r.end) throw new WireError(`${what}: block of ${length} bytes overruns the snapshot`);
  return readTlvBlock(r, end, what);
}

function readString(r: Reader, what: string): string {
  return decodeUtf8(r.bytes(r.u32(`${what} length`), what), what);
}

function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`snapshot value ${v} exceeds 2^53`);
  return Number(v);
}
