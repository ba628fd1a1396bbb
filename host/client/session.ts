// The VSR session of one client (iggy-client-wire.md §4.3): an ephemeral random client id, the session number
// bound by Register, and the request counter. Metadata ops and Logout consume a request number; reads and
// partition ops carry the current one without advancing it (the server only tracks replicated metadata ops, and
// a consumed number would leave a gap it refuses).
import { randomBytes } from 'node:crypto';
import type { RequestRule } from '../shared/wire/codes.js';

export class Session {
  private _clientId = randomClientId();
  private _session: bigint | null = null;
  private counter = 1n;
  private registerSent = false;

  get clientId(): bigint { return this._clientId; }
  get session(): bigint | null { return this._session; }
  get bound(): boolean { return this._session !== null; }

  // A re-register after a consumed or bound Register starts over with a fresh client id: the server treats the
  // old id's session as spent.
  beginRegister(): void {
    if (this.registerSent || this.bound) this.reset();
    this.registerSent = true;
  }

  bind(session: bigint): void {
    if (this._session !== null) throw new Error(`session already bound (${this._session})`);
    if (session <= 0n) throw new Error(`server bound session ${session}: must be > 0`);
    this._session = session;
  }

  // After logout or an eviction the session and the client id are gone.
  reset(): void {
    this._clientId = randomClientId();
    this._session = null;
    this.counter = 1n;
    this.registerSent = false;
  }

  requestNumber(rule: RequestRule): bigint {
    if (rule === 'zero') return 0n;
    if (rule === 'current') return this.counter;
    const n = this.counter;
    this.counter += 1n;
    return n;
  }
}

function randomClientId(): bigint {
  for (;;) {
    const bytes = randomBytes(16);
    const id = bytes.readBigUInt64LE(0) | (bytes.readBigUInt64LE(8) << 64n);
    if (id !== 0n) return id;
  }
}
