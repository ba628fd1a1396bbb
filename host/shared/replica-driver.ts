// ReplicaDriver: one VSR replica of one consensus group, driven through the core. The loop every host runs:
// hand the core an event (a message, a tick, a durable journal write, a journal read, a local request), drain
// its outbox, perform the actions in order. The server (host/node/consensus/group.ts) and the simulator
// (host/sim/replica_node.ts) both run this code, so every simulator seed tests the server's driving code.
//
// I/O is injected, as TigerBeetle's ReplicaType(StateMachine, MessageBus, Storage, Time) takes it:
//   bus        MessageBus: send(replica, message), try-send-or-drop; inbound messages come in by onMessage().
//   storage    ReplicaStorage: journal writes (durability reported back through onJournalWriteDone), journal
//              reads for repair, and the superblock state the core asks to persist.
//   time       the host's clock calls tick() (the core counts ticks for its timeouts and retransmissions).
//   callbacks  commit (in op order) and reply (the core's reply header for a client).
// No Node-only imports: a browser runs this file too.
import { ShardlogError } from './errors.js';
import { readClientTable, writeClientTable } from './client-table-image.js';
import {
  Action, BODY_MAX, Command, H, HEADER_SIZE, MESSAGE_MAX, PIPELINE_MAX, Prep, Req, drainOutbox, recoveryRefusal,
  type RecoveryRefused, type VsrExports,
} from './vsr-abi.js';

// Outbound consensus messages. Try-send-or-drop: never blocks, never retries. VSR retransmits what matters (a
// prepare until its prepare_ok, commits by heartbeat, view-change messages by timeout), so a message the bus
// cannot take now (no link to that replica, a full queue) is dropped and `false` returned (the driver counts it).
// `message` is the bus's own copy: it may keep it. A real bus frames it and writes it to the replica's link.
export interface MessageBus {
  send(replica: number, message: Uint8Array): boolean;
}

// One journal write the core asked for: a whole prepare, or only a prepare's redundant header (a view change
// confirming a prepare already written).
export interface JournalWrite {
  op: number;
  checksum: bigint;
  message: Uint8Array; // the prepare (or its 256-byte header when headerOnly): the storage's own copy
  headerOnly: boolean;
}

// The superblock state the core asks to persist (Action.Persist).
export interface PersistState {
  view: number;
  logView: number;
  commit: number;
  commitChecksum: bigint;
  logHead: number;
  logHeadChecksum: bigint;
}

export interface ReplicaStorage {
  // Starts the writes, in order. The storage reports each one durable by calling the driver's
  // onJournalWriteDone(op, checksum), in order: before returning (synchronous storage) or later (asynchronous).
  // A backup's prepare_ok leaves only after that call, so "durable" must mean durable. A write lost to a crash is
  // never reported.
  write(writes: JournalWrite[]): void;
  // A prepare for repair (a peer asked for it): `done` with the journal's bytes, or null when it holds none.
  read(op: number, done: (prepare: Uint8Array | null) => void): void;
  // Synchronous and durable when it returns: the core's persist is a barrier in front of its later sends.
  persist(state: PersistState): void;
  // State transfer (assembly/vsr/state_sync.ts): fetch replica `from`'s state-machine snapshot (it reported its
  // commit at `op`), install it durably, then call the driver's stateInstalled(op, checksum) with the op and
  // prepare checksum the snapshot covers. Asked again on a timer until then: a transfer in progress ignores it.
  // Absent: this host never loses state nor sets a sync lag (the core then never asks).
  requestState?(from: number, op: number): void;
}

export interface ReplicaCallbacks {
  commit(op: number, prepare: Uint8Array): void; // in op order, exactly once per op per replica lifetime
  reply(reply: Uint8Array): void; // the core's 256-byte reply header (decodeReply)
}

export interface ReplicaIo {
  bus: MessageBus;
  storage: ReplicaStorage;
  callbacks: ReplicaCallbacks;
}

