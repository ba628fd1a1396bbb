// Builds what the server, tests and benchmarks need:
//   node host/tools/build.mjs core   -> build/core.wasm (release) + build/core.debug.wasm, raw bindings, and
//                                       host/shared/core-abi.generated.ts (host/tools/core-abi.mjs)
//   node host/tools/build.mjs host   -> dist/ (tsc)
//   node host/tools/build.mjs all    -> both
// --if-needed skips a step whose outputs are newer than every source it reads.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const what = args.find((a) => !a.startsWith('--')) ?? 'all';
const ifNeeded = args.includes('--if-needed');
if (!['core', 'host', 'all'].includes(what) || args.includes('--help')) {
  console.error('usage: node host/tools/build.mjs [core|host|all] [--if-needed]');
  process.exit(args.includes('--help') ? 0 : 2);
}

function newestMtime(dir, filter) {
  let newest = 0;
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (filter(full)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return newest;
}

function mtime(file) {
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
}

function upToDate(outputs, sourceTimes) {
  const oldestOutput = Math.min(...outputs.map((f) => mtime(path.join(root, f))));
  return oldestOutput > 0 && oldestOutput >= Math.max(...sourceTimes);
}

function run(label, command, commandArgs) {
  const started = Date.now();
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build: ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  console.log(`build: ${label} done in ${Date.now() - started} ms`);
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const coreSources = () => [newestMtime(path.join(root, 'assembly'), (f) => f.endsWith('.ts')), mtime(path.join(root, 'asconfig.json')),
  mtime(path.join(root, 'host/tools/core-abi.mjs'))];
const ABI_MODULE = 'host/shared/core-abi.generated.ts';

// The typed ABI module (constants and signatures of core.wasm) is a build product of assembly/, like core.wasm:
// host code imports it, so the host step makes it too when it is missing or older than the sources.
function buildAbiModule() {
  run('core ABI module', process.execPath, [path.join(root, 'host/tools/core-abi.mjs')]);
}

if (what === 'core' || what === 'all') {
  const sources = coreSources();
  if (!(ifNeeded && upToDate(['build/core.wasm', 'build/core.js', 'build/core.debug.wasm', 'build/core.debug.js'], sources))) {
    run('core.wasm (release)', bin('asc'), ['--config', 'asconfig.json', '--target', 'release']);
    run('core.debug.wasm', bin('asc'), ['--config', 'asconfig.json', '--target', 'debug']);
    buildAbiModule();
  } else if (!upToDate([ABI_MODULE], sources)) {
    buildAbiModule();
  }
}

if (what === 'host' && !upToDate([ABI_MODULE], coreSources())) buildAbiModule();

if (what === 'host' || what === 'all') {
  const sources = [
    newestMtime(path.join(root, 'host'), (f) => f.endsWith('.ts') && !f.includes(`${path.sep}viz${path.sep}`)),
    newestMtime(path.join(root, 'tests'), (f) => f.endsWith('.ts') && !f.includes(`${path.sep}assembly${path.sep}`)),
    mtime(path.join(root, 'tsconfig.json')),
  ];
  if (!(ifNeeded && upToDate(['dist/host/node/main.js', 'dist/host/client/index.d.ts'], sources))) {
    run('host (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
    run('client declarations (tsc)', bin('tsc'), ['-p', 'host/client/tsconfig.json']); // for `shardlog/client` importers
  }
}
