// Errors of the disk under the data directory (full, read-only, no permission) are the environment, not a bug: they
// are reported as one line naming the data directory and the real cause (DataDirUnusable, exit 2), not as a stack.
import fs from 'node:fs';
import path from 'node:path';

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'exists and is not a directory',
  EIO: 'input/output error',
  EMFILE: 'too many open files (ulimit -n)',
  ENFILE: 'too many open files in the system',
  ENOENT: 'no such file or directory',
};

export function isDataDirError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in CAUSES && code !== 'ENOENT';
}

// "no space left on device (ENOSPC) at write" for an errno error; the message for anything else.
export function describeFsCause(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const cause = e?.code && CAUSES[e.code] ? `${CAUSES[e.code]} (${e.code})` : (e?.code ?? (error as Error)?.message ?? String(error));
  const where = e?.path ? ` at ${e.syscall ?? 'access'} ${e.path}` : e?.syscall ? ` at ${e.syscall}` : '';
  return `${cause}${where}`;
}

// The reason a directory could not be created: a recursive mkdir reports ENOENT when a missing parent cannot be
// made (on a read-only file system, say); creating the first missing component alone gives the real error.
export function mkdirCause(dir: string, error: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (error.code !== 'ENOENT') return error;
  let missing = path.resolve(dir);
  while (!fs.existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
  try {
    fs.mkdirSync(missing);
    fs.rmdirSync(missing);
    return error;
  } catch (real) {
    return real as NodeJS.ErrnoException;
  }
}
