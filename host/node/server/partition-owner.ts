// The partitions this shard owns: their files (segments + consumer offsets), their consensus groups (one
// single-replica VSR group per partition, through the same core as a cluster), and the requests other shards
// forward to them. Writes (SendMessages, offsets) are proposed to the partition's group; the group's journal
// write IS the partition append, made for every write gathered in one loop turn with one fdatasync (group
// commit), and the client is answered when the group commits. Reads are served from committed data.
import { Lifecycle, Variant } from '../../shared/frames.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { Writer } from '../../shared/wire/buffer.js';
import { logger } from '../../shared/log.js';
import type { StorageCore } from '../io/storage-core.js';
import type { FsyncPolicy } from '../io/fsync-policy.js';
import { namespaceOf } from '../metadata/namespace.js';
import { partitionsOf, type PartitionRef } from '../metadata/streams-api.js';
import type { CommittedOp, PartitionStats } from '../metadata/types.js';
import { PartitionHome, buildPollReply, emptyPollReply, listPartitionDirs, planPoll, pollReplyBound, writePollReply, type PollPlan } from '../data/send-api.js';
import type { PartitionGroupSummary } from '../cluster/replica-counters.js';
import { IncarnationUnknown, claimDirectory, removeIfDeleted, writeIncarnation } from '../data/incarnation.js';
import { describeRemoval, hasLimit, retentionPolicyOf } from '../data/retention.js';
import { RetentionCounters } from './retention-counters.js';
import { ShardMetrics } from './shard-metrics.js';
import { METRIC } from '../../shared/layout.js';
import type { Damage } from '../io/partition.js';
import { DataError } from '../data/data-errors.js';
import { partitionDir } from '../data/partition-dir.js';
import { cutDamagedLog, describeCut, setOffsetsAside } from './partition-repair.js';
import { describeTruncation } from '../io/partition-recovery.js';
import { StorageError, isNoSpace } from '../io/storage-errors.js';
import { NoSpaceRetry, causedByNoSpace } from './no-space-retry.js';
import type { Answer } from './shard-rpc.js';
import { PartitionGroup, type PartitionPeers, type WriteEvents } from './partition-group.js';
import type { ShardContext } from './context.js';
import type { DataTarget } from './data-ops.js';
import {
  Method, SEND_REPLY_BYTES, decodePartitionRequest, encodePartitionReply, encodeStats, writeStats, type PartitionRequest, type VersionedStats,
} from './shard-protocol.js';

const log = logger('partitions');
const STRATEGIES = [null, 'offset', 'timestamp', 'first', 'last', 'next'] as const;
// Sparse index entries kept in core memory per partition (24 B each; thinned when full, so lookups stay bounded
// while a partition grows): 1024 keeps a thousand partitions per shard within the default --storage-bytes.
const INDEX_ENTRIES = 1024;

export interface OwnerOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  segmentBytes?: number;
  verifyReadPayloads: boolean;
  directIo?: boolean;
  peers?: PartitionPeers | null; // a cluster's replica: every partition group has the roster's replicas
}

interface Owned {
  ref: PartitionRef;
  home: PartitionHome;
  group: PartitionGroup;
}

export class PartitionOwner {
  private readonly owned = new Map<bigint, Owned>();
  // namespace -> the createdOp and name of a partition that failed to open
  private readonly unavailable = new Map<bigint, { createdOp: number; name: string }>();
  private readonly retentionCounters: RetentionCounters;
  private readonly metrics: ShardMetrics; // partition_ops_total
  private statsVersion = 0; // numbers every stats reading of this shard's partitions (VersionedStats)
  private retaining = false; // set once the committed state is final (not while shard 0 replays its log)
  // A cluster replica's partitions whose group failed a write on a full device: reopened from their files (reopen)
  private readonly noSpace: NoSpaceRetry<bigint>;

