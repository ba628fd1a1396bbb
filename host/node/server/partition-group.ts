// One partition's consensus group on its owner shard: a single VSR replica whose only client is the shard
// itself (request numbers it counts; the client's own request numbers are not part of partition ops, §4.3).
// A batch is verified before it is proposed (a refused batch never becomes an op), then waits in one queue until
// the pipeline has room.
// A write becomes a request whose body is a small descriptor of the data; the data stays in host memory until
// the group asks for its journal write, which appends every batch and offset change gathered since the last
// flush with one fdatasync. The writer is answered when the group commits the op.
import { ErrorCode } from '../../shared/wire/codes.js';
import { logger } from '../../shared/log.js';
import { clearMarker, hasMarker, setMarker } from '../io/marker-file.js';
import { randomNonce } from '../consensus/metadata-state-sync.js';
import type { JournalWrite } from '../../shared/replica-driver.js';
import { ConsensusGroup, readPrepare, type GroupPeers, type PrepareView } from '../consensus/group.js';
import { NO_SPACE_VERDICT, checksumStatus, type PartitionHome } from '../data/send-api.js';
import { isNoSpace } from '../io/storage-errors.js';
import { Command, H, Operation, PIPELINE_MAX, Prep, REPLY_OK, Rep, Status } from '../../shared/vsr-abi.js';
import { OP_DELETE_OFFSET, OP_SEND, OP_STORE_OFFSET, PartitionReplication, PartitionReplicationError, reportDone, type Durability } from './partition-replication.js';
import { CoreJournalBatch, CoreJournalFormation, CoreJournalTailMatch } from '../../shared/core-abi.generated.js';
import { encodeTail } from '../io/partition.js';
import type { ConsumerOffset } from '../data/offsets.js';

const { BATCH_OK } = CoreJournalBatch;
import type { ShardContext } from './context.js';
import type { ConsumerRef } from './shard-protocol.js';
import { PipelineQueue } from './pipeline-queue.js';
import { PartitionCatchUp } from './partition-catch-up.js';

const log = logger('partitions');
const SLOTS = 64;
const CLIENTS = 2;
const SHARD_CLIENT = 1n; // the owner shard, the group's only client (a cluster: replica r's is r + 1)
const EMPTY = new Uint8Array(0);
const STILL_LOST_TICKS = 3000; // 30 s of a cluster's 10 ms ticks
// A catch-up compares a replica's last TAIL_ENTRIES_MAX batches; more than the ops its group's log window can hold
// uncommitted (the argument of assembly/journal/tail_match.ts rests on it).
if (CoreJournalTailMatch.TAIL_ENTRIES_MAX <= SLOTS) throw new Error(`TAIL_ENTRIES_MAX ${CoreJournalTailMatch.TAIL_ENTRIES_MAX} must exceed the partition group's ${SLOTS} slots`);
// In a partition's directory on a replica that is catching its segments up from a peer (it fell behind a running
// cluster, or lost its files): its files are no base to form a group from until the catch-up is installed.
export const STALE_MARKER = 'replica-stale';

// What a replica's partition files hold at open, for the core to tell whether a lost replica starts from the same
// state as the primary (a whole-cluster restart): the end offset and the last batch's checksum. 0: no data.
function filesFingerprint(home: PartitionHome): bigint {
  const end = home.partition.nextOffset;
  if (end === 0) return 0n;
  let last = 0n;
  try {
    const [batch] = home.partition.readFromOffset(end - 1, 1 << 20, 1);
    if (batch) last = new DataView(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength).getBigUint64(CoreJournalBatch.B_CHECKSUM, true);
  } catch {
    // retention removed every segment: the end offset alone
  }
  const fingerprint = (BigInt(end) * 0x9e3779b97f4a7c15n ^ last) & 0xffffffffffffffffn;
  return fingerprint === 0n ? 1n : fingerprint;
}

// Whether a partition's files, as opened, hold every batch this replica wrote (see giveTail).
function fullRecord(home: PartitionHome): boolean {
  const partition = home.partition;
  return partition.nextOffset > 0 && partition.damage === null && partition.recovery.truncated.length === 0;
}

// The end of what a replica's files hold that committed for sure, by the window argument of tailMatch: no replica
// holds more than its log window (SLOTS ops, a batch each) uncommitted, and TAIL_ENTRIES_MAX batches exceed it.
function certainlyCommittedEnd(home: PartitionHome): number {
  const { headers, fromStart } = home.partition.tailHeaders(Number(CoreJournalTailMatch.TAIL_ENTRIES_MAX));
  return fromStart || headers.length === 0 ? home.partition.firstOffset : headers[0].baseOffset;
}


