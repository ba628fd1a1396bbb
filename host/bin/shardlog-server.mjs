#!/usr/bin/env node
// Entry point of the server. The flag below must be set before any WebAssembly is compiled: Node 20's Liftoff
// tier miscompiles memory.atomic.wait32 (design/toolchain.md §0). NODE_OPTIONS cannot carry it.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-liftoff');

const { main } = await import('../../dist/host/node/main.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('shardlog: the host is not built (dist/ missing). Run `npm run build` or `npm start`.');
    process.exit(2);
  }
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
