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
// The metadata group as shard 0 last published it (every tick): set = 0 until the first time.
const GROUP = { set: 0, view: 1, op: 2, commit: 3, primary: 4, status: 5, viewChanges: 6 } as const;
const GROUP_WORDS = 8;
// The partition groups each shard owns, as that shard last published them (every 100 ms): a count, then one record
// each (the first PARTITION_GROUPS_SHOWN; more are counted, not listed).
const PARTITION = { namespace: 0, view: 1, op: 2, commit: 3, primary: 4, status: 5, viewChanges: 6 } as const;
const PARTITION_WORDS = 8;
export const PARTITION_GROUPS_SHOWN = 256;
const SHARD_PARTITION_WORDS = 2 + PARTITION_GROUPS_SHOWN * PARTITION_WORDS; // [count shown, count owned, records]

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
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer((peers * PEER_WORDS + REFUSAL_NAMES.length + FRAME_REFUSALS.length + GROUP_WORDS + shards * SHARD_PARTITION_WORDS) * 8),
  ) {
    this.words = new BigInt64Array(buffer);
    this.refusalsAt = peers * PEER_WORDS;
    this.framesAt = this.refusalsAt + REFUSAL_NAMES.length;
    this.groupAt = this.framesAt + FRAME_REFUSALS.length;
    this.partitionsAt = this.groupAt + GROUP_WORDS;
  }

  // A shard's partition groups (its owner shard, every 100 ms). Word by word, as publishGroup.
  publishPartitionGroups(shard: number, groups: PartitionGroupSummary[]): void {
    const at = this.partitionsAt + shard * SHARD_PARTITION_WORDS;
    const shown = Math.min(groups.length, PARTITION_GROUPS_SHOWN);
    for (let i = 0; i < shown; i++) {
      const g = groups[i];
      const r = at + 2 + i * PARTITION_WORDS;
      Atomics.store(this.words, r + PARTITION.namespace, g.namespace);
      Atomics.store(this.words, r + PARTITION.view, BigInt(g.view));
      Atomics.store(this.words, r + PARTITION.op, BigInt(g.op));
      Atomics.store(this.words, r + PARTITION.commit, BigInt(g.commit));
      Atomics.store(this.words, r + PARTITION.primary, g.primary ? 1n : 0n);
      Atomics.store(this.words, r + PARTITION.status, BigInt(g.status));
      Atomics.store(this.words, r + PARTITION.viewChanges, BigInt(g.viewChanges));
    }
    Atomics.store(this.words, at, BigInt(shown));
    Atomics.store(this.words, at + 1, BigInt(groups.length));
  }

  // Every shard's published partition groups, and how many exist beyond those listed.
  partitionGroups(): { groups: PartitionGroupSummary[]; unlisted: number } {
    const groups: PartitionGroupSummary[] = [];
    let unlisted = 0;
    for (let shard = 0; shard < this.shards; shard++) {
      const at = this.partitionsAt + shard * SHARD_PARTITION_WORDS;
      const shown = Math.min(this.read(at), PARTITION_GROUPS_SHOWN);
      unlisted += Math.max(0, this.read(at + 1) - shown);
      for (let i = 0; i < shown; i++) {
        const r = at + 2 + i * PARTITION_WORDS;
        groups.push({
          namespace: BigInt.asUintN(64, Atomics.load(this.words, r + PARTITION.namespace)), view: this.read(r + PARTITION.view), op: this.read(r + PARTITION.op),
          commit: this.read(r + PARTITION.commit), primary: this.read(r + PARTITION.primary) === 1, status: this.read(r + PARTITION.status),
          viewChanges: this.read(r + PARTITION.viewChanges),
        });
      }
    }
    return { groups, unlisted };
  }

  // Shard 0, every tick of the metadata group. Word by word: a reader may see a mix of two ticks, never a torn word.
  publishGroup(g: GroupSummary): void {
    const at = this.groupAt;
    Atomics.store(this.words, at + GROUP.view, BigInt(g.view));
    Atomics.store(this.words, at + GROUP.op, BigInt(g.op));
    Atomics.store(this.words, at + GROUP.commit, BigInt(g.commit));
    Atomics.store(this.words, at + GROUP.primary, g.primary ? 1n : 0n);
    Atomics.store(this.words, at + GROUP.status, BigInt(g.status));
    Atomics.store(this.words, at + GROUP.viewChanges, BigInt(g.viewChanges));
    Atomics.store(this.words, at + GROUP.set, 1n);
  }

  // The metadata group's last published state, or null before its first tick.
  group(): GroupSummary | null {
    const at = this.groupAt;
    if (this.read(at + GROUP.set) === 0) return null;
    return {
      view: this.read(at + GROUP.view), op: this.read(at + GROUP.op), commit: this.read(at + GROUP.commit),
      primary: this.read(at + GROUP.primary) === 1, status: this.read(at + GROUP.status), viewChanges: this.read(at + GROUP.viewChanges),
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
