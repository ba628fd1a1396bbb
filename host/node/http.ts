// HTTP listener of the main thread: GET /health (JSON) and GET /metrics (Prometheus text). It is bound before
// any shard starts, so a port conflict is reported at once; until the shards are ready both answer 503.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { userError } from '../shared/errors.js';
import { CTL, METRIC, SHARD_STATE_NAMES } from '../shared/layout.js';
import { parseAddress } from './config.js';
import type { Supervisor } from './supervisor.js';
import { replicaHealth } from './cluster/replica-observability.js';

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

export async function startHttp(address: string, source: string, supervisor: Supervisor): Promise<HttpServer> {
  const { host, port } = parseAddress(address, source);
  let registry: Registry | null = null;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/health') {
      const body = healthBody(supervisor);
      res.writeHead(healthHttpStatus(body.status), { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (url.pathname === '/metrics') {
      if (!registry) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('starting: shards are not ready yet\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry!.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health or /metrics\n');
  });
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
  return { server, address: shown, serveMetrics: (r) => { registry = r; } };
}
