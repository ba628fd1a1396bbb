// A cluster's partition replica catching its segments up from a peer: the host's side of the core's state transfer
// for a partition group (assembly/vsr/state_sync.ts asks for it; assembly/journal/tail_match.ts decides what the
// asker keeps). A partition group's VSR state is not persisted: a replica restarted with segments, while the others
// went on, cannot tell which of its batches committed, and one restarted with none (a wiped data directory) has
// nothing; either recovers as a lost replica and, once the core names a peer in normal status, pulls from it:
//
//   asker → peer  StateRequest: the asker's last batch headers (tail entries) as body, T_OFFSET its end,
//                 T_FROM_START whether they begin at its first offset.
//   peer → asker  a header-only StateChunk: T_KEEP what the asker keeps (or a TAIL_* verdict), T_TOTAL the peer's
//                 committed end; attached: the peer's committed batches from T_KEEP on, whole, as stored (at most
//                 REPLICA_ATTACHMENT_MAX). When those reach the committed end (under a steady write load the end moves
//                 on between any two steps: the asker would chase it for good), the chunk is the final one (T_FINAL):
//                 its attachment is the group's state at that end (its client table and the partition's committed
//                 consumer offsets; T_OP/T_CHECKSUM the op the end belongs to), then those last batches (maybe none);
//                 the state and the end are read in the same turn of the peer's loop, so they agree. A peer whose
//                 committed state is not settled at that moment (its own append of a committed op still on its way)
//                 sends the batches alone, or with none left nothing, and the asker asks again (the core prompts).
//                 TAIL_REBASE (the peer's retention removed all the asker could keep) carries the peer's first offset
//                 in T_OFFSET: the asker starts its log again, empty, there, and asks again.
//
// The asker cuts what it does not keep, verifies each batch (the core's full batchVerify), appends it where the peer
// has it (the same offsets and append times: the same bytes), and asks again from its new end until the final chunk;
// then it takes the peer's consumer offsets and the core hears stateInstalled(op, checksum, clients). Every step is a
// new request built from the asker's files as they are: the peer keeps nothing, and a lost chunk, a crash or a new
// primary costs one step, never a wrong byte (what was appended is a committed prefix).
import { CoreJournalBatch, CoreJournalTailMatch, CoreVsrReplicaFrame } from '../../shared/core-abi.generated.js';
import { ShardlogError } from '../../shared/errors.js';
import { logger } from '../../shared/log.js';
import { Command, H, HEADER_SIZE, Xfer } from '../../shared/vsr-abi.js';
import { randomNonce } from '../consensus/metadata-state-sync.js';
import { transferHeader } from '../consensus/state-transfer.js';
import type { ConsumerKind, ConsumerOffset } from '../data/offsets.js';
import type { PartitionHome } from '../data/send-api.js';
import { encodeTail } from '../io/partition.js';

const log = logger('partitions');
const { TAIL_ENTRIES_MAX, TAIL_REBASE, TAIL_TOO_LARGE } = CoreJournalTailMatch;
const VERDICTS: Record<number, string> = {
  [Number(CoreJournalTailMatch.TAIL_BEHIND)]: 'the peer has not committed up to this replica\'s batches yet',
  [Number(CoreJournalTailMatch.TAIL_DIVERGED)]: 'this replica\'s batches differ from the peer\'s further back than it compares',
  [Number(CoreJournalTailMatch.TAIL_MALFORMED)]: 'the peer found this replica\'s request malformed',
  [Number(TAIL_TOO_LARGE)]: `the peer's next batch is larger than a transfer chunk carries (${CoreVsrReplicaFrame.REPLICA_ATTACHMENT_MAX} B)`,
};
const OFFSET_ENTRY_BYTES = 16; // u8 kind | 3 zero | u32 id | u64 offset
const RESEND_MS = 1000; // a request unanswered this long is sent again (the core prompts more often than that)

export class CatchUpRefused extends ShardlogError {
  constructor(message: string) { super('CatchUpRefused', message); }
}

