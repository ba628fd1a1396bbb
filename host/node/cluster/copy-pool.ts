// Private copies of prepare attachments for this shard's replica links, in slabs that are reused once every socket
// write of them is done. A copy per prepare is needed (the batch's memory is its writer's, and a socket may still
// hold the bytes after the op commits and the writer is answered); a fresh half-megabyte buffer per prepare is
// external memory that V8 answers with full garbage collections, so the slabs are kept instead.
// Slabs come from `source` when it has one (a backup's kept batches: regions of the shard's core memory, where the
// append stamps and writes them without a staging copy), else from the JS heap; a slab beyond `keep` goes back.
export interface SlabSource {
  take(bytes: number): Buffer | null;
  give(slab: Buffer): void;
}

export class CopyPool {
  private readonly free: Buffer[] = [];
  private readonly sourced = new WeakSet<Buffer>(); // the slabs `source` gave

  constructor(readonly slabBytes: number, private readonly keep: number, private readonly source: SlabSource | null = null) {}

  // A copy of `bytes`, held once (by the caller; release() it): in a slab when it fits, else a buffer of its own.
  copy(bytes: Uint8Array): PooledCopy {
    const fits = bytes.length <= this.slabBytes;
    let slab = fits ? this.free.pop() : undefined;
    if (!slab && fits) {
      slab = this.source?.take(this.slabBytes) ?? undefined;
      if (slab) this.sourced.add(slab);
    }
    slab ??= Buffer.allocUnsafeSlow(fits ? this.slabBytes : bytes.length);
    const from = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    from.copy(slab, 0); // a memcpy, also out of and into shared memory
    const kept = slab;
    return new PooledCopy(slab.subarray(0, bytes.length), () => {
      if (fits && this.free.length < this.keep) this.free.push(kept);
      else if (this.sourced.delete(kept)) this.source!.give(kept);
    });
  }

  get idle(): number {
    return this.free.length;
  }
}

export class PooledCopy {
  private holds = 1;

  constructor(readonly bytes: Buffer, private readonly done: () => void) {}

  retain(): void {
    this.holds++;
  }

  // The slab goes back when the last holder lets go (and never twice).
  release(): void {
    if (this.holds <= 0) throw new Error('CopyPool: a copy released more often than held');
    if (--this.holds === 0) this.done();
  }
}
