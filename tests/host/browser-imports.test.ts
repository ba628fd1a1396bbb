// The browser loads host/shared, the simulator (host/sim/simulator.ts) and host/viz: none of them may reach a Node
// module (`node:*` or a bare builtin such as `fs`), however many imports away. Imports are read with the
// TypeScript compiler's own pre-processor (static, re-exports, type-only and dynamic `import('…')` alike); a
// relative import that does not resolve to a file fails too, so the walk cannot silently stop short.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { repoRoot } from '../../host/node/paths.js';

const BUILTINS = new Set(builtinModules);

function isNodeModule(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]);
}

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return /\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

// Browser entries: everything in host/shared and host/viz, and the simulator the page runs. vite.config.ts is not
// one: vite runs it in Node to build the page.
function browserEntries(root: string): string[] {
  const viz = tsFiles(path.join(root, 'host/viz')).filter((f) => path.basename(f) !== 'vite.config.ts');
  return [...tsFiles(path.join(root, 'host/shared')), path.join(root, 'host/sim/simulator.ts'), ...viz];
}

// `./x.js` written in TypeScript sources means ./x.ts (or ./x/index.ts).
// A vite asset import (`../core.wasm?url`) names the file before its query.
function resolveRelative(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier.replace(/\?[a-z]+$/, ''));
  const stem = base.replace(/\.(m?js|ts)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

// Every path (entry → … → offender) that ends in a Node module or an unresolvable relative import.
function nodeReaches(entries: string[], root: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      const trail = [...chain, rel(file)].join(' → ');
      if (isNodeModule(specifier)) {
        problems.push(`${trail} → ${specifier}`);
      } else if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (target && /\.(ts|tsx|mts)$/.test(target)) walk(target, [...chain, rel(file)]);
        else if (!target) problems.push(`${trail} → ${specifier} (does not resolve)`);
      }
    }
  };
  for (const entry of entries) walk(entry, []);
  return problems;
}

describe('browser entries reach no Node module', () => {
  it('flags node:*, a bare builtin and a subpath builtin, with the import chain (the walk itself works)', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'browser-imports-'));
    try {
      fs.writeFileSync(path.join(dir, 'entry.ts'), "import { a } from './a.js';\nexport type { T } from './types.js';\n");
      fs.writeFileSync(path.join(dir, 'a.ts'), "export const a = 1;\nexport async function late() { return import('fs/promises'); }\n");
      fs.writeFileSync(path.join(dir, 'types.ts'), "import type { Socket } from 'node:net';\nimport net from 'net';\nexport type T = Socket;\n");
      assert.deepEqual(nodeReaches([path.join(dir, 'entry.ts')], dir), [
        'entry.ts → a.ts → fs/promises',
        'entry.ts → types.ts → node:net',
        'entry.ts → types.ts → net',
      ]);
      fs.writeFileSync(path.join(dir, 'broken.ts'), "import { x } from './missing.js';\n");
      assert.deepEqual(nodeReaches([path.join(dir, 'broken.ts')], dir), ['broken.ts → ./missing.js (does not resolve)']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('host/shared, host/sim/simulator.ts (and what they import) and host/viz import none', () => {
    const entries = browserEntries(repoRoot);
    assert.ok(entries.some((f) => f.endsWith('vsr-abi.ts')) && entries.some((f) => f.endsWith('simulator.ts')));
    assert.deepEqual(nodeReaches(entries, repoRoot), []);
  });
});
