// Runs as-pect and prints one plain `as-pect: N passed, N failed` line. as-pect 8.1.0 always colours its output
// and its --json/--csv reporters write empty files, so the summary is parsed from the text.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const asp = fileURLToPath(new URL('../../node_modules/@as-pect/cli/bin/asp.js', import.meta.url));
const args = ['--config', 'tests/assembly/as-pect.config.js', '--as-config', 'tests/assembly/as-pect.asconfig.json', ...process.argv.slice(2)];
const run = spawnSync(process.execPath, [asp, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const text = `${run.stdout ?? ''}${run.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
process.stdout.write(text);
const summary = text.match(/\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/);
if (summary) {
  const passed = Number(summary[1]);
  const failed = Number(summary[2]) - passed;
  console.log(`\nas-pect: ${passed} passed, ${failed} failed`);
} else {
  console.log('\nas-pect: no summary (compile error?)');
}
process.exit(run.status ?? 1);
