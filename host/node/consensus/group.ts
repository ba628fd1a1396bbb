// The server's consensus groups: the metadata group on shard 0 and one group per partition on its owner shard,
// each one replica run by the shared driver (host/shared/replica-driver.ts, the simulator runs the same code).
// This file is the server's storage for it: `flush()` hands every prepare collected since the last flush to ONE
// io.journalWrite (one fdatasync), synchronous or a promise, then reports each durable. A single replica's journal
// write is its whole quorum, so that is what commits and replies. Today every group has one replica: its bus
// throws on any send (a Send from a lone replica is a bug), and so do repair reads and header rewrites.
import { HEADER_SIZE, H, Prep, Rep, type VsrExports } from '../../shared/vsr-abi.js';
import {
  ReplicaDriver, ReplicaDriverError, type JournalWrite, type MessageBus, type PersistState, type SubmitRequest,
} from '../../shared/replica-driver.js';

export type { PersistState, SubmitRequest } from '../../shared/replica-driver.js';

export interface GroupOptions {
  cluster: bigint;
  group: bigint;
  slots: number; // log window, power of two >= 64
  clientsMax: number; // client table capacity (sessions)
}

export interface GroupIo {
  // Durable when it returns, or when its promise resolves (one fdatasync for all). A promise must not reject: a
  // failed write is the io's to report (it answers its writers). While a write is pending, flush() writes nothing.
  journalWrite(prepares: Uint8Array[]): void | Promise<void>;
  journalWritten?(): void; // an asynchronous journal write's prepares were reported done
  persist(state: PersistState): void;
  commit(op: number, prepare: Uint8Array): void; // in op order
  reply(reply: Uint8Array): void; // the core's 256-byte reply header (decodeReply)
}

// A group with peers (a cluster's replicas): its bus, its repair reads, and a storage that reports each write durable
// on its own (a backup may have to hold a prepare until the ops before it are written).
export interface GroupPeers {
  replica: number;
  replicaCount: number;
  bus: MessageBus;
  // Starts the writes; calls done(op, checksum) for each once it is durable (now or later, in any order; a write
  // that never becomes durable is never reported). A header-only write restamps a prepare's accepted view.
  write(writes: JournalWrite[], done: (op: number, checksum: bigint) => void): void;
  read(op: number, done: (prepare: Uint8Array | null) => void): void;
  requestState?(from: number, op: number): void; // ReplicaStorage.requestState: a state transfer from `from`
}

export interface GroupReply {
  client: bigint;
  request: bigint;
  status: number; // ReplyStatus index: 0 ok
  session: bigint;
  op: number; // 0 for a rejection
  operation: number;
}

export interface PrepareView {
  op: number;
  checksum: bigint;
  client: bigint;
  request: bigint;
  operation: number;
  session: bigint;
  group: bigint; // the consensus group that prepared it
  body: Uint8Array; // the prepare's body (the descriptor), a view into `prepare`
}

// The driver's errors (ArenaFull, BodyTooLarge, ...) under the name the server's callers know; PeerAction: a lone
// replica's core asked for a peer (a send, a repair read, a header rewrite).
export { ReplicaDriverError as ConsensusGroupError } from '../../shared/replica-driver.js';

// A lone replica has no peers: any send is a bug in the core or its configuration.
const NO_PEERS = (group: bigint): MessageBus => ({
  send(replica: number): boolean {
    throw new ReplicaDriverError('PeerAction', `single-replica group ${group} was asked to send to replica ${replica}: it has no peers`);
  },
});

export class ConsensusGroup {
  private completedSync = 0; // writes the last io.journalWrite made durable before returning

  private constructor(readonly driver: ReplicaDriver) {}

  // Allocates the replica in `core`'s arena (the caller ran __arena_init on its shard's arena region). `core` is
  // a shard's CoreExports (which includes the VSR exports).
  static create(core: VsrExports, memory: WebAssembly.Memory, options: GroupOptions, io: GroupIo, peers?: GroupPeers): ConsensusGroup {
    let group: ConsensusGroup | null = null;
    const storage = peers ? {
      write: (writes: JournalWrite[]) => peers.write(writes, (op, checksum) => group!.driver.onJournalWriteDone(op, checksum)),
      read: (op: number, done: (prepare: Uint8Array | null) => void) => peers.read(op, done),
      persist: (state: PersistState) => io.persist(state),
      requestState: peers.requestState && ((from: number, op: number) => peers.requestState!(from, op)),
    } : {
      write: (writes: JournalWrite[]) => group!.write(writes, io),
      read(op: number): void {
        throw new ReplicaDriverError('PeerAction', `single-replica group ${options.group} was asked to read op ${op} for a peer: it has no peers`);
      },
      persist: (state: PersistState) => io.persist(state),
    };
    const replicas = peers ? { replica: peers.replica, replicaCount: peers.replicaCount, serialWrites: false } : { replica: 0, replicaCount: 1, serialWrites: true };
    const driver = ReplicaDriver.create(core, memory, { ...options, ...replicas }, {
      bus: peers?.bus ?? NO_PEERS(options.group), storage, callbacks: { commit: (op, prepare) => io.commit(op, prepare), reply: (reply) => io.reply(reply) },
    });
    group = new ConsensusGroup(driver);
    return group;
  }