export interface CatchUpHost {
  readonly name: string;
  readonly home: PartitionHome;
  readonly cluster: bigint;
  readonly group: bigint;
  readonly replica: number;
  send(replica: number, message: Uint8Array, attachment: Uint8Array): boolean;
  seal(message: Uint8Array): void; // the core's checksums, in place
  // What this replica's files hold of the group, committed: the op its committed end belongs to and that op's
  // prepare checksum, the group's client table and the partition's consumer offsets at that op; null when it has
  // nothing settled to give (recovering itself, or its own append of a committed op still on its way).
  settled(): { op: number; checksum: bigint; clients: Uint8Array; offsets: ConsumerOffset[] } | null;
  // The files hold the peer's committed state at `op` (its consumer offsets included, durably): the core may go on.
  installed(op: number, checksum: bigint, clients: Uint8Array, offsets: ConsumerOffset[]): void;
  // This replica's log holds no op past what its files hold as committed (settled, nothing prepared beyond).
  logEnds(): boolean;
}

export class PartitionCatchUp {
  served = 0; //  steps this replica answered with batches
  refused = 0; // steps of its own catch-up abandoned (a chunk that breaks it: CatchUpRefused, a cut refused, ...)
  private transfer = 0n; // the request awaiting its answer (0: none)
  private sentAt = 0;
  private from = -1;
  private appending = false;
  private said = ''; // the last refusal said (once each, until another)
  private batches = 0;
  private bytes = 0;

  constructor(private readonly host: CatchUpHost) {}

  // The core asked for `from`'s state (again, on its timer), or the last step's batches are written: the next step.
  // A request still unanswered is not replaced before RESEND_MS (its answer would be thrown away).
  request(from: number): void {
    if (this.appending) return; // the step in hand asks again when its batches are written
    if (from === this.from && this.transfer !== 0n && Date.now() - this.sentAt < RESEND_MS) return;
    if (from !== this.from) {
      this.from = from;
      this.batches = 0;
      this.bytes = 0;
      log.info(`partition ${this.host.name}: catching up its segments from replica ${from}`);
    }
    try {
      const partition = this.host.home.partition;
      const { headers, fromStart } = partition.tailHeaders(Number(TAIL_ENTRIES_MAX));
      const tail = encodeTail(headers);
      const transfer = randomNonce();
      const m = transferHeader({ ...this.id(), transfer }, Command.StateRequest, HEADER_SIZE + tail.length);
      const v = view(m);
      v.setBigUint64(Xfer.offset, BigInt(partition.nextOffset), true);
      m[Xfer.fromStart] = fromStart ? 1 : 0;
      m.set(tail, HEADER_SIZE);
      this.host.seal(m);
      this.transfer = transfer;
      this.sentAt = Date.now();
      this.host.send(from, m, new Uint8Array(0));
    } catch (error) {
      this.refused++;
      this.say(`partition ${this.host.name}: cannot ask replica ${from} to catch it up: ${(error as Error).message}`);
    }
  }

  // The next step, no more often than RESEND_MS, from the peer of the last request (a paused backup's own timer).
  nudge(): void {
    if (this.from >= 0 && !this.appending && Date.now() - this.sentAt >= RESEND_MS) {
      this.transfer = 0n;
      this.request(this.from);
    }
  }

  // Whether an answer to this replica's request may come (a chunk is taken only then).
  get expecting(): boolean {
    return this.transfer !== 0n;
  }

  // A peer asks: what it keeps of its batches, then this replica's committed batches after them (one chunk), or the
  // final chunk. Never throws: a request that cannot be answered is not (the peer asks again, maybe another replica).
  onRequest(message: Uint8Array): void {
    try {
      this.serve(message);
    } catch (error) {
      log.warn(`partition ${this.host.name}: a catch-up request from replica ${message[H.replica]} was not answered: ${(error as Error).message}`);
    }
  }