  constructor(private readonly ctx: ShardContext, private readonly sc: StorageCore, private readonly options: OwnerOptions) {
    this.retentionCounters = new RetentionCounters(ctx.core, sc.memory, ctx.shard);
    this.metrics = new ShardMetrics(ctx.core, sc.memory, ctx.shard);
    this.noSpace = new NoSpaceRetry(options.dataDir, (namespace) => this.reopen(namespace));
  }

  get count(): number {
    return this.owned.size;
  }

  // Opens the partitions of the committed state that hash to this shard and closes (and deletes) the ones that
  // no longer exist. Called after every applied op and once at boot. Directories left by a partition whose
  // stream or topic was deleted (or re-created under the same ids) are removed, but only for an incarnation whose
  // deletion committed (data/incarnation.ts): never those of a partition the state does not know yet.
  reconcile(op: CommittedOp | null, dataTargets: DataTarget[] = []): void {
    const wanted = new Map<bigint, PartitionRef>();
    for (const ref of partitionsOf(this.ctx.state)) {
      if (this.ctx.ownerOf(ref.streamId, ref.topicId, ref.partitionId) === this.ctx.shard) wanted.set(ref.namespace, ref);
    }
    for (const [namespace, owned] of this.owned) {
      const ref = wanted.get(namespace);
      if (ref && ref.createdOp === owned.ref.createdOp) continue;
      this.noSpace.cancel(namespace);
      this.close(owned);
      this.removeDeleted(idsOf(owned.ref), ref?.createdOp ?? 0);
      this.ctx.health.clearSubject(nameOf(owned.ref));
      this.owned.delete(namespace);
      this.publishStats(namespace, null);
    }
    for (const [namespace, { createdOp, name }] of this.unavailable) {
      const ref = wanted.get(namespace);
      if (ref?.createdOp === createdOp) continue;
      this.noSpace.cancel(namespace);
      this.unavailable.delete(namespace);
      if (!ref) this.ctx.health.clearSubject(name);
    }
    if (op === null) this.removeStrayDirectories(wanted);
    for (const [namespace, ref] of wanted) {
      if (this.owned.has(namespace) || this.unavailable.get(namespace)?.createdOp === ref.createdOp) continue;
      this.open(namespace, ref, op !== null && ref.createdOp === op.op ? 'created' : 'found');
    }
    if (dataTargets.length > 0) this.applyDataTargets(dataTargets);
  }

  // On a single node, a partition whose log is damaged opens read-only: its intact prefix is served, sends are answered 3003
  // CannotOpenPartitionLogFile, and nothing on disk is touched. One that cannot be opened at all (damaged consumer
  // offsets, this shard's core memory used up) is left out: requests for it get 3003. Either is reported (an ERROR,
  // /health, /metrics), and every other partition keeps being served. What recovery truncated is reported the same way.
  // A cluster's replica repairs both from its peers instead (openHome).
  // `opened`: created by the op this replica just applied, or found (at boot, by a metadata state transfer, or
  // reopened): a cluster's partition group starts afresh only in the first case (PartitionGroup).
  // Returns why it could not be opened (null: opened).
  private open(namespace: bigint, ref: PartitionRef, opened: 'created' | 'found'): Error | null {
    const name = nameOf(ref);
    const { health } = this.ctx;
    health.clearSubject(name);
    let home: PartitionHome | null = null;
    try {
      if (claimDirectory(this.sc, this.options.dataDir, idsOf(ref), ref.createdOp, this.ctx.state.appliedOp) === 'replaced') {
        log.warn(`partition ${name}: removed files left by an earlier partition with the same ids (its deletion was committed)`);
      }
      const repaired: string[] = [];
      home = this.openHome(name, ref, repaired);
      this.reportRecovery(name, home, repaired);
      const group = new PartitionGroup(this.ctx, namespace, name, home, () => this.requestFlush(), this.writeEvents(name, namespace), this.options.peers ?? null, opened);
      this.owned.set(namespace, { ref, home, group });
      this.unavailable.delete(namespace);
      this.publishStats(namespace, home.stats());
      return null;
    } catch (error) {
      home?.close();
      this.unavailable.set(namespace, { createdOp: ref.createdOp, name });
      const message = (error as Error).message;
      const hint = /memory|arena/i.test(message) ? ' (core memory per shard: --arena-bytes for consensus groups, --storage-bytes for partition indexes)' : '';
      log.error(`partition ${name} is not served: ${message}${hint}`);
      health.set('partition_offline', name, `${message}${hint}`);
      return error as Error;
    }
  }