export interface ReplicaOptions {
  cluster: bigint;
  group: bigint;
  replica: number; // this replica's index in the group, 0..replicaCount-1
  replicaCount: number;
  slots: number; // log window, power of two >= 64
  clientsMax: number; // client table capacity (sessions)
  // One journal write at a time (the server: the writes gathered meanwhile share the next fdatasync). Without it
  // each flush starts its writes at once (the simulator's disk queues them).
  serialWrites?: boolean;
}

// A request from a client of this host (the server's own connections): built into a Request message here.
export interface SubmitRequest {
  client: bigint; // u64: the core's client table key
  session: bigint;
  request: bigint;
  operation: number;
  body: Uint8Array; // <= BODY_MAX (256 B): a descriptor of the real body, kept by the caller
}

// One journal entry handed to recovery, in ascending op order: the prepare as read (maybe torn: any length,
// empty when missing) and, when the storage keeps one, the op's redundant header.
export interface RecoveredEntry {
  op: number;
  prepare: Uint8Array;
  header?: Uint8Array | null;
}

export type ReplicaDriverErrorCode = 'ArenaFull' | 'BodyTooLarge' | 'MessageTooLarge' | 'Released' | 'UnknownAction' | 'PeerAction';

export class ReplicaDriverError extends ShardlogError {
  constructor(override readonly code: ReplicaDriverErrorCode, message: string) {
    super(code, message);
  }
}

const HEADER_SLOT = 1024; // recovery: the header goes at inbox + 1024 (a prepare is at most 512 B)

// One core instance's outbox and inbox are shared by all its replicas (assembly/vsr/api.ts): a server's shard holds
// the metadata group and many partition groups in one instance. While one driver walks the outbox, a call into the
// core from any driver of that instance (a commit callback that opens another group, say) would append to the
// outbox mid-walk, or walk it itself and perform the other group's actions as its own: it waits until the walk ends.
interface InstanceWalk {
  walking: boolean;
  running: boolean; // the calls in `later` are being run, one flat loop (each may drain: no recursion per call)
  later: (() => void)[]; // calls into the core that arrived during a walk, in order
}
const walks = new WeakMap<VsrExports, InstanceWalk>();

function walkOf(core: VsrExports): InstanceWalk {
  let walk = walks.get(core);
  if (!walk) {
    walk = { walking: false, running: false, later: [] };
    walks.set(core, walk);
  }
  return walk;
}

// Runs the waiting calls in order, unless a walk or an outer run is under way (it goes on with them). A call that
// throws leaves the rest waiting: the next call into this instance runs them first (whenIdle).
function runWaiting(walk: InstanceWalk): void {
  if (walk.walking || walk.running) return;
  walk.running = true;
  try {
    while (walk.later.length > 0) walk.later.shift()!();
  } finally {
    walk.running = false;
  }
}

export class ReplicaDriver {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private pending: JournalWrite[] = []; // journal writes the core asked for since the last flush
  private writesInFlight = 0; // handed to storage, not yet reported durable
  private draining = false; // this driver walks the outbox (its callbacks run)
  private released = false;
  private readonly walk: InstanceWalk; // the core instance's: any driver of it walking
  sendsDropped = 0; // messages the bus refused (try-send-or-drop)
  messagesTooLarge = 0; // inbound messages larger than the core's inbox, dropped

  private constructor(
    readonly core: VsrExports, private readonly memory: WebAssembly.Memory, readonly handle: number,
    readonly options: ReplicaOptions, private readonly io: ReplicaIo,
  ) {
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.walk = walkOf(core);
  }

  // Allocates the replica in `core`'s arena (the caller ran __arena_init on it). The server passes a shard's
  // core instance, which holds many groups; the simulator one instance per replica.
  static create(core: VsrExports, memory: WebAssembly.Memory, options: ReplicaOptions, io: ReplicaIo): ReplicaDriver {
    let handle: number;
    try {
      handle = core.vsrCreate(options.cluster, options.group, options.replica, options.replicaCount, options.slots, options.clientsMax);
    } catch (error) {
      // The core traps rather than allocate past its arena (assembly/rt/arena.ts).
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      throw new ReplicaDriverError('ArenaFull', `no room in the core arena for consensus group ${options.group} (${options.slots} slots, ${options.clientsMax} clients): raise --arena-bytes`);
    }
    const driver = new ReplicaDriver(core, memory, handle, options, io);
    driver.whenIdle(() => driver.drain()); // creation queues nothing today; drained so that stays harmless
    return driver;
  }

