// System reads (iggy-client-wire.md §7.1): stats, cluster metadata, clients, `me`. Clients live on every
// shard, so listing them asks each shard for its own connections.
import fs from 'node:fs';
import os from 'node:os';
import { Lifecycle, Variant } from '../../shared/frames.js';
import { Reader, Writer, utf8 } from '../../shared/wire/buffer.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { allowed } from '../metadata/permissions.js';
import { groupsOfClient, streamsCounts } from '../metadata/streams-api.js';
import type { ReadResult, Session } from '../metadata/types.js';
import type { ConnectedClient, ShardContext } from './context.js';
import { Method } from './shard-protocol.js';
import { snapshotFile } from './snapshot-zip.js';
import { clusterNodes } from '../cluster/cluster-metadata.js';

const NOT_LOGGED_IN = 0xffff_ffff;
const TRANSPORT_TCP = 1;
// The reference's default ports of transports shardlog does not serve (QUIC, WebSocket): reported so clients
// that check the single-node shape (iggy-client-wire.md §7.3) see what they expect; nothing listens there.
const REFERENCE_QUIC_PORT = 8080;
const REFERENCE_WEBSOCKET_PORT = 8092;

export async function systemRead(ctx: ShardContext, session: Session, code: number, body: Uint8Array): Promise<ReadResult | null> {
  switch (code) {
    case 10: return guard(ctx, session, () => stats(ctx));
    case 11: return allowed(ctx.state.users, session.userId, 'read_servers') ? snapshotFile(ctx, body) : { ok: false, status: ErrorCode.unauthorized, message: 'read_servers permission needed' };
    case 12: return { ok: true, body: clusterMetadata(ctx) };
    case 20: return me(ctx, session);
    case 21: return guard(ctx, session, async () => getClient(ctx, new Reader(body).u32('client id')));
    case 22: return guard(ctx, session, async () => concat((await allClients(ctx)).map((c) => clientDetails(ctx, c, false))));
    default: return null;
  }
}

async function guard(ctx: ShardContext, session: Session, read: () => Promise<Uint8Array> | Uint8Array): Promise<ReadResult> {
  if (!allowed(ctx.state.users, session.userId, 'read_servers')) return { ok: false, status: ErrorCode.unauthorized, message: 'read_servers permission needed' };
  return { ok: true, body: await read() };
}

export function encodeClientList(clients: ConnectedClient[]): Uint8Array {
  const w = new Writer(64 * clients.length + 4).u32(clients.length);
  for (const c of clients) w.u32(c.connectionId).u32(c.userId).u128(c.client).lenBytes32(utf8.encode(c.address));
  return w.finish();
}

function decodeClientList(bytes: Uint8Array): ConnectedClient[] {
  const r = new Reader(bytes);
  const out: ConnectedClient[] = [];
  for (let n = r.u32(); n > 0; n--) {
    out.push({ connectionId: r.u32(), userId: r.u32(), client: r.u128(), address: new TextDecoder().decode(r.bytes(r.u32())) });
  }
  return out;
}

async function allClients(ctx: ShardContext): Promise<ConnectedClient[]> {
  const request = new Uint8Array([Method.clientList]);
  const lists = await Promise.all(Array.from({ length: ctx.shards }, (_, shard) =>
    ctx.rpc.call(shard, Variant.lifecycle, Lifecycle.partitionRead, request).then((bytes) => decodeClientList(bytes.subarray(4)))));
  return lists.flat().sort((a, b) => a.connectionId - b.connectionId);
}

async function getClient(ctx: ShardContext, connectionId: number): Promise<Uint8Array> {
  const found = (await allClients(ctx)).find((c) => c.connectionId === connectionId);
  return found ? clientDetails(ctx, found, true) : new Uint8Array(0);
}

