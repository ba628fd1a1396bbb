// core.wasm as every host sees it, browser-safe: the exports' type (generated with the constants in
// core-abi.generated.ts), the shared memory it runs on and the engine self-test. Loading the module from a file
// is the Node hosts' business (host/node/core-file.ts); a page gets the bytes and the bindings its own way.
import { userError } from './errors.js';
import type { CoreExports } from './core-abi.generated.js';

export type { CoreExports } from './core-abi.generated.js';

// Instantiates a compiled core over `memory` (one per thread; the module is compiled once).
export type CoreInstantiate = (module: WebAssembly.Module, memory: WebAssembly.Memory) => Promise<CoreExports>;

export const WASM_PAGE = 65536;

export function sharedMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(2, Math.ceil(bytes / WASM_PAGE));
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

// V8 11.3 (Node 20) Liftoff returns 1 here instead of 12. Run on a word nobody else uses.
export function checkWaitCanary(core: CoreExports, scratchAddress: number): void {
  const result = core.waitCanary(scratchAddress);
  if (result !== 12) {
    throw userError('BrokenWasmAtomics', `wasm atomics self-test returned ${result}, expected 12: start node with --no-liftoff (Node 20) or use Node >= 22`);
  }
}