  get op(): number { return this.core.vsrOp(this.handle); }
  get commitMin(): number { return this.core.vsrCommitMin(this.handle); }
  get commitChecksum(): bigint { return BigInt.asUintN(64, BigInt(this.core.vsrCommitChecksum(this.handle))); }
  get commitMax(): number { return this.core.vsrCommitMax(this.handle); }
  get view(): number { return this.core.vsrView(this.handle) >>> 0; }
  get status(): number { return this.core.vsrStatus(this.handle) >>> 0; }
  // The lifted core export returns a boolean, the raw one (the simulator's) a number: both read the same.
  get isPrimary(): boolean { return Number(this.core.vsrIsPrimary(this.handle)) !== 0; }
  get viewChanges(): number { return this.core.vsrViewChanges(this.handle); }
  // Recovering after a loss of its state: it votes and acks nothing until the transfer is done (state_sync.ts).
  get stateLost(): boolean { return Number(this.core.vsrStateLost(this.handle)) !== 0; }
  get stateRequests(): number { return this.core.vsrStateRequests(this.handle); }
  // Changing views while too many peers lost their state for any quorum to finish it (assembly/vsr/state_sync.ts
  // stranded()): a group whose state is its files starts again from them.
  get stranded(): boolean { return Number(this.core.vsrStranded(this.handle)) !== 0; }
  get unflushed(): number { return this.pending.length; }
  get writing(): number { return this.writesInFlight; }
  // True while the outbox is being walked (callbacks run): calls into the core wait until the walk is done.
  get busy(): boolean { return this.draining; }
  get isReleased(): boolean { return this.released; }

  // ---- events ----

  // The bus's inbound entry: a consensus message (or a client request) for this group. The core verifies it
  // (checksums, cluster, group, sender) and drops what fails; a message larger than its inbox is dropped here.
  onMessage(message: Uint8Array): void {
    this.assertLive();
    if (message.length > MESSAGE_MAX) { this.messagesTooLarge++; return; }
    const kept = this.callsWait ? message.slice() : message; // a caller's frame is valid only during the call
    this.whenIdle(() => {
      const at = this.core.vsrInboxPtr(this.handle) >>> 0;
      this.u8.set(kept, at);
      this.core.vsrOnMessage(this.handle, at, message.length);
      this.drain();
    });
  }

  // Builds a Request from a local client and hands it to the core. Its prepare waits for the next flush(). When
  // the core's pipeline is full the collected writes are flushed first (a request beyond it would be queued or
  // shed by the core).
  submit(req: SubmitRequest): void {
    this.assertLive();
    if (req.body.length > BODY_MAX) {
      throw new ReplicaDriverError('BodyTooLarge', `request body ${req.body.length} B > ${BODY_MAX} B: pass a descriptor, keep the body`);
    }
    this.whenIdle(() => {
      if (this.op - this.commitMin >= PIPELINE_MAX) this.flush();
      const at = this.core.vsrInboxPtr(this.handle) >>> 0;
      this.writeRequest(at, req);
      this.core.vsrOnMessage(this.handle, at, HEADER_SIZE + req.body.length);
      this.drain();
    });
  }

  tick(): void {
    this.assertLive();
    this.whenIdle(() => {
      this.core.vsrOnTick(this.handle);
      this.drain();
    });
  }

  // A partition group of a cluster follows the metadata group's primary (assembly/vsr/leader.ts decides): `view` and
  // `status` are the metadata group's on this replica. Returns whether a view change started.
  followLeader(view: number, status: number): boolean {
    this.assertLive();
    if (this.callsWait) { this.whenIdle(() => this.followLeader(view, status)); return false; }
    const started = Number(this.core.vsrFollowLeader(this.handle, view, status)) !== 0;
    this.drain();
    return started;
  }

