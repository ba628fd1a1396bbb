// The metadata group: one VSR replica (ConsensusGroup) whose journal is the metadata WAL (`journal.wal`,
// PrepareJournal), with the superblock (`superblock.a|b`) and checkpoints (`snapshot`) in the same directory.
//
// Each WAL entry's body is [u32 n][the core's prepare, n bytes][the real body]: the core prepares a descriptor
// (descriptor.ts) that binds the real body, the requester and the timestamp to the op. A single replica's durable
// prepare is committed, so the journal is the commit record: the superblock records checkpoints only (the core's
// persist requests are not needed to recover). Boot: restore the snapshot, then hand every journaled prepare
// after it to the core's recovery, which commits them in order (apply sees the same op, timestamp, client, user
// and body as the first time) and continues the numbering.
import path from 'node:path';
import fs from 'node:fs';
import { ShardlogError } from '../../shared/errors.js';
import { Command, H, HEADER_SIZE, Operation, ReplyStatus, Status, metadataGroupId, type VsrExports } from '../../shared/vsr-abi.js';
import type { JournalWrite, PersistState } from '../../shared/replica-driver.js';
import { PrepareJournal, sealPrepare } from '../io/prepare-journal.js';
import type { StorageCore } from '../io/storage-core.js';
import { storageError } from '../io/storage-errors.js';
import { SuperblockStore } from '../io/superblock-store.js';
import type { ApplyResult, CommittedOp } from '../metadata/types.js';
import { ConsensusGroup, decodeReply, readPrepare, type GroupPeers, type GroupReply, type PrepareView } from './group.js';
import { INTERNAL_CLIENT_KEY, clientKey, decodeDescriptor, encodeDescriptor, type Descriptor } from './descriptor.js';
import { readSnapshot, writeSnapshot } from './snapshot-file.js';
import { MetadataStateSync, clearLost, isMarkedLost, markLost, randomNonce } from './metadata-state-sync.js';
import type { ReceivedState } from './state-transfer.js';

export const MAX_BODY_BYTES = 1 << 20;

export interface MetadataHooks {
  apply(entry: CommittedOp): ApplyResult;
  snapshot(): Uint8Array; // the state after every committed op so far
  restore(bytes: Uint8Array): void;
  now(): number; // µs
  // The log stopped writing (every proposal is refused from now on until a restart); not called when it is closed.
  failed?(error: unknown): void;
}

export interface MetadataLogOptions {
  slotCount?: number; // journal slots [1024]; a checkpoint runs when 3/4 are used. >= 64
  slots?: number; // the core's log window [64]
  clientsMax?: number; // the core's client table (sessions) [4096]
  cluster?: bigint; // [0n]
  quiet?: boolean;
  peers?: MetadataPeers; // a cluster's replica: the group has replicaCount replicas [none: one replica]
}

// The metadata group as one replica of a cluster: prepares go to the backups with their real body attached
// (ReplicaPlane.sendAttached), a backup journals them durably before its prepare_ok, every replica applies what
// commits. Inbound messages come through MetadataLog.onMessage.
export interface MetadataPeers {
  replica: number;
  replicaCount: number;
  send(replica: number, message: Uint8Array, attachment: Uint8Array): boolean;
}

export interface ProposeRequest {
  client: bigint; // u128 from the wire
  session: bigint;
  request: bigint;
  operation: number;
  body: Uint8Array; // up to 1 MiB
  userId: number;
}

export interface ProposeResult {
  status: number; // the core's reply status (ReplyStatus): 0 ok (also a duplicate: the cached result)
  op: number; // 0 when rejected
  applied: ApplyResult | null; // null when rejected, or for a duplicate whose result is no longer cached
}

interface Proposal { body: Uint8Array; }
type Done = (op: number, checksum: bigint) => void;
// Reported for a write that was not performed (superseded, or its op is in the checkpoint): no prepare's checksum,
// so the core marks nothing durable, while the driver counts the write as finished.
const NOT_WRITTEN = 0n;
interface Waiter { resolve(reply: GroupReply, applied: ApplyResult | null): void; reject(error: unknown): void; }

export class MetadataLogError extends ShardlogError {}

const EMPTY = new Uint8Array(0);

// A metadata request reached a replica that is not its group's primary.
export function notPrimary(view: number, replicaCount: number): MetadataLogError {
  return new MetadataLogError('MetadataNotPrimary', `this replica is not the metadata group's primary (view ${view}: replica ${view % replicaCount} is)`);
}

// A request this replica prepared as primary, then was demoted before it committed: the new view may still commit it.
export function notCommitted(view: number): MetadataLogError {
  return new MetadataLogError('MetadataNotCommitted', `this replica left the metadata group's primary role (view ${view}) with the request prepared: it may still commit`);
}