  private serve(message: Uint8Array): void {
    const v = view(message);
    const partition = this.host.home.partition;
    const end = partition.readableNextOffset;
    let keep = partition.matchTail(message.subarray(HEADER_SIZE), message[Xfer.fromStart] !== 0, Number(v.getBigUint64(Xfer.offset, true)), end, this.host.logEnds());
    let attachment: Uint8Array = new Uint8Array(0);
    let settled: ReturnType<CatchUpHost['settled']> = null;
    const rebase = keep === Number(TAIL_REBASE);
    if (keep >= 0 && keep <= end) {
      const batches = keep < end ? committedBatches(this.host.home, keep, end, CoreVsrReplicaFrame.REPLICA_ATTACHMENT_MAX) : [];
      const reach = batches.reduce((at, b) => at + view(b).getUint32(CoreJournalBatch.B_COUNT, true), keep);
      settled = reach === end ? this.host.settled() : null;
      const image = settled ? encodeImage(settled.clients, settled.offsets) : null;
      const bytes = batches.reduce((sum, b) => sum + b.length, 0);
      if (image && bytes + image.length > CoreVsrReplicaFrame.REPLICA_ATTACHMENT_MAX && batches.length > 0) settled = null; // the state next time
      if (keep < end && batches.length === 0) keep = Number(TAIL_TOO_LARGE);
      else attachment = Buffer.concat(settled ? [image!, ...batches] : batches);
    }
    const chunk = transferHeader({ ...this.id(), transfer: v.getBigUint64(Xfer.transfer, true) }, Command.StateChunk, HEADER_SIZE);
    const c = view(chunk);
    c.setBigInt64(Xfer.keep, BigInt(keep), true);
    c.setBigUint64(Xfer.total, BigInt(end), true);
    if (rebase) c.setBigUint64(Xfer.offset, BigInt(partition.firstOffset), true);
    if (settled) {
      chunk[Xfer.final] = 1;
      c.setBigUint64(Xfer.op, BigInt(settled.op), true);
      c.setBigUint64(Xfer.checksum, settled.checksum, true);
    }
    this.host.seal(chunk);
    if (this.host.send(message[H.replica], chunk, attachment) && attachment.length > 0) this.served++;
  }

  // The peer's answer to this replica's last request (valid only during the call: what is kept is copied).
  onChunk(message: Uint8Array, attachment: Uint8Array): void {
    if (this.appending || message[H.replica] !== this.from || view(message).getBigUint64(Xfer.transfer, true) !== this.transfer) return;
    this.transfer = 0n; // answered: a duplicate of it is not taken twice
    void this.step(Uint8Array.from(message), Uint8Array.from(attachment)).catch((error: Error) => {
      this.appending = false;
      this.refused++;
      this.say(`partition ${this.host.name}: catching up from replica ${this.from} stopped: ${error.message}; it keeps out of the partition's group and serves what it holds (it tries again when the core asks)`);
    });
  }