  // A cluster's replica does not keep damaged files: its peers hold every committed batch and offset. A damaged
  // consumer offsets log is set aside, a damaged log cut at its first bad record (partition-repair.ts: marked stale
  // first), and the partition opens as one that fell behind: its group catches it up from a peer. A single node
  // keeps a damaged log read-only and leaves a partition with damaged offsets out (nobody else holds them).
  // `repaired`: what was cut or set aside, for /health.
  private openHome(name: string, ref: PartitionRef, repaired: string[]): PartitionHome {
    const open = () => PartitionHome.open(this.options.dataDir, idsOf(ref), this.sc, {
      fsync: this.options.fsync, segmentBytes: this.options.segmentBytes, verifyReadPayloads: this.options.verifyReadPayloads, directIo: this.options.directIo,
      indexCapacity: INDEX_ENTRIES, quiet: true, onCorrupt: 'read-only', onDamage: (damage) => this.readDamaged(name, damage),
    });
    if (!this.options.peers) return open();
    let home: PartitionHome;
    try {
      home = open();
    } catch (error) {
      if (!(error instanceof DataError) || error.code !== 'ConsumerOffsetsCorrupt') throw error;
      setOffsetsAside(partitionDir(this.options.dataDir, idsOf(ref)), name, error.message);
      repaired.push(`${error.message}; set aside, the committed offsets come from a peer`);
      home = open();
    }
    const damage = home.partition.damage;
    if (!damage) return home;
    home.close();
    const cut = cutDamagedLog(home.dir, name, damage);
    this.ctx.health.truncated(0); // its bytes are not known here (describeCut names the files and offsets)
    repaired.push(`${damage.detail}; ${describeCut(cut)}`);
    return open();
  }

  // A cluster replica's partition whose group failed a write on a full device (noSpace has waited for room):
  // closed and opened again from its files, as at boot. Safe: its writers were answered by the group's abort
  // (4006/10006), and the files are what the recovery after a crash at that moment would find (the append that
  // failed was rolled back, or reads as a torn tail), so the cluster loses nothing here that it does not survive
  // when this replica crashes. The new group starts as a lost replica ('found'): it votes and acknowledges nothing
  // until it formed with the others or caught its segments up from a peer (partition-catch-up.ts), so the ops the
  // cluster committed meanwhile come back without a gap or a second copy. Resolves false to be tried again later.
  // The same for a group that holds an op it cannot cut (PartitionOpReplaced) or whose view change no quorum can
  // finish (PartitionGroup.strand): there the device has room, and the reopen follows the first backoff.
  private async reopen(namespace: bigint): Promise<boolean> {
    const owned = this.owned.get(namespace);
    if (owned) {
      await owned.group.idle(); // the failed append's thread-pool work is done before its files are closed
      if (this.closing || this.owned.get(namespace) !== owned) return true; // closed or replaced meanwhile
      this.close(owned);
      this.owned.delete(namespace);
      this.publishStats(namespace, null);
      return this.reopened(namespace, owned.ref);
    }
    const unavailable = this.unavailable.get(namespace);
    const ref = partitionsOf(this.ctx.state).find((r) => r.namespace === namespace);
    // An earlier reopen found no room: again, while the state still names this partition.
    if (this.closing || !unavailable || !ref || ref.createdOp !== unavailable.createdOp) return true;
    this.unavailable.delete(namespace);
    return this.reopened(namespace, ref);
  }

