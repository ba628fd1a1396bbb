// One segment of a partition: `{base_offset:020}.log` (batches back to back) and its sparse `{base_offset:020}.index`
// (24-byte entries: offset u64, timestamp u64, position u64, little-endian). The `.index` is derived data: recovery
// rebuilds it from the `.log` (the only source of truth) and rewrites it when it differs, so it is appended to without
// an fsync of its own on the hot path and fsynced when the segment is sealed or closed.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFully } from './durable-fs.js';

export const INDEX_ENTRY_BYTES = 24;

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

// Base offsets of the segments in `dir`, oldest first.
export function listSegments(dir: string): number[] {
  return fs.readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

// O_DSYNC where the platform has it: a write through such a descriptor returns once its data (and the size that
// finds it) is durable, as write + fdatasync would, in one system call and one trip to the thread pool. Measured
// here with two writers of 1 MiB each: p50 1.30 ms against 1.40 ms, and a steadier tail.
const O_DSYNC: number | undefined = fs.constants.O_DSYNC;
const O_DIRECT: number | undefined = fs.constants.O_DIRECT;

export class SegmentFile {
  nextOffset: number;
  lastTimestamp = 0;
  indexBytes = 0;
  private dsync = -1;
  private direct = -1; // -2: the file system refused O_DIRECT (tmpfs, say); not asked again for this segment
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly ordinal: number,
    readonly fd: number,
    public indexFd: number,
    public size: number,
  ) {
    this.nextOffset = baseOffset;
  }

  get logPath(): string {
    return path.join(this.dir, `${segmentName(this.baseOffset)}.log`);
  }

  get indexPath(): string {
    return path.join(this.dir, `${segmentName(this.baseOffset)}.index`);
  }

  static open(dir: string, baseOffset: number, ordinal: number): SegmentFile {
    const logPath = path.join(dir, `${segmentName(baseOffset)}.log`);
    const fd = fs.openSync(logPath, 'r+');
    const indexFd = fs.openSync(path.join(dir, `${segmentName(baseOffset)}.index`), 'a+');
    return new SegmentFile(dir, baseOffset, ordinal, fd, indexFd, fs.fstatSync(fd).size);
  }

  // A new, empty segment whose names are durable before anything is written into it.
  static create(dir: string, baseOffset: number, ordinal: number): SegmentFile {
    const logPath = path.join(dir, `${segmentName(baseOffset)}.log`);
    const indexPath = path.join(dir, `${segmentName(baseOffset)}.index`);
    const fd = fs.openSync(logPath, 'wx+');
    let indexFd = -1;
    try {
      indexFd = fs.openSync(indexPath, 'w+');
      fs.fsyncSync(fd);
      fsyncDir(dir);
    } catch (error) {
      // (A full device, say.) Nothing was written into it: remove it, so that the next rollover can create it again.
      fs.closeSync(fd);
      if (indexFd >= 0) fs.closeSync(indexFd);
      fs.rmSync(logPath, { force: true });
      fs.rmSync(indexPath, { force: true });
      throw error;
    }
    return new SegmentFile(dir, baseOffset, ordinal, fd, indexFd, 0);
  }

  // A second descriptor of the `.log` whose writes are durable when they return, or null where there is no O_DSYNC
  // or it cannot be opened now (descriptors exhausted, say): then write and fdatasync. Opened on first use, closed
  // with the segment; nothing has been written when it fails, so the append is not failed for it.
  durableWriteFd(): number | null {
    if (O_DSYNC === undefined) return null;
    if (this.dsync < 0) {
      try {
        this.dsync = fs.openSync(this.logPath, fs.constants.O_WRONLY | O_DSYNC);
      } catch {
        return null;
      }
    }
    return this.dsync;
  }

  // A third descriptor, O_DIRECT | O_DSYNC (--direct-io), or null where the platform or file system has none: then
  // the partition writes buffered. Opened on first use and closed with the segment, as durableWriteFd.
  directWriteFd(): number | null {
    if (O_DIRECT === undefined || O_DSYNC === undefined || this.direct === -2) return null;
    if (this.direct < 0) {
      try {
        this.direct = fs.openSync(this.logPath, fs.constants.O_WRONLY | O_DSYNC | O_DIRECT);
      } catch {
        this.direct = -2;
        return null;
      }
    }
    return this.direct;
  }

  appendIndex(entries: Uint8Array): void {
    if (entries.length === 0) return;
    writeFully(this.indexFd, entries, this.indexBytes);
    this.indexBytes += entries.length;
  }

  // Rewrites the `.index` to exactly `entries` when the file differs (after recovery), durably. Returns the first
  // damaged byte, or -1 when the file was right or merely behind/ahead of the log (entries are not fsynced per append).
  syncIndex(entries: Uint8Array): number {
    const current = fs.readFileSync(this.indexPath);
    this.indexBytes = entries.length;
    if (Buffer.compare(current, entries) === 0) return -1;
    let differs = 0;
    while (differs < current.length && differs < entries.length && current[differs] === entries[differs]) differs++;
    fs.ftruncateSync(this.indexFd, 0);
    writeFully(this.indexFd, entries, 0);
    fs.fsyncSync(this.indexFd);
    return differs < Math.min(current.length, entries.length) ? differs : -1;
  }

  truncate(size: number): void {
    fs.ftruncateSync(this.fd, size);
    fs.fsyncSync(this.fd);
    this.size = size;
  }

  seal(): void {
    fs.fdatasyncSync(this.fd);
    fs.fsyncSync(this.indexFd);
    this.closeWriters(); // no more appends here
  }

  // Once only: a closed descriptor's number may already belong to another file.
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
      fs.closeSync(this.indexFd);
    } finally {
      this.closeWriters();
    }
  }

  private closeWriters(): void {
    const fds = [this.dsync, this.direct].filter((fd) => fd >= 0);
    this.dsync = -1;
    if (this.direct >= 0) this.direct = -1;
    for (const fd of fds) fs.closeSync(fd);
  }

  // The `.log` goes first: if that fails (thrown) nothing has changed and the segment stays usable. Once it is
  // gone the segment is, whatever follows: nothing after it throws, so the caller drops the segment from its list.
  // A `.index` left behind (a failure after, or a crash) has no `.log` and is deleted at the next open.
  remove(): void {
    fs.rmSync(this.logPath, { force: true });
    try {
      this.close();
      fs.rmSync(this.indexPath, { force: true });
    } catch {
      // The descriptors are given up either way (close runs once); the stray .index goes at the next open.
    }
  }
}