async function me(ctx: ShardContext, session: Session): Promise<ReadResult> {
  // The caller's own connection is on this shard (it is being served here).
  const self = ctx.localClients().find((c) => c.connectionId === session.connectionId)
    ?? { connectionId: session.connectionId, userId: session.userId, address: '', client: session.client };
  return { ok: true, body: clientDetails(ctx, self, true) };
}

// ClientResponse (+ the groups for ClientDetails).
function clientDetails(ctx: ShardContext, c: ConnectedClient, details: boolean): Uint8Array {
  const groups = c.client === 0n ? [] : groupsOfClient(ctx.state, c.client);
  const w = new Writer(64).u32(c.connectionId).u32(c.client === 0n ? NOT_LOGGED_IN : c.userId).u8(TRANSPORT_TCP)
    .lenBytes32(utf8.encode(c.address)).u32(groups.length);
  if (details) for (const g of groups) w.u32(g.streamId).u32(g.topicId).u32(g.groupId);
  return w.finish();
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

function clusterMetadata(ctx: ShardContext): Uint8Array {
  if (ctx.clusterView) {
    const nodes = clusterNodes(ctx.clusterView);
    const w = new Writer(256).lenBytes32(utf8.encode('shardlog-cluster')).u32(nodes.length);
    for (const n of nodes) {
      w.lenBytes32(utf8.encode(n.name)).lenBytes32(utf8.encode(n.host))
        .u16(n.tcpPort).u16(REFERENCE_QUIC_PORT).u16(n.httpPort).u16(REFERENCE_WEBSOCKET_PORT).u8(n.role).u8(n.status);
    }
    return w.finish();
  }
  const { tcpAddress, httpAddress } = ctx.settings;
  const host = tcpAddress.slice(0, tcpAddress.lastIndexOf(':'));
  return new Writer(128).lenBytes32(utf8.encode('single-node')).u32(1)
    .lenBytes32(utf8.encode('iggy-node')).lenBytes32(utf8.encode(host))
    .u16(portOf(tcpAddress)).u16(REFERENCE_QUIC_PORT).u16(portOf(httpAddress)).u16(REFERENCE_WEBSOCKET_PORT)
    .u8(0 /* leader */).u8(0 /* healthy */).finish();
}

async function stats(ctx: ShardContext): Promise<Uint8Array> {
  const counts = streamsCounts(ctx.state);
  let messages = 0;
  let bytes = 0;
  let segments = 0;
  for (const s of ctx.state.partitionStats.values()) {
    messages += s.messagesCount;
    bytes += s.sizeBytes;
    segments += s.segmentsCount;
  }
  const clients = await allClients(ctx);
  const memory = process.memoryUsage();
  const nowMicros = Date.now() * 1000;
  const cpu = process.cpuUsage();
  const runMicros = Math.max(1, nowMicros - ctx.settings.startedAtMicros);
  const cpuPercent = ((cpu.user + cpu.system) / runMicros) * 100;
  let disk = { free: 0, total: 0 };
  try {
    const s = fs.statfsSync(ctx.settings.dataDir);
    disk = { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch { /* reported as 0 */ }
  const w = new Writer(512)
    .u32(process.pid).f32(cpuPercent).f32(os.loadavg()[0] * 100 / Math.max(1, os.cpus().length))
    .u64(memory.rss).u64(os.totalmem()).u64(os.freemem())
    .u64(runMicros).u64(ctx.settings.startedAtMicros).u64(0).u64(bytes).u64(bytes)
    .u32(counts.streams).u32(counts.topics).u32(counts.partitions).u32(segments)
    .u64(messages).u32(clients.length).u32(counts.consumerGroups);
  for (const text of [os.hostname(), os.type(), os.release(), os.version(), `shardlog ${ctx.settings.version}`]) w.lenBytes32(utf8.encode(text));
  w.u32(0); // iggy_server_semver: not an Iggy release
  w.u32(0); // cache metrics: no read cache
  w.u32(ctx.shards).u64(disk.free).u64(disk.total);
  return w.finish();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
