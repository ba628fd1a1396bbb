// A real full file system, for the ENOSPC tests and the torture run's disk-full fault: a small tmpfs (mounting needs
// root; callers skip, saying why, where it cannot be mounted) and a filler that takes every byte of it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

// Mounts a tmpfs of `size` (e.g. "4m") on `dir`. Returns null when mounted, else why it could not be.
export function mountTmpfs(dir: string, size: string): string | null {
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status === 0) return null;
  return `cannot mount a ${size} tmpfs (needs root): ${(mounted.stderr || mounted.error?.message || `exit ${mounted.status}`).trim()}`;
}

export function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

// Writes until the device refuses (ENOSPC), in ever smaller pieces, so that no page is left with room.
export function fillDevice(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let piece = 1 << 20; piece >= 1; piece >>= 2) {
      const bytes = Buffer.alloc(piece, 1);
      for (;;) {
        try {
          if (fs.writeSync(fd, bytes) < piece) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
