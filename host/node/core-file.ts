// Loading core.wasm from files for the Node hosts (server, simulator CLI, benchmarks, tests): read and compile the
// module once, and instantiate it per thread through its raw bindings (build/core.js beside build/core.wasm).
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { CoreExports, CoreInstantiate } from '../shared/core.js';
import { userError } from '../shared/errors.js';

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

// The instantiate function for `wasmFile`'s module (what createMeshMemory and other browser-safe code take).
export function coreInstantiator(wasmFile: string): CoreInstantiate {
  return (module, memory) => instantiateCore(module, memory, wasmFile);
}