  private reopened(namespace: bigint, ref: PartitionRef): boolean {
    const error = this.open(namespace, ref, 'found');
    if (error === null) log.info(`partition ${nameOf(ref)}: reopened from its files (after its device had room again, an op it could not cut, or a view change no quorum could finish); it catches up with its peers or forms again with them`);
    return error === null || !isNoSpace(error);
  }

  // The partition's own logs report quietly (the server's words are these): each truncation is an ERROR naming the
  // file, the bytes and the offsets dropped, a count in /metrics, and a reason in /health until the next restart.
  private reportRecovery(name: string, home: PartitionHome, repaired: string[] = []): void {
    const { health } = this.ctx;
    const cuts = home.partition.recovery.truncated.map(describeTruncation);
    for (const t of home.partition.recovery.truncated) health.truncated(t.bytes, t.claimedMessages);
    const offsets = home.offsets.recovery;
    if (offsets.truncatedBytes > 0) {
      cuts.push(`truncated ${home.offsets.file}: bytes ${offsets.truncatedAt}–${offsets.truncatedAt + offsets.truncatedBytes - 1} (${offsets.truncatedBytes} bytes; the remains of an unfinished flush of consumer offsets)`);
      health.truncated(offsets.truncatedBytes);
    }
    for (const cut of cuts) log.error(`partition ${name}: recovery ${cut}`);
    // Beside what was cut earlier in this boot (a reopen after a full device, a formation cut).
    if (cuts.length + repaired.length > 0) health.add('recovery_truncation', name, [...repaired, ...cuts].join('; '));
    const damage = home.partition.damage;
    if (damage) {
      log.error(`partition ${name}: ${damage.detail}; serving offsets [${home.partition.firstOffset}, ${damage.offset}) read-only, writes refused`);
      health.set('partition_read_only', name, `${damage.detail}; offsets from ${damage.offset} on are not served`);
    }
  }

  private writeEvents(name: string, namespace: bigint): WriteEvents {
    const { health } = this.ctx;
    return {
      committed: () => this.metrics.add(METRIC.partitionOps),
      noSpace: (detail, writes) => {
        if (!health.has('partition_fenced', name)) log.error(`partition ${name}: ${detail}: writes are answered 4006/10006 until one finds space again (nothing acknowledged is lost)`);
        health.count('noSpaceWrites', writes);
        health.set('partition_fenced', name, detail);
      },
      wrote: () => {
        if (!health.has('partition_fenced', name)) return;
        log.info(`partition ${name}: writes succeed again`);
        health.clear('partition_fenced', name);
      },
      failed: (error) => {
        health.set('partition_write_failed', name, error.message);
        // A cluster's replica gets the group's writes back from its peers: reopened once there is room (reopen). A
        // single node keeps today's answer (refused until a restart): it has no peer to take what it missed from.
        // So is a replica whose files hold an op a view change replaced that it cannot cut (an offset change among
        // the ops to cut): reopened as a lost replica, its catch-up cuts the batches that never committed and brings
        // the committed consumer offsets (as after a restart), instead of holding its group until a restart.
        if (this.options.peers && causedByNoSpace(error)) this.noSpace.schedule(namespace, `partition ${name}`);
        else if (this.options.peers && (error as { code?: unknown }).code === 'PartitionOpReplaced') {
          this.noSpace.schedule(namespace, `partition ${name}`, 'an op it wrote was replaced by a view change and cannot be cut off');
        }
      },
      readOnly: (detail) => health.set('partition_read_only', name, detail),
      // Reopened from its files as a lost replica, as after a restart (no device to wait for: the room check passes).
      stranded: () => this.noSpace.schedule(namespace, `partition ${name}`, 'its group cannot finish a view change'),
      // A cut before the group formed: counted and shown as a recovery truncation (this boot's), as a torn tail is,
      // beside what else recovery cut from this partition.
      formationCut: (detail, messages, bytes) => {
        health.truncated(bytes, messages);
        health.add('recovery_truncation', name, detail);
      },
    };
  }

