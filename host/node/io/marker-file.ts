// A marker file: a durable yes/no about a directory (a replica that lost its metadata state, a partition catching its
// segments up). Set: the file is written and renamed into place with fsyncs (replaceFileDurably), so a crash leaves
// it there or not, never half; cleared: removed and the directory fsynced, so a restart sees the same answer.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, replaceFileDurably, writeFully } from './durable-fs.js';

export function hasMarker(dir: string, name: string): boolean {
  return fs.existsSync(path.join(dir, name));
}

// `why`: one line for whoever finds the file.
export function setMarker(dir: string, name: string, why: string): void {
  replaceFileDurably(path.join(dir, name), (fd) => writeFully(fd, Buffer.from(`${why}\n`), 0));
}

export function clearMarker(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { force: true });
  fsyncDir(dir);
}
