// One single-replica consensus group run through the VSR core: the metadata group on shard 0 and one group per
// partition on its owner shard. The model is host/sim/replica_node.ts: hand the core an event, drain its outbox,
// perform the actions in order. A single replica's journal write is its whole quorum, so `flush()` (one
// io.journalWrite for every prepare collected since the last flush, then onJournalWriteDone for each) is what
// commits and replies. A single replica never talks to peers: any Send (or repair action) is a bug and throws.
import {
  Action, H, HEADER_SIZE, BODY_MAX, Command, Prep, Rep, Req, drainOutbox, recoveryRefusal, type VsrExports,
} from '../../shared/vsr-abi.js';

const PIPELINE_MAX = 32; // assembly/vsr/constants.ts: prepares in flight before the core queues requests

export interface GroupOptions {
  cluster: bigint;
  group: bigint;
  slots: number; // log window, power of two >= 64
  clientsMax: number; // client table capacity (sessions)
}

// The superblock state the core asks to persist (ACTION_PERSIST).
export interface PersistState {
  view: number;
  logView: number;
  commit: number;
  commitChecksum: bigint;
  logHead: number;
  logHeadChecksum: bigint;
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

export interface SubmitRequest {
  client: bigint; // u64: the core's client table key
  session: bigint;
  request: bigint;
  operation: number;
  body: Uint8Array; // <= BODY_MAX (256 B): a descriptor of the real body, kept by the caller
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
  body: Uint8Array; // the prepare's body (the descriptor), a view into `prepare`
}

export class ConsensusGroupError extends Error {
  constructor(readonly code: 'BodyTooLarge' | 'PeerAction' | 'ArenaFull', message: string) {
    super(message);
    this.name = code;
  }
}

export class ConsensusGroup {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private pending: Uint8Array[] = []; // journal writes collected since the last flush
  private draining = false;
  private writing = false; // an asynchronous journal write is pending
  private released = false;
  private deferred: SubmitRequest[] = []; // submitted from inside an io callback (e.g. an apply that proposes)

  private constructor(
    private readonly core: VsrExports, memory: WebAssembly.Memory, readonly handle: number,
    readonly options: GroupOptions, private readonly io: GroupIo,
  ) {
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
  }

  // Allocates the replica in `core`'s arena (the caller ran __arena_init on its shard's arena region). `core` is
  // a shard's CoreExports (which includes the VSR exports).
  static create(core: VsrExports, memory: WebAssembly.Memory, options: GroupOptions, io: GroupIo): ConsensusGroup {
    let handle: number;
    try {
      handle = core.vsrCreate(options.cluster, options.group, 0, 1, options.slots, options.clientsMax);
    } catch (error) {
      // The core traps rather than allocate past its arena (assembly/rt/arena.ts).
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      throw new ConsensusGroupError('ArenaFull', `no room in the shard's core arena for consensus group ${options.group} (${options.slots} slots, ${options.clientsMax} clients): raise --arena-bytes`);
    }
    const group = new ConsensusGroup(core, memory, handle, options, io);
    group.drain(); // creation queues nothing today; drained so that stays harmless
    return group;
  }

  get op(): number { return this.core.vsrOp(this.handle); }
  get commitNumber(): number { return this.core.vsrCommitMin(this.handle); }
  get unflushed(): number { return this.pending.length; }
  // True while io callbacks run (the outbox is being walked): submits are deferred, flushes are no-ops.
  get busy(): boolean { return this.draining; }

  // Hands one client request to the core. Its prepare waits for the next flush(); a retry of a committed request
  // or a rejection is answered through io.reply at once. When the core's pipeline is full the collected prepares
  // are flushed first (a request beyond it would be queued or shed by the core).
  submit(req: SubmitRequest): void {
    this.assertLive();
    if (req.body.length > BODY_MAX) {
      throw new ConsensusGroupError('BodyTooLarge', `request body ${req.body.length} B > ${BODY_MAX} B: pass a descriptor, keep the body`);
    }
    // The outbox is being walked: a call into the core now would append to it mid-walk. Runs after the walk.
    if (this.draining) { this.deferred.push(req); return; }
    if (this.op - this.commitNumber >= PIPELINE_MAX) this.flush();
    const at = this.core.vsrInboxPtr(this.handle) >>> 0;
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
    this.core.vsrOnMessage(this.handle, at, size);
    this.drain();
  }