  // Whether this replica may take writes: its group's primary, normal, and the leader group's (view, status) too.
  leadsWith(view: number, status: number): boolean {
    return Number(this.core.vsrLeadsWith(this.handle, view, status)) !== 0;
  }

  // The storage's completion entry: the write of (op, checksum) is durable. The core commits (a single replica),
  // sends its prepare_ok (a backup) or counts its own vote (a primary).
  onJournalWriteDone(op: number, checksum: bigint): void {
    this.writesInFlight--;
    if (this.released) {
      // Released while writing: nobody waits for these writes any more; the replica goes back once they are done.
      if (this.writesInFlight === 0) this.core.vsrRelease(this.handle);
      return;
    }
    this.whenIdle(() => {
      this.core.vsrOnJournalWriteDone(this.handle, BigInt(op), checksum);
      this.drain();
    });
  }

  // The storage no longer holds the writes of ops from `from` on (a partition's segments cut them: a view change
  // replaced an op below them). The core stops counting them durable and asks their writes again (vsrJournalCut).
  journalCut(from: number): void {
    this.assertLive();
    this.whenIdle(() => {
      this.core.vsrJournalCut(this.handle, BigInt(from));
      this.drain();
    });
  }

  // Hands every journal write collected since the last flush to the storage in one call (the server makes them
  // durable with one fdatasync). Returns how many were handed over: 0 from inside a callback (the walk is not
  // done), or while serialWrites and a write is in flight (they wait for the next flush).
  flush(): number {
    this.assertLive();
    if (this.pending.length === 0 || this.draining) return 0;
    if (this.options.serialWrites && this.writesInFlight > 0) return 0;
    const writes = this.pending;
    this.pending = [];
    this.writesInFlight += writes.length;
    this.io.storage.write(writes);
    return writes.length;
  }

  // Restart: the caller's state machine already holds ops <= from.op (a checkpoint, or op 0); `entries` are the
  // journal after it in ascending op order. Returns the core's refusal to start (a single replica whose journal
  // lost ops it may have acknowledged, which no peer can repair), or null when the replica runs.
  // `from.clients`: the client table at the checkpoint (clientTable()), when the checkpoint kept it.
  recover(state: PersistState | null, from: { op: number; checksum: bigint; clients?: Uint8Array } | null, entries: Iterable<RecoveredEntry>): RecoveryRefused | null {
    this.assertLive();
    runWaiting(this.walk); // calls a throw left waiting go first
    if (this.callsWait) throw new Error(`group ${this.options.group}: recover() called while this core instance's outbox is walked`);
    const s = state ?? { view: 0, logView: 0, commit: 0, commitChecksum: 0n, logHead: 0, logHeadChecksum: 0n };
    this.core.vsrRecoverBegin(this.handle, s.view, s.logView, BigInt(s.commit), s.commitChecksum, BigInt(s.logHead), s.logHeadChecksum);
    if (from && from.op > 0) this.core.vsrRecoverFrom(this.handle, BigInt(from.op), from.checksum);
    if (from?.clients) writeClientTable(this.core, this.memory, this.handle, from.clients);
    const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
    for (const e of entries) {
      // At most HEADER_SLOT bytes are copied: a longer entry is not a prepare (the core refuses it by its length).
      this.u8.set(e.prepare.subarray(0, HEADER_SLOT), inbox);
      const header = e.header ?? null; // the core takes it only when it is exactly one header long
      if (header) this.u8.set(header.subarray(0, HEADER_SIZE), inbox + HEADER_SLOT);
      this.core.vsrRecoverPrepare(this.handle, BigInt(e.op), inbox, e.prepare.length, header ? inbox + HEADER_SLOT : 0, header ? header.length : 0);
      this.drain();
    }
    const refusal = recoveryRefusal(this.core, this.handle, this.core.vsrRecoverEnd(this.handle), this.options.group);
    if (refusal) return refusal;
    this.drain();
    return null;
  }

