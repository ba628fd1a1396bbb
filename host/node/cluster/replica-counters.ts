// The replica plane's state and counters, in a SharedArrayBuffer the main thread creates and hands every shard:
// the shard that handles a peer's link writes that peer's words (one writer each: the listening shard for lower ids,
// the dialing shard for higher ids), /health and /metrics read them. The owner shard of a link is not kept here:
// it is the core's ReplicaOwnerTable, read directly.
import { REFUSAL_NAMES, type Refusal } from './handshake.js';

export const LINK_STATES = ['self', 'down', 'connecting', 'handshaking', 'up'] as const;
export type LinkState = (typeof LINK_STATES)[number];

// Why a frame on an established link was refused (the link is closed): the core's FRAME_* verdicts, by name.
export const FRAME_REFUSALS = ['size', 'cluster', 'replica', 'command', 'group', 'checksum'] as const;
export type FrameRefusal = (typeof FRAME_REFUSALS)[number];

const PEER = { state: 0, ups: 1, downs: 2, attempts: 3, framesIn: 4, framesOut: 5 } as const;
const PEER_WORDS = 8;
// A consensus group's summary record: word 0 says whose (the metadata group: set, 0 until its first tick; a
// partition's: its namespace), the rest where the group stands.
const SUMMARY = { tag: 0, view: 1, op: 2, commit: 3, primary: 4, status: 5, viewChanges: 6 } as const;
const SUMMARY_WORDS = 8;
// The metadata group as shard 0 last published it (every tick): one record.
// The partition groups each shard owns, as that shard last published them (every 100 ms): a count, then one record
// each (the first PARTITION_GROUPS_SHOWN).
export const PARTITION_GROUPS_SHOWN = 256;
const SHARD_PARTITION_WORDS = 1 + PARTITION_GROUPS_SHOWN * SUMMARY_WORDS; // [count shown, records]

export interface PartitionGroupSummary extends GroupSummary {
  namespace: bigint;
}

export interface GroupSummary {
  view: number;
  op: number;
  commit: number;
  primary: boolean;
  status: number; // the core's replica status (Status: normal, view change, recovering)
  viewChanges: number;
}

export class ReplicaCounters {
  private readonly words: BigInt64Array;
  private readonly refusalsAt: number;
  private readonly framesAt: number;
  private readonly groupAt: number;
  private readonly partitionsAt: number;

  constructor(
    readonly peers: number, readonly shards: number,
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer((peers * PEER_WORDS + REFUSAL_NAMES.length + FRAME_REFUSALS.length + SUMMARY_WORDS + shards * SHARD_PARTITION_WORDS) * 8),
  ) {
    this.words = new BigInt64Array(buffer);
    this.refusalsAt = peers * PEER_WORDS;
    this.framesAt = this.refusalsAt + REFUSAL_NAMES.length;
    this.groupAt = this.framesAt + FRAME_REFUSALS.length;
    this.partitionsAt = this.groupAt + SUMMARY_WORDS;
  }

  // A shard's partition groups (its owner shard, every 100 ms). Word by word, as publishGroup.
  publishPartitionGroups(shard: number, groups: PartitionGroupSummary[]): void {
    const at = this.partitionsAt + shard * SHARD_PARTITION_WORDS;
    const shown = Math.min(groups.length, PARTITION_GROUPS_SHOWN);
    for (let i = 0; i < shown; i++) this.writeSummary(at + 1 + i * SUMMARY_WORDS, groups[i].namespace, groups[i]);
    Atomics.store(this.words, at, BigInt(shown));
  }

  // Every shard's published partition groups.
  partitionGroups(): PartitionGroupSummary[] {
    const groups: PartitionGroupSummary[] = [];
    for (let shard = 0; shard < this.shards; shard++) {
      const at = this.partitionsAt + shard * SHARD_PARTITION_WORDS;
      const shown = Math.min(this.read(at), PARTITION_GROUPS_SHOWN);
      for (let i = 0; i < shown; i++) {
        const r = at + 1 + i * SUMMARY_WORDS;
        groups.push({ namespace: BigInt.asUintN(64, Atomics.load(this.words, r + SUMMARY.tag)), ...this.readSummary(r) });
      }
    }
    return groups;
  }