export class MetadataLog {
  private readonly proposals = new Map<string, Proposal>(); // by core client key:request, until journaled
  private readonly bodies = new Map<number, Uint8Array>(); //   by op, journaled until applied
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly lastResults = new Map<bigint, { op: number; applied: ApplyResult }>(); // by client key
  private lastEntryHeader: Uint8Array | null = null; // the journal chains each entry to the previous one
  private lastCommitChecksum = 0n;
  private lastTimestamp = 0;
  private internalSession: bigint | null = null;
  private internalRequest = 0n;
  private internalChain: Promise<unknown> = Promise.resolve();
  private scheduled: NodeJS.Immediate | null = null;
  private failed: unknown = null;
  private closed = false;
  private group!: ConsensusGroup;
  // Cluster mode: real bodies by prepare checksum, from the request (the primary) or from the prepare's frame
  // attachment (a backup), until the op commits; prepares waiting for the ops before them to be journaled.
  private readonly attached = new Map<bigint, { op: number; body: Uint8Array }>();
  // Committed prepares whose journal entry is not theirs yet (none, or another prepare at the op: an older view's),
  // by op: their write may still be on its way (the driver hands writes over a flush later), so the tick keeps
  // their bodies. Cleared by the write, or by a checkpoint that covers the op.
  private readonly committedUnwritten = new Map<number, bigint>();
  // Each held write carries the completions it owes: its own, a superseded write's of the same prepare, and a
  // header-only rewrite's that waits for the prepare itself to be written.
  private readonly held = new Map<number, { write: JournalWrite; dones: Done[] }>();
  // Requests (core client key:request) this primary prepared: on demotion their outcome is unknown.
  private readonly prepared = new Set<string>();
  private persisted: PersistState | null = null;
  // Cluster mode: state transfer (metadata-state-sync.ts); `lost` while the state-lost marker is on disk.
  private stateSync: MetadataStateSync | null = null;
  private lost = false;

  private constructor(
    readonly dir: string, private readonly sc: StorageCore, private readonly hooks: MetadataHooks,
    private readonly journal: PrepareJournal, private readonly superblock: SuperblockStore,
    private readonly options: Required<Pick<MetadataLogOptions, 'slotCount' | 'slots' | 'clientsMax' | 'cluster'>>,
    private readonly peers: MetadataPeers | null = null,
  ) {}

  static async open(
    dir: string, core: VsrExports, memory: WebAssembly.Memory, sc: StorageCore, hooks: MetadataHooks,
    options: MetadataLogOptions = {},
  ): Promise<MetadataLog> {
    const o = { slotCount: options.slotCount ?? 1024, slots: options.slots ?? 64, clientsMax: options.clientsMax ?? 4096, cluster: options.cluster ?? 0n };
    if (o.slotCount < 64) throw new MetadataLogError('MetadataLogConfig', `slotCount ${o.slotCount} < 64: a group of 32 prepares must fit after a checkpoint`);
    const superblock = await SuperblockStore.open(dir, sc, options.quiet);
    const snapshotFile = path.join(dir, 'snapshot');
    fs.rmSync(`${snapshotFile}.tmp`, { force: true }); // a checkpoint that crashed before its rename
    const snapshot = readSnapshot(snapshotFile);
    const checkpointOp = superblock.state?.checkpointOp ?? 0;
    if (checkpointOp > 0 && (!snapshot || snapshot.op < checkpointOp)) {
      throw storageError('SnapshotMissing', snapshotFile, 0,
        `the superblock records a checkpoint at op ${checkpointOp}, the snapshot file ${snapshot ? `covers op ${snapshot.op}` : 'is missing'}: refusing to boot`);
    }
    const journal = await PrepareJournal.open({ dir, slotCount: o.slotCount, maxEntryBytes: MAX_BODY_BYTES + 4096, snapshotOp: checkpointOp, quiet: options.quiet }, sc);
    const log = new MetadataLog(dir, sc, hooks, journal, superblock, o, options.peers ?? null);
    try {
      if (snapshot) hooks.restore(snapshot.payload);
      log.recover(core, memory, snapshot ? { op: snapshot.op, checksum: snapshot.checksum } : null);
    } catch (error) {
      journal.close();
      superblock.close();
      throw error;
    }
    return log;
  }

  get commitNumber(): number { return this.group.commitNumber; }
  get op(): number { return this.group.op; }
  get view(): number { return this.group.view; }
  get viewChanges(): number { return this.group.viewChanges; }
  get status(): number { return this.group.status; }
  // The core's answer (view mod N, normal status); a lone replica is always its group's primary.
  get isPrimary(): boolean { return this.group.isPrimary; }
  // Recovering after its data directory was found empty: it votes and acks nothing until the state is transferred.
  get stateLost(): boolean { return this.lost; }
  get stateTransfers(): { served: number; installed: number; refused: number } {
    const s = this.stateSync;
    return { served: s?.served ?? 0, installed: s?.installed ?? 0, refused: s?.refused ?? 0 };
  }
  get replicaCount(): number { return this.peers?.replicaCount ?? 1; }
  // The last op in this replica's journal (its durable log), 0 when empty.
  get journaledOp(): number { return this.journal.lastOp ?? this.journal.snapshotOp; }
  // The primary of a view in normal status: the replica whose core prepares requests.
  get leading(): boolean { return this.group.isPrimary && this.group.status === Status.Normal; }