  // Instead of recover(): nothing of this replica is on disk (a wiped or new data directory in a cluster). It
  // stays recovering until a quorum answered and storage.requestState's transfer is installed (stateInstalled).
  // `nonce`: random per process start.
  // `barred`: the replica holds state it cannot account for (a partition's segments from before it fell behind a
  // running cluster): it never forms a cluster from it, only a peer's transfer brings it back.
  recoverLost(nonce: bigint, barred = false): void {
    this.assertLive();
    this.whenIdle(() => {
      this.core.vsrRecoverLost(this.handle, nonce, barred);
      this.drain();
    });
  }

  // The state this replica starts from, fingerprinted by the host (0: none): a lost replica whose base is the
  // primary's takes only the ops since by repair, no transfer (assembly/vsr/state_sync.ts).
  setBase(base: bigint): void {
    this.core.vsrSetBase(this.handle, base);
  }

  // A lost replica's files, for a whole cluster forming again from differing files (assembly/journal/formation.ts):
  // their last `count` batches as tail_match entries and their end. Only for files that hold every batch this
  // replica acknowledged (not wiped, not catching up). Again after the cut formationCut() asked for.
  setTail(entries: Uint8Array, count: number, end: number): void {
    this.assertLive();
    this.whenIdle(() => {
      const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
      this.u8.set(entries, inbox);
      this.core.vsrSetTail(this.handle, inbox, count, BigInt(end));
      this.drain(); // with a cut done, a new round tells the others
    });
  }

  // The end the core asks this replica's files to be cut back to before its group forms again, or null.
  formationCut(): number | null {
    const end = this.core.vsrFormationCut(this.handle);
    return end === 0xffff_ffff_ffff_ffffn ? null : Number(end);
  }

  // storage.requestState's transfer is installed durably: the state machine holds every op up to `op`, and
  // `clients` is the peer's client table at that op (clientTable()).
  stateInstalled(op: number, checksum: bigint, clients: Uint8Array): void {
    this.assertLive();
    this.whenIdle(() => {
      if (this.stateLost || op > this.commitMin) writeClientTable(this.core, this.memory, this.handle, clients);
      this.core.vsrStateInstalled(this.handle, BigInt(op), checksum);
      this.drain();
    });
  }

  // The storage no longer holds ops up to `op` (a checkpoint drained them). As primary the replica tells its
  // backups; one whose commit is below it asks for a state transfer instead of repairing.
  setCheckpoint(op: number): void {
    this.assertLive();
    this.core.vsrSetCheckpoint(this.handle, BigInt(op));
  }

  // Seals a message the host built (a state-transfer message) with the core's checksums, in place. The inbox is
  // free between core calls, so it is the scratch the core hashes in.
  seal(message: Uint8Array): void {
    this.assertLive();
    const at = this.core.vsrInboxPtr(this.handle) >>> 0;
    this.u8.set(message, at);
    this.core.vsrSealMessage(at);
    message.set(this.u8.subarray(at, at + message.length));
  }

  // The core's client table now (at commitMin): a state transfer or a checkpoint carries it with the snapshot.
  clientTable(): Uint8Array {
    return readClientTable(this.core, this.memory, this.handle);
  }

