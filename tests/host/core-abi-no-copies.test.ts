// No host file keeps its own copy of a core constant: a numeric `const` named like one of assembly/'s exported
// constants, or a number annotated as coming from assembly/, fails here. The values live in
// host/shared/core-abi.generated.ts; hosts import them (or the names vsr-abi.ts, layout.ts, frames.ts give them).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as abi from '../../host/shared/core-abi.generated.js';
import { repoRoot } from '../../host/node/paths.js';

// Files allowed to keep a copy (none today: add one only with the reason beside it).
const PENDING = new Set<string>([
]);

const coreNames = new Set(Object.entries(abi)
  .filter(([key, value]) => key.startsWith('Core') && typeof value === 'object' && value !== null)
  .flatMap(([, value]) => Object.keys(value as object)));

function hostSources(dir = path.join(repoRoot, 'host')): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...hostSources(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.generated.ts')) found.push(full);
  }
  return found;
}

const NUMERIC_CONST = /\b(?:const|let)\s+([A-Z][A-Z0-9_]*)\s*(?::\s*\w+\s*)?=\s*-?(?:0x[0-9a-f_]+|[0-9][0-9_]*)n?\b/gi;
const ANNOTATED = /=\s*-?[0-9][^;]*;\s*\/\/.*\bassembly\//;

function handCopies(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(NUMERIC_CONST)) {
      if (coreNames.has(m[1])) found.push(`${file}:${i + 1}: ${m[1]} is a core constant: import it from core-abi.generated.ts`);
    }
    if (ANNOTATED.test(line)) found.push(`${file}:${i + 1}: a number copied from assembly/: import it from core-abi.generated.ts`);
  });
  return found;
}

describe('core constants: no hand copies in host/', () => {
  it('knows the core constants the scan looks for', () => {
    for (const name of ['SCAN_END', 'PIPELINE_MAX', 'WAL_FILE_HEADER', 'P_REQUEST', 'Y_STATUS', 'REPLY_NO_SESSION', 'MAX_BATCH_BYTES']) {
      assert.ok(coreNames.has(name), name);
    }
  });

  it('finds a copied constant and an annotated number (the scan itself works)', () => {
    assert.deepEqual(handCopies('x.ts', 'const SCAN_END = 0;\nconst SLOTS = 64;\nconst Y_STATUS: number = 216;\n'), [
      'x.ts:1: SCAN_END is a core constant: import it from core-abi.generated.ts',
      'x.ts:3: Y_STATUS is a core constant: import it from core-abi.generated.ts',
    ]);
    assert.equal(handCopies('x.ts', 'const FILE_HEADER_X = 4096; // assembly/journal/wal.ts WAL_FILE_HEADER\n').length, 1);
  });

  it('finds none in host/ outside the files still being rewritten', () => {
    const found = hostSources()
      .map((file) => path.relative(repoRoot, file).split(path.sep).join('/'))
      .filter((file) => !PENDING.has(file))
      .flatMap((file) => handCopies(file, fs.readFileSync(path.join(repoRoot, file), 'utf8')));
    assert.deepEqual(found, []);
  });
});
