// `npm start`: the single-node server. Returns the process exit code; host/bin/shardlog-server.mjs is the entry
// point that sets --no-liftoff first.
import fs from 'node:fs';
import path from 'node:path';
import { ShardlogError, describeError, userError } from '../shared/errors.js';
import { ShutdownReason, SHUTDOWN_REASON_NAMES } from '../shared/layout.js';
import { logger, setLogLevel } from '../shared/log.js';
import { defaultCoreWasm, repoRoot } from './paths.js';
import { helpText, parseConfig, sourceOf, type ServerConfig } from './config.js';
import { allowedCpus, resolveShardCpus } from './cpu.js';
import { parseFaults } from './faults.js';
import { type HttpServer, startHttp } from './http.js';
import { createMetricsRegistry } from './metrics.js';
import { registerReplicaMetrics } from './cluster/replica-observability.js';
import { descriptorHeadroom, descriptorLimit } from './net/descriptors.js';
import { describeFsCause, mkdirCause } from './io/data-dir-errors.js';
import { SignalPolicy } from './signals.js';
import { Supervisor } from './supervisor.js';
import { loadTls } from './tls-material.js';

const log = logger('main');

// One Ctrl-C can arrive twice (see SignalPolicy). A repeat this soon is the same keypress, not a request to abort.
const DUPLICATE_SIGNAL_MS = 150;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

// --max-connections as given, or its default lowered so that connections cannot take every descriptor the process
// may open (then /health, /metrics and the data files would be shut out too).
function maxConnections(config: ServerConfig, shards: number): number {
  const limit = descriptorLimit();
  if (limit === null) return config.maxConnections;
  const room = Math.max(1, limit - descriptorHeadroom(limit, shards));
  const given = config.sources.maxConnections;
  if (given) {
    if (config.maxConnections > room) log.warn(`${given}: ${config.maxConnections} connections is more than the ${limit} file descriptors of this process leave room for (ulimit -n); past about ${room}, connections are refused as descriptors run out`);
    return config.maxConnections;
  }
  if (config.maxConnections <= room) return config.maxConnections;
  log.info(`at most ${room} client connections: the process may open ${limit} file descriptors (ulimit -n); raise it or set --max-connections`);
  return room;
}

function prepareDataDir(dir: string, source: string): void {
  try {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw mkdirCause(dir, error as NodeJS.ErrnoException);
    }
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw userError('DataDirUnusable', `${source}: cannot use ${dir} as the data directory: ${describeFsCause(error)}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let http: HttpServer | null = null;
  let supervisor: Supervisor | null = null;
  let userFault = false; // a configuration problem found once shards were running: exit 2 after stopping them
  try {
    const parsed = parseConfig(argv, process.env);
    if (parsed.kind === 'help') {
      console.log(helpText());
      return 0;
    }
    if (parsed.kind === 'version') {
      console.log(`shardlog ${version()}`);
      return 0;
    }
    const { config } = parsed;
    setLogLevel(config.logLevel);
    const cpus = resolveShardCpus(config.cpuAllocation, allowedCpus(), sourceOf(config, 'cpuAllocation', 'sharding.cpu_allocation (default "all")'));
    prepareDataDir(config.dataDir, sourceOf(config, 'dataDir', 'system.data_dir'));
    const faults = parseFaults(process.env.SHARDLOG_FAULT);
    const wasmFile = path.resolve(config.coreWasm ?? defaultCoreWasm);

    const tls = loadTls(config);
    const running = new Supervisor({ config, cpus, wasmFile, faults, version: version(), maxConnections: maxConnections(config, cpus.length), tls });
    supervisor = running;
    const signals = new SignalPolicy(DUPLICATE_SIGNAL_MS);
    const onSignal = (signal: NodeJS.Signals) => {
      const action = signals.next(Date.now());
      if (action === 'shutdown') {
        running.requestShutdown(ShutdownReason.signal, `${signal}; press Ctrl-C again to abort at once`);
      } else if (action === 'duplicate') {
        log.debug(`${signal} repeated within ${DUPLICATE_SIGNAL_MS} ms: the same keypress, ignored`);
      } else {
        log.warn(`${signal} again: aborting without waiting for shards`);
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    http = await startHttp(config.httpAddress, sourceOf(config, 'httpAddress', 'http.address'), running, {
      tls, corsOrigins: config.httpCorsOrigins, maxRequestBytes: config.httpMaxRequestBytes,
    });
    await running.boot();
    const registry = createMetricsRegistry(running.mesh, (id) => running.isAlive(id), running.netCounters, () => running.storage.values());
    const replicas = running.replicaView;
    if (replicas) registerReplicaMetrics(registry, replicas);
    http.serveMetrics(registry);
    const role = replicas ? `replica ${replicas.settings.self} of ${replicas.settings.roster.entries.length}, ` : '';
    const scheme = tls ? 'https' : 'http';
    log.info(`shardlog ${version()} ready: ${role}${cpus.length} shard(s), Iggy TCP${tls ? '+TLS' : ''} ${running.tcpAddress}, ${scheme}://${http.address} (REST API, /health, /metrics), data in ${config.dataDir}`);

    await running.untilShutdown();
    log.info(`stopping (${SHUTDOWN_REASON_NAMES[running.shutdownReason] ?? running.shutdownReason})`);
  } catch (error) {
    if (error instanceof ShardlogError && (error.code === 'TcpListenFailed' || error.code === 'DataDirUnusable')) userFault = true;
    const interrupted = error instanceof ShardlogError && error.code === 'BootInterrupted';
    if (interrupted) log.info(error.message);
    else log.error(describeError(error));
    const started = supervisor?.shards.length ?? 0;
    if (!supervisor || (started === 0 && !interrupted)) {
      // Nothing was running yet: a configuration or environment problem.
      closeHttp(http);
      return error instanceof ShardlogError ? 2 : 1;
    }
    supervisor.requestShutdown(ShutdownReason.bootFailed);
  }
  closeHttp(http);
  await supervisor.join();
  const failures = supervisor.failures;
  const clean = failures.length === 0 && supervisor.shutdownReason === ShutdownReason.signal;
  if (supervisor.shards.length > 0) log.info(clean ? 'stopped cleanly' : `stopped with ${failures.length} failure(s)`);
  if (userFault) return 2;
  return clean ? 0 : 1;
}

function closeHttp(http: HttpServer | null): void {
  http?.server.close();
  http?.server.closeAllConnections();
}
