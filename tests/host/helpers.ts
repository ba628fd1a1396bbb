// Shared by the storage tests: temp dirs removed at the end, a seeded PRNG, and prepare chains.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { sealPrepare } from '../../host/node/io/prepare-journal.js';
export { prng } from './helpers-prng.js';
import type { StorageCore } from '../../host/node/io/storage-core.js';

const made: string[] = [];
after(() => { for (const dir of made) fs.rmSync(dir, { recursive: true, force: true }); });

export function tempDir(prefix = 'shardlog-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function body(op: number, size = 64): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (op * 13 + i) & 0xff;
  return b;
}

// Prepares for ops first..last, chained to `parent` (the header of op first-1, if any).
export function chain(sc: StorageCore, first: number, last: number, parent: Buffer | null = null, size = 64): Buffer[] {
  const out: Buffer[] = [];
  for (let op = first; op <= last; op++) {
    parent = sealPrepare(sc, op, parent, body(op, size));
    out.push(parent);
  }
  return out;
}

export function flipBit(file: string, byte: number, bit: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, byte);
  b[0] ^= 1 << bit;
  fs.writeSync(fd, b, 0, 1, byte);
  fs.closeSync(fd);
}

// Polls `check` every 5 ms until it holds; throws naming `what` after `bound` ms (a bounded wait, not a sleep).
export async function until(check: () => boolean, what: string, bound = 10_000): Promise<void> {
  const end = Date.now() + bound;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Whether the file system under `dir` takes O_DIRECT (tmpfs does not): where it does, a --direct-io partition must use it.
export function takesDirect(dir: string): boolean {
  const probe = path.join(dir, 'probe');
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_CREAT | fs.constants.O_WRONLY | (fs.constants.O_DIRECT ?? 0)));
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
