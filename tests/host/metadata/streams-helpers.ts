// Request bodies and committed ops for the streams state machine tests, built with the wire Writer.
import { Writer } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { TlvKind, numericId, namedId, writeIdentifier, writeName, writeTlvBlock, type Identifier, type TlvEntry } from '../../../host/shared/wire/primitives.js';
import { applyStreamsOp } from '../../../host/node/metadata/streams-apply.js';
import { createMetadataState, type MetadataState } from '../../../host/node/metadata/state.js';
import type { ApplyResult, Session } from '../../../host/node/metadata/types.js';

export { numericId, namedId };
export const ROOT: Session = { userId: 0, client: 0xa1n, connectionId: 1 };
export const OTHER_USER: Session = { userId: 7, client: 0xb2n, connectionId: 2 };
export const T0 = 0x0102030405; // µs; its bytes are easy to spot in a reply

export const id = (x: number | string): Identifier => (typeof x === 'number' ? numericId(x) : namedId(x));

export function tlvString(key: string, value: string): TlvEntry {
  return { keyKind: TlvKind.string, key: new TextEncoder().encode(key), valueKind: TlvKind.string, value: new TextEncoder().encode(value) };
}

export function tlvU64(key: string, value: bigint): TlvEntry {
  return { keyKind: TlvKind.string, key: new TextEncoder().encode(key), valueKind: TlvKind.uint64, value: new Writer(8).u64(value).finish() };
}

export const body = {
  createStream: (name: string, options: TlvEntry[] = []) => writeTlvBlock(writeName(new Writer(), name), options).finish(),
  updateStream: (s: number | string, name: string) => writeName(writeIdentifier(new Writer(), id(s)), name).finish(),
  stream: (s: number | string) => writeIdentifier(new Writer(), id(s)).finish(),
  createTopic: (s: number | string, partitions: number, name: string, options: TlvEntry[] = []) =>
    writeTlvBlock(writeName(writeIdentifier(new Writer(), id(s)).u32(partitions), name), options).finish(),
  updateTopic: (s: number | string, t: number | string, name: string, options: TlvEntry[] = []) =>
    writeTlvBlock(writeName(writeIdentifier(writeIdentifier(new Writer(), id(s)), id(t)), name), options).finish(),
  topic: (s: number | string, t: number | string) => writeIdentifier(writeIdentifier(new Writer(), id(s)), id(t)).finish(),
  partitions: (s: number | string, t: number | string, count: number) => writeIdentifier(writeIdentifier(new Writer(), id(s)), id(t)).u32(count).finish(),
  createGroup: (s: number | string, t: number | string, name: string) => writeName(writeIdentifier(writeIdentifier(new Writer(), id(s)), id(t)), name).finish(),
  group: (s: number | string, t: number | string, g: number | string) =>
    writeIdentifier(writeIdentifier(writeIdentifier(new Writer(), id(s)), id(t)), id(g)).finish(),
  client: (client: bigint) => new Writer(16).u128(client).finish(),
};

// Applies ops in order with increasing commit numbers, like a shard following the metadata log.
export class Harness {
  readonly state: MetadataState = createMetadataState();
  op = 0; // the last commit number applied

  apply(operation: number, payload: Uint8Array, opts: { client?: bigint; at?: number } = {}): ApplyResult {
    this.op++;
    const result = applyStreamsOp(this.state, {
      op: this.op, operation, body: payload, timestampMicros: opts.at ?? T0 + this.op, client: opts.client ?? ROOT.client, userId: 0,
    });
    this.state.appliedOp = this.op;
    return result;
  }

  // Applies and insists on success; returns the payload.
  ok(operation: number, payload: Uint8Array, opts: { client?: bigint; at?: number } = {}): Uint8Array {
    const r = this.apply(operation, payload, opts);
    if (r.result !== 0) throw new Error(`operation ${operation} rejected with ${r.result}`);
    return r.payload;
  }

  // A stream "s" with topic "t" of `partitions` partitions and group "g".
  withGroup(partitions: number): this {
    this.ok(Operation.createStream, body.createStream('s'));
    this.ok(Operation.createTopic, body.createTopic('s', partitions, 't'));
    this.ok(Operation.createConsumerGroup, body.createGroup('s', 't', 'g'));
    return this;
  }
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

// Little-endian helpers for hand-written expected bytes.
export const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export function le64(v: bigint | number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  for (let i = 0; i < 8; i++) { out.push(Number(x & 0xffn)); x >>= 8n; }
  return out;
}
export const ascii = (s: string): number[] => [...new TextEncoder().encode(s)];