  // A read found a stored batch that no longer verifies (once per partition): polls that reach it are answered 4011
  // CannotReadMessage (the connection stays), the partition takes no more writes (Partition.damage), and it is reported.
  private readDamaged(name: string, damage: Damage): void {
    log.error(`partition ${name}: ${damage.detail}; polls from offset ${damage.offset} are answered ${ErrorCode.cannotReadMessage}, writes ${ErrorCode.cannotOpenPartitionLogFile} from now on`);
    this.ctx.health.count('readCorruptions');
    this.ctx.health.set('partition_read_only', name, `${damage.detail} (found by a read; polls from offset ${damage.offset} get ${ErrorCode.cannotReadMessage})`);
  }

  private removeStrayDirectories(wanted: Map<bigint, PartitionRef>): void {
    // By path, not namespace: a directory's ids come from disk and need not be in the packable range.
    const kept = new Set([...wanted.values()].map(nameOf));
    for (const dir of listPartitionDirs(this.options.dataDir)) {
      if (this.ctx.ownerOf(dir.streamId, dir.topicId, dir.partitionId) !== this.ctx.shard) continue;
      if (!kept.has(nameOf(dir))) this.removeDeleted(dir, 0);
    }
  }

  // Removes the files of a partition at `ids` whose deletion committed; `wanted` is the creating op of the
  // partition the committed state now has at these ids (0: none). Files of an incarnation the state does not
  // know are left where they are, with an ERROR.
  private removeDeleted(ids: { streamId: number; topicId: number; partitionId: number }, wanted: number): void {
    const name = nameOf(ids);
    try {
      if (removeIfDeleted(this.sc, this.options.dataDir, ids, wanted, this.ctx.state.appliedOp)) log.info(`removed the files of deleted partition ${name}`);
    } catch (error) {
      // A cluster's replica boots with the metadata it knows committed (its journal is its log, committed again
      // with the others): a partition created by a later op is opened once that op commits here.
      if (error instanceof IncarnationUnknown && this.options.peers) log.info(`partition ${name}: its files wait for the metadata op that created them to commit again (a cluster's replica at boot)`);
      else log.error(`partition ${name}: ${(error as Error).message}`);
    }
  }

  // Committed ops that act on data: purge, segment deletion, a deleted group's offsets.
  private applyDataTargets(targets: DataTarget[]): void {
    for (const [namespace, owned] of this.owned) {
      const { streamId, topicId, partitionId } = owned.ref;
      const hit = targets.find((t) => t.streamId === streamId && (t.topicId === undefined || t.topicId === topicId) && (t.partitionId === undefined || t.partitionId === partitionId));
      if (!hit) continue;
      try {
        this.applyDataTarget(owned, hit);
      } catch (error) {
        // A committed data action that failed (a full or failing disk) part-way leaves files this shard cannot
        // vouch for: the partition is taken offline (reported) instead of failing the shard; a restart reopens it.
        const name = nameOf(owned.ref);
        const message = `${hit.group !== undefined ? 'deleting a consumer group\'s offsets' : hit.segments === undefined ? 'the purge' : 'DeleteSegments'} failed: ${(error as Error).message}`;
        log.error(`partition ${name}: ${message}; not served until a restart`);
        try {
          this.close(owned);
        } catch (closing) {
          log.error(`partition ${name}: closing it after the failure: ${(closing as Error).message}`);
        }
        this.owned.delete(namespace);
        this.unavailable.set(namespace, { createdOp: owned.ref.createdOp, name });
        this.publishStats(namespace, null);
        this.ctx.health.set('partition_offline', name, message);
      }
    }
  }

