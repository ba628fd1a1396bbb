// The result section of result-framed replies (iggy-client-wire.md §5.2): `u32 count`, count × {u32 index,
// u32 result}, then the payload only when count is 0.
import { Reader, WireError, Writer } from './buffer.js';

export function resultSuccess(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new Writer(4 + payload.length).u32(0).bytes(payload).finish();
}

export function resultRejection(code: number): Uint8Array {
  return new Writer(12).u32(1).u32(0).u32(code).finish();
}

// Client side: the payload of a success, or the error code of the first rejected command.
export function parseResult(body: Uint8Array): { ok: true; payload: Uint8Array } | { ok: false; code: number } {
  const r = new Reader(body);
  if (body.length < 4) throw new WireError(`result section of ${body.length} bytes`);
  const count = r.u32('result count');
  if (body.length < 4 + 8 * count) throw new WireError(`result section announces ${count} entries in ${body.length} bytes`);
  if (count === 0) return { ok: true, payload: r.rest() };
  r.u32('result index');
  return { ok: false, code: r.u32('result code') };
}
