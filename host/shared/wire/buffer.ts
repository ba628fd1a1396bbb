// Bounds-checked little-endian reading and writing of wire bytes. A read past the end is a WireError, never a
// silent zero: every malformed body gets a named error.
export class WireError extends Error {
  // `code` is the Iggy error code to answer with (3 = InvalidCommand unless the spec names another).
  constructor(message: string, readonly code = 3) {
    super(message);
    this.name = 'WireError';
  }
}

export class Reader {
  private readonly view: DataView;
  offset: number;

  constructor(private readonly source: Uint8Array, start = 0, readonly end = source.length) {
    this.view = new DataView(source.buffer, source.byteOffset, source.byteLength);
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private take(n: number, what: string): number {
    if (n < 0 || this.offset + n > this.end) {
      throw new WireError(`truncated body: ${what} needs ${n} byte(s) at offset ${this.offset}, ${this.remaining} left`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(what = 'u8'): number { return this.view.getUint8(this.take(1, what)); }
  u16(what = 'u16'): number { return this.view.getUint16(this.take(2, what), true); }
  u32(what = 'u32'): number { return this.view.getUint32(this.take(4, what), true); }
  u64(what = 'u64'): bigint { return this.view.getBigUint64(this.take(8, what), true); }

  u128(what = 'u128'): bigint {
    const at = this.take(16, what);
    return this.view.getBigUint64(at, true) | (this.view.getBigUint64(at + 8, true) << 64n);
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    const at = this.take(n, what);
    return this.source.subarray(at, at + n);
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }

  // Fails unless the whole body was consumed; `what` names the structure for the error.
  done(what: string): void {
    if (this.remaining !== 0) throw new WireError(`${what}: ${this.remaining} unexpected trailing byte(s)`);
  }
}

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // room() first, then this.view / this.buf: growing replaces them, and `this.view.setX(this.room(n), …)` would
  // write through the stale (smaller) view.
  u8(v: number): this { const at = this.room(1); this.view.setUint8(at, v); return this; }
  u16(v: number): this { const at = this.room(2); this.view.setUint16(at, v, true); return this; }
  u32(v: number): this { const at = this.room(4); this.view.setUint32(at, v >>> 0, true); return this; }
  f32(v: number): this { const at = this.room(4); this.view.setFloat32(at, v, true); return this; }
  u64(v: bigint | number): this { const at = this.room(8); this.view.setBigUint64(at, BigInt(v), true); return this; }

  u128(v: bigint): this {
    const at = this.room(16);
    this.view.setBigUint64(at, v & 0xffff_ffff_ffff_ffffn, true);
    this.view.setBigUint64(at + 8, v >> 64n, true);
    return this;
  }

  bytes(b: Uint8Array): this { const at = this.room(b.length); this.buf.set(b, at); return this; }

  // A u32 length prefix followed by the bytes (strings and option blocks inside responses).
  lenBytes32(b: Uint8Array): this { return this.u32(b.length).bytes(b); }

  // The bytes written. A buffer sized well up front is handed over as it is (a large body is not copied again).
  finish(): Uint8Array {
    if (this.buf.length - this.length <= 256) return this.buf.subarray(0, this.length);
    return this.buf.slice(0, this.length);
  }
}

export const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new WireError(`${what} is not valid UTF-8`);
  }
}
