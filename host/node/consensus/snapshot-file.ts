// The metadata checkpoint, `<metadata dir>/snapshot`: the state machine's snapshot bytes and the op they cover.
//   magic "SLSN" u32 | version u32 | op u64 | core prepare checksum of op u64 | payload length u64
//   | SHA-256 of the payload (32 B) | SHA-256 of bytes 0..64 (32 B) | payload
// SHA-256 rather than the core's XXH3: a snapshot can exceed any region of the core's memory, and Node hashes it
// in one streaming pass. Written tmp → fsync → rename → fsync dir; a damaged file is refused, never half-used.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { replaceFileDurably, writeFully } from '../io/durable-fs.js';
import { storageError } from '../io/storage-errors.js';

const MAGIC = 0x4e534c53; // "SLSN" little-endian
const VERSION = 1;
export const SNAPSHOT_HEADER = 96;

export interface Snapshot {
  op: number;
  checksum: bigint; // the core's prepare checksum of `op`: the replay after it chains to this
  payload: Uint8Array;
}

export function writeSnapshot(file: string, snapshot: Snapshot): void {
  const header = snapshotHeader(snapshot);
  replaceFileDurably(file, (fd) => {
    writeFully(fd, header, 0);
    writeFully(fd, snapshot.payload, SNAPSHOT_HEADER);
  });
}

// The file's bytes (a state transfer sends exactly these, so the receiver checks the same checksums).
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  return Buffer.concat([snapshotHeader(snapshot), snapshot.payload]);
}

function snapshotHeader(snapshot: Snapshot): Buffer {
  const header = Buffer.alloc(SNAPSHOT_HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(VERSION, 4);
  header.writeBigUInt64LE(BigInt(snapshot.op), 8);
  header.writeBigUInt64LE(snapshot.checksum, 16);
  header.writeBigUInt64LE(BigInt(snapshot.payload.length), 24);
  sha256(snapshot.payload).copy(header, 32);
  sha256(header.subarray(0, 64)).copy(header, 64);
  return header;
}

// null when there is no snapshot file; SnapshotCorrupt (naming the byte) when there is a bad one.
export function readSnapshot(file: string): Snapshot | null {
  if (!fs.existsSync(file)) return null;
  return decodeSnapshot(fs.readFileSync(file), file, 'refusing to boot');
}

// SnapshotCorrupt (naming `source` and the byte) unless `bytes` is one intact snapshot.
export function decodeSnapshot(bytes: Buffer, source: string, consequence: string): Snapshot {
  const refuse = (at: number, why: string) => storageError('SnapshotCorrupt', source, at, `${why}: ${consequence}`);
  if (bytes.length < SNAPSHOT_HEADER) throw refuse(bytes.length, `${bytes.length} bytes, shorter than the ${SNAPSHOT_HEADER}-byte header`);
  if (bytes.readUInt32LE(0) !== MAGIC) throw refuse(0, 'bad magic');
  if (!sha256(bytes.subarray(0, 64)).equals(bytes.subarray(64, 96))) throw refuse(64, 'header checksum mismatch');
  if (bytes.readUInt32LE(4) !== VERSION) throw refuse(4, `unknown version ${bytes.readUInt32LE(4)}`);
  const length = Number(bytes.readBigUInt64LE(24));
  if (bytes.length !== SNAPSHOT_HEADER + length) throw refuse(24, `payload length ${length} but ${bytes.length - SNAPSHOT_HEADER} bytes follow the header`);
  const payload = bytes.subarray(SNAPSHOT_HEADER);
  if (!sha256(payload).equals(bytes.subarray(32, 64))) throw refuse(SNAPSHOT_HEADER, 'payload checksum mismatch');
  return { op: Number(bytes.readBigUInt64LE(8)), checksum: bytes.readBigUInt64LE(16), payload };
}

function sha256(b: Uint8Array): Buffer {
  return crypto.createHash('sha256').update(b).digest();
}