  // Shard 0, every tick of the metadata group. Word by word: a reader may see a mix of two ticks, never a torn word.
  publishGroup(g: GroupSummary): void {
    this.writeSummary(this.groupAt, 1n, g);
  }

  // The metadata group's last published state, or null before its first tick.
  group(): GroupSummary | null {
    return this.read(this.groupAt + SUMMARY.tag) === 0 ? null : this.readSummary(this.groupAt);
  }

  // The tag last: a record whose tag is set has had every word written once.
  private writeSummary(at: number, tag: bigint, g: GroupSummary): void {
    Atomics.store(this.words, at + SUMMARY.view, BigInt(g.view));
    Atomics.store(this.words, at + SUMMARY.op, BigInt(g.op));
    Atomics.store(this.words, at + SUMMARY.commit, BigInt(g.commit));
    Atomics.store(this.words, at + SUMMARY.primary, g.primary ? 1n : 0n);
    Atomics.store(this.words, at + SUMMARY.status, BigInt(g.status));
    Atomics.store(this.words, at + SUMMARY.viewChanges, BigInt(g.viewChanges));
    Atomics.store(this.words, at + SUMMARY.tag, tag);
  }

  private readSummary(at: number): GroupSummary {
    return {
      view: this.read(at + SUMMARY.view), op: this.read(at + SUMMARY.op), commit: this.read(at + SUMMARY.commit),
      primary: this.read(at + SUMMARY.primary) === 1, status: this.read(at + SUMMARY.status), viewChanges: this.read(at + SUMMARY.viewChanges),
    };
  }

  setState(peer: number, state: LinkState): void {
    Atomics.store(this.words, peer * PEER_WORDS + PEER.state, BigInt(LINK_STATES.indexOf(state)));
  }

  state(peer: number): LinkState {
    return LINK_STATES[Number(Atomics.load(this.words, peer * PEER_WORDS + PEER.state))] ?? 'down';
  }

  private bump(at: number, n = 1): void {
    Atomics.add(this.words, at, BigInt(n));
  }

  private read(at: number): number {
    return Number(Atomics.load(this.words, at));
  }

  linkUp(peer: number): void { this.bump(peer * PEER_WORDS + PEER.ups); }
  linkDown(peer: number): void { this.bump(peer * PEER_WORDS + PEER.downs); }
  dialAttempt(peer: number): void { this.bump(peer * PEER_WORDS + PEER.attempts); }
  frameIn(peer: number): void { this.bump(peer * PEER_WORDS + PEER.framesIn); }
  frameOut(peer: number): void { this.bump(peer * PEER_WORDS + PEER.framesOut); }
  refused(reason: Refusal): void { this.bump(this.refusalsAt + REFUSAL_NAMES.indexOf(reason)); }
  frameRefused(reason: FrameRefusal): void { this.bump(this.framesAt + FRAME_REFUSALS.indexOf(reason)); }

  // Times the link came up again after it had been up: what an operator watching a flapping link wants.
  reconnects(peer: number): number {
    return Math.max(0, this.read(peer * PEER_WORDS + PEER.ups) - 1);
  }

  peer(peer: number): { state: LinkState; ups: number; downs: number; reconnects: number; dialAttempts: number; framesIn: number; framesOut: number } {
    const at = peer * PEER_WORDS;
    return {
      state: this.state(peer), ups: this.read(at + PEER.ups), downs: this.read(at + PEER.downs), reconnects: this.reconnects(peer),
      dialAttempts: this.read(at + PEER.attempts), framesIn: this.read(at + PEER.framesIn), framesOut: this.read(at + PEER.framesOut),
    };
  }

  refusals(): { reason: Refusal; count: number }[] {
    return REFUSAL_NAMES.map((reason, i) => ({ reason, count: this.read(this.refusalsAt + i) }));
  }

  framesRefused(): { reason: FrameRefusal; count: number }[] {
    return FRAME_REFUSALS.map((reason, i) => ({ reason, count: this.read(this.framesAt + i) }));
  }
}
