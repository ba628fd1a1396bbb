// One partition's consensus group on its owner shard: a single VSR replica whose only client is the shard
// itself (request numbers it counts; the client's own request numbers are not part of partition ops, §4.3).
// A batch is verified before it is proposed (a refused batch never becomes an op), then waits in one queue until
// the pipeline has room.
// A write becomes a request whose body is a small descriptor of the data; the data stays in host memory until
// the group asks for its journal write, which appends every batch and offset change gathered since the last
// flush with one fdatasync. The writer is answered when the group commits the op.
import { ErrorCode } from '../../shared/wire/codes.js';
import { logger } from '../../shared/log.js';
import { ConsensusGroup } from '../consensus/group.js';
import { NO_SPACE_VERDICT, checksumStatus, type PartitionHome } from '../data/send-api.js';
import { isNoSpace } from '../io/storage-errors.js';
import { Operation, PIPELINE_MAX, Prep, REPLY_OK, Rep } from '../../shared/vsr-abi.js';
import { CoreJournalBatch } from '../../shared/core-abi.generated.js';

const { BATCH_OK } = CoreJournalBatch;
import type { ShardContext } from './context.js';
import type { ConsumerRef } from './shard-protocol.js';
import { PipelineQueue } from './pipeline-queue.js';

const log = logger('partitions');
const OP_SEND = 160;
const OP_STORE_OFFSET = 161;
const OP_DELETE_OFFSET = 162;
const SLOTS = 64;
const CLIENTS = 2;
const SHARD_CLIENT = 1n; // the owner shard, the group's only client

type Write =
  | { kind: 'send'; batch: Uint8Array; resolve: (r: { status: number; baseOffset: number }) => void; baseOffset?: number; status?: number }
  | { kind: 'store'; consumer: ConsumerRef; offset: number; resolve: (status: number) => void; status?: number }
  | { kind: 'delete'; consumer: ConsumerRef; resolve: (status: number) => void; status?: number };

// What the owner hears about this partition's writes (for /health and /metrics): an op committed, a full device (the writes of that
// flush were refused and rolled back; the next flush tries again), a write that succeeded again after one, a
// failure that stops the partition's writes, and writes refused because its log is damaged.
export interface WriteEvents {
  committed(): void;
  noSpace(detail: string, writes: number): void;
  wrote(): void;
  failed(detail: string): void;
  readOnly(detail: string): void;
}

const IGNORED_EVENTS: WriteEvents = { committed() {}, noSpace() {}, wrote() {}, failed() {}, readOnly() {} };

export class PartitionGroup {
  private readonly group: ConsensusGroup;
  private session = 0n; // 0 until the owner's Register commits: nothing is submitted before
  private readonly queue = new PipelineQueue<Write>(PIPELINE_MAX); // the one queue between a request and the pipeline
  private appended = false;
  private failed: Error | null = null;
  private failedStatus: number = WRITE_FAILED; // what writes get once failed is set

  constructor(
    ctx: ShardContext, namespace: bigint, private readonly name: string, private readonly home: PartitionHome, private readonly onWork: () => void,
    private readonly events: WriteEvents = IGNORED_EVENTS,
  ) {
    this.group = ConsensusGroup.create(ctx.core, ctx.storage.memory, { cluster: 0n, group: namespace, slots: SLOTS, clientsMax: CLIENTS }, {
      journalWrite: (prepares) => this.journalWrite(prepares),
      journalWritten: () => this.onWork(), // the writes gathered meanwhile wait for the next flush
      persist: () => {}, // the segments are this group's log; its VSR state starts afresh at every boot
      commit: (_op, prepare) => this.committed(prepare),
      reply: (reply) => this.replied(reply),
    });
    this.group.submit({ client: SHARD_CLIENT, session: 0n, request: 0n, operation: Operation.Register, body: new Uint8Array(0) });
  }

  // The batch is verified before it is proposed (the core's full batchVerify, where it lies): one that fails its
  // checksums is answered at once (4027 / 4039) and never becomes an op, so it takes no op number, no pipeline slot
  // and no offsets. The append then checks only its structure: one hash pass per batch.
  send(batch: Uint8Array): Promise<{ status: number; baseOffset: number }> {
    return new Promise((resolve) => {
      const write: Write = { kind: 'send', batch, resolve };
      if (this.failed) return settle(write, this.failedStatus);
      const verdict = this.home.verify(batch);
      if (verdict !== BATCH_OK) return resolve({ status: checksumStatus(verdict), baseOffset: 0 });
      this.enqueue(write);
    });
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
    this.queue.push(write);
    this.submitWaiting();
    this.onWork();
  }

  // Returns whether anything was submitted.
  private submitWaiting(): boolean {
    if (this.session === 0n) return false;
    return this.queue.admit((request, write) =>
      this.group.submit({ client: SHARD_CLIENT, session: this.session, request, operation: operationOf(write), body: descriptor(write) }));
  }

  // Returns true when data was appended since the last flush (the owner then publishes fresh stats).
  flush(): boolean {
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
  }

  // The partition is closed: its writers were answered (abort); the core's replica goes back for reuse.
  release(): void {
    this.group.release();
  }

  // The partition is gone (deleted: its writers get 20) or broken (a failed write: sends 4006, offsets 10006). Writers
  // whose batch may be on its way to disk are answered once that write is done: until their answer the batch's
  // memory (a frame in the serving shard's arena) is theirs, and the thread pool may still be reading it.
  abort(error: Error, status: number = ErrorCode.resourceNotFound): void {
    this.failed = error;
    this.failedStatus = status;
    const { waiting, submitted } = this.queue.drain();
    for (const write of waiting) settle(write, status);
    const answer = () => { for (const write of submitted) settle(write, status); };
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
    this.events.failed(error.message);
    this.abort(error, WRITE_FAILED);
  }

  private committed(prepare: Uint8Array): void {
    const write = this.queue.take(requestOf(prepare));
    if (!write) return;
    this.events.committed();
    if (write.kind === 'send') write.resolve({ status: write.status ?? 0, baseOffset: write.baseOffset ?? 0 });
    else write.resolve(write.status ?? 0);
  }

  private replied(reply: Uint8Array): void {
    const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    if (view.getUint8(Rep.operation) !== Operation.Register) return;
    if (view.getUint32(Rep.status, true) !== REPLY_OK) throw new Error(`partition group ${this.name}: the core refused the owner's session`);
    this.session = view.getBigUint64(Rep.session, true);
  }
}

function operationOf(write: Write): number {
  return write.kind === 'send' ? OP_SEND : write.kind === 'store' ? OP_STORE_OFFSET : OP_DELETE_OFFSET;
}

// What the prepare carries about the data: enough to bind the op to it (the batch checksum covers every frame).
function descriptor(write: Write): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  if (write.kind === 'send') {
    const batch = new DataView(write.batch.buffer, write.batch.byteOffset, write.batch.byteLength);
    v.setUint32(0, write.batch.length, true);
    v.setUint32(4, messageCount(write.batch), true);
    v.setBigUint64(8, batch.getBigUint64(40, true), true); // batch checksum
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
