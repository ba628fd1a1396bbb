// The options of `npm run bench`, in the shape of iggy-bench: a kind, then flags. Every bad input is a
// BenchOptionError (the tool prints it with the usage and exits 2).

export const KINDS = [
  'pinned-producer', 'pinned-consumer', 'pinned-producer-and-consumer',
  'balanced-producer', 'balanced-consumer-group', 'end-to-end-producing-consumer',
] as const;
export type Kind = typeof KINDS[number];

export const TARGETS = ['shardlog', 'nats', 'redis'] as const;
export type TargetName = typeof TARGETS[number];

// fsync: every acknowledged batch is on disk where the target allows it; relaxed: each target's periodic flush.
// tcp: the binary protocol (IggyClient); http: the REST API (HttpClient on undici), shardlog only.
export const TRANSPORTS = ['tcp', 'http'] as const;
export type Transport = typeof TRANSPORTS[number];

export const DURABILITIES = ['fsync', 'relaxed'] as const;
export type Durability = typeof DURABILITIES[number];

export interface BenchOptions {
  kind: Kind;
  target: TargetName;
  transport: Transport;
  producers: number;
  consumers: number;
  streams: number | null; // null: one per actor for pinned kinds, 1 for balanced kinds
  partitions: number | null; // null: 1 for pinned kinds, one per actor for balanced kinds
  messageSize: number;
  messagesPerBatch: number;
  messageBatches: number | null; // batches per producer; null when --total-data decides
  totalData: number | null; // bytes over all producers
  rateLimit: number | null; // bytes per second over all producers
  durability: Durability;
  shards: number; // of the shardlog server the tool starts
  pollsInFlight: number; // polls a reading shardlog consumer keeps on the wire (iggy-bench: 1)
  json: boolean;
  report: string | null;
}

export class BenchOptionError extends Error {
  override name = 'BenchOptionError';
}

// iggy-bench defaults 1000-B messages × 1000 per batch × 1000 batches with 8 actors; on 2 cores 2 actors and 200
// batches (200 MB per producer) keep a run under a minute while still far past any cache.
export const DEFAULTS = {
  producers: 2, consumers: 2, messageSize: 1000, messagesPerBatch: 1000, messageBatches: 200, shards: 2, pollsInFlight: 1,
} as const;

export const HELP = `usage: npm run bench -- <kind> [options]
kinds: ${KINDS.join(', ')}
  --producers N            producing actors [${DEFAULTS.producers}]
  --consumers N            consuming actors [${DEFAULTS.consumers}]
  --streams N              streams [one per actor for pinned kinds, 1 for balanced kinds]
  --partitions N           partitions per stream [1 for pinned kinds, one per actor for balanced kinds]
  --message-size B         payload bytes per message [${DEFAULTS.messageSize}]
  --messages-per-batch N   messages per send / poll [${DEFAULTS.messagesPerBatch}]
  --message-batches N      batches per producer [${DEFAULTS.messageBatches}]
  --total-data SIZE        instead of --message-batches: bytes over all measured actors (the producers, or the
                           consumers of a consumer kind), e.g. 500MB, 2GiB
  --rate-limit SIZE        bytes per second over all producers (e.g. 50MB); latency then counts from the
                           intended send time, so a stall is not hidden (no coordinated omission)
  --transport tcp|http     the binary protocol, or the REST API over undici (shardlog only) [tcp]
  --durability fsync|relaxed  fsync: each acknowledged batch is on disk as far as the target allows [fsync]
  --target shardlog|nats|redis  the server the tool starts on loopback [shardlog]
  --shards N               shards of the shardlog server [${DEFAULTS.shards}]
  --polls-in-flight N      polls by offset a shardlog consumer keeps on the wire (TCP; the next ones go out
                           while one is answered; iggy-bench and the peers poll one at a time) [${DEFAULTS.pollsInFlight}]
  --json                   print {"results":[...]} instead of the table
  --report FILE.html       write a self-contained page: throughput and latency over time, machine, settings
  --help`;

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

// "500MB", "2GiB", "1000": bytes. Decimal units as iggy-bench prints them; binary ones for disk-minded people.
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new BenchOptionError(`${flag} must be a size like 500MB or 2GiB, got "${text}"`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 1) throw new BenchOptionError(`${flag} must be at least 1 byte, got "${text}"`);
  return bytes;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new BenchOptionError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new BenchOptionError(`${flag} must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as T;
}

const INT_FLAGS: Record<string, 'producers' | 'consumers' | 'streams' | 'partitions' | 'messageSize' | 'messagesPerBatch' | 'messageBatches' | 'shards' | 'pollsInFlight'> = {
  '--producers': 'producers', '--consumers': 'consumers', '--streams': 'streams', '--partitions': 'partitions',
  '--message-size': 'messageSize', '--messages-per-batch': 'messagesPerBatch', '--message-batches': 'messageBatches', '--shards': 'shards',
  '--polls-in-flight': 'pollsInFlight',
};

// Returns null for --help (the caller prints HELP and exits 0).
export function parseOptions(argv: string[]): BenchOptions | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const [kindText, ...rest] = argv;
  if (kindText === undefined || kindText.startsWith('--')) throw new BenchOptionError(`the first argument must be a kind: ${KINDS.join(', ')}`);
  const o: BenchOptions = {
    kind: oneOf('kind', kindText, KINDS), target: 'shardlog', transport: 'tcp',
    producers: DEFAULTS.producers, consumers: DEFAULTS.consumers, streams: null, partitions: null,
    messageSize: DEFAULTS.messageSize, messagesPerBatch: DEFAULTS.messagesPerBatch, messageBatches: null, totalData: null,
    rateLimit: null, durability: 'fsync', shards: DEFAULTS.shards, pollsInFlight: DEFAULTS.pollsInFlight, json: false, report: null,
  };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--json') { o.json = true; continue; }
    const value = rest[++i];
    if (!flag.startsWith('--')) throw new BenchOptionError(`unexpected argument "${flag}"`);
    if (!(flag in INT_FLAGS) && !['--total-data', '--rate-limit', '--transport', '--durability', '--target', '--report'].includes(flag)) {
      throw new BenchOptionError(`unknown option ${flag}`);
    }
    if (value === undefined || value.startsWith('--')) throw new BenchOptionError(`${flag} needs a value`);
    if (flag in INT_FLAGS) o[INT_FLAGS[flag]] = positiveInt(flag, value);
    else if (flag === '--total-data') o.totalData = parseSize(flag, value);
    else if (flag === '--rate-limit') o.rateLimit = parseSize(flag, value);
    else if (flag === '--durability') o.durability = oneOf(flag, value, DURABILITIES);
    else if (flag === '--target') o.target = oneOf(flag, value, TARGETS);
    else if (flag === '--report') o.report = value;
    else o.transport = oneOf(flag, value, TRANSPORTS);
  }
  if (o.transport === 'http' && o.target !== 'shardlog') throw new BenchOptionError(`--transport http: only the shardlog target has an HTTP API here (not ${o.target})`);
  if (o.pollsInFlight > 1 && (o.target !== 'shardlog' || o.transport !== 'tcp')) {
    throw new BenchOptionError(`--polls-in-flight ${o.pollsInFlight}: only the shardlog target over TCP polls by offset ahead of its replies`);
  }
  if (o.totalData !== null && o.messageBatches !== null) throw new BenchOptionError('give either --message-batches or --total-data, not both');
  if (o.report !== null && !o.report.endsWith('.html')) throw new BenchOptionError(`--report must name an .html file, got "${o.report}"`);
  return o;
}
