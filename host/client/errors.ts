// What a request can fail with. Every failure has a named class so callers (and tests) can tell a server's
// business answer (IggyError) from a terminated session (EvictionError) and a dead transport (ConnectionClosed).
import { ErrorCode, EvictionReason, evictionErrorCode } from '../shared/wire/codes.js';

const ERROR_NAMES = new Map<number, string>(
  Object.entries(ErrorCode).map(([key, code]) => [code, key[0].toUpperCase() + key.slice(1)]),
);
const EVICTION_NAMES = new Map<number, string>(
  Object.entries(EvictionReason).map(([key, reason]) => [reason, key[0].toUpperCase() + key.slice(1)]),
);

export function errorName(code: number): string {
  return ERROR_NAMES.get(code) ?? `Error${code}`;
}

export function evictionName(reason: number): string {
  return EVICTION_NAMES.get(reason) ?? `Reason${reason}`;
}

// A reply with a non-zero status, a result-section rejection, or a reply the client could not decode (code 3).
export class IggyError extends Error {
  readonly code: number;

  constructor(code: number, detail?: string) {
    super(`${errorName(code)} (${code})${detail ? `: ${detail}` : ''}`);
    this.code = code;
    this.name = errorName(code);
  }
}

// The server ended the session (§5.3). The socket stays open; the client has dropped its session and client id.
export class EvictionError extends Error {
  readonly reason: number;
  readonly code: number; // what the SDKs report for this reason

  constructor(reason: number, versionMax = 0, versionMin = 0) {
    const code = evictionErrorCode(reason, versionMin, versionMax);
    super(`evicted: ${evictionName(reason)} (reason ${reason}, error ${code})`);
    this.name = 'EvictionError';
    this.reason = reason;
    this.code = code;
  }
}

export class ConnectionClosed extends Error {
  constructor(detail: string) {
    super(`connection closed: ${detail}`);
    this.name = 'ConnectionClosed';
  }
}

// No reply within the per-request bound. The connection is closed with it: a late reply would be matched to the
// next request otherwise.
export class RequestTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no reply within ${timeoutMs} ms`);
    this.name = 'RequestTimeout';
  }
}

// The connection dropped while this request was on the wire, and the request is not one that can be sent again
// safely (a SendMessages could be stored twice, a create applied twice): it may or may not have been applied. The
// client has reconnected (when it could); the caller decides whether to resend. `cause` is the drop.
export class RequestOutcomeUnknown extends Error {
  constructor(readonly command: string, readonly code: number, cause: Error) {
    super(`${command} (code ${code}) was in flight when the connection dropped (${cause.message}); it may or may not have been applied and was not resent`, { cause });
    this.name = 'RequestOutcomeUnknown';
  }
}

// Automatic reconnection gave up: every attempt within the policy failed. `cause` is the last attempt's failure.
export class ReconnectFailed extends Error {
  constructor(readonly attempts: number, cause: Error) {
    super(`could not reconnect after ${attempts} attempt(s): ${cause.message}`, { cause });
    this.name = 'ReconnectFailed';
  }
}