  // A frame from a peer (the replica plane's registry): the VSR message, and a prepare's attachment after it (the
  // real body, kept by the prepare's checksum until the op commits; its binding to the op is checked at commit).
  onMessage(message: Uint8Array, attachment: Uint8Array): void {
    if (this.failed) return;
    const command = message[H.command];
    if (command === Command.StateRequest || command === Command.StateChunk) { this.onStateMessage(command, message); return; }
    if ((command === Command.Prepare || command === Command.RepairPrepare) && message.length >= HEADER_SIZE) {
      const p = readPrepare(message);
      if (!this.attached.has(p.checksum)) this.attached.set(p.checksum, { op: p.op, body: Uint8Array.from(attachment) });
    }
    try {
      this.group.onMessage(message);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.schedule(); // journal writes it asked for
  }

  tick(): void {
    if (this.failed || this.closed) return;
    try {
      this.group.tick();
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.group.unflushed > 0) this.schedule();
    if (this.lost && !this.group.driver.stateLost) { clearLost(this.dir); this.lost = false; } // it holds the cluster's state
    if (this.peers) this.pruneAttached();
    // Demoted (a view change) with requests in flight: an unprepared one never commits (NotPrimary); a prepared
    // one may still commit in the new view, so its outcome is unknown (NotCommitted). The client retries through
    // the new primary (a prepare that did commit is answered from the client table).
    if (this.peers && !this.group.isPrimary && this.waiters.size > 0) {
      const error = notPrimary(this.group.view, this.peers.replicaCount);
      const unknown = notCommitted(this.group.view);
      for (const [id, list] of this.waiters) for (const w of list) w.reject(this.prepared.has(id) ? unknown : error);
      this.waiters.clear();
      this.proposals.clear();
      this.prepared.clear();
    }
  }

  // The bodies of committed, journaled ops that no held write needs: a prepare the core dropped (a duplicate, an
  // older view's) would otherwise stay attached forever. One above the journal may still have its write on the way
  // (the driver hands writes over a flush later), and so may a committed one whose journal entry is another prepare.
  private pruneAttached(): void {
    for (const op of this.committedUnwritten.keys()) if (op <= this.journal.snapshotOp) this.committedUnwritten.delete(op);
    const upTo = Math.min(this.group.commitNumber, this.journal.lastOp ?? this.journal.snapshotOp);
    for (const [checksum, a] of this.attached) {
      if (a.op > upTo || this.held.get(a.op)?.write.checksum === checksum || this.committedUnwritten.get(a.op) === checksum) continue;
      this.attached.delete(checksum);
    }
  }
  // The metadata group's consensus id (the core's METADATA_GROUP).
  get groupId(): bigint { return this.group.options.group; }

  // What the journal's recovery found at open (a truncated torn tail, repaired slot headers).
  get journalRecovery() { return this.journal.recovery; }
  get journalFile(): string { return this.journal.file; }

  propose(p: ProposeRequest): Promise<ProposeResult> {
    if (p.body.length > MAX_BODY_BYTES) {
      return Promise.reject(new MetadataLogError('MetadataBodyTooLarge', `metadata body of ${p.body.length} B > ${MAX_BODY_BYTES} B`));
    }
    return this.submit(clientKey(p.client), p.client, p.session, p.request, p.operation, p.body, p.userId)
      .then(({ reply, applied }) => ({ status: reply.status, op: reply.op, applied }));
  }

  // VSR Register: the session is the op of the committed Register (positive, increasing).
  register(client: bigint): Promise<{ status: number; session: bigint }> {
    return this.submit(clientKey(client), client, 0n, 0n, Operation.Register, new Uint8Array(0), 0)
      .then(({ reply }) => ({ status: reply.status, session: reply.session }));
  }

  // A server-internal op (root bootstrap, removing a departed consumer group member) under the server's own
  // client. Serialised: its request numbers must reach the core in order.
  internal(operation: number, body: Uint8Array, userId: number): Promise<ProposeResult> {
    const run = async (): Promise<ProposeResult> => {
      for (let attempt = 0; ; attempt++) {
        if (this.internalSession === null) {
          const { reply } = await this.submit(INTERNAL_CLIENT_KEY, 0n, 0n, 0n, Operation.Register, new Uint8Array(0), 0);
          if (reply.status !== 0) throw new MetadataLogError('MetadataInternalSession', `internal Register: ${ReplyStatus[reply.status]}`);
          this.internalSession = reply.session;
          this.internalRequest = 0n;
        }
        this.internalRequest += 1n;
        const { reply, applied } = await this.submit(INTERNAL_CLIENT_KEY, 0n, this.internalSession, this.internalRequest, operation, body, userId);
        // Evicted from a full client table: take a new session once.
        if (ReplyStatus[reply.status] === 'NoSession' && attempt === 0) { this.internalSession = null; continue; }
        return { status: reply.status, op: reply.op, applied };
      }
    };
    const result = this.internalChain.then(run, run);
    this.internalChain = result.catch(() => undefined);
    return result;
  }

  // Makes every proposal of this turn durable with one journal append (one fdatasync), then commits and answers
  // them. The shard loop calls it; proposals also flush on setImmediate. Returns how many prepares were written.
  flush(): number {
    if (this.scheduled) { clearImmediate(this.scheduled); this.scheduled = null; }
    if (this.failed) return 0;
    if (this.group.busy) { this.schedule(); return 0; } // called from apply: after the flush under way
    try {
      const written = this.group.flush();
      if (this.journal.remaining <= this.options.slotCount / 4) this.checkpoint();
      // Held writes that waited for room (or for a checkpoint to cover them) go on without a new write.
      if (this.peers && this.held.size > 0) this.journalWriteReplicated([], () => undefined);
      return written;
    } catch (error) {
      this.fail(error);
      return 0;
    }
  }

  close(): void {
    if (this.closed) return;
    if (!this.failed) this.flush();
    this.closed = true;
    this.fail(new MetadataLogError('MetadataLogClosed', 'the metadata log was closed'));
    this.journal.close();
    this.superblock.close();
  }

  // Closed, and its replica given back to the core: a replica reopening its log in process (metadata-owner.ts)
  // creates the group again, as at boot. Nothing of this log may be used after it.
  release(): void {
    // Every write the failed log still holds is reported not written (none of it is on disk as asked): the core
    // counts writes on their way, and its replica goes back for reuse only once none is left.
    for (const [op, h] of this.held) report(h.dones, op, NOT_WRITTEN);
    this.held.clear();
    this.close();
    this.group.release();
  }

  private submit(key: bigint, client: bigint, session: bigint, request: bigint, operation: number, body: Uint8Array, userId: number) {
    return new Promise<{ reply: GroupReply; applied: ApplyResult | null }>((resolve, reject) => {
      if (this.failed) { reject(this.failed); return; }
      // A backup's core drops requests (only the primary prepares): refused here, by name, so the caller can
      // answer its client (who retries, or moves to the primary).
      // So does a primary in a view change (the core drops requests until its view is normal).
      if (this.peers && !this.leading) { reject(notPrimary(this.group.view, this.peers.replicaCount)); return; }
      const id = `${key}:${request}`;
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve: (reply, applied) => resolve({ reply, applied }), reject });
      this.waiters.set(id, list);
      // A retry while the first is still in flight: the core drops it, both are answered by the first's commit.
      if (!this.proposals.has(id)) this.proposals.set(id, { body });
      const descriptor = operation === Operation.Register ? new Uint8Array(0) : encodeDescriptor({
        bodyHash: this.sc.xxh3(body), bodyLength: body.length, userId, client, timestampMicros: this.timestamp(),
      });
      try {
        this.group.submit({ client: key, session, request, operation, body: descriptor });
      } catch (error) {
        this.fail(error);
        return;
      }
      this.schedule();
    });
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => { this.scheduled = null; this.flush(); });
  }

  private timestamp(): number {
    this.lastTimestamp = Math.max(this.lastTimestamp, Math.floor(this.hooks.now()));
    return this.lastTimestamp;
  }


  // ---- the group's I/O ----

  // ---- cluster mode: the bus and the storage of a replica with peers ----

  private groupPeers(peers: MetadataPeers): GroupPeers {
    return {
      replica: peers.replica,
      replicaCount: peers.replicaCount,
      bus: { send: (replica, message) => this.send(peers, replica, message) },
      write: (writes, done) => this.journalWriteReplicated(writes, done),
      read: (op, done) => done(this.journalPrepare(op)?.prepare ?? null),
      // Asked from inside the driver's outbox walk: the request is sealed with the core after it.
      requestState: (from) => setImmediate(() => { if (!this.closed && !this.failed) this.stateSync!.request(from); }),
    };
  }

  // ---- cluster mode: state transfer ----

  private onStateMessage(command: number, message: Uint8Array): void {
    const sync = this.stateSync;
    if (!sync) return;
    try {
      if (command === Command.StateRequest) sync.onRequest(message);
      else sync.onChunk(message);
    } catch (error) {
      this.fail(error);
    }
  }

  // What a peer that lost its state (or fell behind our checkpoint) receives: the state at our commit. None while
  // this replica is lost itself, or before anything committed (the peer then gets the log by repair).
  private currentState(): { snapshot: { op: number; checksum: bigint; payload: Uint8Array }; clients: Uint8Array } | null {
    const op = this.group.commitNumber;
    if (this.lost || op === 0) return null;
    return { snapshot: { op, checksum: this.lastCommitChecksum, payload: this.hooks.snapshot() }, clients: this.group.driver.clientTable() };
  }

  // A transfer arrived, its checksums verified: snapshot file (tmp → fsync → rename → fsync dir), superblock
  // checkpoint, journal drained up to it, the state machine restored; only then does the core hear of it.
  private installState({ snapshot, clients }: ReceivedState): void {
    if (!this.group.driver.stateLost && snapshot.op <= this.group.commitNumber) return; // repair got there first
    writeSnapshot(path.join(this.dir, 'snapshot'), snapshot);
    this.superblock.write({
      cluster: this.options.cluster, replica: this.peers!.replica, replicaCount: this.peers!.replicaCount,
      view: this.persisted?.view ?? this.group.view, logView: this.persisted?.logView ?? 0,
      commit: snapshot.op, checkpointOp: snapshot.op, checkpointChecksum: snapshot.checksum, ...this.persistedLogHead(),
    });
    this.journal.drain(snapshot.op);
    this.journal.options.snapshotOp = snapshot.op;
    for (const op of this.held.keys()) if (op <= snapshot.op) this.held.delete(op);
    if (this.journal.lastOp === null) this.lastEntryHeader = null;
    this.hooks.restore(snapshot.payload);
    this.lastCommitChecksum = snapshot.checksum;
    this.group.driver.stateInstalled(snapshot.op, snapshot.checksum, clients);
    this.schedule();
  }

  // A prepare leaves with its real body attached; one whose body this replica does not hold is not sent (the
  // peer asks again, or gets it from another replica).
  private send(peers: MetadataPeers, replica: number, message: Uint8Array): boolean {
    const command = message[H.command];
    if (command !== Command.Prepare && command !== Command.RepairPrepare) return peers.send(replica, message, EMPTY);
    const body = this.bodyFor(readPrepare(message));
    return body ? peers.send(replica, message, body) : false;
  }

  // The real body of a prepare: attached (by checksum), still a proposal of this primary, or in the journal.
  private bodyFor(p: PrepareView): Uint8Array | null {
    const attached = this.attached.get(p.checksum);
    if (attached) return attached.body;
    const proposal = this.proposals.get(`${p.client}:${p.request}`);
    if (proposal) {
      this.attached.set(p.checksum, { op: p.op, body: proposal.body });
      return proposal.body;
    }
    const journaled = this.journalPrepare(p.op);
    return journaled && journaled.checksum === p.checksum ? journaled.body : null;
  }

  // The core's prepare and the real body of the journal's entry for `op`, or null.
  private journalPrepare(op: number): { prepare: Uint8Array; body: Uint8Array; checksum: bigint } | null {
    const entry = this.journal.read(op);
    if (!entry) return null;
    const n = entry.readUInt32LE(HEADER_SIZE);
    const prepare = entry.subarray(HEADER_SIZE + 4, HEADER_SIZE + 4 + n);
    return { prepare, body: entry.subarray(HEADER_SIZE + 4 + n), checksum: readPrepare(prepare).checksum };
  }

  // Journal writes of a replica with peers. The journal holds consecutive ops, so a prepare waits (held) until the
  // ops before it are written; one that replaces a journaled op (a view change chose another prepare for it)
  // rewrites the journal from there (replaceFrom: the entries after it are kept, and the switch is atomic, so no
  // prepare reported durable is ever off the disk). Each is reported durable once its write returned.
  // Known limit: a header-only write (a view change restamping a prepare's accepted view) is reported durable once
  // the prepare is journaled, without rewriting the entry, whose view stays the older one: after a restart such an
  // entry reads as possibly stale and is repaired from a peer.
  private journalWriteReplicated(writes: JournalWrite[], done: Done): void {
    for (const w of writes) {
      if (w.headerOnly) this.restamped(w, done);
      else this.hold(w, done);
    }
    // Room first: the checkpoint may drop held writes of ops it covers, and the entries below are sealed in order.
    if (this.journal.remaining <= this.options.slotCount / 4) this.checkpoint();
    this.settleHeld();
    const replaced = this.lowestReplacement();
    if (replaced !== null) this.replaceJournaled(replaced);
    else this.appendHeld();
  }

  // Held writes that need no write: in the checkpoint (not written), or the very prepare the journal holds (durable).
  private settleHeld(): void {
    const last = this.journal.lastOp ?? this.journal.snapshotOp;
    for (const [op, h] of this.held) {
      if (op <= this.journal.snapshotOp) { this.held.delete(op); report(h.dones, op, NOT_WRITTEN); continue; }
      if (op <= last && this.journalPrepare(op)?.checksum === h.write.checksum) { this.held.delete(op); report(h.dones, op, h.write.checksum); }
    }
  }

  // The lowest journaled op the core asked another prepare for, whose body is at hand; null if none.
  private lowestReplacement(): number | null {
    const last = this.journal.lastOp;
    if (last === null) return null;
    let lowest: number | null = null;
    for (const [op, h] of this.held) {
      if (op <= last && (lowest === null || op < lowest) && this.bodyFor(readPrepare(h.write.message))) lowest = op;
    }
    return lowest;
  }

  // The journal from `from` on, rewritten in one atomic switch: each journaled op whose held write has its body
  // takes the new prepare, every other one keeps its entry (it may be a prepare the core counts durable, whose
  // prepare_ok has left), then the held writes that follow the journal. Only after the switch are the new ones
  // reported durable.
  private replaceJournaled(from: number): void {
    const last = this.journal.lastOp!;
    const before = this.lastEntryHeader;
    this.lastEntryHeader = from - 1 > this.journal.snapshotOp ? this.journal.read(from - 1)?.subarray(0, HEADER_SIZE) ?? null : null;
    const entries: Uint8Array[] = [];
    const written: { write: JournalWrite; dones: Done[] }[] = [];
    let op = from;
    for (; op <= last; op++) {
      const h = this.held.get(op);
      const p = h ? readPrepare(h.write.message) : null;
      const body = p ? this.bodyFor(p) : null;
      if (h && p && body) {
        entries.push(this.walEntry(h.write.message, p, body));
        written.push(h);
      } else {
        const j = this.journalPrepare(op)!;
        entries.push(this.walEntry(j.prepare, readPrepare(j.prepare), j.body));
      }
    }
    for (let room = this.journal.remaining; room > 0; op++, room--) {
      const h = this.held.get(op);
      const p = h ? readPrepare(h.write.message) : null;
      const body = p ? this.bodyFor(p) : null;
      if (!h || !p || !body) break;
      entries.push(this.walEntry(h.write.message, p, body));
      written.push(h);
    }
    try {
      this.journal.replaceFrom(from, entries);
    } catch (error) {
      this.lastEntryHeader = before;
      throw error;
    }
    this.reportWritten(written);
  }

  // Held writes that follow the journal, consecutive from its next op, as far as their bodies have arrived and
  // there is room: one append.
  private appendHeld(): void {
    const entries: Uint8Array[] = [];
    const written: { write: JournalWrite; dones: Done[] }[] = [];
    for (let op = (this.journal.lastOp ?? this.journal.snapshotOp) + 1, room = this.journal.remaining; room > 0; op++, room--) {
      const h = this.held.get(op);
      const p = h ? readPrepare(h.write.message) : null;
      const body = p ? this.bodyFor(p) : null;
      if (!h || !p || !body) break; // its attachment has not arrived: written when the prepare comes again
      entries.push(this.walEntry(h.write.message, p, body));
      written.push(h);
    }
    if (entries.length === 0) return;
    this.journal.append(entries);
    this.reportWritten(written);
  }

  private reportWritten(written: { write: JournalWrite; dones: Done[] }[]): void {
    for (const { write, dones } of written) {
      this.held.delete(write.op);
      if (write.op <= this.group.commitNumber) this.attached.delete(write.checksum); // committed before it was written
      if (this.committedUnwritten.get(write.op) === write.checksum) this.committedUnwritten.delete(write.op);
      report(dones, write.op, write.checksum);
    }
  }

  // A full write waits in `held` for the ops before it. One that replaces a held write of the same op takes over
  // its completion when it is the same prepare (written once, both reported), else the superseded one is reported
  // not written (the core asked for the newer prepare).
  private hold(w: JournalWrite, done: Done): void {
    const p = readPrepare(w.message);
    if (this.waiters.has(`${p.client}:${p.request}`)) this.prepared.add(`${p.client}:${p.request}`);
    const before = this.held.get(w.op);
    const dones = [done];
    if (before && before.write.checksum === w.checksum) dones.push(...before.dones);
    else if (before) report(before.dones, w.op, NOT_WRITTEN);
    this.held.set(w.op, { write: w, dones });
  }

  // A header-only write (a view change restamped an accepted prepare) is durable only if the prepare itself is:
  // journaled now, or when its held full write is written. The core cleared F_DURABLE before asking and sends
  // prepare_ok on this completion, so it must not come before the prepare is on disk.
  private restamped(w: JournalWrite, done: Done): void {
    if (this.journalPrepare(w.op)?.checksum === w.checksum) { done(w.op, w.checksum); return; }
    const held = this.held.get(w.op);
    if (held && held.write.checksum === w.checksum) { held.dones.push(done); return; }
    done(w.op, NOT_WRITTEN); // the prepare is neither journaled nor on its way: the core gets it again by repair
  }

  private walEntry(prepare: Uint8Array, p: PrepareView, body: Uint8Array): Uint8Array {
    const framed = new Uint8Array(4 + prepare.length + body.length);
    new DataView(framed.buffer).setUint32(0, prepare.length, true);
    framed.set(prepare, 4);
    framed.set(body, 4 + prepare.length);
    const entry = sealPrepare(this.sc, p.op, this.lastEntryHeader, framed, p.operation);
    this.lastEntryHeader = entry.subarray(0, HEADER_SIZE);
    return entry;
  }

  // The core's superblock state (view, log view, commit), with the checkpoint last written.
  private persist(state: PersistState): void {
    this.persisted = state;
    const current = this.superblock.state;
    this.superblock.write({
      cluster: this.options.cluster, replica: this.peers!.replica, replicaCount: this.peers!.replicaCount,
      view: state.view, logView: state.logView, commit: state.commit,
      checkpointOp: current?.checkpointOp ?? 0, checkpointChecksum: current?.checkpointChecksum ?? 0n,
      logHead: state.logHead, logHeadChecksum: state.logHeadChecksum,
    });
  }

  // The log head the core last asked to persist (with its view and log view), else the superblock's.
  private persistedLogHead(): { logHead: number; logHeadChecksum: bigint } {
    const from = this.persisted ?? this.superblock.state;
    return { logHead: from?.logHead ?? 0, logHeadChecksum: from?.logHeadChecksum ?? 0n };
  }

  private journalWrite(prepares: Uint8Array[]): void {
    // Everything journaled so far is committed (each flush commits its group): a checkpoint can make room.
    if (this.journal.remaining < prepares.length) this.checkpoint();
    const entries: Uint8Array[] = [];
    let bytes = 0;
    for (const prepare of prepares) {
      const p = readPrepare(prepare);
      const id = `${p.client}:${p.request}`;
      const body = this.proposals.get(id)?.body ?? new Uint8Array(0);
      this.proposals.delete(id);
      this.bodies.set(p.op, body);
      const entry = this.walEntry(prepare, p, body);
      // One append per group; only a group larger than the staging area is split (each part its own fsync).
      if (bytes + entry.length > this.sc.stagingLen && entries.length > 0) {
        this.journal.append(entries.splice(0));
        bytes = 0;
      }
      entries.push(entry);
      bytes += entry.length;
    }
    this.journal.append(entries);
  }

  private commit(op: number, prepare: Uint8Array): void {
    const p = readPrepare(prepare);
    this.lastCommitChecksum = p.checksum;
    const body = this.bodies.get(op) ?? (this.peers ? this.bodyFor(p) : null) ?? new Uint8Array(0);
    this.bodies.delete(op);
    // A backup may commit an op (the primary's commit number) before its own journal write of it ran (a flush
    // comes a turn later): the body is dropped once both happened.
    // A journaled entry of another prepare at the op (an older view's) does not count: the body is still needed.
    if (!this.peers || this.journalPrepare(op)?.checksum === p.checksum) this.attached.delete(p.checksum);
    else this.committedUnwritten.set(op, p.checksum);
    if (p.client === INTERNAL_CLIENT_KEY) {
      if (p.operation === Operation.Register) { this.internalSession = BigInt(op); this.internalRequest = 0n; }
      else if (this.internalSession !== null && p.request > this.internalRequest) this.internalRequest = p.request;
    }
    if (p.operation === Operation.Register) return; // session bookkeeping only: the core's client table
    const d = this.checkedDescriptor(op, p.body, body);
    this.lastTimestamp = Math.max(this.lastTimestamp, d.timestampMicros);
    const applied = this.hooks.apply({ op, operation: p.operation, body, timestampMicros: d.timestampMicros, client: d.client, userId: d.userId });
    this.lastResults.delete(p.client); // re-inserted last: the map's order is recency, the oldest are pruned
    this.lastResults.set(p.client, { op, applied });
    if (this.lastResults.size > this.options.clientsMax) this.lastResults.delete(this.lastResults.keys().next().value!);
  }

  private checkedDescriptor(op: number, descriptor: Uint8Array, body: Uint8Array): Descriptor {
    const d = decodeDescriptor(descriptor);
    if (!d || d.bodyLength !== body.length || d.bodyHash !== this.sc.xxh3(body)) {
      throw storageError('MetadataLogCorrupt', this.journal.file, 0, `op ${op}: the body does not match the descriptor its prepare binds`);
    }
    return d;
  }

  private reply(bytes: Uint8Array): void {
    const reply = decodeReply(bytes);
    const id = `${reply.client}:${reply.request}`;
    this.proposals.delete(id);
    const list = this.waiters.get(id);
    this.waiters.delete(id);
    this.prepared.delete(id);
    const cached = this.lastResults.get(reply.client);
    const applied = reply.status === 0 && reply.operation !== Operation.Register && cached?.op === reply.op ? cached.applied : null;
    for (const w of list ?? []) w.resolve(reply, applied);
  }

  // ---- boot and checkpoints ----

  private recover(core: VsrExports, memory: WebAssembly.Memory, from: { op: number; checksum: bigint } | null): void {
    const io = {
      journalWrite: (prepares: Uint8Array[]) => this.journalWrite(prepares),
      // A lone replica: the journal is the commit record; checkpoints go to the superblock (checkpoint()). With
      // peers the core's view, log view and commit are the superblock's too.
      persist: (state: PersistState) => { if (this.peers) this.persist(state); },
      commit: (op: number, prepare: Uint8Array) => this.commit(op, prepare),
      reply: (reply: Uint8Array) => this.reply(reply),
    };
    const { slots, clientsMax, cluster } = this.options;
    // The core's METADATA_GROUP: the id every metadata prepare carries, which routes its frames to shard 0.
    const group = metadataGroupId(core);
    this.group = ConsensusGroup.create(core, memory, { cluster, group, slots, clientsMax }, io, this.peers ? this.groupPeers(this.peers) : undefined);
    const start = (from?.op ?? 0) + 1;
    const last = this.journal.lastOp;
    const first = this.journal.firstOp;
    if (last !== null && last >= start && first! > start) {
      throw storageError('MetadataLogCorrupt', this.journal.file, 0, `the snapshot covers ops up to ${start - 1}, the journal starts at op ${first}: ops are missing`);
    }
    const journal = this.journal;
    const bodies = this.bodies;
    function* prepares(): Generator<Uint8Array> {
      if (last === null) return;
      for (let op = start; op <= last; op++) {
        const entry = journal.read(op);
        if (!entry) throw storageError('MetadataLogCorrupt', journal.file, 0, `op ${op} is missing from the journal`);
        const n = entry.readUInt32LE(HEADER_SIZE);
        const prepare = entry.subarray(HEADER_SIZE + 4, HEADER_SIZE + 4 + n);
        // The WAL entry is intact (its own checksum passed), so a prepare of another group is not damage: the
        // directory was written by a server that gave the metadata group another id (0 before it took the core's).
        if (n >= HEADER_SIZE && readPrepare(prepare).group !== group) {
          throw storageError('MetadataGroupMismatch', journal.file, 0,
            `op ${op} was prepared by consensus group ${readPrepare(prepare).group}, this server's metadata group is ${group} (the core's METADATA_GROUP): a data directory from a server that used another id; refusing to boot`);
        }
        bodies.set(op, entry.subarray(HEADER_SIZE + 4 + n));
        yield prepare;
      }
    }
    if (from) this.lastCommitChecksum = from.checksum;
    const state = this.superblock.state;
    if (this.peers) {
      const peers = this.peers;
      this.stateSync = new MetadataStateSync({
        cluster, group, replica: peers.replica,
        send: (replica, message) => peers.send(replica, message, EMPTY),
        seal: (message) => this.group.driver.seal(message),
        current: () => this.currentState(),
        install: (received) => this.installState(received),
        warn: (message) => console.warn(`metadata: ${message}`),
      });
      if (from) this.group.driver.setCheckpoint(from.op);
      // Nothing on disk (a wiped or new data directory), or a recovery from that still in progress: this replica
      // may have acknowledged ops and voted before it lost them. Marked durably first, then recovering through
      // the core (state_sync.ts): it votes and acks nothing until it holds the cluster's state. A new cluster goes
      // the same way: every replica answers "lost", which proves nothing was ever committed.
      if (isMarkedLost(this.dir) || (last === null && !state && !from)) {
        if (!isMarkedLost(this.dir)) markLost(this.dir);
        this.lost = true;
        this.group.driver.recoverLost(randomNonce());
        return;
      }
      // The journal after the checkpoint is its log, not known committed: what commits comes from the
      // cluster again (the state machine restarted from the snapshot, so it is applied in order once).
      this.group.recover(from, prepares(), {
        view: state?.view ?? 0, logView: state?.logView ?? 0, commit: from?.op ?? 0, commitChecksum: from?.checksum ?? 0n,
        // Without it, the journal's ops accepted before logView would read as truncated by that view change.
        logHead: state?.logHead ?? 0, logHeadChecksum: state?.logHeadChecksum ?? 0n,
      });
      this.lastEntryHeader = last !== null ? this.journal.read(last)!.subarray(0, HEADER_SIZE) : null;
      this.bodies.clear();
      return;
    }
    this.group.recover(from, prepares());
    this.lastEntryHeader = last !== null ? this.journal.read(last)!.subarray(0, HEADER_SIZE) : null;
    const expected = Math.max(from?.op ?? 0, last ?? 0);
    if (this.group.commitNumber !== expected) {
      throw storageError('MetadataLogCorrupt', this.journal.file, 0,
        `the core committed up to op ${this.group.commitNumber} of a journal ending at op ${expected}: a prepare does not chain`);
    }
    this.bodies.clear();
    if (this.journal.remaining <= this.options.slotCount / 4) this.checkpoint();
  }

  // snapshot file (durable) → superblock checkpoint op → drain the journal up to it. A crash between the steps
  // leaves a snapshot at least as new as the superblock's checkpoint and a journal that still holds what follows.
  private checkpoint(): void {
    const op = this.group.commitNumber;
    if (op === 0 || op === this.journal.snapshotOp) return;
    // With peers the journal may hold ops after the commit (prepared, not yet committed): the drain keeps them. A
    // backup may also have committed ops it has not journaled yet: the drain then keeps nothing, their writes are
    // dropped (the snapshot covers them) and the journal restarts after the commit (its first entry chains to
    // nothing, which the journal accepts after a checkpoint).
    if (!this.peers && this.journal.lastOp !== null && this.journal.lastOp !== op) {
      throw new MetadataLogError('MetadataCheckpoint', `checkpoint at op ${op} while the journal holds uncommitted op ${this.journal.lastOp}`);
    }
    writeSnapshot(path.join(this.dir, 'snapshot'), { op, checksum: this.lastCommitChecksum, payload: this.hooks.snapshot() });
    this.superblock.write({
      cluster: this.options.cluster, replica: this.peers?.replica ?? 0, replicaCount: this.replicaCount,
      view: this.persisted?.view ?? 0, logView: this.persisted?.logView ?? 0,
      commit: op, checkpointOp: op, checkpointChecksum: this.lastCommitChecksum, ...this.persistedLogHead(),
    });
    this.journal.drain(op);
    this.journal.options.snapshotOp = op;
    // Ops up to here are gone from this journal: a backup below it can no longer be repaired from us.
    if (this.peers) this.group.driver.setCheckpoint(op);
  }

  private fail(error: unknown): void {
    if (this.failed === null && !this.closed) this.hooks.failed?.(error);
    this.failed ??= error;
    for (const list of this.waiters.values()) for (const w of list) w.reject(this.failed);
    this.waiters.clear();
    this.proposals.clear();
    this.prepared.clear();
  }
}

function report(dones: Done[], op: number, checksum: bigint): void {
  for (const done of dones) done(op, checksum);
}
