// Shard count and CPU placement from sharding.cpu_allocation, and pinning a thread to its CPU without a native
// addon: the thread reads its own TID from /proc/thread-self and asks taskset for sched_setaffinity.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { CoreOwners } from '../shared/core-abi.generated.js';
import { userError } from '../shared/errors.js';

export const MAX_SHARDS = CoreOwners.OWNER_NONE - 1; // shard ids are u16 and OWNER_NONE (0xffff) means "no owner"

// CPUs this process may run on, captured before any thread is pinned.
export function allowedCpus(): number[] {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    if (line) return parseCpuList(line.split(':')[1].trim());
  } catch {
    // not Linux: fall through
  }
  return Array.from({ length: os.availableParallelism() }, (_, i) => i);
}

export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

// One CPU per shard. `source` names the flag, variable or file key the value came from.
export function resolveShardCpus(allocation: string, allowed: number[], source: string): number[] {
  if (allocation === 'all') {
    if (allowed.length === 0) throw userError('ShardsCountZero', `${source}: "all" found no CPU this process may run on`);
    return allowed.slice(0, MAX_SHARDS);
  }
  const range = allocation.match(/^(\d+)\.\.(\d+)$/);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw userError('InvalidRange', `${source}: range ${allocation} is empty (expected a..b with a < b)`);
    const count = to - from;
    checkCount(count, allowed, source, allocation);
    const cpus = Array.from({ length: count }, (_, i) => from + i);
    const forbidden = cpus.find((c) => !allowed.includes(c));
    if (forbidden !== undefined) {
      throw userError('CpuNotAllowed', `${source}: CPU ${forbidden} is not in this process's allowed set (${allowed.join(',')})`);
    }
    return cpus;
  }
  const count = Number(allocation);
  checkCount(count, allowed, source, allocation);
  return allowed.slice(0, count);
}

function checkCount(count: number, allowed: number[], source: string, raw: string): void {
  if (count === 0) {
    throw userError('ShardsCountZero', `${source}: ${raw} gives zero shards; at least one shard is needed`);
  }
  if (count > MAX_SHARDS) {
    throw userError('ShardsCountOverflow', `${source}: ${count} shards is more than the maximum of ${MAX_SHARDS}`);
  }
  if (count > allowed.length) {
    throw userError('ShardsCountOverflow', `${source}: ${count} shards but this process may only run on ${allowed.length} CPU(s) (${allowed.join(',')}); one shard per CPU`);
  }
}

export interface PinResult {
  tid: number;
  pinned: boolean;
  warning?: string;
}

// Names the calling thread (its comm, what `ps -L`, `top -H` and /proc/<pid>/task/<tid>/comm show), best effort:
// every thread of a Node process is called "node" otherwise, and a per-thread CPU profile (bench:protocol
// --cpu-pids) could not tell the shards apart. At most 15 bytes are kept.
export function nameCurrentThread(name: string): void {
  try {
    fs.writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or /proc read-only: the name is cosmetic
  }
}

// Pins the calling thread (a worker calls this for itself).
export function pinCurrentThread(cpu: number): PinResult {
  let tid = 0;
  try {
    tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { tid, pinned: false, warning: 'no /proc/thread-self: CPU pinning is not supported on this platform' };
  }
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(tid)], { stdio: 'ignore' });
    return { tid, pinned: true };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'taskset not found (install util-linux)' : `taskset failed: ${(error as Error).message.split('\n')[0]}`;
    return { tid, pinned: false, warning: `could not pin to CPU ${cpu}: ${reason}` };
  }
}
