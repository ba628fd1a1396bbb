// HTTP listener of the main thread: GET /health (JSON) and GET /metrics (Prometheus text), and every other path
// forwarded to shard 0's REST API (rest/rest-api.ts), body read here within --http-max-request-bytes. It is bound
// before any shard starts, so a port conflict is reported at once; until the shards are ready everything answers
// 503. With TLS material it is HTTPS only; CORS headers only for the configured origins.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { userError } from '../shared/errors.js';
import { CTL, METRIC, SHARD_STATE_NAMES } from '../shared/layout.js';
import { parseAddress } from './config.js';
import type { Supervisor } from './supervisor.js';
import { replicaHealth } from './cluster/replica-observability.js';
import { tlsServerOptions, type TlsMaterial } from './tls-material.js';
import { HttpError, HttpErrorId } from './rest/rest-errors.js';
import { ErrorCode } from '../shared/wire/codes.js';

export interface HttpOptions {
  tls: TlsMaterial | null;
  corsOrigins: string | null; // '*' or a comma-separated list; null = no CORS headers
  maxRequestBytes: number;
}

const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS';
const CORS_HEADERS = 'authorization, content-type';

const MAX_REASONS = 100; // listed in /health; reasons_total says how many there are

export function healthBody(supervisor: Supervisor) {
  const { mesh } = supervisor;
  const view = supervisor.replicaView;
  // A cluster node says which replica it is and how its links to the others are (absent on a single node).
  const cluster = view ? { replica_id: view.settings.self, replicas: replicaHealth(view) } : {};
  if (!supervisor.booted) {
    return { status: supervisor.shutdownReason !== 0 ? 'stopping' : 'starting', shard_count: supervisor.shards.length, uptime_ms: Date.now() - supervisor.startedAt, reasons_total: 0, reasons: [], shards: [], ...cluster };
  }
  const shards = supervisor.shards.map((s) => ({
    id: s.id,
    alive: supervisor.isAlive(s.id),
    state: SHARD_STATE_NAMES[mesh.ctl(s.id, CTL.state)] ?? 'unknown',
    cpu: s.cpu,
    pinned: mesh.ctl(s.id, CTL.cpu) === s.cpu,
    tid: mesh.ctl(s.id, CTL.tid),
    mesh_peers_ok: mesh.ctl(s.id, CTL.meshOk),
    heartbeat: mesh.ctl(s.id, CTL.heartbeat) >>> 0,
    frames_sent: Number(mesh.metric(s.id, METRIC.framesSent)),
    frames_received: Number(mesh.metric(s.id, METRIC.framesReceived)),
  }));
  const allAlive = shards.every((s) => s.alive);
  // Storage conditions the shards reported: the server serves, but not everything it holds (see README, /health).
  const reasons = [...supervisor.storage.values()].flatMap((r) => r.conditions.map((c) => ({
    kind: c.kind, subject: c.subject, shard: r.shard, detail: c.detail, since: new Date(c.sinceMs).toISOString(),
  })));
  const status = supervisor.shutdownReason !== 0 ? 'stopping' : !allAlive ? 'unavailable' : reasons.length > 0 ? 'degraded' : 'ok';
  // Bounded: a thousand offline partitions are one problem, and /metrics counts them all.
  return {
    status, shard_count: shards.length, uptime_ms: Date.now() - supervisor.startedAt, reasons_total: reasons.length,
    reasons: reasons.slice(0, MAX_REASONS), shards, ...cluster,
  };
}

// `ok` and `degraded` serve (degraded: some data needs an operator, `reasons` says what), so both answer 200; a
// load balancer should not take a server off because one partition is read-only. Not serving is 503: starting,
// stopping, or a shard not alive (`unavailable`).
export function healthHttpStatus(status: string): number {
  return status === 'ok' || status === 'degraded' ? 200 : 503;
}

export interface HttpServer {
  server: http.Server;
  address: string; // as bound (a configured port 0 becomes the real port)
  serveMetrics(registry: Registry): void;
}

