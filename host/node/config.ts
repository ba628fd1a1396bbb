// Server configuration: embedded defaults < JSON config file < SHARDLOG_* environment < command-line flags.
// One table (OPTIONS) drives parsing, validation, the environment names and --help.
import fs from 'node:fs';
import { userError } from '../shared/errors.js';
import { FSYNC_POLICY_HELP, parseFsyncPolicy } from './io/fsync-policy.js';
import { DEFAULT_LOGIN_THROTTLE } from './server/login-throttle.js';
import { DEFAULT_BACKLOG_BOUND } from './server/mailbox.js';
import { CLUSTER_SIZE_RULE, clusterSettings, formatHostPort, type ClusterSettings } from './cluster/roster.js';
import { MIN_SECRET_BYTES } from './rest/jwt-issuer.js';

export interface ServerConfig {
  configFile: string | null;
  dataDir: string;
  cpuAllocation: string;
  pinCores: boolean;
  inboxCapacity: number;
  replyInboxCapacity: number;
  ringSlotSize: number;
  arenaSize: number;
  backlogBytes: number;
  backlogMessages: number;
  bootTimeoutMs: number;
  shutdownJoinTimeoutMs: number;
  watchdogTimeoutMs: number;
  tcpAddress: string;
  httpAddress: string;
  coreWasm: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  fsync: string;
  rootUsername: string;
  rootPassword: string;
  storageBytes: number;
  maxBatchBytes: number;
  segmentBytes: number;
  retentionIntervalMs: number;
  verifyReads: string;
  directIo: boolean;
  clientHeartbeatMs: number;
  loginFailuresPerConnection: number;
  loginLockoutFailures: number;
  loginLockoutMs: number;
  loginFailureDelayMs: number;
  maxConnections: number;
  maxUnauthenticatedFrameBytes: number;
  maxConnectionBufferBytes: number;
  maxBufferedBytes: number;
  frameTimeoutMs: number;
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  metadataJournalSlots: number;
  replicaId: number | null;
  cluster: string | null;
  clusterSecret: string | null;
  clusterId: number;
  clusterHandshakeTimeoutMs: number;
  durability: string;
  // The checked roster and this replica's place in it (from the five above), or null: a single node.
  clusterSettings: ClusterSettings | null;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsClientCa: string | null;
  jwtSecret: string | null;
  jwtAccessExpirySeconds: number;
  jwtRefreshExpirySeconds: number;
  httpCorsOrigins: string | null;
  httpMaxRequestBytes: number;
  // Where each value came from, for error messages that name the knob the user actually set.
  sources: Partial<Record<keyof ServerConfig, string>>;
}

type Kind = 'string' | 'secret' | 'int' | 'bool' | 'address' | 'pow2' | 'level' | 'allocation' | 'fsync' | 'verify' | 'durability';

interface Option {
  key: keyof ServerConfig;
  file?: string; // dotted path in the config file
  flag: string;
  env: string;
  kind: Kind;
  min?: number;
  max?: number;
  help: string;
}

