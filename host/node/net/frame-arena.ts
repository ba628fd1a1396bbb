// Room in the shared memory for large client frames (SendMessages batches): a frame assembled here is readable by
// every shard, so the partition's owner stages the batch from where it lies and writes it to its file from there,
// instead of the home shard copying it into a ring and the owner copying it out again (two 1 MiB copies per batch
// on the busiest thread). The home shard takes and releases regions; an owner only reads and stamps a region
// between the request that names it and its reply, after which the home shard releases it.
// First fit over extents kept sorted and merged; a frame that does not fit goes to the JS heap as before.

const ALIGN = 64;
const MIB = 1 << 20;

// How much of a shard's storage region the arena takes: a quarter of what is left, at most 32 MiB (32 frames of
// the usual 1 MiB batch in flight), none below 4 MiB (the frames then simply stay on the JS heap).
export function frameArenaBytes(unallocated: number): number {
  const bytes = Math.min(32 * MIB, Math.floor(unallocated / 4 / MIB) * MIB);
  return bytes >= 4 * MIB ? bytes : 0;
}

interface Extent {
  at: number;
  len: number;
}

export class FrameArena {
  private readonly free: Extent[];
  private readonly live = new Map<number, number>(); // start → aligned length
  private inUse = 0;

  constructor(private readonly u8: Uint8Array, readonly base: number, readonly size: number) {
    if (base % ALIGN !== 0 || size <= 0) throw new Error(`frame arena [${base}, +${size}) must be ${ALIGN}-byte aligned and not empty`);
    this.free = [{ at: base, len: size - (size % ALIGN) }];
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  get regions(): number {
    return this.live.size;
  }

  // A region of `bytes` as a Buffer over the shared memory, or null when no free extent is large enough.
  take(bytes: number): Buffer | null {
    const len = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const index = this.free.findIndex((e) => e.len >= len);
    if (index < 0) return null;
    const extent = this.free[index];
    const at = extent.at;
    if (extent.len === len) this.free.splice(index, 1);
    else { extent.at += len; extent.len -= len; }
    this.live.set(at, len);
    this.inUse += len;
    return Buffer.from(this.u8.buffer, this.u8.byteOffset + at, bytes);
  }

  // True for a view that starts a region this arena handed out and has not taken back.
  owns(view: Uint8Array): boolean {
    return view.buffer === this.u8.buffer && this.live.has(view.byteOffset - this.u8.byteOffset);
  }

  release(view: Uint8Array): void {
    const at = view.byteOffset - this.u8.byteOffset;
    const len = this.live.get(at);
    if (view.buffer !== this.u8.buffer || len === undefined) throw new Error(`frame arena: release of a region it does not hold (at ${at})`);
    this.live.delete(at);
    this.inUse -= len;
    let index = this.free.findIndex((e) => e.at > at);
    if (index < 0) index = this.free.length;
    this.free.splice(index, 0, { at, len });
    // Merge with the next extent, then with the previous one.
    const next = this.free[index + 1];
    if (next && at + len === next.at) {
      this.free[index].len += next.len;
      this.free.splice(index + 1, 1);
    }
    const previous = this.free[index - 1];
    if (previous && previous.at + previous.len === at) {
      previous.len += this.free[index].len;
      this.free.splice(index, 1);
    }
  }
}
