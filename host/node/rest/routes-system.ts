// Ping, stats, clients, cluster metadata and the snapshot file, and the composition of every route.
import * as req from '../../client/requests.js';
import * as res from '../../client/responses.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { Code } from './commands.js';
import { int, parseBody } from './json-input.js';
import { badInput, refusal } from './rest-errors.js';
import type { Route } from './route.js';

const SNAPSHOT_TYPES: Record<string, number> = {
  filesystem_overview: req.SnapshotType.filesystemOverview, process_list: req.SnapshotType.processList,
  resource_usage: req.SnapshotType.resourceUsage, test: req.SnapshotType.test, server_logs: req.SnapshotType.serverLogs,
  server_config: req.SnapshotType.serverConfig, all: req.SnapshotType.all,
};

export const SYSTEM_ROUTES: Route[] = [
  { method: 'GET', path: '/ping', public: true, handle: async () => ({ status: 200, text: 'pong' }) },
  { method: 'GET', path: '/stats', handle: async (c) => ({ status: 200, json: res.readStats(await c.run(Code.getStats, req.empty(), 'get stats')) }) },
  // The caller's own session (shardlog's, not Iggy's: GetMe of the binary protocol).
  { method: 'GET', path: '/me', handle: async (c) => ({ status: 200, json: res.readClientDetails(await c.run(Code.getMe, req.empty(), 'get me')) }) },
  { method: 'GET', path: '/clients', handle: async (c) => ({ status: 200, json: res.readClients(await c.run(Code.getClients, req.empty(), 'get clients')) }) },
  {
    method: 'GET', path: '/clients/:client',
    async handle(c) {
      const id = int({ client_id: c.params.client }, 'client_id', 0, 0xffff_ffff);
      const payload = await c.run(Code.getClient, req.getClient(id), 'get client');
      if (payload.length === 0) throw refusal(ErrorCode.resourceNotFound, 'get client');
      return { status: 200, json: res.readClientDetails(payload) };
    },
  },
  {
    method: 'GET', path: '/options/:scope',
    async handle(c) {
      const scopes: Record<string, number> = req.OptionScope;
      const scope = scopes[c.params.scope];
      if (scope === undefined) throw badInput('scope', `must be one of ${Object.keys(scopes).join(', ')}, not ${JSON.stringify(c.params.scope)}`);
      return { status: 200, json: res.readOptionDescriptions(await c.run(Code.describeOptions, req.describeOptions(scope), 'describe options')) };
    },
  },
  { method: 'GET', path: '/cluster/metadata', handle: async (c) => ({ status: 200, json: res.readClusterMetadata(await c.run(Code.getClusterMetadata, req.empty(), 'get cluster metadata')) }) },
  {
    method: 'POST', path: '/snapshot',
    async handle(c) {
      const body = c.body && c.body.length > 0 ? parseBody(c.body) : {};
      const compression = body.compression ?? 'deflated';
      if (compression !== 'stored' && compression !== 'deflated') throw badInput('compression', `must be stored or deflated, not ${JSON.stringify(compression)}`);
      const names = body.snapshot_types ?? ['all'];
      if (!Array.isArray(names) || names.length === 0) throw badInput('snapshot_types', 'must be a non-empty list');
      const types = names.map((n, i) => {
        const t = typeof n === 'string' ? SNAPSHOT_TYPES[n] : undefined;
        if (t === undefined) throw badInput(`snapshot_types[${i}]`, `unknown type ${JSON.stringify(n)} (${Object.keys(SNAPSHOT_TYPES).join(', ')})`);
        return t;
      });
      const zip = await c.run(Code.getSnapshotFile, req.snapshot(types, req.SnapshotCompression[compression]), 'snapshot');
      return { status: 200, bytes: zip, contentType: 'application/zip' };
    },
  },
];
