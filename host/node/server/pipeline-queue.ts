// The one queue between a request and a consensus group's pipeline. A write waits here, in arrival order, until the
// pipeline has room: fewer than `capacity` (PIPELINE_MAX) writes submitted and not yet committed. Only then is it
// handed to the core, so the core never holds a request it has not prepared (the driver's "flush when the
// pipeline is full", ReplicaDriver.submit, never fires), and nothing else between a request and the pipeline
// queues. Room comes back when an op commits (take), whatever made it commit: a local durable write today, a
// quorum of prepare_oks with backups.
export class PipelineQueue<W> {
  private readonly waiting: W[] = [];
  private readonly submitted = new Map<bigint, W>(); // by request number, until its op commits
  private nextRequest = 1n;

  constructor(private readonly capacity: number) {}

  push(write: W): void {
    this.waiting.push(write);
  }

  // Submits waiting writes, oldest first, while the pipeline has room, each under the next request number.
  // Returns whether any was.
  admit(submit: (request: bigint, write: W) => void): boolean {
    let any = false;
    while (this.waiting.length > 0 && this.submitted.size < this.capacity) {
      const write = this.waiting.shift()!;
      const request = this.nextRequest++;
      this.submitted.set(request, write);
      submit(request, write);
      any = true;
    }
    return any;
  }

  // The submitted write of this request number, or undefined (not one of this queue's: the owner's Register).
  get(request: bigint): W | undefined {
    return this.submitted.get(request);
  }

  // Its op committed: the write leaves the pipeline, and its place is free for the next admit().
  take(request: bigint): W | undefined {
    const write = this.submitted.get(request);
    this.submitted.delete(request);
    return write;
  }

  // The writes not yet submitted, taken out (a cluster's primary was demoted: they go to the new one).
  drainWaiting(): W[] {
    return this.waiting.splice(0);
  }

  // Every write, waiting and submitted, taken out (the partition failed or is gone: each is answered).
  drain(): { waiting: W[]; submitted: W[] } {
    const out = { waiting: this.waiting.splice(0), submitted: [...this.submitted.values()] };
    this.submitted.clear();
    return out;
  }
}