  private async step(message: Uint8Array, attachment: Uint8Array): Promise<void> {
    const v = view(message);
    const keep = Number(v.getBigInt64(Xfer.keep, true));
    if (keep === Number(TAIL_REBASE)) {
      await this.rebase(Number(v.getBigUint64(Xfer.offset, true)), Number(v.getBigUint64(Xfer.total, true)));
      return;
    }
    if (keep < 0) {
      this.say(`partition ${this.host.name}: replica ${this.from} cannot catch it up yet: ${VERDICTS[keep] ?? `verdict ${keep}`}`);
      return;
    }
    const total = Number(v.getBigUint64(Xfer.total, true));
    const final = message[Xfer.final] !== 0;
    const home = this.host.home;
    const partition = home.partition;
    if (keep > partition.nextOffset || keep > total) throw new CatchUpRefused(`the peer said to keep up to offset ${keep} of ${partition.nextOffset} (its committed end ${total})`);
    const image = final ? decodeImage(attachment) : null;
    const batches = splitBatches(image ? attachment.subarray(image.length) : attachment);
    this.appending = true; // (a lagging backup's own append may still be on its way: the group paused the next ones)
    await home.idle();
    this.appending = false;
    if (keep < partition.nextOffset) {
      log.warn(`partition ${this.host.name}: its messages at offsets ${keep}..${partition.nextOffset - 1} are not the committed ones (replica ${this.from}'s): cut off`);
      partition.cutBack(keep, true);
    }
    const timestamps = checkedRun(home, batches, keep, total);
    if (batches.length > 0) {
      this.appending = true;
      const result = await home.appendAsync(batches, true, timestamps);
      this.appending = false;
      batches.forEach((b, i) => {
        if (result.bases[i] !== baseOf(b)) throw new CatchUpRefused(`a batch for offset ${baseOf(b)} was appended at ${result.bases[i]}`);
      });
      this.batches += batches.length;
      this.bytes += result.bytes;
    }
    if (!image) {
      if (batches.length > 0) this.request(this.from);
      return; // nothing, or no state: the peer's is not settled yet; asked again on the core's next prompt
    }
    if (partition.nextOffset !== total) throw new CatchUpRefused(`the final chunk ends at offset ${partition.nextOffset}, not at the peer's committed end ${total}`);
    replaceOffsets(home, image.offsets);
    partition.flush(); // under an interval fsync policy, the appended batches are durable before the core hears of them
    this.host.installed(Number(v.getBigUint64(Xfer.op, true)), v.getBigUint64(Xfer.checksum, true), image.clients, image.offsets);
    log.info(`partition ${this.host.name}: caught up from replica ${this.from}: ${this.batches} batch(es), ${this.bytes} B appended, offsets up to ${total}`);
    this.said = '';
  }

  // The peer's retention removed everything this replica could keep of its log (the core's TAIL_REBASE): what it holds
  // goes, its log starts again at the peer's first offset, and the next step pulls from there.
  private async rebase(first: number, total: number): Promise<void> {
    if (first > total) throw new CatchUpRefused(`the peer said to start at offset ${first}, past its committed end ${total}`);
    const partition = this.host.home.partition;
    this.appending = true;
    await this.host.home.idle();
    this.appending = false;
    log.warn(`partition ${this.host.name}: replica ${this.from}'s log starts at offset ${first}, past all this replica can keep of offsets ${partition.firstOffset}..${partition.nextOffset - 1} (retention removed them there): it starts its log again at ${first}`);
    partition.rebase(first);
    this.request(this.from);
  }

  private id(): { cluster: bigint; group: bigint; replica: number } {
    return { cluster: this.host.cluster, group: this.host.group, replica: this.host.replica };
  }

  // Why the catch-up does not go on (what was said last), or '' while it does.
  get waitingFor(): string {
    return this.said;
  }

  private say(line: string): void {
    if (line === this.said) return;
    this.said = line;
    log.warn(line);
  }
}

// The committed batches from `from` (a batch boundary) up to `end`, whole, as many as fit `room` bytes.
function committedBatches(home: PartitionHome, from: number, end: number, room: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let bytes = 0;
  for (const b of home.partition.readFromOffset(from, room)) {
    if (b.baseOffset >= end || bytes + b.bytes.length > room) break;
    if (out.length === 0 && b.baseOffset !== from) throw new CatchUpRefused(`no batch starts at offset ${from}`);
    out.push(b.bytes);
    bytes += b.bytes.length;
  }
  return out;
}