// The partition group as one replica of a cluster: the group has replicaCount replicas, its primary is the core's
// (view mod N, as the metadata group's), its messages go through the replica plane.
export interface PartitionPeers {
  replica: number;
  replicaCount: number;
  durability: Durability;
  cluster: bigint;
  send(replica: number, message: Uint8Array, attachment: Uint8Array): boolean;
  register(group: bigint, onMessage: (frame: Uint8Array) => void): () => void; // the shard's consensus registry
  split(frame: Uint8Array): { message: Uint8Array; attachment: Uint8Array };
  attachmentMax: number; // the largest batch a prepare can carry (REPLICA_ATTACHMENT_MAX)
  // The metadata group on this replica (view, status), as shard 0 last published it; null before its first tick.
  // Each tick the group follows its primary (assembly/vsr/leader.ts), so clients that find the leader through
  // GetClusterMetadata find every partition's primary there.
  leader(): { view: number; status: number } | null;
}

type Write =
  | { kind: 'send'; batch: Uint8Array; resolve: (r: { status: number; baseOffset: number }) => void; baseOffset?: number; status?: number }
  | { kind: 'store'; consumer: ConsumerRef; offset: number; resolve: (status: number) => void; status?: number }
  | { kind: 'delete'; consumer: ConsumerRef; resolve: (status: number) => void; status?: number };

// What the owner hears about this partition's writes (for /health and /metrics): an op committed, a full device (the writes of that
// flush were refused and rolled back; the next flush tries again), a write that succeeded again after one, a
// failure that stops the partition's writes, writes refused because its log is damaged, and batches a whole cluster
// forming again cut from this replica's files (on no majority's files: never committed).
export interface WriteEvents {
  committed(): void;
  noSpace(detail: string, writes: number): void;
  wrote(): void;
  failed(error: Error): void;
  readOnly(detail: string): void;
  formationCut(detail: string, messages: number, bytes: number): void;
  stranded(detail: string): void; // the group starts again from its files (a cluster's: PartitionGroup.strand)
}

const IGNORED_EVENTS: WriteEvents = { committed() {}, noSpace() {}, wrote() {}, failed() {}, readOnly() {}, formationCut() {}, stranded() {} };

export class PartitionGroup {
  private readonly group: ConsensusGroup;
  private session = 0n; // 0 until the owner's Register commits: nothing is submitted before
  private readonly queue = new PipelineQueue<Write>(PIPELINE_MAX); // the one queue between a request and the pipeline
  private appended = false;
  private failed: Error | null = null;
  private failedStatus: number = WRITE_FAILED; // what writes get once failed is set
  // This shard as the group's client. A cluster's takes a new id at each registration (the core's client table takes a
  // Register only from a client it does not hold: a replica that leads again, or restarts after a catch-up installed
  // the table, would be refused), with its replica in the low byte; ops of its earlier sessions in this process stay
  // its own (ownClients) until they commit.
  private client: bigint;
  private readonly ownClients = new Set<bigint>();
  private readonly replication: PartitionReplication | null = null; // a cluster's replica
  private readonly unregister: () => void = () => {};
  private registering = false; // a cluster's primary: its Register is on its way
  private lastTimestamp = 0; // µs, the append time the last send op carries (a cluster)
  private view = 0;
  private stateRequested = false;
  private readonly catchUp: PartitionCatchUp | null = null; // a cluster's: segments from a peer while lost
  private lostEnd: number | null = null; // recovering since open: the end the files had (readable once the group forms)
  private installing = false; // a catch-up was handed to the core: the marker goes once the group is normal
  private readonly ownOps = new Map<number, bigint>(); // op -> request: this shard's submitted writes, as prepared
  private stale = false; // kept out of this partition's group (STALE_MARKER)
  private formationCutRefused = false; // the cut the core asked for before forming could not be made (said once)
  private lostTicks = 0;
  private lostSaid = false;

