// File descriptors: how many the process may open, how many client connections that leaves room for, and a small
// reserve the serving shard holds and gives up when accept() fails for lack of descriptors (EMFILE), so that
// /health, /metrics and the data files still get one while client connections are refused.
import fs from 'node:fs';

// Descriptors each serving shard holds back and gives up when the process runs out of them (connection-guard.ts).
export const DESCRIPTOR_RESERVE = 16;

// Descriptors kept back by default for everything that is not a client connection: data files, the HTTP listener
// and its requests, worker threads' event descriptors, and the reserve and listener copy of every shard past the
// first (every shard accepts connections).
export function descriptorHeadroom(limit: number, shards = 1): number {
  return Math.max(96, Math.floor(limit / 8)) + (shards - 1) * (DESCRIPTOR_RESERVE + 1);
}

// The soft RLIMIT_NOFILE of this process (`ulimit -n`), or null where /proc does not say (not Linux).
export function descriptorLimit(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

// Descriptors opened on /dev/null and held until released; acquire() takes them all or none.
export class DescriptorReserve {
  private fds: number[] = [];

  constructor(readonly size: number) {}

  get held(): boolean {
    return this.fds.length === this.size;
  }

  acquire(): boolean {
    try {
      while (this.fds.length < this.size) this.fds.push(fs.openSync('/dev/null', 'r'));
      return true;
    } catch {
      this.release();
      return false;
    }
  }

  release(): void {
    for (const fd of this.fds.splice(0)) fs.closeSync(fd);
  }
}
