// `npm start`: the single-node server. Returns the process exit code; host/bin/shardlog-server.mjs is the entry
// point that sets --no-liftoff first.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ShardlogError, describeError, userError } from '../shared/errors.js';
import { ShutdownReason, SHUTDOWN_REASON_NAMES } from '../shared/layout.js';
import { logger, setLogLevel } from '../shared/log.js';
import { defaultCoreWasm, repoRoot } from '../shared/paths.js';
import { helpText, parseConfig, sourceOf } from './config.js';
import { allowedCpus, resolveShardCpus } from './cpu.js';
import { parseFaults } from './faults.js';
import { startHttp } from './http.js';
import { createMetricsRegistry } from './metrics.js';
import { Supervisor } from './supervisor.js';

const log = logger('main');

// One Ctrl-C can arrive twice: from the terminal to the whole process group, and forwarded by `npm start`
// (npm re-sends SIGINT/SIGTERM to its child). A repeat this soon is the same keypress, not a request to abort.
const DUPLICATE_SIGNAL_MS = 150;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function prepareDataDir(dir: string, source: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw userError('DataDirUnusable', `${source}: cannot use ${dir} as the data directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let supervisor: Supervisor | null = null;
  let server: http.Server | null = null;
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

    supervisor = new Supervisor({ config, cpus, wasmFile, faults });
    const stopping = supervisor;
    let firstSignalAt = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      const now = Date.now();
      if (firstSignalAt === 0) {
        firstSignalAt = now;
        stopping.requestShutdown(ShutdownReason.signal, `${signal}; press Ctrl-C again to abort at once`);
      } else if (now - firstSignalAt < DUPLICATE_SIGNAL_MS) {
        log.debug(`${signal} repeated within ${DUPLICATE_SIGNAL_MS} ms: same keypress, ignored`);
      } else {
        log.warn(`${signal} again: aborting without waiting for shards`);
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    await supervisor.boot();
    const registry = createMetricsRegistry(supervisor.mesh, (id) => stopping.isAlive(id));
    server = await startHttp(config.httpAddress, sourceOf(config, 'httpAddress', 'http.address'), supervisor, registry);
    log.info(`shardlog ${version()} ready: ${cpus.length} shard(s), http://${config.httpAddress} (/health, /metrics), data in ${config.dataDir}`);

    await supervisor.untilShutdown();
    log.info(`stopping (${SHUTDOWN_REASON_NAMES[supervisor.shutdownReason] ?? supervisor.shutdownReason})`);
  } catch (error) {
    log.error(describeError(error));
    if (supervisor) supervisor.requestShutdown(ShutdownReason.bootFailed);
    else return error instanceof ShardlogError ? 2 : 1;
  } finally {
    server?.close();
    server?.closeAllConnections();
  }
  await supervisor.join();
  const failures = supervisor.failures;
  const clean = failures.length === 0 && supervisor.shutdownReason === ShutdownReason.signal;
  log.info(clean ? 'stopped cleanly' : `stopped with ${failures.length} failure(s)`);
  return clean ? 0 : 1;
}
