// State transfer of the metadata group over the replica plane (the core decides when: assembly/vsr/state_sync.ts).
// The requester sends StateRequest (a transfer id); the peer answers with its state at its commit as StateChunk
// messages, each a checksummed VSR message whose body is a slice of the transfer image:
//   u32 client table length | client table image (host/shared/client-table-image.ts) | snapshot file bytes
// The snapshot file bytes are exactly the checkpoint file's (snapshot-file.ts: SHA-256 of header and payload), so
// the receiver checks the same checksums before it installs anything. Chunks arrive in order on one link; a gap
// (a chunk the bus dropped) abandons the transfer, and the core's next request starts a new one.
import { ShardlogError } from '../../shared/errors.js';
import { Command, H, HEADER_SIZE, MESSAGE_MAX, Xfer } from '../../shared/vsr-abi.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot-file.js';

export const CHUNK_BYTES = MESSAGE_MAX - HEADER_SIZE;
const IMAGE_MAX = 1 << 30; // a transfer announcing more is refused before anything is buffered

export class StateTransferRefused extends ShardlogError {
  constructor(message: string) { super('StateTransferRefused', message); }
}

export interface TransferHeader {
  cluster: bigint;
  group: bigint;
  replica: number; // the sender
  transfer: bigint;
}

export interface ReceivedState {
  snapshot: Snapshot;
  clients: Uint8Array;
}

export function encodeImage(snapshot: Snapshot, clients: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(clients.length, 0);
  return Buffer.concat([length, clients, encodeSnapshot(snapshot)]);
}

// SnapshotCorrupt or StateTransferRefused unless the image is intact.
export function decodeImage(image: Buffer, source: string): ReceivedState {
  if (image.length < 4) throw new StateTransferRefused(`transfer image from ${source} of ${image.length} B`);
  const n = image.readUInt32LE(0);
  if (4 + n > image.length) throw new StateTransferRefused(`transfer image from ${source}: client table of ${n} B in ${image.length} B`);
  const snapshot = decodeSnapshot(image.subarray(4 + n), source, 'transfer refused');
  return { snapshot, clients: image.subarray(4, 4 + n) };
}

// Unsealed messages (the caller seals each with the core's checksum).
export function stateRequest(h: TransferHeader): Uint8Array {
  return transferHeader(h, Command.StateRequest, HEADER_SIZE);
}

export function stateChunks(h: TransferHeader, op: number, checksum: bigint, image: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < image.length || offset === 0; offset += CHUNK_BYTES) {
    const body = image.subarray(offset, Math.min(image.length, offset + CHUNK_BYTES));
    const m = transferHeader(h, Command.StateChunk, HEADER_SIZE + body.length);
    const v = new DataView(m.buffer);
    v.setBigUint64(Xfer.op, BigInt(op), true);
    v.setBigUint64(Xfer.checksum, checksum, true);
    v.setBigUint64(Xfer.offset, BigInt(offset), true);
    v.setBigUint64(Xfer.total, BigInt(image.length), true);
    m.set(body, HEADER_SIZE);
    out.push(m);
    if (image.length === 0) break;
  }
  return out;
}

// A transfer message of `size` bytes (StateRequest or StateChunk): cluster, size, command, sender, group, transfer
// id; the rest zero (a partition's catch-up fills its own fields: partition-catch-up.ts).
export function transferHeader(h: TransferHeader, command: number, size: number): Uint8Array {
  const m = new Uint8Array(size);
  const v = new DataView(m.buffer);
  v.setBigUint64(H.cluster, h.cluster & 0xffff_ffff_ffff_ffffn, true);
  v.setUint32(H.size, size, true);
  m[H.command] = command;
  m[H.replica] = h.replica;
  v.setBigUint64(Xfer.group, h.group, true);
  v.setBigUint64(Xfer.transfer, h.transfer, true);
  return m;
}

export function transferIdOf(message: Uint8Array): bigint {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getBigUint64(Xfer.transfer, true);
}

// The requester's side: one transfer at a time, from one peer, assembled in order.
export class TransferReceiver {
  private image: Buffer | null = null;
  private received = 0;
  private op = 0;
  private checksum = 0n;

  constructor(readonly transfer: bigint, readonly from: number) {}

  // The complete state once its last chunk arrived (checksums verified), null while more is to come; throws
  // StateTransferRefused / SnapshotCorrupt for a chunk that breaks the transfer (it is abandoned).
  accept(message: Uint8Array): ReceivedState | null {
    const v = new DataView(message.buffer, message.byteOffset, message.byteLength);
    const offset = Number(v.getBigUint64(Xfer.offset, true));
    const total = Number(v.getBigUint64(Xfer.total, true));
    const op = Number(v.getBigUint64(Xfer.op, true));
    const checksum = v.getBigUint64(Xfer.checksum, true);
    const body = message.subarray(HEADER_SIZE);
    if (total > IMAGE_MAX) throw new StateTransferRefused(`transfer ${this.transfer} announces ${total} B (> ${IMAGE_MAX})`);
    if (this.image === null) {
      if (offset !== 0) throw new StateTransferRefused(`transfer ${this.transfer}: first chunk at offset ${offset}`);
      this.image = Buffer.alloc(total);
      this.op = op;
      this.checksum = checksum;
    }
    if (total !== this.image.length || op !== this.op || checksum !== this.checksum) {
      throw new StateTransferRefused(`transfer ${this.transfer}: a chunk describes another state (op ${op}, ${total} B)`);
    }
    if (offset !== this.received || offset + body.length > total) {
      throw new StateTransferRefused(`transfer ${this.transfer}: chunk at ${offset}, expected ${this.received} (a chunk was lost)`);
    }
    this.image.set(body, offset);
    this.received += body.length;
    if (this.received < total) return null;
    const state = decodeImage(this.image, `replica ${this.from}`);
    if (state.snapshot.op !== op || state.snapshot.checksum !== checksum) {
      throw new StateTransferRefused(`transfer ${this.transfer}: the snapshot covers op ${state.snapshot.op}, the chunks said op ${op}`);
    }
    return state;
  }
}