  private applyDataTarget(owned: Owned, hit: DataTarget): void {
    if (hit.group !== undefined) {
      if (owned.home.offsets.delete(2, hit.group)) owned.home.offsets.flush();
      return;
    }
    if (hit.segments === undefined) {
      owned.home.purge();
      writeIncarnation(this.options.dataDir, idsOf(owned.ref), owned.ref.createdOp);
      this.ctx.health.clear('partition_read_only', nameOf(owned.ref)); // a purge starts a new, intact log
    } else {
      owned.home.deleteSegments(hit.segments);
    }
    this.publishStats(owned.ref.namespace, owned.home.stats());
  }

  private close(owned: Owned): void {
    owned.group.abort(new Error('partition deleted'));
    owned.group.release();
    owned.home.close();
  }

  // At shutdown: no new journal writes start; those on their way finish (their writers are answered), then every
  // file is closed and the writes that were still gathering are answered ResourceNotFound.
  async closeAll(): Promise<void> {
    this.closing = true;
    this.noSpace.stop();
    await Promise.all([...this.owned.values()].map((owned) => owned.group.idle()));
    for (const owned of this.owned.values()) this.close(owned);
    this.owned.clear();
  }

  // Writes proposed during this macrotask are flushed together right after it (group commit), whether or not
  // the shard loop is awake.
  private flushScheduled = false;
  private closing = false;

  private requestFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  // Performs the journal writes every group gathered this turn (one fdatasync per partition) and answers the
  // writers whose requests committed.
  flush(): void {
    this.flushScheduled = false;
    if (this.closing) return;
    for (const owned of this.owned.values()) {
      if (!owned.group.flush()) continue;
      this.retain(owned); // on append: a rollover may have put the partition over its size
      this.publishStats(owned.ref.namespace, owned.home.stats());
    }
  }

  // Retention starts once this shard's committed state is final: the intermediate states shard 0 passes through
  // while it replays its log at boot may hold settings a later op changed (an expiry since lifted).
  startRetention(): void {
    this.retaining = true;
  }

  // The retention timer's pass: every owned partition whose topic has message_expiry or max_topic_size.
  applyRetention(): void {
    if (!this.retaining || this.closing) return;
    for (const owned of this.owned.values()) {
      if (this.retain(owned)) this.publishStats(owned.ref.namespace, owned.home.stats());
    }
    this.retentionCounters.pass();
  }

  // Removes what the topic's retention no longer keeps from this partition (sealed segments only; see
  // Partition.applyRetention), logs and counts each removal. Only for the partition as the committed state has it
  // now: its topic's settings, and the incarnation this shard opened (a partition deleted and re-created under the
  // same ids is a different one, whose files this shard opened anew). Returns whether anything was removed.
  private retain(owned: Owned): boolean {
    if (!this.retaining || this.closing) return false;
    const { streamId, topicId, partitionId, createdOp } = owned.ref;
    const topic = this.ctx.state.streams.streams.get(streamId)?.topics.get(topicId);
    if (!topic || topic.partitions[partitionId]?.createdOp !== createdOp) return false;
    // A damaged log is kept as it is for repair (served read-only): retention removes none of it.
    if (owned.home.partition.damage) return false;
    const policy = retentionPolicyOf(topic.settings, topic.partitions.length);
    if (!hasLimit(policy)) return false;
    const name = nameOf(owned.ref);
    const { removed, error } = owned.home.partition.applyRetention(policy);
    for (const segment of removed) {
      log.info(describeRemoval(name, segment, policy));
      this.retentionCounters.removed(segment);
    }
    // The partition keeps serving what it still has; the next pass tries again.
    if (error) log.error(`partition ${name}: retention could not remove a segment, stopping this pass there: ${error.message}`);
    return removed.length > 0;
  }

  tick(): void {
    for (const owned of this.owned.values()) owned.group.tick();
  }

  // Where each owned partition's group stands on this replica (a cluster's /health and /metrics).
  groupSummaries(): PartitionGroupSummary[] {
    return [...this.owned.entries()].map(([namespace, owned]) => ({ namespace, ...owned.group.summary() }));
  }