  // The group is gone (its partition was deleted): the core may hand its replica to the next group of the same
  // shape. A journal write still on its way is waited for: its completion must not reach a replica that serves
  // another group.
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pending = []; // and its calls still waiting for a walk to end are dropped (whenIdle)
    if (this.writesInFlight === 0) this.core.vsrRelease(this.handle);
  }

  private assertLive(): void {
    if (this.released) throw new ReplicaDriverError('Released', `group ${this.options.group}: used after release`);
  }

  // A call into the core while the instance's outbox is being walked (by any of its drivers) runs after the walk,
  // and after every call that waits before it.
  private whenIdle(call: () => void): void {
    if (!this.callsWait) { call(); return; }
    this.walk.later.push(() => { if (!this.released) call(); });
    runWaiting(this.walk);
  }

  // Whether a call into the core now must wait (see InstanceWalk).
  private get callsWait(): boolean {
    return this.walk.walking || this.walk.running || this.walk.later.length > 0;
  }

  private writeRequest(at: number, req: SubmitRequest): void {
    const size = HEADER_SIZE + req.body.length;
    this.u8.fill(0, at, at + HEADER_SIZE);
    this.u8.set(req.body, at + HEADER_SIZE);
    const v = this.dv;
    v.setBigUint64(at + H.cluster, this.options.cluster & 0xffff_ffff_ffff_ffffn, true);
    v.setUint32(at + H.size, size, true);
    v.setUint8(at + H.command, Command.Request);
    v.setBigUint64(at + Req.client, req.client, true);
    v.setBigUint64(at + Req.request, req.request, true);
    v.setUint8(at + Req.operation, req.operation);
    v.setBigUint64(at + Req.session, req.session, true);
    v.setBigUint64(at + Req.group, this.options.group, true);
    this.core.vsrSealMessage(at);
  }

  // Performs the core's actions in order. Journal reads are answered after the walk (the answer is a call into
  // the core, which writes to the outbox again), and so is anything that arrived during it.
  private drain(): void {
    const reads: [number, number][] = [];
    this.draining = true;
    this.walk.walking = true;
    try {
      drainOutbox(this.core, this.handle, this.dv, (kind, target, payload, length) => {
        // Copy out of shared memory (subarray + set: slice() on a SharedArrayBuffer view is several times slower).
        const message = new Uint8Array(length);
        message.set(this.u8.subarray(payload, payload + length));
        this.perform(kind, target, message, reads);
      });
    } finally {
      this.draining = false;
      this.walk.walking = false;
    }
    for (const [op, to] of reads) this.answerRead(op, to);
    runWaiting(this.walk);
  }

  private perform(kind: number, target: number, message: Uint8Array, reads: [number, number][]): void {
    switch (kind) {
      case Action.Send:
        if (!this.io.bus.send(target, message)) this.sendsDropped++;
        return;
      case Action.Reply: this.io.callbacks.reply(message); return;
      case Action.JournalWrite: this.pending.push(journalWrite(message, false)); return;
      case Action.JournalWriteHeader: this.pending.push(journalWrite(message, true)); return;
      case Action.Commit: this.io.callbacks.commit(prepareOp(message), message); return;
      case Action.Persist: this.io.storage.persist(decodePersist(message)); return;
      case Action.JournalRead: reads.push([prepareOpAt(message, 0), target]); return;
      case Action.StateRequest:
        if (!this.io.storage.requestState) throw new ReplicaDriverError('PeerAction', `group ${this.options.group}: the core asked for a state transfer this host does not do`);
        this.io.storage.requestState(target, prepareOpAt(message, 0));
        return;
      default: throw new ReplicaDriverError('UnknownAction', `group ${this.options.group}: unknown outbox action ${kind} (target ${target})`);
    }
  }

  private answerRead(op: number, to: number): void {
    this.io.storage.read(op, (prepare) => {
      if (!prepare || this.released) return;
      if (prepare.length > MESSAGE_MAX) return; // not a prepare: nothing to repair with
      this.whenIdle(() => {
        const inbox = this.core.vsrInboxPtr(this.handle) >>> 0;
        this.u8.set(prepare, inbox);
        this.core.vsrOnJournalRead(this.handle, BigInt(op), to, inbox, prepare.length);
        this.drain();
      });
    });
  }
}

function journalWrite(message: Uint8Array, headerOnly: boolean): JournalWrite {
  const v = new DataView(message.buffer, message.byteOffset, HEADER_SIZE);
  return { op: Number(v.getBigUint64(Prep.op, true)), checksum: v.getBigUint64(H.checksum, true), message, headerOnly };
}

function prepareOp(prepare: Uint8Array): number {
  return prepareOpAt(prepare, Prep.op);
}

function prepareOpAt(bytes: Uint8Array, at: number): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, true));
}

function decodePersist(b: Uint8Array): PersistState {
  const v = new DataView(b.buffer, b.byteOffset, 40);
  return {
    view: v.getUint32(0, true), logView: v.getUint32(4, true),
    commit: Number(v.getBigUint64(8, true)), commitChecksum: v.getBigUint64(16, true),
    logHead: Number(v.getBigUint64(24, true)), logHeadChecksum: v.getBigUint64(32, true),
  };
}
