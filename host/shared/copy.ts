// Byte copies that touch the shared WebAssembly memory. Buffer.copy is a memcpy; TypedArray set() and slice()
// with a SharedArrayBuffer on either side go element by element (measured here: 22 GB/s against 3.6 GB/s).

// `source` into `target` at `at`.
export function copyInto(target: Uint8Array, at: number, source: Uint8Array): void {
  asBuffer(source).copy(asBuffer(target), at);
}

// `len` bytes of `source` from `at`, into a private Buffer.
export function copyOut(source: Uint8Array, at: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  asBuffer(source).copy(out, 0, at, at + len);
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
