// What a SIGINT/SIGTERM means: the first starts a graceful stop, a repeat within `duplicateMs` is the same
// keypress delivered twice (the terminal signals the whole process group and `npm start` forwards it to its
// child too), and a later one aborts at once.
export type SignalAction = 'shutdown' | 'duplicate' | 'abort';

export class SignalPolicy {
  private firstAt: number | null = null;

  constructor(private readonly duplicateMs: number) {}

  next(now: number): SignalAction {
    if (this.firstAt === null) {
      this.firstAt = now;
      return 'shutdown';
    }
    return now - this.firstAt < this.duplicateMs ? 'duplicate' : 'abort';
  }
}
