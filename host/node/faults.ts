// Fault injection for tests and demos, from SHARDLOG_FAULT (comma-separated):
//   crash-shard:<id>[:<ms>]   shard <id> throws <ms> after it is running (default 0)
//   stall-shard:<id>[:<ms>]   shard <id> blocks its loop forever <ms> after it is running (watchdog test)
//   spawn-fail:<id>           the worker for shard <id> fails to start
//   slow-boot:<id>:<ms>       shard <id> blocks its loop <ms> before opening its partitions from the hand-off
import { userError } from '../shared/errors.js';

export interface Faults {
  crashShard?: { shard: number; afterMs: number };
  stallShard?: { shard: number; afterMs: number };
  spawnFail?: number;
  slowBoot?: { shard: number; afterMs: number };
}

export function parseFaults(raw: string | undefined): Faults {
  const faults: Faults = {};
  if (!raw) return faults;
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, id, ms] = item.split(':');
    const shard = Number(id);
    const afterMs = ms === undefined ? 0 : Number(ms);
    if (!Number.isInteger(shard) || shard < 0 || !Number.isFinite(afterMs)) {
      throw userError('InvalidFault', `SHARDLOG_FAULT: cannot parse ${JSON.stringify(item)}`);
    }
    if (name === 'crash-shard') faults.crashShard = { shard, afterMs };
    else if (name === 'stall-shard') faults.stallShard = { shard, afterMs };
    else if (name === 'spawn-fail') faults.spawnFail = shard;
    else if (name === 'slow-boot') faults.slowBoot = { shard, afterMs };
    else throw userError('InvalidFault', `SHARDLOG_FAULT: unknown fault ${JSON.stringify(name)}`);
  }
  return faults;
}
