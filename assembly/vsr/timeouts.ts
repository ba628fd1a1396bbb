// Tick-driven timeouts. The core has no clock: the host calls onTick() at a fixed rate (10 ms in the server) and
// every timeout counts those ticks. Jitter and backoff come from a PRNG seeded by (group, replica), so a run
// replays exactly and replicas of one group do not all fire in the same tick.

// Values in ticks. Smaller than Iggy's (vsr_timeout.rs: 25/50/500/…) so simulated runs cover many views quickly;
// they are ratios, not wall-clock promises.
export const PREPARE_TICKS: u32 = 8; //              primary: retransmit unacked prepares
export const COMMIT_MESSAGE_TICKS: u32 = 10; //      primary: commit heartbeat
export const NORMAL_HEARTBEAT_TICKS: u32 = 60; //    backup: no word from the primary → start a view change
export const START_VIEW_CHANGE_TICKS: u32 = 10; //   resend SVC (and DVC once sent)
export const VIEW_CHANGE_STATUS_TICKS: u32 = 80; //  view change not done → try the next view
export const REQUEST_START_VIEW_TICKS: u32 = 15; //  recovering: probe for the current view
export const REPAIR_TICKS: u32 = 4; //               ask for missing prepares
export const PROBE_ATTEMPTS_MAX: u32 = 5;

export class Rng {
  state: u64;
  constructor(seed: u64) {
    this.state = seed;
  }
  // splitmix64
  next(): u64 {
    this.state += 0x9e3779b97f4a7c15;
    let z = this.state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  below(n: u32): u32 {
    return <u32>(this.next() % <u64>n);
  }
}

export class Timeout {
  after: u32;
  jitter: bool;
  ticks: u32 = 0;
  attempts: u32 = 0;
  running: bool = false;

  constructor(after: u32, jitter: bool) {
    this.after = after;
    this.jitter = jitter;
  }

  start(rng: Rng): void {
    this.attempts = 0;
    this.running = true;
    this.ticks = this.duration(rng);
  }

  stop(): void {
    this.running = false;
  }

  // As constructed (a reused replica).
  reset(): void {
    this.ticks = 0;
    this.attempts = 0;
    this.running = false;
  }

  // Fires once when it runs out; the caller decides to restart or back off.
  tick(): bool {
    if (!this.running) return false;
    if (this.ticks > 0) this.ticks--;
    return this.ticks == 0;
  }

  // Next attempt after exponential backoff (capped at 16x), as vsr_timeout.rs.
  backoff(rng: Rng): void {
    this.attempts++;
    this.running = true;
    this.ticks = this.duration(rng);
  }

  private duration(rng: Rng): u32 {
    const shift = min<u32>(this.attempts, 4);
    const base = this.after << shift;
    return this.jitter ? base + rng.below(base) : base;
  }
}