  constructor(
    ctx: ShardContext, namespace: bigint, private readonly name: string, private readonly home: PartitionHome, private readonly onWork: () => void,
    private readonly events: WriteEvents = IGNORED_EVENTS, private readonly peers: PartitionPeers | null = null,
    opened: 'created' | 'found' = 'found',
  ) {
    this.client = peers ? clientId(peers.replica) : SHARD_CLIENT;
    const io = {
      journalWrite: (prepares: Uint8Array[]) => this.journalWrite(prepares),
      journalWritten: () => this.onWork(), // the writes gathered meanwhile wait for the next flush
      persist: () => {}, // the segments are this group's log; its VSR state starts afresh at every boot
      commit: (op: number, prepare: Uint8Array) => this.committed(op, prepare),
      reply: (reply: Uint8Array) => this.replied(reply),
    };
    // A cluster's: a session per registration of each replica (leadership moves): room for a few per replica; a
    // Register into a full table evicts the client whose last commit is oldest (a former primary's, long idle).
    const options = { cluster: peers?.cluster ?? 0n, group: namespace, slots: SLOTS, clientsMax: peers ? peers.replicaCount * 4 : CLIENTS };
    if (!peers) {
      this.group = ConsensusGroup.create(ctx.core, ctx.storage.memory, options, io);
      this.group.submit({ client: SHARD_CLIENT, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
      return;
    }
    const replication = new PartitionReplication({
      home, durability: peers.durability,
      isPrimary: () => this.group.isPrimary,
      ownBatch: (p) => this.ownBatch(p),
      appended: () => { this.appended = true; this.onWork(); },
      failed: (error) => this.writeFailed(error),
      cut: (from) => { this.group.driver.journalCut(from); this.onWork(); },
    });
    this.replication = replication;
    // A partition found at boot (or by a metadata state transfer), rather than created by the op this replica just
    // applied: its group may have run without this replica, whose files cannot say which ops they hold (a partition
    // group's VSR state is not persisted; as a fresh replica it would take the ops it has from a peer's repair again,
    // storing them twice). So it starts as a replica that lost its state (the core's recovery: it votes and
    // acknowledges nothing): a whole-cluster restart forms again from every replica's files (all lost and alike), and
    // a replica that fell behind a running cluster catches its segments up from a peer (partition-catch-up.ts).
    // A replica marked STALE_MARKER (it was catching up) never forms from its files, even when the whole cluster
    // restarts: they may miss what the others committed, and forming from them would give one offset two messages.
    this.stale = hasMarker(home.dir, STALE_MARKER);
    const lostAtOpen = this.stale || opened === 'found' || home.partition.nextOffset > 0;
    this.group = ConsensusGroup.create(ctx.core, ctx.storage.memory, options, io, this.groupPeers(peers, replication, name));
    this.group.driver.setBase(filesFingerprint(home));
    // Files that hold every batch this replica acknowledged tell the core their tail: a whole cluster restarted with
    // differing files forms again from the majority's log (assembly/journal/formation.ts). Not files that may lack
    // one: catching up (stale), empty (a wiped replica's, until its catch-up marks them stale), damaged (read-only
    // from a bad record on), or cut at open (a torn tail is never acknowledged, but a flipped length reads as torn).
    // Only where an acknowledgement means the batch is on disk (`persisted` durability, every batch synced): else
    // a committed batch may be on fewer files than a majority, and forming from the files could cut it.
    if (lostAtOpen && peers.durability === 'persisted' && home.partition.syncsEveryBatch && !this.stale && fullRecord(home)) this.giveTail();
    if (lostAtOpen) {
      // Until the group forms or the catch-up is in, polls read only what is committed for sure: the batches before
      // the last TAIL_ENTRIES_MAX (more than a replica can hold uncommitted); the rest may be cut by the catch-up.
      this.lostEnd = home.partition.nextOffset;
      home.partition.committedEnd = certainlyCommittedEnd(home);
    }
    this.catchUp = new PartitionCatchUp({
      name, home, cluster: peers.cluster, group: namespace, replica: peers.replica,
      send: (replica, message, attachment) => peers.send(replica, message, attachment),
      seal: (message) => this.group.driver.seal(message),
      settled: () => this.settled(),
      installed: (op, checksum, clients, offsets) => this.installed(op, checksum, clients, offsets),
      logEnds: () => this.settled() !== null && this.group.op === this.group.commitNumber,
    });
    this.unregister = peers.register(namespace, (frame) => this.onFrame(frame));
    // Lost from the start, before anything can take a session: a new core replica is normal in view 0, and a flush
    // before a first tick had this replica, view 0's primary, prepare its Register (op 1), after which its Recovery
    // carried no tail and the whole cluster never formed from its files. Opened by a metadata commit on this shard,
    // the call (as setTail's) waits for the metadata group's walk of the shared outbox to end (ReplicaDriver).
    if (lostAtOpen) this.group.driver.recoverLost(randomNonce(), this.stale);
    // Its session is taken on the next flush, when it leads.
    this.onWork();
  }

  // ---- a cluster's replica ----

  private groupPeers(peers: PartitionPeers, replication: PartitionReplication, name: string): GroupPeers {
    return {
      // The core asks for a peer's state for a replica that lost its own while the others ran on (see the
      // constructor), again on its timer until it is installed. Marked first, durably: from the first cut on, the
      // files are no base to form from until the catch-up is installed.
      requestState: (from) => {
        if (!this.stateRequested && !this.stale) {
          try {
            setMarker(this.home.dir, STALE_MARKER, 'this replica is catching this partition up from a peer: its files are no base to form a group from');
          } catch (error) {
            // The marker must be durable before the first cut; without it (a full device) no catch-up now: the core
            // asks again on its timer, and the files stay as they are.
            log.warn(`partition ${this.name}: cannot mark it as catching up (${(error as Error).message}); the catch-up waits`);
            return;
          }
        }
        this.stateRequested = true;
        this.stale = true;
        if (!this.group.driver.stateLost) replication.pause(); // a backup behind the peers' journals
        this.catchUp!.request(from);
      },
      replica: peers.replica,
      replicaCount: peers.replicaCount,
      bus: {
        // A prepare of a send leaves with its batch attached; one whose batch this replica no longer holds is not
        // sent (the peer asks another replica).
        send: (replica, message) => {
          const command = message[H.command];
          if (command !== Command.Prepare && command !== Command.RepairPrepare) return peers.send(replica, message, EMPTY);
          const p = readPrepare(message);
          if (p.operation !== OP_SEND) return peers.send(replica, message, EMPTY);
          const batch = replication.bodyFor(p);
          return batch ? peers.send(replica, message, batch) : false;
        },
      },
      write: (writes, done) => {
        this.noteOwnOps(writes);
        replication.write(writes, done);
      },
      read: (op, done) => done(replication.read(op)),
    };
  }

  // A peer's frame (the plane's registry): valid only during the call.
  private onFrame(frame: Uint8Array): void {
    if (this.failed) return;
    const { message, attachment } = this.peers!.split(frame);
    const command = message[H.command];
    if (command === Command.StateRequest || command === Command.StateChunk) {
      if (command === Command.StateRequest) this.catchUp!.onRequest(message);
      else if (this.catchUp!.expecting) this.catchUp!.onChunk(message, attachment);
      return;
    }
    if (!this.group.driver.stateLost) this.replication!.keep(message, attachment); // a lost replica writes nothing
    this.group.onMessage(message);
    this.onWork(); // the journal writes it asked for
  }

  // What a peer catching up gets from this replica: its committed state (none while it recovers itself).
  private settled(): { op: number; checksum: bigint; clients: Uint8Array; offsets: ConsumerOffset[] } | null {
    if (this.group.driver.stateLost || this.group.status !== Status.Normal) return null;
    // Not before its committed end is the group's again (formed from its files: the next tick), nor while catching up.
    if (this.lostEnd !== null || this.replication!.isPaused) return null;
    const settled = this.replication!.settled();
    if (!settled || settled.op !== this.group.commitNumber) return null; // the client table is the core's at its commit
    return { ...settled, clients: this.group.driver.clientTable() };
  }

  // The catch-up is durable: the files are the group's committed state at `op`; the core goes on from it (a
  // StartView brings the ops after it).
  // The marker goes once the core took it (tick: normal again), not before: a round the core began meanwhile ignores
  // this install, and asks again.
  private installed(op: number, checksum: bigint, clients: Uint8Array, offsets: ConsumerOffset[]): void {
    const driver = this.group.driver;
    // A replica in normal status takes it only while in normal status and behind it (the core ignores it otherwise):
    // then nothing changes here either, and the next step asks again.
    if (!driver.stateLost && (this.group.status !== Status.Normal || op <= this.group.commitNumber)) return;
    const covered = this.replication!.installed(op, checksum, offsets);
    this.lostEnd = null;
    this.installing = true;
    driver.stateInstalled(op, checksum, clients);
    for (const h of covered) reportDone(h);
    this.appended = true; // its stats (end offset, messages) are published again
    this.onWork();
  }

  private giveTail(): void {
    const partition = this.home.partition;
    const { headers } = partition.tailHeaders(CoreJournalFormation.FORMATION_TAIL_MAX);
    this.group.driver.setTail(encodeTail(headers), headers.length, partition.nextOffset);
  }

  // The core found the whole cluster restarted with files that end at different batches, and this replica's go on
  // past the majority's log: those batches are on no majority's files, so they never committed (formation.ts). Cut
  // them, and tell the core the files as they are now.
  private cutForFormation(): void {
    const end = this.group.driver.formationCut();
    if (end === null || this.formationCutRefused || !this.group.driver.stateLost) return; // formed: nothing is cut
    const partition = this.home.partition;
    const [messages, bytes] = [partition.nextOffset - end, partition.sizeBytes];
    const detail = `the cluster forms again from files that end at different batches; offsets ${end}..${partition.nextOffset - 1} here are on no majority's files (never committed): cut`;
    log.warn(`partition ${this.name}: ${detail}`);
    try {
      partition.cutBack(end, true);
    } catch (error) {
      this.formationCutRefused = true; // the group stays recovering: the others form without this replica's files
      log.error(`partition ${this.name}: ${(error as Error).message}`);
      return;
    }
    this.events.formationCut(detail, messages, bytes - partition.sizeBytes);
    this.lostEnd = partition.nextOffset;
    partition.committedEnd = certainlyCommittedEnd(this.home);
    this.group.driver.setBase(filesFingerprint(this.home));
    this.giveTail();
  }

  // Each tick: a replica that lost its group state serves, until it holds the group's state again, only what is
  // committed for sure; once it does (formed from its files, or a catch-up taken by the core), the marker goes.
  private afterRecovery(): void {
    if (this.group.driver.stateLost || this.group.status !== Status.Normal) return;
    if (this.lostEnd !== null) {
      // Formed from the files (every replica's alike): what they held at open is the group's base.
      this.home.partition.committedEnd = Math.max(this.home.partition.committedEnd ?? 0, this.lostEnd);
      this.lostEnd = null;
      this.appended = true;
    }
    if (this.installing) {
      this.installing = false;
      if (this.stale) clearMarker(this.home.dir, STALE_MARKER);
      this.stale = false;
      this.stateRequested = false;
    }
  }

  // The batch of a request this replica's shard submitted (the primary's queue), where it lies.
  private ownBatch(p: PrepareView): Uint8Array | null {
    if (!this.ownClients.has(p.client)) return null;
    const write = this.queue.get(p.request);
    return write?.kind === 'send' ? write.batch : null;
  }

  // Whether this replica's stored consumer offsets are the group's: always on a single node; in a cluster only on
  // the primary leading in normal status (a backup applies offset ops behind the primary's commit, and a replica still
  // recovering or catching up may hold none). Elsewhere GetConsumerOffset and a Next poll are answered 58.
  get answersOffsets(): boolean {
    return this.peers === null || (this.leading && this.lostEnd === null && !this.stale);
  }

  // A cluster's replica takes writes only while it leads both this group and the metadata group (the core decides:
  // leadsWith): a group's primary that is not the leader waits to be taken over rather than propose.
  private get leading(): boolean {
    const leader = this.peers?.leader();
    if (!leader) return this.group.isPrimary && this.group.status === Status.Normal;
    return this.group.leadsWith(leader.view, leader.status);
  }

  // A cluster's primary takes a session for its shard when it leads (again); a backup's core would drop it.
  private registerIfLeading(): void {
    if (!this.leading || this.session !== 0n || this.registering || this.failed) return;
    this.registering = true;
    this.client = clientId(this.peers!.replica);
    this.ownClients.add(this.client);
    this.group.submit({ client: this.client, session: 0n, request: 0n, operation: Operation.Register, body: EMPTY });
    this.onWork();
  }

  // Demoted (a view change): the writes still waiting are answered 58 TransientNotAccepted (the client retries
  // through the new primary). The submitted ones stay: their ops may still commit (the new primary keeps what a
  // quorum holds), and are answered when this replica commits them; this shard takes a new session when it leads.
  private stepDown(): void {
    if (this.view !== this.group.view) {
      this.view = this.group.view;
      log.info(`partition ${this.name}: view ${this.view}, primary replica ${this.view % this.peers!.replicaCount}`);
    }
    if (this.leading || (this.session === 0n && !this.registering)) return;
    this.session = 0n;
    this.registering = false;
    for (const write of this.queue.drainWaiting()) settle(write, ErrorCode.transientNotAccepted);
  }

  // The batch is verified before it is proposed (the core's full batchVerify, where it lies): one that fails its
  // checksums is answered at once (4027 / 4039) and never becomes an op, so it takes no op number, no pipeline slot
  // and no offsets. The append then checks only its structure: one hash pass per batch.
  send(batch: Uint8Array): Promise<{ status: number; baseOffset: number }> {
    return new Promise((resolve) => {
      const write: Write = { kind: 'send', batch, resolve };
      if (this.failed) return settle(write, this.failedStatus);
      if (this.peers && !this.leading) return settle(write, ErrorCode.transientNotAccepted); // the SDK follows the leader
      if (this.peers && batch.length > this.peers.attachmentMax) {
        log.warn(`partition ${this.name}: a ${batch.length}-byte batch is larger than a replica prepare carries (${this.peers.attachmentMax} B): refused`);
        return settle(write, ErrorCode.invalidFormat);
      }
      const verdict = this.home.verify(batch);
      if (verdict !== BATCH_OK) return resolve({ status: checksumStatus(verdict), baseOffset: 0 });
      this.enqueue(write);
    });
  }

  // For /health and /metrics (a cluster's replica): where this replica of the group stands.
  summary(): { view: number; op: number; commit: number; primary: boolean; status: number; viewChanges: number } {
    const g = this.group;
    return { view: g.view, op: g.op, commit: g.commitNumber, primary: g.isPrimary, status: g.status, viewChanges: g.viewChanges };
  }

  // The group's last op (its own Register included): a refused request does not move it.
  get op(): number {
    return this.group.op;
  }

  storeOffset(consumer: ConsumerRef, offset: number): Promise<number> {
    return new Promise((resolve) => this.enqueue({ kind: 'store', consumer, offset, resolve }));
  }

  deleteOffset(consumer: ConsumerRef): Promise<number> {
    return new Promise((resolve) => this.enqueue({ kind: 'delete', consumer, resolve }));
  }

  private enqueue(write: Write): void {
    if (this.failed) return settle(write, this.failedStatus);
    if (this.peers && !this.leading) return settle(write, ErrorCode.transientNotAccepted);
    this.queue.push(write);
    this.submitWaiting();
    this.onWork();
  }

  // Returns whether anything was submitted.
  private submitWaiting(): boolean {
    if (this.session === 0n) return false;
    // Demoted since the last tick (a view change arrived with a peer's frame): the core would drop the request
    // unanswered; the waiting writes go to the new primary when stepDown answers them.
    if (this.peers && !this.leading) return false;
    return this.queue.admit((request, write) =>
      this.group.submit({ client: this.client, session: this.session, request, operation: operationOf(write), body: descriptor(write, this.peers ? this.sendTime() : 0) }));
  }

  // Returns true when data was appended since the last flush (the owner then publishes fresh stats).
  flush(): boolean {
    if (this.peers) this.registerIfLeading();
    this.submitWaiting();
    this.group.flush();
    // Room a synchronous write (offsets) freed in the pipeline: what waited is submitted now and written next.
    if (this.submitWaiting()) this.onWork();
    const appended = this.appended;
    this.appended = false;
    return appended;
  }

  // Resolves once no append is being written (shutdown closes the files after it).
  idle(): Promise<void> {
    return this.home.idle();
  }

  tick(): void {
    this.group.tick();
    if (!this.peers || this.failed) return;
    if (this.group.driver.stranded) return this.strand();
    this.cutForFormation();
    this.afterRecovery();
    // A backup further behind than this replica keeps prepares for repairs catches up instead (the core's
    // lagsBeyondJournal, from the primary's Commit heartbeats).
    if (!this.group.driver.stateLost) this.group.driver.setCheckpoint(this.replication!.repairableFrom);
    // A backup that paused its appends for a catch-up goes on with it itself: the core prompts only while it lags,
    // and an answer that brought nothing (the peer not settled) or a lost one would leave it paused.
    if (this.replication!.isPaused) this.catchUp!.nudge();
    this.sayIfStillLost();
    const leader = this.peers.leader();
    if (leader && this.group.followLeader(leader.view, leader.status)) {
      log.info(`partition ${this.name}: moving to view ${this.group.view} to follow the metadata group's primary (view ${leader.view})`);
    }
    this.stepDown();
    this.registerIfLeading();
    if (this.group.unflushed > 0) this.onWork();
  }

  // A replica that lost its group state and has not formed or caught up after a while says why, once: a partition's
  // group forms from files only when every replica's are alike (a crash under load can leave their uncommitted tails
  // different; the core cannot tell which is right without the group state on disk).
  private sayIfStillLost(): void {
    if (!this.group.driver.stateLost || this.stateRequested || this.lostSaid) return;
    if (++this.lostTicks < STILL_LOST_TICKS) return;
    this.lostSaid = true;
    log.warn(`partition ${this.name}: its group is still recovering after ${STILL_LOST_TICKS / 100} s: with no replica of it in normal status to catch up from, it forms again only when every replica is up, from a majority's common log (replicas whose files go on past it cut the batches no majority holds: they never committed); it waits here, safely, while a replica is down, catching up (stale) or wiped, or while the replicas' files part too far back to prove that log (the last ${CoreJournalFormation.FORMATION_TAIL_MAX} batches of each are compared)${this.formationCutRefused ? '; the cut asked of this replica was refused (above)' : ''}`);
  }

  // The core found this replica changing views while too many of its peers lost their group state for any quorum to
  // finish it (assembly/vsr/state_sync.ts stranded(): two replicas of three reopened from their files, say, after a
  // full device). They wait for a replica in normal status, which none can become: the group starts again from its
  // files here too, as after a restart, and every replica, lost now, forms again from its files (formation.ts).
  private strand(): void {
    const detail = 'its view change cannot finish: too many of its peers lost their group state (restarted or reopened from their files) for a quorum';
    log.warn(`partition ${this.name}: ${detail}; it starts again from its files, as after a restart, to form again with them`);
    this.abort(new PartitionReplicationError('PartitionGroupStranded', detail), ErrorCode.transientNotAccepted);
    this.events.stranded(detail);
  }

  // The partition is closed: its writers were answered (abort); the core's replica goes back for reuse.
  release(): void {
    this.unregister();
    this.replication?.stop();
    this.group.release();
  }

  // The append time a send op carries (a cluster): chosen once, by the primary, never going back.
  private sendTime(): number {
    this.lastTimestamp = Math.max(this.lastTimestamp + 1, Date.now() * 1000, this.home.partition.lastTimestamp);
    return this.lastTimestamp;
  }

  // The partition is gone (deleted: its writers get 20) or broken (a failed write: sends 4006, offsets 10006). Writers
  // whose batch may be on its way to disk are answered once that write is done: until their answer the batch's
  // memory (a frame in the serving shard's arena) is theirs, and the thread pool may still be reading it.
  // A cluster's failed write: a submitted write was prepared and may be on the backups, whose next view can commit it
  // without this replica, so its writer is told the outcome is unknown (57 TransientNotCommitted, as a demoted
  // primary's), never a failure a retry would turn into a second copy. The waiting ones were never proposed.
  abort(error: Error, status: number = ErrorCode.resourceNotFound): void {
    this.failed = error;
    this.failedStatus = status;
    const { waiting, submitted } = this.queue.drain();
    for (const write of waiting) settle(write, status);
    // A cluster's submitted writes may still commit (a new primary keeps what a quorum holds): 57, not a failure.
    const outcome = this.peers && (status === WRITE_FAILED || status === ErrorCode.transientNotAccepted) ? ErrorCode.transientNotCommitted : status;
    const answer = () => { for (const write of submitted) settle(write, outcome); };
    void this.home.idle().then(answer, answer);
  }

  // The group's journal write: every batch and offset change of these prepares, one append, one fdatasync. The
  // batches are written on libuv's thread pool (the shard goes on gathering the next group meanwhile); offset
  // changes alone are small and written at once.
  private journalWrite(prepares: Uint8Array[]): void | Promise<void> {
    const sends: Extract<Write, { kind: 'send' }>[] = [];
    let offsets = false;
    for (const prepare of prepares) {
      const write = this.queue.get(requestOf(prepare));
      if (!write) continue; // the Register
      if (write.kind === 'send') sends.push(write);
      else {
        offsets = true;
        if (write.kind === 'store') this.home.offsets.store(write.consumer.kind, write.consumer.id, write.offset);
        else this.home.offsets.delete(write.consumer.kind, write.consumer.id);
      }
    }
    let offsetsRefused = false;
    try {
      if (offsets) this.home.offsets.flush();
    } catch (error) {
      // No space: the changes were rolled back; their ops commit with a status saying so, and the group goes on.
      if (!isNoSpace(error)) {
        this.writeFailed(error as Error);
        return;
      }
      offsetsRefused = true;
      const changes = prepares.map((p) => this.queue.get(requestOf(p))).filter((w): w is Write => w !== undefined && w.kind !== 'send');
      for (const write of changes) write.status = ErrorCode.cannotWriteToFile;
      this.events.noSpace((error as Error).message, changes.length);
    }
    if (sends.length === 0) {
      if (offsets && !offsetsRefused) this.events.wrote();
      return;
    }
    // Every batch here passed verify() in send(): the append checks structure only, and refuses none for checksums.
    return this.home.appendAsync(sends.map((s) => s.batch), true).then((result) => {
      let noSpace = 0;
      sends.forEach((s, i) => {
        if (result.refused[i] === NO_SPACE_VERDICT) {
          noSpace++;
          s.status = ErrorCode.cannotSaveMessagesToSegment;
        } else {
          s.status = 0;
          s.baseOffset = result.bases[i];
        }
      });
      if (result.batches > 0) this.appended = true; // until the next flush() reports it
      if (noSpace > 0) this.events.noSpace(`no space for ${noSpace} of ${sends.length} batch(es) of one flush (rolled back; the ones before them are stored)`, noSpace);
      else if (!offsetsRefused) this.events.wrote();
    }, (error: Error) => {
      // A full device (the group rolled back, nothing of it stays) or a damaged log (nothing written): the ops commit
      // with a status naming the condition, and the next writes try again. Anything else stops the partition.
      const status = isNoSpace(error) ? ErrorCode.cannotSaveMessagesToSegment : (error as { code?: string }).code === 'PartitionReadOnly' ? ErrorCode.cannotOpenPartitionLogFile : 0;
      if (status === 0) {
        this.writeFailed(error);
        return;
      }
      for (const s of sends) s.status = status;
      if (status === ErrorCode.cannotSaveMessagesToSegment) this.events.noSpace(error.message, sends.length);
      else this.events.readOnly(error.message);
    });
  }

  // A failed write may have left the files in an unknown state: stop serving this partition (not the shard: a
  // throw here would stop the server). Its writers are answered now; nothing of this group is acknowledged.
  private writeFailed(error: Error): void {
    log.error(`partition ${this.name}: write failed, refusing further writes: ${error.message}`);
    this.events.failed(error);
    this.abort(error, WRITE_FAILED);
  }

  // The op each of this shard's submitted requests was prepared at (a cluster): if another prepare commits there
  // (a view change replaced it), that write can never commit.
  private noteOwnOps(writes: JournalWrite[]): void {
    for (const w of writes) {
      if (w.headerOnly) continue;
      const p = readPrepare(w.message);
      if (this.ownClients.has(p.client) && p.operation !== Operation.Register && this.queue.get(p.request)) this.ownOps.set(p.op, p.request);
    }
  }

  private committed(op: number, prepare: Uint8Array): void {
    if (this.replication) {
      const p = readPrepare(prepare);
      this.replication.commit(op, p);
      const mine = this.ownOps.get(op);
      this.ownOps.delete(op);
      if (mine !== undefined && (!this.ownClients.has(p.client) || p.request !== mine)) {
        // Replaced by a view change: not applied anywhere, and never will be: the writer may retry (58).
        // Answered once no append of this partition runs: this replica's own append of it may still read the batch,
        // whose memory is the writer's until the answer.
        const lost = this.queue.take(mine);
        if (lost) void this.home.idle().then(() => settle(lost, ErrorCode.transientNotAccepted));
      }
      if (!this.ownClients.has(p.client) || p.operation === Operation.Register) return;
      // Taken once this replica's own append of it is done: until then the append reads the batch from the queue.
      if (!this.queue.get(p.request)) return;
      this.replication.whenWritten(op, (result) => {
        const write = this.queue.take(p.request);
        if (!write) return;
        this.events.committed();
        if (write.kind === 'send') write.resolve(result ?? { status: ErrorCode.cannotSaveMessagesToSegment, baseOffset: 0 });
        else write.resolve(result?.status ?? 0);
      });
      return;
    }
    const write = this.queue.take(requestOf(prepare));
    if (!write) return;
    this.events.committed();
    if (write.kind === 'send') write.resolve({ status: write.status ?? 0, baseOffset: write.baseOffset ?? 0 });
    else write.resolve(write.status ?? 0);
  }

  private replied(reply: Uint8Array): void {
    const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    if (view.getUint8(Rep.operation) !== Operation.Register) return;
    if (view.getBigUint64(Rep.client, true) !== this.client) return;
    const status = view.getUint32(Rep.status, true);
    if (status !== REPLY_OK) {
      // Never the shard's end (it once stopped a replica): the next tick registers again, under a new id.
      log.warn(`partition ${this.name}: the group refused this shard's session (reply status ${status}); it registers again`);
      this.registering = false;
      return;
    }
    this.session = view.getBigUint64(Rep.session, true);
    this.registering = false;
    if (this.submitWaiting()) this.onWork();
  }
}

// A cluster shard's client id for one registration: its replica + 1 in the low byte (ids of different replicas never
// collide), random above it (a fresh id per session: requests keep the queue's process-wide numbers).
function clientId(replica: number): bigint {
  return ((randomNonce() << 8n) | BigInt(replica + 1)) & 0xffff_ffff_ffff_ffffn;
}

function operationOf(write: Write): number {
  return write.kind === 'send' ? OP_SEND : write.kind === 'store' ? OP_STORE_OFFSET : OP_DELETE_OFFSET;
}

// What the prepare carries about the data: enough to bind the op to it (the batch checksum covers every frame),
// and in a cluster the append time every replica stamps (partition-replication.ts).
function descriptor(write: Write, timestamp: number): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  if (write.kind === 'send') {
    const batch = new DataView(write.batch.buffer, write.batch.byteOffset, write.batch.byteLength);
    v.setUint32(0, write.batch.length, true);
    v.setUint32(4, messageCount(write.batch), true);
    v.setBigUint64(8, batch.getBigUint64(40, true), true); // batch checksum
    v.setBigUint64(16, BigInt(timestamp), true);
  } else {
    v.setUint8(0, write.consumer.kind);
    v.setUint32(4, write.consumer.id, true);
    if (write.kind === 'store') v.setBigUint64(8, BigInt(write.offset), true);
  }
  return out;
}

function requestOf(prepare: Uint8Array): bigint {
  return new DataView(prepare.buffer, prepare.byteOffset, prepare.byteLength).getBigUint64(Prep.request, true);
}

function messageCount(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getUint32(CoreJournalBatch.B_COUNT, true);
}

// A write refused because the partition's files failed a write: the status names what could not be saved.
const WRITE_FAILED = -1;

function settle(write: Write, status: number): void {
  if (status === WRITE_FAILED) status = write.kind === 'send' ? ErrorCode.cannotSaveMessagesToSegment : ErrorCode.cannotWriteToFile;
  if (write.kind === 'send') write.resolve({ status, baseOffset: 0 });
  else write.resolve(status);
}
