// File-system steps whose order is the durability argument: data fsynced before it is renamed into place, the
// directory fsynced after any create, rename or unlink so the name itself survives a crash.
import fs from 'node:fs';
import path from 'node:path';

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// tmp → write → fsync → rename → fsync parent: a crash at any step leaves the old file or the new one, never a mix.
export function replaceFileDurably(file: string, write: (fd: number) => void): void {
  fs.renameSync(writeTmpDurably(file, write), file);
  fsyncDir(path.dirname(file));
}

// The first half of a durable replace: `${file}.tmp` written and fsynced (removed again if writing fails). The
// caller renames it over `file` (the commit point) and fsyncs the directory.
export function writeTmpDurably(file: string, write: (fd: number) => void): string {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  return tmp;
}

// Shards create partition directories concurrently, so a parent (a stream's or topic's directory) may appear
// between the check and the mkdir: that is success, and the parent is fsynced either way so the entry is durable
// before anything inside it is acknowledged.
export function mkdirDurably(dir: string): void {
  if (fs.existsSync(dir)) return;
  mkdirDurably(path.dirname(dir));
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  fsyncDir(path.dirname(dir));
}

// pread until `len` bytes or end of file; returns bytes read.
export function readFully(fd: number, into: Uint8Array, len: number, position: number): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, into, done, len - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

// Loops over short writes. `chunk` caps each write(2) (bounds one syscall's latency; the crash test sets it small
// so that kills land between the pieces of one append and leave real torn tails).
export function writeFully(fd: number, from: Uint8Array, position: number | null, chunk = Infinity): void {
  let done = 0;
  while (done < from.length) {
    const len = Math.min(from.length - done, chunk);
    done += fs.writeSync(fd, from, done, len, position === null ? null : position + done);
  }
}

// `pieces` written back to back from `position` on libuv's thread pool: one writev per call (short writes go on
// from where they stopped), or `chunk`-capped writes of one piece at a time (see writeFully).
export async function writevFullyAsync(fd: number, pieces: Uint8Array[], position: number, chunk = Infinity): Promise<void> {
  let rest = pieces.filter((p) => p.length > 0);
  let at = position;
  while (rest.length > 0) {
    const n = chunk === Infinity
      ? await new Promise<number>((resolve, reject) => fs.writev(fd, rest, at, (e, written) => (e ? reject(e) : resolve(written))))
      : await new Promise<number>((resolve, reject) => fs.write(fd, rest[0], 0, Math.min(chunk, rest[0].length), at, (e, written) => (e ? reject(e) : resolve(written))));
    at += n;
    rest = skipBytes(rest, n);
  }
}

function skipBytes(pieces: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < pieces.length && n >= pieces[i].length) n -= pieces[i++].length;
  if (i === pieces.length) return [];
  return [pieces[i].subarray(n), ...pieces.slice(i + 1)];
}
