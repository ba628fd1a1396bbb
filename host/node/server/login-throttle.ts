// Throttling of failed logins, so that passwords and tokens cannot be guessed at the speed of the server:
// * per connection: after `perConnection` failed logins the connection is closed (after the answer);
// * per remote address and per username: a failed login is answered only after a delay that doubles with each
//   failure remembered for that address or username (the larger of the two), from `delayMs` up to 32 × it;
// * per remote address: once `lockoutFailures` failures are remembered for it, its logins are refused unchecked
//   (answered InvalidCredentials, and the connection closed) until `lockoutMs` has passed without another try.
// A failure is remembered for `lockoutMs` after the last one of its key. Usernames are never locked out: anyone
// could otherwise lock the root user out; they only slow down, which bounds guessing across many addresses.
// A successful login forgets its username's failures (not its address's: a guesser would log in to its own
// account between guesses).

export interface LoginThrottleSettings {
  perConnection: number;
  lockoutFailures: number;
  lockoutMs: number;
  delayMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: Readonly<LoginThrottleSettings> = { perConnection: 5, lockoutFailures: 20, lockoutMs: 60_000, delayMs: 100 };

// Doublings of the delay: the longest wait is delayMs << MAX_DOUBLINGS.
const MAX_DOUBLINGS = 5;
// Keys remembered at most (addresses and usernames together); the oldest go first. Bounds what a flood of made-up
// usernames can cost.
export const MAX_KEYS = 4096;

interface Failures {
  count: number;
  lastMs: number;
}

export interface FailureVerdict {
  delayMs: number; // wait this long before answering the failure
  lockedOut: boolean; // this failure locked the address out
}

export class LoginThrottle {
  private readonly keys = new Map<string, Failures>();

  constructor(readonly settings: LoginThrottleSettings) {}

  // Whether a login from `address` may be checked now. A refused try counts as activity: the lockout lasts until
  // the address has been quiet for lockoutMs.
  admit(address: string, nowMs: number): boolean {
    const key = `a:${address}`;
    if (this.current(key, nowMs) < this.settings.lockoutFailures) return true;
    this.keys.get(key)!.lastMs = nowMs;
    return false;
  }

  failed(address: string, username: string | undefined, nowMs: number): FailureVerdict {
    const byAddress = this.bump(`a:${address}`, nowMs);
    const byUser = username === undefined ? 0 : this.bump(`u:${username}`, nowMs);
    return { delayMs: this.delayFor(Math.max(byAddress, byUser)), lockedOut: byAddress >= this.settings.lockoutFailures };
  }

  succeeded(username: string | undefined): void {
    if (username !== undefined) this.keys.delete(`u:${username}`);
  }

  // The first failure is answered at once; the n-th waits delayMs × 2^(n-2), at most delayMs × 2^MAX_DOUBLINGS.
  delayFor(failures: number): number {
    if (failures <= 1) return 0;
    return this.settings.delayMs * 2 ** Math.min(failures - 2, MAX_DOUBLINGS);
  }

  get size(): number {
    return this.keys.size;
  }

  private current(key: string, nowMs: number): number {
    const f = this.keys.get(key);
    if (!f) return 0;
    if (nowMs - f.lastMs < this.settings.lockoutMs) return f.count;
    this.keys.delete(key);
    return 0;
  }

  private bump(key: string, nowMs: number): number {
    const count = this.current(key, nowMs) + 1;
    // Re-inserted so that the map's order is least recently failed first.
    this.keys.delete(key);
    this.keys.set(key, { count, lastMs: nowMs });
    if (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    return count;
  }
}
