// A toy metadata state machine for the consensus tests: it records every applied op (with a digest of its body)
// and snapshots that record, so a reopened log can be compared op by op with the first run.
import crypto from 'node:crypto';
import type { ApplyResult, CommittedOp } from '../../host/node/metadata/types.js';
import type { MetadataHooks } from '../../host/node/consensus/metadata-log.js';

export interface Applied {
  op: number;
  operation: number;
  length: number;
  digest: string;
  timestampMicros: number;
  client: string;
  userId: number;
}

export function summarize(e: CommittedOp): Applied {
  return {
    op: e.op, operation: e.operation, length: e.body.length, digest: digest(e.body),
    timestampMicros: e.timestampMicros, client: e.client.toString(16), userId: e.userId,
  };
}

export function digest(b: Uint8Array): string {
  return crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
}

// Body of request `n`: its size and bytes are a function of n (every 10th is 100 KiB).
export function requestBody(n: number): Buffer {
  const size = n % 10 === 0 ? 100 * 1024 : 16 + (n * 37) % 300;
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (n * 31 + i * 7) & 0xff;
  return b;
}

export class ToyState implements MetadataHooks {
  applied: Applied[] = [];
  replayed: Applied[] = []; // applied since construction (not restored from a snapshot)
  clock = 1_000_000;

  apply(e: CommittedOp): ApplyResult {
    if (this.applied.length > 0 && e.op <= this.applied.at(-1)!.op) throw new Error(`op ${e.op} applied out of order`);
    const s = summarize(e);
    this.applied.push(s);
    this.replayed.push(s);
    const payload = Buffer.alloc(4);
    payload.writeUInt32LE(e.op);
    return { result: 0, payload };
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.applied));
  }

  restore(bytes: Uint8Array): void {
    this.applied = JSON.parse(Buffer.from(bytes).toString('utf8')) as Applied[];
  }

  now(): number {
    this.clock += 17;
    return this.clock;
  }
}
