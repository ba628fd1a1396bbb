// One shard's part of the replica plane: the message bus between this replica and its peers.
//
// Links. The lower replica id dials the higher (handshake.ts). Node cannot hand a socket to another thread, so a link
// stays on the shard that accepted or dialled it: the replica port is bound by one shard (replicaListenShard, shard
// 1 when there are several: shard 0 already serves every client connection and runs the metadata group, as Iggy
// skips shard 0 for replicas), and the link to a higher peer is dialled by replicaDialShard(peer), spread over the
// non-zero shards. The shard that installs a link stamps the core's ReplicaOwnerTable slot of its peer with a CAS
// (ownerClaim: a second live link to that peer is refused) and CAS-clears it with its token when the link goes;
// nothing about links is broadcast.
//
// Frames. A message from a peer is checked by the core (replicaFrameHeader / replicaFrameBody) on the link's shard,
// routed by the core (routeConsensusFrame: the metadata group to shard 0, a partition group by its namespace) and
// either delivered to this shard's registry or put in the group's shard's ring as a consensus frame. A message to
// peer R (send) goes to R's owner shard, read from the table, as a FORWARD_REPLICA_SEND frame, or to the socket when
// this shard owns the link. Every ring send is try-send-or-drop (VSR retransmits what is lost); every drop, at either
// end, is counted in frame_drops_total{variant,reason}.
import net from 'node:net';
import { type CoreExports } from '../../shared/core.js';
import { CoreVsrReplicaFrame as RF } from '../../shared/core-abi.generated.js';
import { copyInto, copyOut } from '../../shared/copy.js';
import { ConsensusKind, DROP_REASON, DROP_VARIANT, F, FRAME_HEADER, Lifecycle, Variant } from '../../shared/frames.js';
import { LogLimiter } from '../../shared/log-limiter.js';
import { H, HEADER_SIZE } from '../../shared/vsr-abi.js';
import { logger } from '../../shared/log.js';
import { ConsensusRegistry } from './consensus-registry.js';
import { CopyPool, type PooledCopy } from './copy-pool.js';
import { REFUSALS, type Identity, type Refusal } from './handshake.js';
import { ReplicaCounters, type FrameRefusal } from './replica-counters.js';
import { ReplicaLink, type LinkHost } from './replica-link.js';
import { formatHostPort, type ClusterSettings } from './roster.js';

// Reconnect delays: exponential from the minimum, capped, with full jitter (TigerBeetle's message bus backs off
// within connection_delay_min_ms..connection_delay_max_ms the same way): peers that restart together do not dial
// in lock-step, and a peer that is down costs one connect per second at most.
export const DIAL_DELAY_MIN_MS = 50;
export const DIAL_DELAY_MAX_MS = 1_000;
// Link liveness (replica-link.ts): a ping a second; a link silent for 5 s is closed and redialled. Any frame is a
// sign of life, so a busy link sends pings that are never needed, 256 B a second.
export const LINK_PING_MS = 1_000;
export const LINK_SILENCE_MS = 5_000;
// At most this many connections may be in their handshake at once (a flood of junk connections is closed at accept).
const HANDSHAKES_MAX = 64;
// Log lines a remote peer can cause: the first of each kind per minute, then a count.
const LOG_WINDOW_MS = 60_000;

export function replicaListenShard(shards: number): number {
  return shards > 1 ? 1 : 0;
}

export function replicaDialShard(peer: number, shards: number): number {
  return shards > 1 ? 1 + (peer % (shards - 1)) : 0;
}

export function dialDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(DIAL_DELAY_MAX_MS, DIAL_DELAY_MIN_MS * 2 ** Math.min(failures, 16));
  return DIAL_DELAY_MIN_MS + Math.floor(random() * (ceiling - DIAL_DELAY_MIN_MS + 1));
}

// A delivered frame (ConsensusRegistry's bytes): the VSR message (its size at its header's size field), and what
// follows it: a prepare's attachment (empty for every other message). Views into the bytes given.
export function splitFrame(frame: Uint8Array): { message: Uint8Array; attachment: Uint8Array } {
  const size = new DataView(frame.buffer, frame.byteOffset, HEADER_SIZE).getUint32(H.size, true);
  return { message: frame.subarray(0, size), attachment: frame.subarray(size) };
}