const OPTIONS: Option[] = [
  { key: 'configFile', flag: '--config', env: 'SHARDLOG_CONFIG', kind: 'string', help: 'JSON config file (keys as below; unknown keys are an error)' },
  { key: 'dataDir', file: 'system.data_dir', flag: '--data-dir', env: 'SHARDLOG_DATA_DIR', kind: 'string', help: 'data directory [./data]' },
  { key: 'cpuAllocation', file: 'sharding.cpu_allocation', flag: '--cpu-allocation', env: 'SHARDLOG_CPU_ALLOCATION', kind: 'allocation', help: 'shards and their CPUs: all | N (first N allowed CPUs) | a..b (CPUs a to b-1) [all]' },
  { key: 'cpuAllocation', flag: '--shards', env: 'SHARDLOG_SHARDS', kind: 'allocation', help: 'number of shards, same as --cpu-allocation N' },
  { key: 'pinCores', file: 'sharding.pin_cores', flag: '--pin-cores', env: 'SHARDLOG_PIN_CORES', kind: 'bool', help: 'pin each shard thread to its CPU (taskset) [true]' },
  { key: 'inboxCapacity', file: 'sharding.inbox_capacity', flag: '--inbox-capacity', env: 'SHARDLOG_INBOX_CAPACITY', kind: 'pow2', min: 2, max: 1 << 20, help: 'slots per inbox ring, power of two [1024]' },
  { key: 'replyInboxCapacity', file: 'sharding.reply_inbox_capacity', flag: '--reply-inbox-capacity', env: 'SHARDLOG_REPLY_INBOX_CAPACITY', kind: 'pow2', min: 2, max: 1 << 20, help: 'slots per reply ring, power of two [1024]' },
  { key: 'ringSlotSize', file: 'sharding.ring_slot_size', flag: '--ring-slot-size', env: 'SHARDLOG_RING_SLOT_SIZE', kind: 'pow2', min: 64, max: 1 << 16, help: 'bytes per ring slot, power of two; a frame may span slots [4096 up to 4 shards, 2048 up to 8, else 1024]' },
  { key: 'arenaSize', file: 'sharding.arena_bytes', flag: '--arena-bytes', env: 'SHARDLOG_ARENA_BYTES', kind: 'int', min: 1 << 16, max: 1 << 30, help: 'private core arena per shard (consensus groups live here), bytes [67108864]' },
  { key: 'backlogBytes', file: 'sharding.backlog_bytes', flag: '--shard-backlog-bytes', env: 'SHARDLOG_SHARD_BACKLOG_BYTES', kind: 'int', min: 4096, max: 1 << 30, help: `bytes a shard may queue for another shard's full rings before requests to it wait (their clients' sockets are not read) and new metadata proposals wait [${DEFAULT_BACKLOG_BOUND.bytes}]` },
  { key: 'backlogMessages', file: 'sharding.backlog_messages', flag: '--shard-backlog-messages', env: 'SHARDLOG_SHARD_BACKLOG_MESSAGES', kind: 'int', min: 1, max: 1 << 20, help: `messages a shard may queue for another shard, likewise [${DEFAULT_BACKLOG_BOUND.messages}]` },
  { key: 'bootTimeoutMs', file: 'sharding.boot_timeout_ms', flag: '--boot-timeout-ms', env: 'SHARDLOG_BOOT_TIMEOUT_MS', kind: 'int', min: 100, max: 600_000, help: 'shards must be ready within this [15000]' },
  { key: 'shutdownJoinTimeoutMs', file: 'sharding.shutdown_join_timeout_ms', flag: '--shutdown-join-timeout-ms', env: 'SHARDLOG_SHUTDOWN_JOIN_TIMEOUT_MS', kind: 'int', min: 100, max: 900_000, help: 'deadline for all shards to stop after shutdown starts [4000]' },
  { key: 'watchdogTimeoutMs', file: 'sharding.watchdog_timeout_ms', flag: '--watchdog-timeout-ms', env: 'SHARDLOG_WATCHDOG_TIMEOUT_MS', kind: 'int', min: 500, max: 600_000, help: 'a shard whose loop stalls this long stops the server [10000]' },
  { key: 'tcpAddress', file: 'tcp.address', flag: '--tcp-address', env: 'SHARDLOG_TCP_ADDRESS', kind: 'address', help: 'Iggy binary protocol (TCP) listener host:port [127.0.0.1:8090]' },
  { key: 'httpAddress', file: 'http.address', flag: '--http-address', env: 'SHARDLOG_HTTP_ADDRESS', kind: 'address', help: 'HTTP listener: Iggy REST API, /health and /metrics, host:port [127.0.0.1:3000]' },
  { key: 'jwtSecret', file: 'http.jwt_secret', flag: '--jwt-secret', env: 'SHARDLOG_JWT_SECRET', kind: 'secret', help: 'HS256 secret of the REST API\'s tokens, at least 32 bytes [generated once, kept in <data-dir>/http-jwt-secret]' },
  { key: 'jwtAccessExpirySeconds', file: 'http.jwt_access_expiry_s', flag: '--jwt-access-expiry-s', env: 'SHARDLOG_JWT_ACCESS_EXPIRY_S', kind: 'int', min: 1, max: 31_536_000, help: 'lifetime of a REST access token, seconds [3600]' },
  { key: 'jwtRefreshExpirySeconds', file: 'http.jwt_refresh_expiry_s', flag: '--jwt-refresh-expiry-s', env: 'SHARDLOG_JWT_REFRESH_EXPIRY_S', kind: 'int', min: 1, max: 31_536_000, help: 'lifetime of a REST refresh token, seconds [604800]' },
  { key: 'httpCorsOrigins', file: 'http.cors_origins', flag: '--http-cors-origins', env: 'SHARDLOG_HTTP_CORS_ORIGINS', kind: 'string', help: 'CORS: * or a comma-separated list of origins allowed to call the REST API from a browser [off]' },
  { key: 'httpMaxRequestBytes', file: 'http.max_request_bytes', flag: '--http-max-request-bytes', env: 'SHARDLOG_HTTP_MAX_REQUEST_BYTES', kind: 'int', min: 1024, max: 64 << 20, help: 'largest REST request body; a larger one is refused with 413 request_body_too_large [2097152]' },
  { key: 'tlsCert', file: 'tls.cert_file', flag: '--tls-cert', env: 'SHARDLOG_TLS_CERT', kind: 'string', help: 'PEM certificate (chain): the TCP and HTTP listeners speak TLS only [off]' },
  { key: 'tlsKey', file: 'tls.key_file', flag: '--tls-key', env: 'SHARDLOG_TLS_KEY', kind: 'string', help: 'PEM private key of --tls-cert' },
  { key: 'tlsClientCa', file: 'tls.client_ca_file', flag: '--tls-client-ca', env: 'SHARDLOG_TLS_CLIENT_CA', kind: 'string', help: 'PEM CA: clients must present a certificate it signed (mutual TLS) [off]' },
  { key: 'coreWasm', file: 'system.core_wasm', flag: '--core-wasm', env: 'SHARDLOG_CORE_WASM', kind: 'string', help: 'core module to load [build/core.wasm]' },
  { key: 'fsync', file: 'storage.fsync', flag: '--fsync', env: 'SHARDLOG_FSYNC', kind: 'fsync', help: `partition fsync policy: ${FSYNC_POLICY_HELP}` },
  { key: 'rootUsername', file: 'system.root_username', flag: '--root-username', env: 'SHARDLOG_ROOT_USERNAME', kind: 'string', help: 'root user created on first start (an existing data directory keeps its users) [iggy]' },
  { key: 'rootPassword', file: 'system.root_password', flag: '--root-password', env: 'SHARDLOG_ROOT_PASSWORD', kind: 'string', help: 'password of that root user, stored as a salted scrypt hash [iggy]' },
  { key: 'storageBytes', file: 'sharding.storage_bytes', flag: '--storage-bytes', env: 'SHARDLOG_STORAGE_BYTES', kind: 'int', min: 64 << 20, max: 1 << 30, help: 'per-shard core memory for checksums, reads and partition indexes, bytes [268435456]' },
  { key: 'maxBatchBytes', file: 'tcp.max_batch_bytes', flag: '--max-batch-bytes', env: 'SHARDLOG_MAX_BATCH_BYTES', kind: 'int', min: 4096, max: 16 << 20, help: 'largest SendMessages batch accepted, bytes [16777216]' },
  { key: 'verifyReads', file: 'storage.verify_reads', flag: '--verify-reads', env: 'SHARDLOG_VERIFY_READS', kind: 'verify', help: 'full: every poll re-hashes every message it reads; layout: checks batch layout only (messages were hashed on arrival and at boot) [full]' },
  { key: 'directIo', file: 'storage.direct_io', flag: '--direct-io', env: 'SHARDLOG_DIRECT_IO', kind: 'bool', help: 'fsync every-batch appends bypass the page cache (O_DIRECT, buffered where the file system has none); polls of data so written read it from the disk [false]' },
  { key: 'clientHeartbeatMs', file: 'heartbeat.interval_ms', flag: '--client-heartbeat-ms', env: 'SHARDLOG_CLIENT_HEARTBEAT_MS', kind: 'int', min: 100, max: 3_600_000, help: 'clients ping this often; a consumer group member silent for 1.2x this is evicted (StaleClient) [30000]' },
  { key: 'loginFailuresPerConnection', file: 'auth.failures_per_connection', flag: '--login-failures-per-connection', env: 'SHARDLOG_LOGIN_FAILURES_PER_CONNECTION', kind: 'int', min: 1, max: 1_000_000, help: 'a connection is closed after this many failed logins [5]' },
  { key: 'loginLockoutFailures', file: 'auth.lockout_failures', flag: '--login-lockout-failures', env: 'SHARDLOG_LOGIN_LOCKOUT_FAILURES', kind: 'int', min: 1, max: 1_000_000, help: 'failed logins from one address, each within --login-lockout-ms of the last, after which its logins are refused unchecked [20]' },
  { key: 'loginLockoutMs', file: 'auth.lockout_ms', flag: '--login-lockout-ms', env: 'SHARDLOG_LOGIN_LOCKOUT_MS', kind: 'int', min: 100, max: 86_400_000, help: 'failed logins are remembered this long after the last one; a locked-out address stays refused until quiet this long [60000]' },
  { key: 'loginFailureDelayMs', file: 'auth.failure_delay_ms', flag: '--login-failure-delay-ms', env: 'SHARDLOG_LOGIN_FAILURE_DELAY_MS', kind: 'int', min: 0, max: 60_000, help: 'the 2nd failed login of an address or username is answered this late, each further one twice as late, up to 32x [100]' },
  { key: 'maxConnections', file: 'tcp.max_connections', flag: '--max-connections', env: 'SHARDLOG_MAX_CONNECTIONS', kind: 'int', min: 1, max: 10_000_000, help: 'client connections at once; more are closed at accept (counted). Unset, it is lowered to fit the descriptor limit (ulimit -n, less max(96, 1/8) for files and 17 per shard past the first) [10000]' },
  { key: 'maxUnauthenticatedFrameBytes', file: 'tcp.max_unauthenticated_frame_bytes', flag: '--max-unauthenticated-frame-bytes', env: 'SHARDLOG_MAX_UNAUTHENTICATED_FRAME_BYTES', kind: 'int', min: 2048, max: 64 << 20, help: 'largest frame before login (Ping, Register, Logout); a larger one is answered with Eviction InvalidRequestBodySize and the connection closed [4096]' },
  { key: 'maxConnectionBufferBytes', file: 'tcp.max_connection_buffer_bytes', flag: '--max-connection-buffer-bytes', env: 'SHARDLOG_MAX_CONNECTION_BUFFER_BYTES', kind: 'int', min: 4096, max: 1 << 30, help: 'bytes one connection may have read and not yet answered; past it the socket is not read (one frame alone may be larger) [33554432]' },
  { key: 'maxBufferedBytes', file: 'tcp.max_buffered_bytes', flag: '--max-buffered-bytes', env: 'SHARDLOG_MAX_BUFFERED_BYTES', kind: 'int', min: 65536, max: 2 ** 40, help: 'the same over all connections; past it sockets are not read until requests are answered [268435456]' },
  { key: 'frameTimeoutMs', file: 'tcp.frame_timeout_ms', flag: '--frame-timeout-ms', env: 'SHARDLOG_FRAME_TIMEOUT_MS', kind: 'int', min: 10, max: 3_600_000, help: 'a frame whose first bytes came must be complete within this, or the connection is closed [30000]' },
  { key: 'loginTimeoutMs', file: 'tcp.login_timeout_ms', flag: '--login-timeout-ms', env: 'SHARDLOG_LOGIN_TIMEOUT_MS', kind: 'int', min: 0, max: 3_600_000, help: 'a connection must log in (Register) within this, or it is closed; 0 = no limit [10000]' },
  { key: 'idleTimeoutMs', file: 'tcp.idle_timeout_ms', flag: '--idle-timeout-ms', env: 'SHARDLOG_IDLE_TIMEOUT_MS', kind: 'int', min: 0, max: 86_400_000, help: 'a connection that sends nothing for this long is closed (the SDKs ping every 5 s); 0 = no limit [300000]' },
  { key: 'segmentBytes', file: 'storage.segment_bytes', flag: '--segment-bytes', env: 'SHARDLOG_SEGMENT_BYTES', kind: 'int', min: 1 << 16, max: 1 << 30, help: 'partition segment rollover size, bytes [1073741824]' },
  { key: 'retentionIntervalMs', file: 'storage.retention_interval_ms', flag: '--retention-interval-ms', env: 'SHARDLOG_RETENTION_INTERVAL_MS', kind: 'int', min: 10, max: 86_400_000, help: 'how often each shard removes the sealed segments its topics\' message_expiry and max_topic_size no longer keep (max_topic_size is also checked after every append), ms [60000]' },
  { key: 'metadataJournalSlots', file: 'storage.metadata_journal_slots', flag: '--metadata-journal-slots', env: 'SHARDLOG_METADATA_JOURNAL_SLOTS', kind: 'int', min: 64, max: 16_384, help: 'slots of the metadata journal; a checkpoint runs when 3/4 are used (fixed when the data directory is created) [1024]' },
  { key: 'cluster', file: 'cluster.nodes', flag: '--cluster', env: 'SHARDLOG_CLUSTER', kind: 'string', help: `the replicas of a cluster: ID=HOST:CLIENT_TCP_PORT/REPLICA_PORT[/HTTP_PORT],... with ids 0..N-1; ${CLUSTER_SIZE_RULE}. This node's client (and HTTP) address comes from its entry unless --tcp-address (--http-address) is given. Unset: a single node` },
  { key: 'replicaId', file: 'cluster.replica_id', flag: '--replica-id', env: 'SHARDLOG_REPLICA_ID', kind: 'int', min: 0, max: 254, help: 'which roster entry this node is (with --cluster)' },
  { key: 'clusterSecret', file: 'cluster.secret', flag: '--cluster-secret', env: 'SHARDLOG_CLUSTER_SECRET', kind: 'secret', help: 'shared secret the replicas prove to each other (HMAC-SHA256 of fresh nonces; never sent), at least 32 bytes. Prefer the env var: flags show in ps' },
  { key: 'clusterId', file: 'cluster.id', flag: '--cluster-id', env: 'SHARDLOG_CLUSTER_ID', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'cluster id in every replica message and handshake; replicas of another cluster are refused [0]' },
  { key: 'clusterHandshakeTimeoutMs', file: 'cluster.handshake_timeout_ms', flag: '--cluster-handshake-timeout-ms', env: 'SHARDLOG_CLUSTER_HANDSHAKE_TIMEOUT_MS', kind: 'int', min: 50, max: 600_000, help: 'a replica connection must finish its handshake within this, or it is closed [5000]' },
  { key: 'durability', file: 'cluster.durability', flag: '--durability', env: 'SHARDLOG_DURABILITY', kind: 'durability', help: 'when a backup acknowledges a partition write (prepare_ok): persisted = after its copy is durable on its disk [default]; replicated = as soon as it holds the batch in memory (WEAKER: an acknowledged send survives one replica\'s crash, not a crash of a majority at once, e.g. a power loss)' },
  { key: 'logLevel', file: 'system.log_level', flag: '--log-level', env: 'SHARDLOG_LOG_LEVEL', kind: 'level', help: 'debug | info | warn | error [info]' },
];