export async function startHttp(address: string, source: string, supervisor: Supervisor, options: HttpOptions): Promise<HttpServer> {
  const { host, port } = parseAddress(address, source);
  let registry: Registry | null = null;
  const cors = corsPolicy(options.corsOrigins);
  const requests = requestCounter();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    cors(req, res);
    // Counted when the answer is sent, by the route it matched (so the label set stays bounded).
    let route = UNMATCHED;
    res.once('finish', () => requests.inc({ route, status: String(res.statusCode) }));
    if (url.pathname !== '/health' && url.pathname !== '/metrics') {
      forward(req, res, url, supervisor, options.maxRequestBytes, (matched) => { route = matched; });
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') route = `${req.method} ${url.pathname}`;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/health') {
      const body = healthBody(supervisor);
      res.writeHead(healthHttpStatus(body.status), { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (!registry) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('starting: shards are not ready yet\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry!.contentType }).end(text),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
    );
  };
  const server = options.tls ? https.createServer(tlsServerOptions(options.tls), handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(userError('AddressInUse', `${source}: ${address} is already in use`));
      else if (error.code === 'EACCES') reject(userError('AddressNotPermitted', `${source}: no permission to listen on ${address}`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(userError('AddressNotAvailable', `${source}: ${address} is not an address of this machine`));
      else reject(error);
    });
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { server, address: shown, serveMetrics: (r) => { registry = r; r.registerMetric(requests); } };
}

// The route label of a request no route took: an unknown path, a refused method, a body over the limit, a
// request before the shards were ready, a CORS preflight.
const UNMATCHED = 'unmatched';

// Made here, where requests are answered; registered in the server's registry once it exists (serveMetrics).
function requestCounter(): Counter<'route' | 'status'> {
  return new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route (`METHOD /path/:param` of the route that took it, or unmatched) and status',
    labelNames: ['route', 'status'],
    registers: [],
  });
}

function sendError(res: http.ServerResponse, error: HttpError, headers: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(error.status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(error.toJSON()));
}

// A REST request: its body read whole (refused past the limit: 413, from Content-Length before a byte is read, or
// as it arrives), then answered by shard 0.
function forward(req: http.IncomingMessage, res: http.ServerResponse, url: URL, supervisor: Supervisor, limit: number, matched: (route: string) => void): void {
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  if (!supervisor.booted) {
    sendError(res, new HttpError(503, ErrorCode.transientNotAccepted, 'starting: shards are not ready yet'), { 'retry-after': '1' });
    return;
  }
  const tooLarge = () => new HttpError(413, HttpErrorId.bodyTooLarge, `request body is larger than ${limit} bytes (--http-max-request-bytes)`, 'body');
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) {
    // The connection closes after the answer: the unread body is not worth reading.
    sendError(res, tooLarge(), { connection: 'close' });
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > limit) {
      refused = true;
      chunks.length = 0;
      sendError(res, tooLarge(), { connection: 'close' });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    // Its own ArrayBuffer (a Buffer may sit in node's shared pool): it is transferred to shard 0, not copied.
    const body = size === 0 ? null : new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      body!.set(chunk, at);
      at += chunk.length;
    }
    supervisor.restRequest({
      method: req.method ?? 'GET', path: url.pathname, query: url.search, authorization: req.headers.authorization ?? null, body,
      address: req.socket.remoteAddress ?? '',
    }).then((reply) => {
      if (reply.route) matched(reply.route);
      const headers: http.OutgoingHttpHeaders = reply.status === 204 ? {} : { 'content-type': reply.contentType };
      res.writeHead(reply.status, headers).end(reply.status === 204 ? undefined : reply.body);
    }, (error: Error) => sendError(res, new HttpError(500, ErrorCode.error, `internal error: ${error.message}`)));
  });
  req.on('error', () => res.destroy());
}

// CORS off unless configured: then the allowed origin is echoed (or *), with the methods and headers the API takes.
export function corsPolicy(origins: string | null): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  if (origins === null) return () => undefined;
  const any = origins.trim() === '*';
  const allowed = new Set(origins.split(',').map((o) => o.trim()).filter((o) => o.length > 0));
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin || (!any && !allowed.has(origin))) return;
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (!any) res.setHeader('vary', 'origin');
    res.setHeader('access-control-allow-methods', CORS_METHODS);
    res.setHeader('access-control-allow-headers', CORS_HEADERS);
    res.setHeader('access-control-max-age', '600');
  };
}
