// Shard 0's metadata group: the metadata log (WAL, superblock, checkpoints) driving one VSR replica, the
// sessions it opens (Register), the ops it commits, and the broadcast of every committed op to the other
// shards, which apply it to their own copy of the state. At boot it replays the log, creates the root user on
// a fresh data directory, and hands every other shard a snapshot.
import path from 'node:path';
import { Lifecycle, Variant } from '../../shared/frames.js';
import { Reader } from '../../shared/wire/buffer.js';
import { logger } from '../../shared/log.js';
import { Status } from '../../shared/vsr-abi.js';
import { MetadataLog, MetadataLogError, type MetadataPeers } from '../consensus/metadata-log.js';
import type { GroupSummary } from '../cluster/replica-counters.js';
import { decodeSnapshot, encodeSnapshot } from '../metadata/machine.js';
import { bootstrapRootBody } from '../metadata/users-api.js';
import { InternalOperation, type ApplyResult, type CommittedOp } from '../metadata/types.js';
import { NoSpaceRetry, causedByNoSpace } from './no-space-retry.js';
import type { ShardContext } from './context.js';
import {
  Method, PROPOSE_NOT_COMMITTED, PROPOSE_NOT_PRIMARY, decodePropose, decodeRegister, encodeCommitted, encodeProposeReply, encodeRegisterReply, encodeSnapshotMessage,
  methodOf,
} from './shard-protocol.js';

const logLine = logger('metadata');

export interface MetadataOwnerOptions {
  dataDir: string;
  rootUsername: string;
  rootPassword: string;
  journalSlots?: number; // metadata journal slots (MetadataLogOptions.slotCount) [1024]
  apply(op: CommittedOp): ApplyResult; // applies to this shard's state (and its partitions)
  replaceState(snapshot: Uint8Array): void;
  // A cluster's replica: the metadata group has the roster's replicas, its messages go over the replica plane.
  cluster?: { id: bigint; peers: MetadataPeers; published(summary: GroupSummary): void } // to /health, /metrics, GetClusterMetadata | null;
}

// The metadata group's tick in a cluster: its timeouts count these (NORMAL_HEARTBEAT_TICKS = 60: a backup that
// heard nothing from the primary for 0.3 s starts a view change; the commit heartbeat goes out every 50 ms).
export const METADATA_TICK_MS = 5;

// Sessions a backup opens for reads (Register is a replicated op only the primary can commit): above every
// session the group hands out (the op of a Register), so a replicated op under one is refused by the primary's
// client table (NoSession: the client logs in again there).
const LOCAL_SESSION_BASE = 1n << 62n;

export class MetadataOwner {
  private log: MetadataLog | null = null;
  private broadcasting = false;
  private lastMicros = 0;
  private ticker: NodeJS.Timeout | null = null;
  private localSessions = 0n;
  private bootstrapping = false;
  private wasLost = false;
  // A cluster replica's log that failed a write on a full device: reopened from its files once there is room.
  private readonly noSpace: NoSpaceRetry<'metadata'> | null;
  private reopening = false; // the failed log is released and the new one not open yet
  private logFailed = false; // the log failed a write: no leader here until it is reopened
  private closed = false;
  // The results of the last ops applied, by op: an op committed again after a reopen is not applied twice, and a
  // client that retries it is answered with what it got the first time (the log's lastResults).
  private readonly results = new Map<number, ApplyResult>();

  constructor(private readonly ctx: ShardContext, private readonly options: MetadataOwnerOptions) {
    this.noSpace = options.cluster ? new NoSpaceRetry(options.dataDir, () => this.reopen()) : null;
  }

  async open(): Promise<void> {
    const started = performance.now();
    this.log = await this.openLog();
    logLine.info(`metadata log recovered: ${this.ctx.state.appliedOp} op(s) applied in ${(performance.now() - started).toFixed(0)} ms`);
    // A torn tail of the WAL is a prepare whose write never completed (never acknowledged); reported like a segment's.
    const cut = this.log.journalRecovery.truncated;
    if (cut) {
      const line = `truncated ${this.log.journalFile}: bytes ${cut.at}–${cut.at + cut.bytes - 1} (${cut.bytes} bytes; torn tail: ${cut.reason})`;
      logLine.error(`metadata log: recovery ${line}`);
      this.ctx.health.truncated(cut.bytes);
      this.ctx.health.set('recovery_truncation', 'metadata', line);
    }
    if (this.options.cluster) {
      if (this.log.stateLost) {
        this.wasLost = true;
        logLine.warn('metadata: no state on disk (an empty or wiped data directory in a cluster): recovering it from the cluster by state transfer; this replica votes and acknowledges nothing until then');
      }
      this.ticker = setInterval(() => this.tick(), METADATA_TICK_MS);
      // A fresh cluster's root user is created by the primary once a backup answers, which needs this node's
      // replica plane: it starts after open() returns, so the bootstrap is left to the tick (not waited for).
      return;
    }
    if (this.ctx.state.users.size === 0) await this.bootstrapRoot();
  }

