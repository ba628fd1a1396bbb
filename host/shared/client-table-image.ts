// The core's client table as bytes, for a state transfer or a checkpoint (it is replicated state: without it a
// replica that took a snapshot answers a retried request with NoSession, or applies it twice). The host reads and
// writes the table's arrays in place through the core's vsrClientTable* exports.
//   u32 count | u32 entry size (288) | count × (id u64, session u64, request u64, last op u64, reply 256 B)
// The bytes are carried inside checksummed containers (the snapshot file, a transfer's chunks); restoring refuses
// a length that does not match its count or a count beyond the table's capacity (ClientTableImageInvalid).
import { ShardlogError } from './errors.js';
import { HEADER_SIZE, type VsrExports } from './vsr-abi.js';

const IMAGE_ENTRY = 32 + HEADER_SIZE; // one client in the image (the image's own format, not a core layout)
const HEAD = 8;

export class ClientTableImageInvalid extends ShardlogError {
  constructor(message: string) { super('ClientTableImageInvalid', message); }
}

export function readClientTable(core: VsrExports, memory: WebAssembly.Memory, handle: number): Uint8Array {
  const u8 = new Uint8Array(memory.buffer);
  const count = Number(core.vsrClientTableCount(handle)) >>> 0;
  const out = new Uint8Array(HEAD + count * IMAGE_ENTRY);
  const v = new DataView(out.buffer);
  v.setUint32(0, count, true);
  v.setUint32(4, IMAGE_ENTRY, true);
  const fields = [0, 1, 2, 3].map((f) => Number(core.vsrClientTableField(handle, f)) >>> 0);
  const replies = Number(core.vsrClientTableField(handle, 4)) >>> 0;
  for (let i = 0; i < count; i++) {
    const at = HEAD + i * IMAGE_ENTRY;
    fields.forEach((base, f) => out.set(u8.subarray(base + i * 8, base + i * 8 + 8), at + f * 8));
    out.set(u8.subarray(replies + i * HEADER_SIZE, replies + (i + 1) * HEADER_SIZE), at + 32);
  }
  return out;
}

export function writeClientTable(core: VsrExports, memory: WebAssembly.Memory, handle: number, image: Uint8Array): void {
  if (image.length < HEAD) throw new ClientTableImageInvalid(`client table image of ${image.length} B: shorter than its ${HEAD}-byte head`);
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const count = v.getUint32(0, true);
  const entry = v.getUint32(4, true);
  const capacity = Number(core.vsrClientTableCapacity(handle)) >>> 0;
  if (entry !== IMAGE_ENTRY) throw new ClientTableImageInvalid(`client table image entry size ${entry}, expected ${IMAGE_ENTRY}`);
  if (image.length !== HEAD + count * IMAGE_ENTRY) throw new ClientTableImageInvalid(`client table image of ${image.length} B for ${count} entries`);
  if (count > capacity) throw new ClientTableImageInvalid(`client table image holds ${count} clients, this table ${capacity}`);
  const u8 = new Uint8Array(memory.buffer);
  const fields = [0, 1, 2, 3].map((f) => Number(core.vsrClientTableField(handle, f)) >>> 0);
  const replies = Number(core.vsrClientTableField(handle, 4)) >>> 0;
  for (let i = 0; i < count; i++) {
    const at = HEAD + i * IMAGE_ENTRY;
    fields.forEach((base, f) => u8.set(image.subarray(at + f * 8, at + f * 8 + 8), base + i * 8));
    u8.set(image.subarray(at + 32, at + IMAGE_ENTRY), replies + i * HEADER_SIZE);
  }
  core.vsrClientTableSetCount(handle, count);
}
