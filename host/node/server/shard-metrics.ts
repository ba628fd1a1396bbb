// The shard's counters in its metrics block of shared memory (METRIC, host/shared/layout.ts): written by this
// shard only, read by the main thread's exporter at scrape time.
import type { CoreExports } from '../../shared/core.js';
import { METRIC, MeshView } from '../../shared/layout.js';

export class ShardMetrics {
  private readonly u64: BigUint64Array;
  private readonly base: number[];

  constructor(core: CoreExports, memory: WebAssembly.Memory, shard: number) {
    this.u64 = new BigUint64Array(memory.buffer);
    const mesh = new MeshView(memory, core);
    this.base = Object.values(METRIC).map((which) => mesh.metricIndex(shard, which));
  }

  add(which: number, n: number | bigint = 1): void {
    Atomics.add(this.u64, this.base[which], BigInt(n));
  }

  sub(which: number): void {
    Atomics.sub(this.u64, this.base[which], 1n);
  }
}