// Each batch passes the core's full verification and starts where the one before it ended, from `keep`, within
// the peer's committed end: their append times, as stored.
function checkedRun(home: PartitionHome, batches: Uint8Array[], keep: number, total: number): number[] {
  let expected = keep;
  return batches.map((b) => {
    const d = view(b);
    if (baseOf(b) !== expected) throw new CatchUpRefused(`a batch at offset ${baseOf(b)} where ${expected} was expected`);
    const verdict = home.verify(b);
    if (verdict !== CoreJournalBatch.BATCH_OK) throw new CatchUpRefused(`the batch at offset ${expected} fails its checksums (verdict ${verdict})`);
    expected += d.getUint32(CoreJournalBatch.B_COUNT, true);
    if (expected > total) throw new CatchUpRefused(`batches past the peer's committed end ${total}`);
    return Number(d.getBigUint64(CoreJournalBatch.B_BASE_TIMESTAMP, true));
  });
}

// The peer's consumer offsets replace this replica's (they are the group's state as of the peer's committed end).
function replaceOffsets(home: PartitionHome, theirs: ConsumerOffset[]): void {
  const keys = new Set(theirs.map((o) => `${o.kind}:${o.id}`));
  for (const o of home.offsets.entries()) if (!keys.has(`${o.kind}:${o.id}`)) home.offsets.delete(o.kind, o.id);
  for (const o of theirs) home.offsets.store(o.kind, o.id, o.offset);
  home.offsets.flush();
}

// u32 client table length | client table | u32 offsets | offsets (OFFSET_ENTRY_BYTES each)
function encodeImage(clients: Uint8Array, offsets: ConsumerOffset[]): Uint8Array {
  const out = new Uint8Array(8 + clients.length + offsets.length * OFFSET_ENTRY_BYTES);
  const v = view(out);
  v.setUint32(0, clients.length, true);
  out.set(clients, 4);
  let at = 4 + clients.length;
  v.setUint32(at, offsets.length, true);
  at += 4;
  for (const o of offsets) {
    out[at] = o.kind;
    v.setUint32(at + 4, o.id, true);
    v.setBigUint64(at + 8, BigInt(o.offset), true);
    at += OFFSET_ENTRY_BYTES;
  }
  return out;
}

// The state at the front of a final chunk, and its length (the last batches follow it).
function decodeImage(attachment: Uint8Array): { clients: Uint8Array; offsets: ConsumerOffset[]; length: number } {
  const v = view(attachment);
  const short = () => new CatchUpRefused(`a final chunk of ${attachment.length} B is cut short`);
  if (attachment.length < 8) throw short();
  const clientsLength = v.getUint32(0, true);
  if (8 + clientsLength > attachment.length) throw short();
  const clients = attachment.subarray(4, 4 + clientsLength);
  let at = 4 + clientsLength;
  const count = v.getUint32(at, true);
  at += 4;
  if (at + count * OFFSET_ENTRY_BYTES > attachment.length) throw short();
  const offsets: ConsumerOffset[] = [];
  for (let i = 0; i < count; i++, at += OFFSET_ENTRY_BYTES) {
    const kind = attachment[at];
    if (kind !== 1 && kind !== 2) throw new CatchUpRefused(`a consumer offset of kind ${kind}`);
    offsets.push({ kind: kind as ConsumerKind, id: v.getUint32(at + 4, true), offset: Number(v.getBigUint64(at + 8, true)) });
  }
  return { clients, offsets, length: at };
}

// A chunk's whole batches (their headers' lengths), views of it.
function splitBatches(attachment: Uint8Array): Uint8Array[] {
  const v = view(attachment);
  const batches: Uint8Array[] = [];
  for (let at = 0; at < attachment.length;) {
    if (at + CoreJournalBatch.BATCH_HEADER > attachment.length) throw new CatchUpRefused(`a chunk of ${attachment.length} B is cut short`);
    const length = Number(v.getBigUint64(at + CoreJournalBatch.B_LENGTH, true));
    if (length < CoreJournalBatch.BATCH_HEADER || at + length > attachment.length) throw new CatchUpRefused(`a chunk of ${attachment.length} B is cut short`);
    batches.push(attachment.subarray(at, at + length));
    at += length;
  }
  return batches;
}

function baseOf(batch: Uint8Array): number {
  return Number(view(batch).getBigUint64(CoreJournalBatch.B_BASE_OFFSET, true));
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
