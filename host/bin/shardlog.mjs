#!/usr/bin/env node
// Entry point of the `shardlog` CLI (`npx shardlog ...`). `shardlog server ...` runs the server exactly as
// shardlog-server does (npm start); everything else is the client (host/client/cli/main.ts).
import v8 from 'node:v8';

const [first, ...rest] = process.argv.slice(2);
const isServer = first === 'server';
// The server compiles WebAssembly: the flag must be set before that (design/toolchain.md §0), as shardlog-server does.
if (isServer) v8.setFlagsFromString('--no-liftoff');

const entry = isServer ? '../../dist/host/node/main.js' : '../../dist/host/client/cli/main.js';
const { main } = await import(entry).catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('shardlog: not built (dist/ missing). Run `npm run build`.');
    process.exit(2);
  }
  throw error;
});
process.exitCode = await main(isServer ? rest : process.argv.slice(2));
