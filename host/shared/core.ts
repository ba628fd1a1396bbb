// Loading core.wasm through its raw bindings (asc --bindings raw): compile once, instantiate per thread over
// one shared memory. The exports' types are generated with the constants (core-abi.generated.ts).
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { userError } from './errors.js';
import type { CoreExports } from './core-abi.generated.js';

export type { CoreExports } from './core-abi.generated.js';

type RawInstantiate = (module: WebAssembly.Module, imports: { env: unknown }) => Promise<CoreExports>;

const bindingsCache = new Map<string, Promise<RawInstantiate>>();

function bindingsFor(wasmFile: string): Promise<RawInstantiate> {
  const js = wasmFile.replace(/\.wasm$/, '.js');
  let loaded = bindingsCache.get(js);
  if (!loaded) {
    loaded = import(pathToFileURL(js).href).then((m: { instantiate: RawInstantiate }) => m.instantiate);
    bindingsCache.set(js, loaded);
  }
  return loaded;
}

export async function compileCore(wasmFile: string): Promise<WebAssembly.Module> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(fs.readFileSync(wasmFile));
  } catch {
    throw userError('CoreWasmMissing', `${wasmFile} not found: run \`npm run asbuild\` first`);
  }
  if (!fs.existsSync(wasmFile.replace(/\.wasm$/, '.js'))) {
    throw userError('CoreWasmMissing', `${wasmFile.replace(/\.wasm$/, '.js')} (raw bindings) not found: run \`npm run asbuild\``);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw userError('CoreWasmInvalid', `${wasmFile} is not a valid core module (${(error as Error).message}); rebuild with \`npm run asbuild\``);
  }
}

// `wasmFile` locates the raw bindings that belong to `module` (build/core.js for build/core.wasm).
export async function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory, wasmFile: string): Promise<CoreExports> {
  const instantiate = await bindingsFor(wasmFile);
  return instantiate(module, { env: { memory } });
}

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