// The default slot size: rings large enough that a 1 MiB batch (and its poll reply) crosses between shards as one
// frame instead of fragments that wait for the peer to drain, while the rings (shards² × 2 lanes × slots × this)
// stay within 256 MiB of shared memory.
export function ringSlotSizeFor(shards: number): number {
  if (shards <= 4) return 4096;
  if (shards <= 8) return 2048;
  return 1024;
}

export const DEFAULT_CONFIG: Readonly<Omit<ServerConfig, 'sources'>> = {
  configFile: null,
  dataDir: './data',
  cpuAllocation: 'all',
  pinCores: true,
  inboxCapacity: 1024,
  replyInboxCapacity: 1024,
  ringSlotSize: 0, // chosen by shard count: ringSlotSizeFor()
  arenaSize: 64 << 20,
  backlogBytes: DEFAULT_BACKLOG_BOUND.bytes,
  backlogMessages: DEFAULT_BACKLOG_BOUND.messages,
  bootTimeoutMs: 15_000,
  shutdownJoinTimeoutMs: 4_000,
  watchdogTimeoutMs: 10_000,
  tcpAddress: '127.0.0.1:8090',
  httpAddress: '127.0.0.1:3000',
  coreWasm: null,
  logLevel: 'info',
  fsync: 'every-batch',
  rootUsername: 'iggy',
  rootPassword: 'iggy',
  storageBytes: 256 << 20,
  maxBatchBytes: 16 << 20,
  segmentBytes: 1 << 30,
  retentionIntervalMs: 60_000,
  verifyReads: 'full',
  directIo: false,
  clientHeartbeatMs: 30_000,
  loginFailuresPerConnection: DEFAULT_LOGIN_THROTTLE.perConnection,
  loginLockoutFailures: DEFAULT_LOGIN_THROTTLE.lockoutFailures,
  loginLockoutMs: DEFAULT_LOGIN_THROTTLE.lockoutMs,
  loginFailureDelayMs: DEFAULT_LOGIN_THROTTLE.delayMs,
  maxConnections: 10_000,
  maxUnauthenticatedFrameBytes: 4096,
  maxConnectionBufferBytes: 32 << 20,
  maxBufferedBytes: 256 << 20,
  frameTimeoutMs: 30_000,
  loginTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  metadataJournalSlots: 1024,
  replicaId: null,
  cluster: null,
  clusterSecret: null,
  clusterId: 0,
  clusterHandshakeTimeoutMs: 5_000,
  durability: 'persisted',
  clusterSettings: null,
  tlsCert: null,
  tlsKey: null,
  tlsClientCa: null,
  jwtSecret: null,
  jwtAccessExpirySeconds: 3600,
  jwtRefreshExpirySeconds: 604_800,
  httpCorsOrigins: null,
  httpMaxRequestBytes: 2 << 20,
};

