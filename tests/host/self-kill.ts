// Fault injection at the OS boundary, for child processes of the crash tests: once enabled, counts file-system steps
// (write, fsync, fdatasync, rename, truncate, unlink) and SIGKILLs the process at step `at`; a write at that step is
// first cut to a seeded prefix, as a crash in the middle of write(2) would leave it.
import fs from 'node:fs';

export function armSelfKill(at: number, random: () => number): { enable(): void; steps(): number } {
  let enabled = false;
  let steps = 0;
  const die = () => process.kill(process.pid, 'SIGKILL');
  const io = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['fdatasyncSync', 'fsyncSync', 'renameSync', 'ftruncateSync', 'rmSync']) {
    const real = io[name];
    io[name] = (...a: unknown[]) => {
      if (enabled && ++steps === at) die();
      return real(...a);
    };
  }
  const realWrite = io.writeSync;
  io.writeSync = (fd: unknown, buf: unknown, off: unknown, len: unknown, pos: unknown) => {
    if (enabled && ++steps === at) {
      const prefix = Math.floor(random() * Number(len));
      if (prefix > 0) realWrite(fd, buf, off, prefix, pos);
      die();
    }
    return realWrite(fd, buf, off, len, pos);
  };
  return { enable: () => { enabled = true; }, steps: () => steps };
}