export interface ReplicaPlaneOptions {
  core: CoreExports;
  memory: WebAssembly.Memory;
  shard: number;
  shards: number;
  cluster: ClusterSettings;
  counters: ReplicaCounters;
  // A new region of this shard's core memory of REPLICA_FRAME_MAX bytes (each call another): one where headers are
  // checked and a prepare's frame with its attachment is built, and one per peer whose link this shard holds, where
  // that link assembles each incoming frame and the core checks it in place (allocated on first use: shards that
  // hold links or send prepares).
  checkRegion: () => number;
}

// A prepare sealed with its attachment (sealAttached), reused for the other backups in the same turn.
interface SealedFrame {
  message: Buffer; //             the prepare as given (to recognise it)
  attachment: Uint8Array; //      as given: where its bytes lie
  head: Buffer; //                the prepare with the attachment's length and checksum under its frame seal
  batchHead: Buffer; //           the attachment's first bytes when sealed (a batch header: stamping rewrites it)
  copy: PooledCopy | null; //     the attachment's private copy, once a link of this shard needs one
  forwarded?: { owner: number; number: bigint }; // the shard it crossed the ring to, under this number
}
const BATCH_HEAD_BYTES = 256;
// Attachment copies' slabs kept for reuse (1 MiB each): enough for the prepares a link's 8 MiB queue holds.
const COPY_SLABS_KEPT = 16;
// Messages from this size on are copied for a link into a pooled slab (below, a copy from Node's small-buffer pool).
const POOLED_COPY_MIN = 64 << 10;

function sameBytes(a: Buffer, b: Uint8Array): boolean {
  return a.length === b.length && a.equals(b);
}

interface Dialer {
  failures: number;
  timer: NodeJS.Timeout | null;
  socket: net.Socket | null; // while connecting (closed at stop: a hanging connect must not hold the thread)
  link: ReplicaLink | null;
}

export class ReplicaPlane implements LinkHost {
  readonly registry = new ConsensusRegistry();
  readonly identity: Identity;
  readonly timeoutMs: number;
  readonly pingMs = LINK_PING_MS;
  readonly silenceMs = LINK_SILENCE_MS;
  private readonly core: CoreExports;
  private readonly u8: Uint8Array;
  private readonly view: DataView;
  private readonly links = new Map<number, ReplicaLink>(); // installed on this shard, by peer
  private readonly handshaking = new Set<ReplicaLink>();
  private readonly dialers = new Map<number, Dialer>();
  private listener: net.Server | null = null;
  private region = 0;
  private readonly linkRegions = new Map<number, number>(); // by peer: where its frames are assembled and checked
  private pingBytes: Buffer | null = null;
  private pongBytes: Buffer | null = null;
  private sealed: SealedFrame | null = null; // the last prepare sealed with its attachment, this turn
  private readonly copies: CopyPool;
  private forwardNumber = 0n; // numbers this shard's forwarded prepares (from 1)
  private readonly lastForwarded = new Map<number, { number: bigint; copy: PooledCopy }>(); // by source shard
  private stopping = false;
  private readonly verdicts: Map<number, FrameRefusal>;
  private readonly log;
  private readonly limited: LogLimiter;

  constructor(private readonly options: ReplicaPlaneOptions) {
    const { core, cluster } = options;
    this.core = core;
    this.u8 = new Uint8Array(options.memory.buffer);
    this.view = new DataView(options.memory.buffer);
    const ids = new Set(cluster.roster.entries.map((e) => e.id));
    this.identity = {
      self: cluster.self, clusterId: cluster.clusterId, rosterHash: cluster.roster.hash, secret: cluster.secret, knows: (id) => ids.has(id),
    };
    this.timeoutMs = cluster.handshakeTimeoutMs;
    this.copies = new CopyPool(core.REPLICA_ATTACHMENT_MAX.value, COPY_SLABS_KEPT);
    this.verdicts = new Map<number, FrameRefusal>([
      [RF.FRAME_SIZE, 'size'], [RF.FRAME_CLUSTER, 'cluster'], [RF.FRAME_REPLICA, 'replica'],
      [RF.FRAME_COMMAND, 'command'], [RF.FRAME_GROUP, 'group'], [RF.FRAME_CHECKSUM, 'checksum'],
    ]);
    this.log = logger(`shard-${options.shard}`);
    this.limited = new LogLimiter(this.log, 1, LOG_WINDOW_MS);
  }

  private get self(): number {
    return this.options.cluster.self;
  }

