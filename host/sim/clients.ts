// Simulated clients: register a session, then issue requests one at a time (request numbers 1, 2, …),
// broadcasting each to every replica (only the primary acts) and retrying on a timeout. With some probability
// a client also resends an old request: the cluster must answer from its client table, never apply it again.
import { Operation, REPLY_OK, REPLY_REQUEST_TOO_OLD, Rep, ReplyStatus } from '../shared/vsr-abi.js';
import type { Codec } from './codec.js';
import type { Checkers } from './checkers.js';
import { Prng } from './prng.js';

const RETRY_TICKS = 40;

interface Outstanding {
  request: number;
  operation: number;
  bytes: Uint8Array;
  sentAt: number;
}

export class SimClient {
  session = 0n;
  nextRequest = 1;
  outstanding: Outstanding | null = null;
  old: Uint8Array[] = [];
  issuing = true;
  completed = 0;
  duplicatesSent = 0;
  rejectedTooOld = 0;
  cachedReplies = 0;

  constructor(public id: number, public address: number, private codec: Codec, private prng: Prng,
    private checkers: Checkers, private bodyMax: number, private duplicateRequests: number) {}

  tick(now: number, broadcast: (from: number, bytes: Uint8Array) => void): void {
    if (this.outstanding) {
      if (now - this.outstanding.sentAt >= RETRY_TICKS + this.prng.below(RETRY_TICKS)) {
        this.outstanding.sentAt = now;
        broadcast(this.address, this.outstanding.bytes);
      }
      return;
    }
    if (this.old.length > 0 && this.prng.chance(this.duplicateRequests)) {
      this.duplicatesSent++;
      broadcast(this.address, this.old[this.prng.below(this.old.length)]);
    }
    if (!this.issuing) return;
    const register = this.session === 0n;
    const request = register ? 0 : this.nextRequest++;
    const operation = register ? Operation.Register : Operation.App;
    const body = new Uint8Array(register ? 0 : this.prng.below(this.bodyMax + 1));
    for (let i = 0; i < body.length; i++) body[i] = this.prng.below(256);
    const bytes = this.codec.request(this.id, this.session, request, operation, body);
    this.outstanding = { request, operation, bytes, sentAt: now };
    broadcast(this.address, bytes);
  }

  onReply(bytes: Uint8Array): void {
    if (!this.codec.valid(bytes)) return;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (Number(v.getBigUint64(Rep.client, true)) !== this.id) return;
    const status = v.getUint32(Rep.status, true);
    const request = Number(v.getBigUint64(Rep.request, true));
    const operation = v.getUint8(Rep.operation);
    const o = this.outstanding;
    if (o && request === o.request && operation === o.operation) {
      if (status !== REPLY_OK) {
        this.checkers.violation(`client ${this.id}: request ${request} rejected (${ReplyStatus[status] ?? status})`);
        return;
      }
      if (operation === Operation.Register) this.session = v.getBigUint64(Rep.session, true);
      this.checkers.acknowledged(bytes);
      if (operation !== Operation.Register) {
        if (this.old.length < 2) this.old.push(o.bytes); else this.old[1] = o.bytes;
      }
      this.outstanding = null;
      this.completed++;
      return;
    }
    if (status === REPLY_REQUEST_TOO_OLD) this.rejectedTooOld++;
    else if (status === REPLY_OK) this.cachedReplies++;
  }
}