  // CONSENSUS/PARTITION and PARTITION_READ frames from home shards (and from this shard itself).
  async handle(payload: Uint8Array): Promise<Answer> {
    const request = decodePartitionRequest(payload, this.sc.u8);
    if (request.target.appliedOp > this.ctx.state.appliedOp) await this.ctx.applied(request.target.appliedOp);
    const { streamId, topicId, partitionId } = request.target;
    const namespace = namespaceOf(streamId, topicId, partitionId);
    const owned = this.owned.get(namespace); // ids resolved against committed state
    if (!owned) {
      if (this.unavailable.has(namespace)) return encodePartitionReply(ErrorCode.cannotOpenPartitionLogFile);
      return encodePartitionReply(request.method === Method.poll || request.method === Method.getOffset ? ErrorCode.partitionNotFound : ErrorCode.resourceNotFound);
    }
    return this.serve(owned, request);
  }

  private async serve(owned: Owned, request: PartitionRequest): Promise<Answer> {
    switch (request.method) {
      case Method.send: {
        if (owned.home.partition.damage) return encodePartitionReply(ErrorCode.cannotOpenPartitionLogFile);
        // The checksums are verified on the owner (the hashing is spread over the shards that own partitions), once,
        // before the write is proposed: a batch that fails is answered 4027 / 4039 and never becomes an op.
        const result = await owned.group.send(request.batch);
        if (result.status !== 0) return encodePartitionReply(result.status);
        const { streamId, topicId, partitionId, namespace } = owned.ref;
        // The client's answer (SEND_REPLY_BYTES), then the partition's stats with this send in them: the home shard
        // takes them before it answers, so the sender's next GetTopic counts its messages.
        const w = new Writer(SEND_REPLY_BYTES + 48).u32(1).u32(streamId).u32(topicId).u32(partitionId).u64(result.baseOffset);
        return encodePartitionReply(0, writeStats(w, this.versionedStats(namespace, owned.home.stats())).finish());
      }
      case Method.storeOffset:
        return encodePartitionReply(await owned.group.storeOffset(request.consumer, request.offset));
      case Method.deleteOffset: {
        if (owned.home.offsets.get(request.consumer.kind, request.consumer.id) === null) return encodePartitionReply(ErrorCode.consumerOffsetNotFound);
        return encodePartitionReply(await owned.group.deleteOffset(request.consumer));
      }
      case Method.getOffset: {
        // A cluster's stored offsets are answered by the group's primary only (a backup's lag its commits, a
        // recovering replica's may be missing): elsewhere 58, as a send to a backup gets, and the client moves on.
        if (!owned.group.answersOffsets) return encodePartitionReply(ErrorCode.transientNotAccepted);
        const stored = owned.home.offsets.get(request.consumer.kind, request.consumer.id);
        if (stored === null) return encodePartitionReply(0);
        const body = new DataView(new ArrayBuffer(20));
        body.setUint32(0, owned.ref.partitionId, true);
        body.setBigUint64(4, BigInt(owned.home.stats().currentOffset), true);
        body.setBigUint64(12, BigInt(stored), true);
        return encodePartitionReply(0, new Uint8Array(body.buffer));
      }
      case Method.poll:
        return this.poll(owned, request);
    }
  }