  // Makes every collected prepare durable with ONE io.journalWrite, then reports each write done: the core
  // commits (io.commit, in op order) and replies (io.reply). Returns how many prepares were written (0 when
  // called from inside an io callback, or while an asynchronous write is pending: those prepares wait for the
  // next flush; an asynchronous write reports its prepares when it resolves, then calls io.journalWritten).
  flush(): number {
    this.assertLive();
    if (this.pending.length === 0 || this.draining || this.writing) return 0;
    const prepares = this.pending;
    this.pending = [];
    const written = this.io.journalWrite(prepares);
    if (written) {
      this.writing = true;
      written.then(() => {
        this.writing = false;
        if (this.released) {
          this.core.vsrRelease(this.handle); // released while writing: nobody waits for these prepares any more
          return;
        }
        this.written(prepares);
        this.io.journalWritten?.();
      }, (error) => setImmediate(() => { throw new Error(`group ${this.options.group}: journal write rejected (the io must answer its own failures): ${error}`); }));
      return 0;
    }
    this.written(prepares);
    return prepares.length;
  }

  private written(prepares: Uint8Array[]): void {
    for (const p of prepares) {
      const v = new DataView(p.buffer, p.byteOffset, HEADER_SIZE);
      this.core.vsrOnJournalWriteDone(this.handle, v.getBigUint64(Prep.op, true), v.getBigUint64(H.checksum, true));
      this.drain();
    }
  }

  // The group is gone (its partition was deleted): the core may hand its replica to the next group of the same
  // shape, so a server that creates and deletes partitions for ever does not run out of core memory. A journal
  // write still on its way is waited for: its completion must not reach a replica that serves another group.
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pending = [];
    this.deferred = [];
    if (!this.writing) this.core.vsrRelease(this.handle);
  }

  private assertLive(): void {
    if (this.released) throw new Error(`group ${this.options.group}: used after release`);
  }

  tick(): void {
    this.assertLive();
    this.core.vsrOnTick(this.handle);
    this.drain();
  }

  // Restart. The caller's state machine already holds ops <= from.op (a checkpoint, or op 0); `prepares` are the
  // journal's core prepares after it in ascending op order. Each one that chains is committed through io.commit
  // (a single replica's durable prepare was committed, and maybe acknowledged), so numbering continues after it.
  // Throws RecoveryRefused (RecoveryLostOps / RecoveryDiverged, naming the group and ops) when the core refuses to
  // start: its journal lost ops it may have acknowledged, which no peer can repair. The group is unusable then.
  recover(from: { op: number; checksum: bigint } | null, prepares: Iterable<Uint8Array>, state?: PersistState): void {
    const s = state ?? { view: 0, logView: 0, commit: 0, commitChecksum: 0n, logHead: 0, logHeadChecksum: 0n };
    this.core.vsrRecoverBegin(this.handle, s.view, s.logView, BigInt(s.commit), s.commitChecksum, BigInt(s.logHead), s.logHeadChecksum);
    if (from && from.op > 0) this.core.vsrRecoverFrom(this.handle, BigInt(from.op), from.checksum);
    const at = this.core.vsrInboxPtr(this.handle) >>> 0;
    for (const p of prepares) {
      this.u8.set(p, at);
      this.core.vsrRecoverPrepare(this.handle, new DataView(p.buffer, p.byteOffset).getBigUint64(Prep.op, true), at, p.length, 0, 0);
      this.drain();
    }
    const refusal = recoveryRefusal(this.core, this.handle, this.core.vsrRecoverEnd(this.handle), this.options.group);
    if (refusal) throw refusal;
    this.drain();
  }

  private drain(): void {
    this.draining = true;
    try {
      this.drainOnce();
    } finally {
      this.draining = false;
    }
    while (this.deferred.length > 0) this.submit(this.deferred.shift()!);
  }

  private drainOnce(): void {
    drainOutbox(this.core, this.handle, this.dv, (kind, target, payload, length) => {
      const bytes = new Uint8Array(length);
      bytes.set(this.u8.subarray(payload, payload + length));
      if (kind === Action.JournalWrite) this.pending.push(bytes);
      else if (kind === Action.Commit) this.io.commit(readPrepare(bytes).op, bytes);
      else if (kind === Action.Reply) this.io.reply(bytes);
      else if (kind === Action.Persist) this.io.persist(decodePersist(bytes));
      else throw new ConsensusGroupError('PeerAction', `single-replica group ${this.options.group} got outbox action ${kind} (target ${target}): it has no peers`);
    });
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
    body: prepare.subarray(HEADER_SIZE, size),
  };
}

function decodePersist(b: Uint8Array): PersistState {
  const v = new DataView(b.buffer, b.byteOffset, 40);
  return {
    view: v.getUint32(0, true), logView: v.getUint32(4, true),
    commit: Number(v.getBigUint64(8, true)), commitChecksum: v.getBigUint64(16, true),
    logHead: Number(v.getBigUint64(24, true)), logHeadChecksum: v.getBigUint64(32, true),
  };
}
