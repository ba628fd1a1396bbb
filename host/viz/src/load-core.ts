// Loads core.wasm in the page: the same bytes the server and `npm run sim` run (build/core.debug.wasm by
// default, as the simulator; build/core.wasm with core=release), compiled while it downloads.
import debugWasm from '../../../build/core.debug.wasm?url';
import releaseWasm from '../../../build/core.wasm?url';
import type { CoreBuild } from '../../sim/replay-link.js';

export class CoreLoadFailed extends Error {
  override name = 'CoreLoadFailed';
}

export async function loadCore(build: CoreBuild): Promise<WebAssembly.Module> {
  const url = build === 'release' ? releaseWasm : debugWasm;
  const response = await fetch(url);
  if (!response.ok) throw new CoreLoadFailed(`${url}: HTTP ${response.status} (run npm run asbuild)`);
  // compileStreaming needs Content-Type application/wasm; vite's servers send it, other hosts may not.
  if (response.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}
