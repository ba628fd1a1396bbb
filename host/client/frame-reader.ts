// Frames from a socket read with net's `onread`: the kernel writes a large frame (a poll's megabyte of records)
// straight into the buffer it is delivered in, instead of into 64 KiB chunks that are then joined, which copied
// every byte once more on the client. Small frames are read into a reused scratch and copied out, a few at a time.
// Framing as FrameSplitter: a header of 256 bytes, its size field, sizes outside [256, max] are a WireError.
import { WireError } from '../shared/wire/buffer.js';
import { HEADER_SIZE, MAX_FRAME_SIZE, frameSize } from '../shared/wire/header.js';

const SCRATCH_BYTES = 64 << 10;

export class FrameReader {
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private held = 0; // bytes at the start of the scratch not yet delivered
  private frame: Buffer | null = null; // a frame too large for the scratch, being read into its own buffer
  private filled = 0;

  constructor(private readonly deliver: (frame: Uint8Array) => void, private readonly maxFrameSize = MAX_FRAME_SIZE) {}

  // Where the next read goes: the rest of the frame being filled, or the free part of the scratch. Never more than
  // the frame still needs, so a read never runs into the next frame.
  target(): Buffer {
    return this.frame ? this.frame.subarray(this.filled) : this.scratch.subarray(this.held);
  }

  // `n` bytes were read into the last target(): delivers every frame they complete, in order.
  arrived(n: number): void {
    if (this.frame) {
      this.filled += n;
      if (this.filled < this.frame.length) return;
      const done = this.frame;
      this.frame = null;
      this.deliver(plain(done));
      return;
    }
    this.held += n;
    let at = 0;
    while (this.held - at >= HEADER_SIZE) {
      const size = frameSize(this.scratch.subarray(at));
      if (size < HEADER_SIZE || size > this.maxFrameSize) throw new WireError(`frame size ${size} is outside [${HEADER_SIZE}, ${this.maxFrameSize}]`);
      if (this.held - at < size) break;
      this.deliver(plain(Buffer.from(this.scratch.subarray(at, at + size)))); // a copy: the scratch is read into again
      at += size;
    }
    if (at > 0) this.scratch.copy(this.scratch, 0, at, this.held);
    this.held -= at;
    if (this.held < HEADER_SIZE) return;
    const size = frameSize(this.scratch);
    if (size <= SCRATCH_BYTES) return;
    this.frame = Buffer.allocUnsafeSlow(size); // unpooled: the frame is handed over whole
    this.scratch.copy(this.frame, 0, 0, this.held);
    this.filled = this.held;
    this.held = 0;
  }
}

// Frames are handed over as plain Uint8Arrays (what the SDK's decoders and its users get), over the same memory.
function plain(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