export type ParseResult = { kind: 'run'; config: ServerConfig } | { kind: 'help' } | { kind: 'version' };

export function helpText(): string {
  const lines = [
    'shardlog-server: message-streaming server (Iggy binary protocol, VSR consensus core in WebAssembly)',
    '',
    'usage: npm start -- [flags]        or   node host/bin/shardlog-server.mjs [flags]',
    '',
    'Every flag also reads from the environment variable shown; precedence: flag > env > --config file > default.',
    '',
  ];
  for (const o of OPTIONS) {
    const arg = o.kind === 'bool' ? '=true|false' : ' <value>';
    lines.push(`  ${(o.flag + arg).padEnd(34)} ${o.help}`);
    lines.push(`  ${''.padEnd(34)} env ${o.env}${o.file ? `, file ${o.file}` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(34)} this text`, `  ${'--version'.padEnd(34)} print the version`);
  lines.push('', 'Durability: a send is acknowledged after its batch is fsynced (fsync every-batch, the default); metadata ops after',
    'their WAL entry is fsynced. interval:<ms> acknowledges before the fsync and can lose up to <ms> on power loss.');
  lines.push('', 'Cluster: three (or five, seven) processes with the same --cluster, --cluster-id and secret, each with its own',
    '--replica-id and --data-dir, e.g. SHARDLOG_CLUSTER_SECRET=s npm start -- --replica-id 0 --cluster "0=127.0.0.1:8091/9091,1=127.0.0.1:8092/9092,2=127.0.0.1:8093/9093".',
    `Refused at startup: fewer than 3 or an even number of replicas (${CLUSTER_SIZE_RULE}).`);
  return lines.join('\n');
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ParseResult {
  const flags = readFlags(argv);
  if (flags === 'help' || flags === 'version') return { kind: flags };
  const config: ServerConfig = { ...DEFAULT_CONFIG, sources: {} };

  const configPath = flags.get('--config')?.value ?? env.SHARDLOG_CONFIG ?? null;
  if (configPath) {
    config.configFile = configPath;
    applyFile(config, configPath);
  }
  for (const o of OPTIONS) {
    const value = env[o.env];
    if (value !== undefined && value !== '' && o.key !== 'configFile') set(config, o, value, o.env);
  }
  for (const o of OPTIONS) {
    const given = flags.get(o.flag);
    if (given && o.key !== 'configFile') set(config, o, given.value, o.flag);
  }
  applyCluster(config);
  return { kind: 'run', config };
}

// A cluster node takes its client (and HTTP) address from its roster entry unless one was set explicitly.
function applyCluster(config: ServerConfig): void {
  const settings = clusterSettings(config);
  config.clusterSettings = settings;
  if (!settings) return;
  const own = settings.roster.entries[settings.self];
  if (!config.sources.tcpAddress) config.tcpAddress = formatHostPort(own.host, own.tcpPort);
  if (!config.sources.httpAddress && own.httpPort !== null) config.httpAddress = formatHostPort(own.host, own.httpPort);
}

function readFlags(argv: string[]): Map<string, { value: string }> | 'help' | 'version' {
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  const out = new Map<string, { value: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--version' || arg === '-V') return 'version';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const option = byFlag.get(name);
    if (!option) {
      throw userError('UnknownFlag', `unknown flag ${JSON.stringify(name)} (see --help)`);
    }
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      if (option.kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
      else throw userError('MissingFlagValue', `${name} needs a value (see --help)`);
    }
    out.set(name, { value });
  }
  return out;
}

function applyFile(config: ServerConfig, file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw userError('ConfigFileUnreadable', `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw userError('ConfigFileInvalid', `config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw userError('ConfigFileInvalid', `config file ${file} must hold a JSON object`);
  }
  const byPath = new Map(OPTIONS.filter((o) => o.file).map((o) => [o.file!, o]));
  const sections = new Set([...byPath.keys()].map((k) => k.split('.')[0]));
  for (const [section, body] of Object.entries(parsed)) {
    if (!sections.has(section)) throw userError('UnknownConfigKey', `unknown config key "${section}" in ${file}`);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw userError('ConfigFileInvalid', `"${section}" in ${file} must be an object`);
    }
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      const option = byPath.get(`${section}.${key}`);
      if (!option) throw userError('UnknownConfigKey', `unknown config key "${section}.${key}" in ${file}`);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw userError('InvalidConfigValue', `${section}.${key} in ${file}: expected a string, number or boolean`);
      }
      set(config, option, String(value), `${section}.${key} in ${file}`);
    }
  }
}

