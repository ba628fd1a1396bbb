// Rate limit for log lines a remote peer can cause (junk connections, timeouts): per kind, the first `burst` lines
// of each window are written, the rest are counted and summed up in one line when the window ends. Without it, 200
// junk connections wrote 200 lines.
export interface LimitedLog {
  info(message: string): void;
  warn(message: string): void;
}

export type LimitedLevel = keyof LimitedLog;

interface Window {
  start: number;
  written: number;
  suppressed: number;
  level: LimitedLevel;
  timer: NodeJS.Timeout | null;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly out: LimitedLog,
    private readonly burst = 5,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  // Writes `message` unless `kind` already wrote `burst` lines in this window.
  log(kind: string, message: string, level: LimitedLevel = 'info'): void {
    const now = this.now();
    let w = this.windows.get(kind);
    if (w && now - w.start >= this.windowMs) {
      this.flush(kind, w);
      w = undefined;
    }
    if (!w) {
      w = { start: now, written: 0, suppressed: 0, level, timer: null };
      this.windows.set(kind, w);
    }
    if (w.written < this.burst) {
      w.written++;
      this.out[level](message);
      return;
    }
    w.suppressed++;
    w.level = level;
    if (!w.timer) {
      // The summary is written when the window ends even if nothing else of this kind comes.
      const window = w;
      window.timer = setTimeout(() => { if (this.windows.get(kind) === window) this.flush(kind, window); }, Math.max(1, window.start + this.windowMs - now));
      window.timer.unref();
    }
  }

  // Writes the pending summaries now (tests, shutdown).
  flushAll(): void {
    for (const [kind, w] of [...this.windows]) this.flush(kind, w);
  }

  private flush(kind: string, w: Window): void {
    if (w.timer) clearTimeout(w.timer);
    this.windows.delete(kind);
    if (w.suppressed > 0) this.out[w.level](`${kind}: ${w.suppressed} more like this in ${this.windowMs / 1000} s not logged (rate limit)`);
  }
}
