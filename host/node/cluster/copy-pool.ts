// Private copies of prepare attachments for this shard's replica links, in slabs that are reused once every socket
// write of them is done. A copy per prepare is needed (the batch's memory is its writer's, and a socket may still
// hold the bytes after the op commits and the writer is answered); a fresh half-megabyte buffer per prepare is
// external memory that V8 answers with full garbage collections, so the slabs are kept instead.
export class CopyPool {
  private readonly free: Buffer[] = [];

  constructor(readonly slabBytes: number, private readonly keep: number) {}

  // A copy of `bytes`, held once (by the caller; release() it): in a slab when it fits, else a buffer of its own.
  copy(bytes: Uint8Array): PooledCopy {
    const fits = bytes.length <= this.slabBytes;
    const slab = fits ? (this.free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes)) : Buffer.allocUnsafeSlow(bytes.length);
    const source = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    source.copy(slab, 0); // a memcpy, also out of shared memory
    return new PooledCopy(slab.subarray(0, bytes.length), () => {
      if (fits && this.free.length < this.keep) this.free.push(slab);
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
