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

// `length` bytes of `pieces` (taken back to back as one message) from its byte `from` on, into `target` at `at`.
export function copyPiecesInto(target: Uint8Array, at: number, pieces: Uint8Array[], from: number, length: number): void {
  for (const piece of pieces) {
    if (length === 0) return;
    if (from >= piece.length) {
      from -= piece.length;
      continue;
    }
    const n = Math.min(piece.length - from, length);
    copyInto(target, at, piece.subarray(from, from + n));
    at += n;
    length -= n;
    from = 0;
  }
}

// One buffer of `pieces` back to back (a single piece is returned as it is).
export function joinPieces(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  return Buffer.concat(pieces);
}
