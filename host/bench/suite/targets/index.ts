// The targets by name. Constructing a peer target throws MissingServerBinary when its server is not installed.
import type { TargetName } from '../options.js';
import { NatsTarget } from './nats.js';
import { RedisTarget } from './redis.js';
import { ShardlogTarget } from './shardlog.js';
import type { Target, Workload } from './target.js';

export function makeTarget(name: TargetName, workload: Workload): Target {
  if (name === 'nats') return new NatsTarget(workload);
  if (name === 'redis') return new RedisTarget(workload);
  return new ShardlogTarget(workload);
}