  private async poll(owned: Owned, q: Extract<PartitionRequest, { method: typeof Method.poll }>): Promise<Answer> {
    const { home } = owned;
    const kind = STRATEGIES[q.strategy];
    if (!kind) return encodePartitionReply(ErrorCode.invalidCommand);
    const strategy = kind === 'offset' || kind === 'timestamp' ? { kind, value: q.value } : { kind };
    // Next starts after the stored offset: only where the stored offsets are current (as GetConsumerOffset).
    if (kind === 'next' && !owned.group.answersOffsets) return encodePartitionReply(ErrorCode.transientNotAccepted);
    const stored = home.offsets.get(q.consumer.kind, q.consumer.id);
    const plan: PollPlan = planPoll(strategy, q.count, { firstOffset: home.partition.firstOffset, nextOffset: home.partition.readableNextOffset, storedOffset: stored });
    // A log damaged at recovery is served up to the damage: a poll at or past it (or for the newest messages, which
    // are not known) is answered 4011, never an empty reply that would tell the consumer it has caught up.
    if (home.partition.damage?.foundBy === 'recovery' && (kind === 'last' || 'empty' in plan || ('timestamp' in plan && plan.timestamp > home.partition.lastTimestamp))) {
      return encodePartitionReply(ErrorCode.cannotReadMessage);
    }
    // The reply is built with 4 free bytes in front for the status word (encodePartitionReply's layout, status 0).
    if ('empty' in plan) return emptyPollReply(owned.ref.partitionId, home.stats().currentOffset, 4);
    const { maxPollBytes } = this.ctx.settings;
    if (!q.autoCommit) {
      // Read when the answer is sent: into the frame reserved for it in the ring to the home shard when there is room
      // (the records are read from the file to their place in the reply), else built as pieces.
      // A batch that does not verify: the write declines (the build reads again and answers the error, once).
      const { sc } = this;
      return {
        maxBytes: 4 + pollReplyBound(home.partition, q.count, maxPollBytes),
        write(at: number, room: number): number | null {
          let written;
          try {
            written = writePollReply(sc, home.partition, owned.ref.partitionId, plan, q.count, maxPollBytes, at, room, 4);
          } catch (error) {
            if (isReadDamage(error)) return null;
            throw error;
          }
          if (written === null) return null;
          new DataView(sc.u8.buffer, sc.u8.byteOffset + at, 4).setUint32(0, 0, true); // status 0 (encodePartitionReply)
          return 4 + written.bytes;
        },
        build: () => {
          try {
            return buildPollReply(sc, home.partition, owned.ref.partitionId, plan, q.count, maxPollBytes, 4).pieces;
          } catch (error) {
            if (isReadDamage(error)) return encodePartitionReply(ErrorCode.cannotReadMessage);
            throw error;
          }
        },
      };
    }
    let reply;
    try {
      reply = buildPollReply(this.sc, home.partition, owned.ref.partitionId, plan, q.count, maxPollBytes, 4);
    } catch (error) {
      if (isReadDamage(error)) return encodePartitionReply(ErrorCode.cannotReadMessage);
      throw error;
    }
    if (q.autoCommit && reply.lastOffset !== null) {
      const status = await owned.group.storeOffset(q.consumer, reply.lastOffset);
      if (status !== 0) return encodePartitionReply(status);
    }
    return reply.pieces;
  }

  // This shard's stats of a partition it owns, numbered (VersionedStats) and taken here at once.
  private versionedStats(namespace: bigint, stats: PartitionStats | null): VersionedStats {
    const versioned = { version: ++this.statsVersion, stats };
    this.ctx.acceptStats(namespace, versioned);
    return versioned;
  }

  private publishStats(namespace: bigint, stats: PartitionStats | null): void {
    // Only the newest stats matter: one still queued behind a slow shard is replaced, so they cannot pile up.
    const message = encodeStats(namespace, this.versionedStats(namespace, stats));
    for (let shard = 0; shard < this.ctx.shards; shard++) {
      if (shard !== this.ctx.shard) this.ctx.rpc.notifyLatest(shard, Variant.lifecycle, Lifecycle.forwardClientSend, namespace, message);
    }
  }
}


// A stored batch that no longer verifies (the partition reported it through onDamage when it found it).
function isReadDamage(error: unknown): boolean {
  return error instanceof StorageError && error.code === 'SegmentChecksumMismatch';
}

function nameOf(ref: { streamId: number; topicId: number; partitionId: number }): string {
  return `${ref.streamId}/${ref.topicId}/${ref.partitionId}`;
}

function idsOf(ref: PartitionRef): { streamId: number; topicId: number; partitionId: number } {
  return { streamId: ref.streamId, topicId: ref.topicId, partitionId: ref.partitionId };
}
