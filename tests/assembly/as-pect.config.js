// as-pect runs the core's specs against the same threads + shared-memory build the server uses.
import v8 from "node:v8";

// Node 20: V8's Liftoff tier miscompiles memory.atomic.wait32 (design/toolchain.md §0). Before any compile.
v8.setFlagsFromString("--no-liftoff");

export default {
  entries: ["tests/assembly/**/*.spec.ts"],
  include: ["tests/assembly/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(_memory, createImports, instantiate, binary) {
    // The CLI's own memory is neither shared nor big enough; the module imports a shared one. 128 MiB: the VSR
    // specs build many replicas (a 512-KiB outbox each) and raw heap.alloc memory is never collected.
    const memory = new WebAssembly.Memory({ initial: 2048, maximum: 2048, shared: true });
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
