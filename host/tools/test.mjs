// `npm test`: builds what is missing, runs the as-pect specs of the core and the node:test suites of the hosts,
// and ends with one line `N passed, N failed` summed over both runners. Exit code non-zero on any failure.
// Extra arguments are test-file filters for node:test (substring match), e.g. `npm test -- router`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const filters = process.argv.slice(2);

const build = spawnSync(process.execPath, [path.join(root, 'host/tools/build.mjs'), 'all', '--if-needed'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function collect(dir) {
  const found = [];
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...collect(full));
    else if (entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

// Runs a command, echoing its output, and returns [exitCode, text].
function runEchoed(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => { process.stdout.write(d); text += d; });
    child.stderr.on('data', (d) => { process.stderr.write(d); text += d; });
    child.on('close', (code, signal) => resolve([code ?? (signal ? 1 : 0), text]));
  });
}

let passed = 0;
let failed = 0;
let ok = true;

if (filters.length === 0) {
  const [code, text] = await runEchoed(process.execPath, [path.join(root, 'host/tools/asp-ci.mjs')]);
  const m = text.match(/as-pect: (\d+) passed, (\d+) failed/);
  if (m) { passed += Number(m[1]); failed += Number(m[2]); } else failed += 1;
  if (code !== 0) ok = false;
}

// Only compiled tests whose TypeScript source still exists: dist/ may hold a test deleted since it was built.
const hasSource = (compiled) => fs.existsSync(path.join(root, path.relative(path.join(root, 'dist'), compiled)).replace(/\.js$/, '.ts'));
const files = [...collect(path.join(root, 'dist/tests/host')), ...collect(path.join(root, 'dist/tests/e2e'))]
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)));
if (files.length > 0) {
  // --no-liftoff: the tests instantiate core.wasm in this process too (design/toolchain.md §0).
  const [code, text] = await runEchoed(process.execPath, ['--no-liftoff', '--test', '--test-reporter=tap', ...files]);
  const pass = text.match(/^# pass (\d+)$/m);
  const fail = text.match(/^# fail (\d+)$/m);
  if (pass && fail) { passed += Number(pass[1]); failed += Number(fail[1]); } else failed += 1;
  if (code !== 0) ok = false;
}

if (!ok && failed === 0) failed = 1; // a runner crashed without counting
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