function set(config: ServerConfig, o: Option, raw: string, source: string): void {
  const bad = (expected: string) => userError('InvalidConfigValue', `${source}: ${JSON.stringify(raw)} is not ${expected}`);
  let value: unknown;
  switch (o.kind) {
    case 'string':
      if (raw === '') throw bad('a non-empty string');
      value = raw;
      break;
    case 'secret':
      // Not echoed in the error: it is a secret.
      if (Buffer.byteLength(raw) < MIN_SECRET_BYTES) throw userError('InvalidConfigValue', `${source}: the secret must be at least ${MIN_SECRET_BYTES} bytes`);
      value = raw;
      break;
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw bad('true or false');
      value = raw === 'true';
      break;
    case 'int':
    case 'pow2': {
      if (!/^\d+$/.test(raw)) throw bad('a whole number');
      const n = Number(raw);
      if (o.kind === 'pow2' && (n & (n - 1)) !== 0) throw bad('a power of two');
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) throw bad(`between ${o.min} and ${o.max}`);
      value = n;
      break;
    }
    case 'address':
      parseAddress(raw, source);
      value = raw;
      break;
    case 'level':
      if (!['debug', 'info', 'warn', 'error'].includes(raw)) throw bad('one of debug, info, warn, error');
      value = raw;
      break;
    case 'allocation':
      if (!/^(all|\d+|\d+\.\.\d+)$/.test(raw)) throw bad('"all", a shard count, or a CPU range a..b');
      value = raw;
      break;
    case 'durability':
      if (raw !== 'persisted' && raw !== 'replicated') throw bad('persisted or replicated');
      value = raw;
      break;
    case 'verify':
      if (raw !== 'full' && raw !== 'layout') throw bad('full or layout');
      value = raw;
      break;
    case 'fsync':
      try { parseFsyncPolicy(raw); } catch { throw bad('every-batch or interval:<ms> (1..60000)'); }
      value = raw;
      break;
  }
  (config as unknown as Record<string, unknown>)[o.key] = value;
  config.sources[o.key] = source;
}

export function parseAddress(raw: string, source: string): { host: string; port: number } {
  const m = raw.match(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw userError('InvalidConfigValue', `${source}: ${JSON.stringify(raw)} is not host:port`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export function sourceOf(config: ServerConfig, key: keyof ServerConfig, fallback: string): string {
  return config.sources[key] ?? fallback;
}
