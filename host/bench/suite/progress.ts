// A live progress bar on stderr, drawn only when stderr is a terminal (a pipe or CI log gets nothing).
export class Progress {
  private done = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly start = performance.now();

  constructor(private readonly label: string, private readonly totalBytes: number, private readonly stream: NodeJS.WriteStream = process.stderr) {
    if (this.stream.isTTY) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  add(bytes: number): void { this.done += bytes; }

  private draw(): void {
    const fraction = this.totalBytes > 0 ? Math.min(1, this.done / this.totalBytes) : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? this.done / seconds / 1e6 : 0;
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%` +
      ` ${(this.done / 1e6).toFixed(0)}/${(this.totalBytes / 1e6).toFixed(0)} MB ${rate.toFixed(1)} MB/s ${seconds.toFixed(1)} s`);
  }

  end(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.stream.write('\r\x1b[2K');
  }
}
