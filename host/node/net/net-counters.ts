// What the client listeners did to protect the server (refused and closed connections, accept errors, reads paused
// for memory), in a SharedArrayBuffer the main thread creates and hands every shard: every shard that serves
// connections counts into the same words, /metrics reads. Two words are also the node-wide limits' state (open
// connections, buffered bytes), taken with compare-and-swap so the limits hold over all shards together, and one
// is a state: the process is out of descriptors (its table is the process's, not a shard's). One table names each counter's Prometheus family and label, so nothing is copied by hand.

interface CounterSpec {
  family: string;
  help: string;
  label: string;
  value: string;
  gauge?: boolean;
}

const REFUSED = { family: 'client_connections_refused_total', help: 'Client connections closed at accept, by reason', label: 'reason' };
const CLOSED = { family: 'client_connections_closed_total', help: 'Client connections the server closed for a limit, by reason', label: 'reason' };
const ACCEPT = { family: 'client_accept_errors_total', help: 'Errors accepting client connections (out of descriptors: EMFILE, ENFILE), by code', label: 'code' };
const PAUSED = { family: 'client_read_pauses_total', help: 'Times a connection stopped being read because a buffer budget was full, by budget', label: 'budget' };

export const NET_COUNTERS = {
  refusedMaxConnections: { ...REFUSED, value: 'max_connections' },
  refusedDescriptors: { ...REFUSED, value: 'descriptors' },
  closedLoginTimeout: { ...CLOSED, value: 'login_timeout' },
  closedIdleTimeout: { ...CLOSED, value: 'idle_timeout' },
  closedFrameTimeout: { ...CLOSED, value: 'frame_timeout' },
  closedFrameSize: { ...CLOSED, value: 'frame_size' },
  closedFrameBeforeLogin: { ...CLOSED, value: 'frame_before_login' },
  acceptEmfile: { ...ACCEPT, value: 'EMFILE' },
  acceptEnfile: { ...ACCEPT, value: 'ENFILE' },
  acceptOther: { ...ACCEPT, value: 'other' },
  pausedConnection: { ...PAUSED, value: 'connection' },
  pausedGlobal: { ...PAUSED, value: 'global' },
  bufferedBytes: { family: 'client_buffered_bytes', help: 'Bytes read from client connections and not yet answered (admitted frames), over every shard', label: '', value: '', gauge: true },
  descriptorShortage: { family: 'client_descriptor_shortage', help: 'Whether new client connections are closed because the process ran out of file descriptors (1) or not (0), over every shard', label: '', value: '', gauge: true },
  openConnections: { family: 'client_connections_admitted', help: 'Client connections admitted and not yet closed, over every shard (what --max-connections bounds)', label: '', value: '', gauge: true },
  maxConnections: { family: 'client_max_connections', help: 'Client connections allowed at once (--max-connections, lowered to fit the descriptor limit)', label: '', value: '', gauge: true },
} satisfies Record<string, CounterSpec>;

export type NetCounter = keyof typeof NET_COUNTERS;
const NAMES = Object.keys(NET_COUNTERS) as NetCounter[];

export class NetCounters {
  private readonly words: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(NAMES.length * 8)) {
    this.words = new BigInt64Array(buffer);
  }

  add(which: NetCounter, n = 1): void {
    Atomics.add(this.words, NAMES.indexOf(which), BigInt(n));
  }

  set(which: NetCounter, n: number): void {
    Atomics.store(this.words, NAMES.indexOf(which), BigInt(n));
  }

  // Adds `n` unless the sum would pass `limit`, atomically against every other shard; with `passAlone`, a word at
  // 0 takes any `n` (a frame larger than the whole budget still passes alone). Whether it added.
  addWithin(which: NetCounter, n: number, limit: number, passAlone = false): boolean {
    const index = NAMES.indexOf(which);
    const add = BigInt(n);
    for (;;) {
      const now = Atomics.load(this.words, index);
      if (Number(now) + n > limit && !(passAlone && now === 0n)) return false;
      if (Atomics.compareExchange(this.words, index, now, now + add) === now) return true;
    }
  }

  get(which: NetCounter): number {
    return Number(Atomics.load(this.words, NAMES.indexOf(which)));
  }

  // Every counter with its spec, for the exporter.
  entries(): { spec: CounterSpec; value: number }[] {
    return NAMES.map((name) => ({ spec: NET_COUNTERS[name], value: this.get(name) }));
  }
}
