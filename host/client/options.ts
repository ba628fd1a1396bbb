// Builders for the TLV entries of option blocks (topic/stream/user options, §7.5) and message user headers (§6.3).
import { utf8 } from '../shared/wire/buffer.js';
import { TlvKind, type TlvEntry } from '../shared/wire/primitives.js';

const u64Bytes = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

export const stringOption = (key: string, value: string): TlvEntry => ({ keyKind: TlvKind.string, key: utf8.encode(key), valueKind: TlvKind.string, value: utf8.encode(value) });
export const u64Option = (key: string, value: bigint): TlvEntry => ({ keyKind: TlvKind.string, key: utf8.encode(key), valueKind: TlvKind.uint64, value: u64Bytes(value) });
export const boolOption = (key: string, value: boolean): TlvEntry => ({ keyKind: TlvKind.string, key: utf8.encode(key), valueKind: TlvKind.bool, value: Uint8Array.of(value ? 1 : 0) });
export const stringHeader = stringOption;
