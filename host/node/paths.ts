import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository root, from this file's place in either host/node (tsx) or dist/host/node (compiled).
function findRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.split(path.sep).includes('dist') ? '../../..' : '../..';
  return path.resolve(here, up);
}

export const repoRoot = findRoot();
export const defaultCoreWasm = path.join(repoRoot, 'build', 'core.wasm');
export const debugCoreWasm = path.join(repoRoot, 'build', 'core.debug.wasm');