  private openLog(): Promise<MetadataLog> {
    return MetadataLog.open(path.join(this.options.dataDir, 'metadata'), this.ctx.core, this.ctx.storage.memory, this.ctx.storage, {
      apply: (entry) => this.applied(entry),
      snapshot: () => encodeSnapshot(this.ctx.state),
      restore: (bytes) => this.restore(bytes),
      now: () => this.now(),
      failed: (error) => this.failed(error),
    }, { slotCount: this.options.journalSlots, cluster: this.options.cluster?.id, peers: this.options.cluster?.peers });
  }

  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const retried = this.noSpace !== null && causedByNoSpace(error);
    logLine.error(`the metadata log failed, metadata changes are refused until ${retried ? 'it is reopened once the device has room again' : 'a restart'}: ${message}`);
    this.ctx.health.set('metadata_log_failed', 'metadata', message);
    this.logFailed = true;
    if (retried) this.noSpace!.schedule('metadata', 'the metadata log');
  }

  // A checkpoint (at boot or a reopen) or a state transfer. A state no newer than this shard's is not taken: the
  // committed history is one sequence, so this state already holds it, and the ops after it that commit again are
  // skipped by applied() (never applied twice, their data actions never run again). At boot the state is empty.
  private restore(bytes: Uint8Array): void {
    if (decodeSnapshot(bytes).appliedOp <= this.ctx.state.appliedOp && this.ctx.state.appliedOp > 0) return;
    this.options.replaceState(bytes);
    // A state transfer at run time (this replica lost its state, or fell behind the cluster's checkpoint): the
    // other shards get the new state as at boot.
    if (this.broadcasting) this.handOff();
  }

  // A cluster replica's metadata log that failed a write on a full device, reopened from its files as at boot (the
  // NoSpaceRetry waited for room). Safe: every proposal of the failed log was answered (rejected) by its failure, and
  // its files are what the recovery after a crash at that moment would find (a torn journal tail is cut). As at
  // boot, the journal after the checkpoint is a log, not known committed: the cluster commits those ops again (or
  // this replica recovers by state transfer), and the state, already past them, skips them (restore, applied).
  // The shard's state, its partitions and the other shards' copies are untouched: no op is undone.
  private async reopen(): Promise<boolean> {
    const failed = this.log;
    if (!failed || this.closed) return true;
    this.reopening = true;
    if (!this.releasedLog) {
      failed.release();
      this.releasedLog = true;
    }
    let log: MetadataLog;
    try {
      log = await this.openLog();
    } catch (error) {
      if (causedByNoSpace(error)) return false; // tried again (the log stays released)
      logLine.error(`the metadata log could not be reopened, metadata changes are refused until a restart: ${(error as Error).message}`);
      return true;
    }
    if (this.closed) {
      log.close();
      return true;
    }
    this.log = log;
    this.releasedLog = false;
    this.reopening = false;
    this.logFailed = false;
    if (log.stateLost) this.wasLost = true;
    this.ctx.health.clear('metadata_log_failed', 'metadata');
    logLine.info(`the metadata log reopened from its files after the device had room again (journal at op ${log.journaledOp}, state at op ${this.ctx.state.appliedOp}): it catches up with the cluster`);
    return true;
  }

  private releasedLog = false;

  private async bootstrapRoot(): Promise<void> {
    const body = await bootstrapRootBody(this.options.rootUsername, this.options.rootPassword);
    const result = await this.opened.internal(InternalOperation.bootstrapRoot, body, 0);
    if (result.status !== 0 || result.applied?.result !== 0) throw new Error(`creating the root user failed (status ${result.status}, result ${result.applied?.result})`);
    logLine.info(`created the root user "${this.options.rootUsername}"`);
  }

  // Hands every other shard the state as it is now; every op committed later follows on the same ring.
  handOff(): void {
    const message = encodeSnapshotMessage(encodeSnapshot(this.ctx.state));
    for (let shard = 1; shard < this.ctx.shards; shard++) this.ctx.rpc.notify(shard, Variant.lifecycle, Lifecycle.metadataCommitTick, message);
    this.broadcasting = true;
  }

  // Timestamps stamp created_at and token expiry; they never go backwards even if the wall clock does.
  private now(): number {
    this.lastMicros = Math.max(this.lastMicros, Date.now() * 1000);
    return this.lastMicros;
  }

  private applied(entry: CommittedOp): ApplyResult {
    // Committed again after a reopen (reopen): applied already, and broadcast already.
    if (entry.op <= this.ctx.state.appliedOp) return this.results.get(entry.op) ?? { result: 0, payload: new Uint8Array(0) };
    const result = this.options.apply(entry);
    if (this.noSpace) {
      this.results.set(entry.op, result);
      // Keep the last journal's worth: every older key goes (ops skipped by a transfer, or never applied, too).
      const oldest = entry.op - (this.options.journalSlots ?? 1024);
      for (const op of this.results.keys()) {
        if (op > oldest) break; // insertion order is op order
        this.results.delete(op);
      }
    }
    if (this.broadcasting) {
      const message = encodeCommitted(entry);
      for (let shard = 1; shard < this.ctx.shards; shard++) this.ctx.rpc.notify(shard, Variant.lifecycle, Lifecycle.metadataCommitTick, message);
    }
    return result;
  }

  // A frame of the metadata group from a peer (the replica plane's registry on this shard).
  onMessage(message: Uint8Array, attachment: Uint8Array): void {
    this.log?.onMessage(message, attachment);
  }

  get groupId(): bigint {
    return this.opened.groupId;
  }

  private tick(): void {
    const log = this.log;
    if (!log) return;
    if (this.reopening) {
      this.publish(log);
      return;
    }
    log.tick();
    // The root user of a fresh cluster: created by a primary that has committed its whole log and holds no user
    // (the view-0 primary at first boot; another one if that failed), once at a time.
    if (this.wasLost && !log.stateLost) {
      this.wasLost = false;
      const t = log.stateTransfers;
      logLine.info(`metadata: state recovered from the cluster (commit op ${log.commitNumber}, view ${log.view}, ${t.installed} transfer(s) installed): voting and acknowledging again`);
    }
    if (!this.bootstrapping && this.ctx.state.users.size === 0 && log.leading && log.commitNumber === log.op) {
      this.bootstrapping = true;
      this.bootstrapRoot()
        .catch((error) => logLine.warn(`creating the root user failed (retried): ${error instanceof Error ? error.message : error}`))
        .finally(() => { this.bootstrapping = false; });
    }
    this.publish(log);
  }

  // What the partition groups here follow (leader.ts). Not a leader while its log cannot write: they would go on
  // taking writes as its primaries and pull every group back to this replica, against the new leader; "recovering".
  private publish(log: MetadataLog): void {
    const down = this.reopening || this.logFailed;
    this.options.cluster?.published({
      view: log.view, op: log.op, commit: log.commitNumber, primary: log.isPrimary && !down, status: down ? Status.Recovering : log.status, viewChanges: log.viewChanges,
    });
  }

  // METADATA_SUBMIT from home shards (this one included).
  async handle(payload: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.submit(payload);
    } catch (error) {
      if (error instanceof MetadataLogError && (error.code === 'MetadataNotPrimary' || error.code === 'MetadataNotCommitted')) {
        if (methodOf(payload) === Method.register) return encodeRegisterReply(0, LOCAL_SESSION_BASE + ++this.localSessions);
        const status = error.code === 'MetadataNotPrimary' ? PROPOSE_NOT_PRIMARY : PROPOSE_NOT_COMMITTED;
        return encodeProposeReply({ status, op: 0, result: 0, payload: new Uint8Array(0) });
      }
      throw error;
    }
  }

  private async submit(payload: Uint8Array): Promise<Uint8Array> {
    const r = new Reader(payload, 1);
    if (methodOf(payload) === Method.register) {
      const result = await this.opened.register(decodeRegister(r));
      return encodeRegisterReply(result.status, result.session);
    }
    if (methodOf(payload) !== Method.propose) throw new Error(`metadata: unknown method ${methodOf(payload)}`);
    const p = decodePropose(r);
    // Its commit goes to every other shard and may not be dropped: while one of them is behind by more than the
    // backlog bound, new proposals wait here (the source) rather than queue ever more commits behind it.
    await this.ctx.metadataRoom();
    const result = p.client === 0n
      ? await this.opened.internal(p.operation, p.body, p.userId)
      : await this.opened.propose(p);
    return encodeProposeReply({ status: result.status, op: result.op, result: result.applied?.result ?? 0, payload: result.applied?.payload ?? new Uint8Array(0) });
  }

  flush(): void {
    this.log?.flush();
  }

  close(): void {
    this.closed = true;
    this.noSpace?.stop();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (!this.reopening) this.log?.close();
  }

  private get opened(): MetadataLog {
    if (!this.log) throw new Error('metadata log used before it was opened');
    return this.log;
  }
}

export { decodeSnapshot };