  // Binds the replica port (on the listening shard) and starts dialling the higher peers this shard dials. Returns
  // the bound address, or null when this shard does not listen.
  async start(): Promise<string | null> {
    const { shard, shards, cluster, counters } = this.options;
    const listens = shard === replicaListenShard(shards);
    const bound = listens ? await this.listen() : null; // first: a node that cannot take its port must not dial
    for (const entry of cluster.roster.entries) {
      if (entry.id === this.self) {
        if (listens) counters.setState(entry.id, 'self');
      } else if (entry.id < this.self) {
        if (listens) counters.setState(entry.id, 'down'); // it dials us
      } else if (replicaDialShard(entry.id, shards) === shard) {
        this.dialers.set(entry.id, { failures: 0, timer: null, socket: null, link: null });
        this.dial(entry.id);
      }
    }
    return bound;
  }

  private async listen(): Promise<string> {
    const own = this.options.cluster.roster.entries[this.self];
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: own.host, port: own.replicaPort }, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (error) => this.log.warn(`replica listener: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    return formatHostPort(own.host, own.replicaPort);
  }

  stop(): void {
    this.stopping = true;
    for (const dialer of this.dialers.values()) {
      if (dialer.timer) clearTimeout(dialer.timer);
      dialer.socket?.destroy();
    }
    for (const link of [...this.handshaking, ...this.links.values()]) link.close();
    this.listener?.close();
    this.listener = null;
    this.limited.flushAll();
  }

  // --- the bus -------------------------------------------------------------------------------------------------

  // Sends one VSR message to replica `replica`, try-send-or-drop: false (and counted) when it cannot go now.
  send(replica: number, message: Uint8Array): boolean {
    if (replica === this.self || !this.identity.knows(replica)) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.unroutable);
    const owner = this.core.replicaOwner(replica);
    if (owner < 0) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.disconnected);
    if (owner === this.options.shard) return this.writeToLink(replica, message, DROP_REASON.disconnected);
    const at = this.core.sendBegin(owner, Variant.lifecycle, Lifecycle.forwardReplicaSend, replica, message.length);
    if (at === 0) return false; // the core counted it (full ring, oversize)
    copyInto(this.u8, at, message);
    this.core.sendCommit();
    this.core.shardFlush();
    return true;
  }

  // Sends a prepare with its attachment (the real body its descriptor binds: a metadata body, a partition batch)
  // as one frame: the core stamps the attachment's length and checksum into the prepare's frame seal
  // (replicaFrameAttach); the receiver's check covers both. Try-send-or-drop like send(); an attachment the core
  // refuses (above REPLICA_ATTACHMENT_MAX, or on anything but a prepare) is dropped as oversize.
  // The frame is sealed once for all the backups a prepare goes to (sealAttached), and leaves from where its parts
  // lie: to a link of this shard as the sealed prepare and one private copy of the attachment, written together
  // (both links share them); to another shard's link copied straight into the ring.
  sendAttached(replica: number, message: Uint8Array, attachment: Uint8Array): boolean {
    if (attachment.length === 0) return this.send(replica, message);
    const frame = this.sealAttached(message, attachment);
    if (!frame) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.oversize);
    if (replica === this.self || !this.identity.knows(replica)) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.unroutable);
    const owner = this.core.replicaOwner(replica);
    if (owner < 0) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.disconnected);
    if (owner === this.options.shard) {
      // The batch's memory is its writer's, not the socket's: one private copy, held by each write of it.
      const copy = frame.copy ?? (frame.copy = this.copies.copy(attachment));
      copy.retain();
      const sent = this.writeToLink(replica, [frame.head, copy.bytes], DROP_REASON.disconnected, () => copy.release());
      if (!sent) copy.release();
      return sent;
    }
    // The frame crossed to that shard for another backup this turn: it is told to send its copy again (an empty
    // forward naming the first one's number), not given the batch twice.
    const again = frame.forwarded?.owner === owner;
    const at = this.core.sendBegin(owner, Variant.lifecycle, Lifecycle.forwardReplicaSend, replica, again ? 0 : frame.head.length + attachment.length);
    if (at === 0) return false; // the core counted it (full ring, oversize)
    if (!again) {
      copyInto(this.u8, at, frame.head);
      copyInto(this.u8, at + frame.head.length, frame.copy?.bytes ?? attachment);
      frame.forwarded = { owner, number: ++this.forwardNumber };
    }
    this.view.setBigUint64(at - FRAME_HEADER + F.group, frame.forwarded!.number, true);
    this.core.sendCommit();
    this.core.shardFlush();
    return true;
  }

  // The prepare sealed with this attachment: the core hashes the attachment where it lies (a batch in the frame
  // arena is not copied for it), once per prepare: the driver sends one prepare to every backup in one walk of its
  // outbox, so the last sealing is reused within the same turn for the same prepare bytes and the same attachment
  // (the same memory, whose batch header is unchanged: a primary's own append stamps its batch in place). Null when
  // the core refuses it.
  private sealAttached(message: Uint8Array, attachment: Uint8Array): SealedFrame | null {
    const last = this.sealed;
    if (last && last.attachment.buffer === attachment.buffer && last.attachment.byteOffset === attachment.byteOffset
      && last.attachment.length === attachment.length
      && sameBytes(last.message, message) && sameBytes(last.batchHead, attachment.subarray(0, last.batchHead.length))) {
      return last;
    }
    if (message.length + attachment.length > this.core.REPLICA_FRAME_MAX.value) return null;
    const at = this.checked();
    copyInto(this.u8, at, message);
    let from = at + message.length;
    if (attachment.buffer === this.u8.buffer) from = attachment.byteOffset;
    else copyInto(this.u8, from, attachment);
    if (!this.core.replicaFrameAttach(at, from, attachment.length)) return null;
    const frame: SealedFrame = {
      message: copyOut(message, 0, message.length), attachment, head: copyOut(this.u8, at, message.length),
      batchHead: copyOut(attachment, 0, Math.min(attachment.length, BATCH_HEAD_BYTES)), copy: null,
    };
    this.sealed = frame;
    queueMicrotask(() => { // this turn only
      if (this.sealed === frame) this.sealed = null;
      frame.copy?.release(); // the sealing's hold: the slab returns once the links' writes are done
    });
    return frame;
  }

  // Ring frames of the replica plane: a consensus message for a group on this shard, or a message to send on a link
  // this shard owns. False for every other frame (the shard's mailbox takes it).
  onFrame(frame: number): boolean {
    const variant = this.view.getUint8(frame + F.variant);
    const kind = this.view.getUint8(frame + F.kind);
    const at = frame + FRAME_HEADER;
    const length = this.view.getUint32(frame + F.payloadLen, true);
    if (variant === Variant.consensus && kind === ConsensusKind.control) {
      if (this.core.routeConsensusFrame(at, this.options.shards) !== this.options.shard) {
        this.dropped(DROP_VARIANT.consensus, DROP_REASON.misrouted);
        return true;
      }
      this.deliver(this.view.getBigUint64(frame + F.group, true), at, length);
      return true;
    }
    if (variant === Variant.lifecycle && kind === Lifecycle.forwardReplicaSend) {
      this.forwarded(frame, at, length);
      return true;
    }
    return false;
  }

  // A message another shard forwards to a link of this shard. A prepare with its attachment comes numbered (the
  // frame's group word): its copy is kept until the next numbered one from that shard, so that an empty forward
  // naming the same number sends it to another backup; an empty forward naming another (the numbered one was
  // dropped on the ring) is dropped as a forward failure, and VSR retransmits. Any failure to write is a forward
  // failure too: the link went (or moved) after the sender read the owner table.
  private forwarded(frame: number, at: number, length: number): void {
    const replica = this.view.getUint32(frame + F.correlation, true);
    const number = this.view.getBigUint64(frame + F.group, true);
    if (number === 0n) {
      this.writeToLink(replica, this.u8.subarray(at, at + length), DROP_REASON.delivery_failed);
      return;
    }
    const source = this.view.getUint16(frame + F.source, true);
    let copy: PooledCopy;
    if (length > 0) {
      copy = this.copies.copy(this.u8.subarray(at, at + length));
      this.lastForwarded.get(source)?.copy.release();
      this.lastForwarded.set(source, { number, copy }); // the initial hold: until the next one from that shard
    } else {
      const last = this.lastForwarded.get(source);
      if (last?.number !== number) {
        this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.delivery_failed);
        return;
      }
      copy = last.copy;
    }
    copy.retain();
    if (!this.writeToLink(replica, [copy.bytes], DROP_REASON.delivery_failed, () => copy.release())) copy.release();
  }

  // One message (copied: a large one, a prepare with its attachment forwarded by another shard, into a pooled slab),
  // or the parts of a sealed frame (written as they are: private to the plane; `written` is called once the socket
  // is done with them, when it took them).
  private writeToLink(replica: number, message: Uint8Array | Buffer[], missing: number, written?: () => void): boolean {
    const link = this.links.get(replica);
    if (!link?.up) return this.dropped(DROP_VARIANT.forward_replica_send, missing);
    let sent: boolean;
    if (Array.isArray(message)) sent = link.sendParts(message, written);
    else if (message.length < POOLED_COPY_MIN) sent = link.send(message);
    else {
      const copy = this.copies.copy(message);
      sent = link.sendParts([copy.bytes], () => copy.release());
      if (!sent) copy.release();
    }
    if (!sent) return this.dropped(DROP_VARIANT.forward_replica_send, DROP_REASON.full);
    this.options.counters.frameOut(replica);
    return true;
  }

  private deliver(group: bigint, at: number, length: number): void {
    if (!this.registry.deliver(group, this.u8.subarray(at, at + length))) this.dropped(DROP_VARIANT.consensus, DROP_REASON.namespace_miss);
  }

  private dropped(variant: number, reason: number): false {
    this.core.frameDropped(variant, reason);
    return false;
  }

  // --- links ---------------------------------------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.stopping) return void socket.destroy();
    if (this.handshaking.size >= HANDSHAKES_MAX) {
      this.options.counters.refused('handshake_limit');
      this.limited.log('replica handshake refused: handshake_limit', `replica handshake refused (handshake_limit) from ${socket.remoteAddress}:${socket.remotePort}: ${REFUSALS.handshake_limit}`, 'warn');
      return void socket.destroy();
    }
    this.handshaking.add(new ReplicaLink(socket, 'accept', null, this));
  }

  private dial(peer: number): void {
    const dialer = this.dialers.get(peer)!;
    dialer.timer = null;
    if (this.stopping) return;
    const { counters, cluster } = this.options;
    const entry = cluster.roster.entries[peer];
    counters.setState(peer, 'connecting');
    counters.dialAttempt(peer);
    const socket = net.connect({ host: entry.host, port: entry.replicaPort });
    dialer.socket = socket;
    let connected = false;
    socket.on('error', () => {}); // the close that follows decides
    socket.once('close', () => {
      if (dialer.socket === socket) dialer.socket = null;
      if (!connected) this.redial(peer); // refused, unreachable, timed out
    });
    // A connect that hangs (a peer host that drops SYNs) is given up like a refused one.
    socket.setTimeout(this.timeoutMs, () => socket.destroy());
    socket.once('connect', () => {
      connected = true;
      dialer.socket = null; // the link has it now
      socket.setTimeout(0);
      if (this.stopping) return void socket.destroy();
      counters.setState(peer, 'handshaking');
      const link = new ReplicaLink(socket, 'dial', peer, this);
      dialer.link = link;
      this.handshaking.add(link);
    });
  }

  private redial(peer: number): void {
    const dialer = this.dialers.get(peer);
    if (!dialer || this.stopping || dialer.timer) return;
    dialer.link = null;
    this.options.counters.setState(peer, 'connecting');
    dialer.timer = setTimeout(() => this.dial(peer), dialDelayMs(dialer.failures++));
  }

  install(link: ReplicaLink, peer: number): Refusal | null {
    if (this.links.has(peer)) return 'duplicate_replica';
    const token = this.core.replicaOwnerClaim(peer, this.options.shard);
    if (token === 0) return 'duplicate_replica'; // another shard holds a live link to it
    link.token = token;
    this.handshaking.delete(link);
    this.links.set(peer, link);
    const dialer = this.dialers.get(peer);
    if (dialer) dialer.failures = 0;
    const { counters } = this.options;
    counters.setState(peer, 'up');
    counters.linkUp(peer);
    this.log.info(`replica link to ${peer} up (${link.role === 'dial' ? 'dialled' : 'accepted'} ${link.address}, owner shard ${this.options.shard})`);
    return null;
  }

  refused(link: ReplicaLink, reason: Refusal, claimed: number | null): void {
    this.options.counters.refused(reason);
    const who = link.role === 'dial' ? `dialling replica ${claimed}` : `from ${link.address}${claimed === null ? '' : ` claiming replica ${claimed}`}`;
    this.limited.log(`replica handshake refused: ${reason}`, `replica handshake refused (${reason}) ${who}: ${REFUSALS[reason]}`, 'warn');
  }

  frameSize(link: ReplicaLink, header: Buffer): number | FrameRefusal {
    const at = this.checked();
    copyInto(this.u8, at, header);
    const verdict = this.core.replicaFrameHeader(at, this.options.cluster.clusterId, link.peer!);
    return verdict > 0 ? verdict : this.verdictName(verdict);
  }

  // The peer's region (kept across its reconnects: a link reads one frame at a time, and a frame is delivered,
  // synchronously, before the next is read).
  frameTarget(link: ReplicaLink, size: number): Uint8Array {
    let at = this.linkRegions.get(link.peer!);
    if (at === undefined) {
      at = this.options.checkRegion();
      this.linkRegions.set(link.peer!, at);
    }
    return this.u8.subarray(at, at + size);
  }

  // A frame in core memory (frameTarget's) is checked where it lies; any other is copied into the check region.
  frame(link: ReplicaLink, message: Uint8Array): FrameRefusal | null {
    let at: number;
    if (message.buffer === this.u8.buffer) at = message.byteOffset;
    else {
      at = this.checked();
      copyInto(this.u8, at, message);
    }
    const verdict = this.core.replicaFrameBody(at, message.length);
    if (verdict !== RF.FRAME_OK) return this.verdictName(verdict);
    const local = this.core.replicaFrameLinkLocal(at);
    if (local !== RF.LINK_NONE) {
      if (local === RF.LINK_PING) link.send(this.linkMessage(true));
      return null; // a pong: the bytes themselves were the sign of life
    }
    this.options.counters.frameIn(link.peer!);
    const route = this.core.routeConsensusFrame(at, this.options.shards);
    const group = this.core.consensusGroupOf(at);
    if (route === this.options.shard) {
      this.deliver(group, at, message.length);
      return null;
    }
    const frame = this.core.sendBegin(route, Variant.consensus, ConsensusKind.control, 0, message.length);
    if (frame === 0) return null; // dropped and counted by the core; VSR retransmits
    copyInto(this.u8, frame, message);
    this.view.setBigUint64(frame - FRAME_HEADER + F.group, group, true);
    this.core.sendCommit();
    this.core.shardFlush();
    return null;
  }

  ping(): Uint8Array {
    return this.linkMessage(false);
  }

  silent(link: ReplicaLink, quietMs: number): void {
    this.limited.log('replica link silent', `replica link to ${link.peer} (${link.address}) heard nothing for ${quietMs} ms: closed, it will be redialled`, 'warn');
  }

  // This replica's ping or pong: the same sealed header every time (built once by the core).
  private linkMessage(pong: boolean): Buffer {
    const cached = pong ? this.pongBytes : this.pingBytes;
    if (cached) return cached;
    const at = this.checked();
    this.core.replicaPingWrite(at, this.options.cluster.clusterId, this.self, pong);
    const bytes = Buffer.from(this.u8.subarray(at, at + HEADER_SIZE));
    if (pong) this.pongBytes = bytes;
    else this.pingBytes = bytes;
    return bytes;
  }

  frameRefused(link: ReplicaLink, reason: FrameRefusal): void {
    this.options.counters.frameRefused(reason);
    this.limited.log(`replica frame refused: ${reason}`, `replica ${link.peer} (${link.address}): frame refused (${reason}), link closed`, 'warn');
  }

  closed(link: ReplicaLink): void {
    this.handshaking.delete(link);
    const peer = link.peer;
    if (peer !== null && link.token !== 0 && this.links.get(peer) === link) {
      this.links.delete(peer);
      this.core.replicaOwnerClear(peer, link.token);
      this.options.counters.linkDown(peer);
      this.options.counters.setState(peer, 'down');
      if (!this.stopping) this.log.info(`replica link to ${peer} down`);
    }
    if (peer !== null && link.role === 'dial' && this.dialers.get(peer)?.link === link) this.redial(peer);
  }

  private checked(): number {
    if (this.region === 0) this.region = this.options.checkRegion();
    return this.region;
  }

  private verdictName(verdict: number): FrameRefusal {
    const name = this.verdicts.get(verdict);
    if (!name) throw new Error(`core: unknown replica frame verdict ${verdict}`);
    return name;
  }
}