  get handle(): number { return this.driver.handle; }
  get options(): GroupOptions { return this.driver.options; }
  get op(): number { return this.driver.op; }
  get commitNumber(): number { return this.driver.commitMin; }
  get unflushed(): number { return this.driver.unflushed; }
  get view(): number { return this.driver.view; }
  get isPrimary(): boolean { return this.driver.isPrimary; }
  get status(): number { return this.driver.status; }
  get viewChanges(): number { return this.driver.viewChanges; }

  // A message from a peer (the replica plane's registry): the core checks it and acts.
  onMessage(message: Uint8Array): void {
    this.driver.onMessage(message);
  }
  // True while io callbacks run (the outbox is being walked): submits are deferred, flushes are no-ops.
  get busy(): boolean { return this.driver.busy; }

  // Hands one client request to the core. Its prepare waits for the next flush(); a retry of a committed request
  // or a rejection is answered through io.reply at once. When the core's pipeline is full the collected prepares
  // are flushed first (a request beyond it would be queued or shed by the core).
  submit(req: SubmitRequest): void {
    this.driver.submit(req);
  }

  // Makes every collected prepare durable with ONE io.journalWrite, then reports each write done: the core
  // commits (io.commit, in op order) and replies (io.reply). Returns how many prepares were written (0 when
  // called from inside an io callback, or while an asynchronous write is pending: those prepares wait for the
  // next flush; an asynchronous write reports its prepares when it resolves, then calls io.journalWritten).
  flush(): number {
    this.completedSync = 0;
    this.driver.flush();
    return this.completedSync;
  }

  tick(): void {
    this.driver.tick();
  }

  followLeader(view: number, status: number): boolean {
    return this.driver.followLeader(view, status);
  }

  leadsWith(view: number, status: number): boolean {
    return this.driver.leadsWith(view, status);
  }

  // The group is gone (its partition was deleted): the core may hand its replica to the next group of the same
  // shape, so a server that creates and deletes partitions for ever does not run out of core memory. A journal
  // write still on its way is waited for: its completion must not reach a replica that serves another group.
  release(): void {
    this.driver.release();
  }

  // Restart. The caller's state machine already holds ops <= from.op (a checkpoint, or op 0); `prepares` are the
  // journal's core prepares after it in ascending op order. Each one that chains is committed through io.commit
  // (a single replica's durable prepare was committed, and maybe acknowledged), so numbering continues after it.
  // Throws RecoveryRefused (RecoveryLostOps / RecoveryDiverged, naming the group and ops) when the core refuses to
  // start: its journal lost ops it may have acknowledged, which no peer can repair. The group is unusable then.
  recover(from: { op: number; checksum: bigint } | null, prepares: Iterable<Uint8Array>, state?: PersistState): void {
    const refusal = this.driver.recover(state ?? null, from, entries(prepares));
    if (refusal) throw refusal;
  }

  // The driver's storage write: one io.journalWrite for every prepare of this flush.
  private write(writes: JournalWrite[], io: GroupIo): void {
    const header = writes.find((w) => w.headerOnly);
    if (header) throw new ReplicaDriverError('PeerAction', `single-replica group ${this.options.group} was asked to rewrite the header of op ${header.op}: it never view-changes`);
    const done = () => { for (const w of writes) this.driver.onJournalWriteDone(w.op, w.checksum); };
    const written = io.journalWrite(writes.map((w) => w.message));
    if (!written) {
      done();
      this.completedSync = writes.length;
      return;
    }
    written.then(() => {
      done();
      if (!this.driver.isReleased) io.journalWritten?.();
    }, (error) => setImmediate(() => { throw new Error(`group ${this.options.group}: journal write rejected (the io must answer its own failures): ${error}`); }));
  }
}

function* entries(prepares: Iterable<Uint8Array>) {
  for (const prepare of prepares) {
    yield { op: Number(new DataView(prepare.buffer, prepare.byteOffset, HEADER_SIZE).getBigUint64(Prep.op, true)), prepare };
  }
}

export function decodeReply(reply: Uint8Array): GroupReply {
  const v = new DataView(reply.buffer, reply.byteOffset, HEADER_SIZE);
  return {
    client: v.getBigUint64(Rep.client, true),
    request: v.getBigUint64(Rep.request, true),
    status: v.getUint32(Rep.status, true),
    session: v.getBigUint64(Rep.session, true),
    op: Number(v.getBigUint64(Rep.op, true)),
    operation: v.getUint8(Rep.operation),
  };
}

export function readPrepare(prepare: Uint8Array): PrepareView {
  const v = new DataView(prepare.buffer, prepare.byteOffset, HEADER_SIZE);
  const size = v.getUint32(H.size, true);
  return {
    op: Number(v.getBigUint64(Prep.op, true)),
    checksum: v.getBigUint64(H.checksum, true),
    client: v.getBigUint64(Prep.client, true),
    request: v.getBigUint64(Prep.request, true),
    operation: v.getUint8(Prep.operation),
    session: v.getBigUint64(Prep.session, true),
    group: v.getBigUint64(Prep.group, true),
    body: prepare.subarray(HEADER_SIZE, size),
  };
}
