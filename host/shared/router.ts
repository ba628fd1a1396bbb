// Router: where things live, as the core decides it (assembly/router.ts) — the only host code that asks the
// core's router (README "The core contract"). The server, the core benchmark and the visualiser's shard view
// route with it, so all three place a partition on the same shard.
import type { CoreExports } from './core.js';

// The router's exports alone: a page may instantiate the core without the server's bindings.
export type RouterExports = Pick<CoreExports, 'routePartition' | 'routeBatch'>;

export class Router {
  constructor(private readonly core: RouterExports, readonly shards: number) {}

  // The shard that owns partition (stream, topic, partition).
  partition(streamId: number, topicId: number, partitionId: number): number {
    return this.core.routePartition(streamId, topicId, partitionId, this.shards);
  }

  // Routes `count` u64 groups (packed namespaces) at `groups` into u16 shard ids at `out` (core memory) in one
  // call: the batched form amortises the call.
  batch(groups: number, out: number, count: number): void {
    this.core.routeBatch(groups, out, count, this.shards);
  }
}
