// Only a few wrapper classes call core.wasm: every other host module calls them. The scan type-checks host/ (and
// host/viz with its own tsconfig) and reports each property read on a value typed as the core's exports
// (CoreExports, CoreRawExports, VsrExports, or a Pick/Partial of one) outside the wrapper files below — whatever
// the variable is called, and destructuring too. Passing the exports object along (to a wrapper's constructor) is
// not a call and is allowed. The list is the README's "The core contract" table; keep the two together.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { repoRoot } from '../../host/node/paths.js';

// The wrappers: each owns one area of the core's exports.
const WRAPPERS = new Set<string>([
  'host/shared/core.ts', // instantiation types and the atomics self-test
  'host/shared/layout.ts', // MeshView: the layout, control words, counters, ring addresses of the shared memory
  'host/shared/rings.ts', // Rings: one shard's ends of the rings (send, receive, park, flush, shutdown)
  'host/shared/router.ts', // Router: where a partition, batch or consensus group lives
  'host/shared/replica-driver.ts', // ReplicaDriver: one VSR replica
  'host/shared/vsr-abi.ts', // the VSR exports' type, instantiation, outbox drain, recovery refusal
  'host/shared/client-table-image.ts', // the VSR client table as bytes (state transfer, checkpoints): goes with ReplicaDriver
  'host/sim/codec.ts', // the simulator's message seal/verify (goes with ReplicaDriver)
  'host/node/io/storage-core.ts', // StorageCore: storage region, batch stamp/seal, XXH3, incarnation verdict
  'host/node/io/prepare-journal.ts', // PrepareJournal: the WAL verdicts
  'host/node/io/superblock-store.ts', // SuperblockStore: the superblock verdicts
  'host/node/io/partition.ts', // Partition: segment scan, sparse index, retention pick
  'host/node/io/partition-recovery.ts', // Partition's recovery half: segment scan and tail decision
  'host/bench/ring-worker.ts', // the core benchmark's own exports (benchProduce / benchConsume)
]);

// Not wrappers, still calling the core: each with the reason it is not moved yet. Empty it, do not grow it.
const PENDING = new Map<string, string>([
  ['host/node/cluster/replica-plane.ts', 'replica links: sends on the rings and owns replica frames; moves once the cluster work settles'],
]);

const CORE_TYPES = new Set(['CoreExports', 'CoreRawExports', 'VsrExports']);

function isCoreType(type: ts.Type, depth = 0): boolean {
  if (depth > 4) return false;
  if (type.isUnionOrIntersection()) return type.types.some((t) => isCoreType(t, depth + 1));
  if (type.aliasSymbol && CORE_TYPES.has(type.aliasSymbol.name)) return true;
  if (type.symbol && CORE_TYPES.has(type.symbol.name)) return true;
  // Pick<CoreExports, ...>, Partial<...>, Readonly<...>: the core's exports all the same.
  return (type.aliasTypeArguments ?? []).some((t) => isCoreType(t, depth + 1));
}

// Whether `node` (a property name) resolves to a member declared by the generated CoreExports / CoreRawExports:
// a Pick of them under another alias keeps the member's declaration.
function declaredByCore(checker: ts.TypeChecker, node: ts.Node): boolean {
  const symbol = checker.getSymbolAtLocation(node);
  return (symbol?.declarations ?? []).some((d) => ts.isInterfaceDeclaration(d.parent) && CORE_TYPES.has(d.parent.name.text)
    && d.getSourceFile().fileName.endsWith('core-abi.generated.ts'));
}

// Every `<core>.name`, `<core>[name]` and `{ name } = <core>` in the program's files under `root` (repo-relative).
function coreReads(program: ts.Program, root: string): string[] {
  const checker = program.getTypeChecker();
  const found: string[] = [];
  for (const source of program.getSourceFiles()) {
    const file = path.relative(root, source.fileName).split(path.sep).join('/');
    if (!file.startsWith('host/') || file.includes('node_modules/') || source.isDeclarationFile || file.endsWith('.generated.ts')) continue;
    const report = (node: ts.Node, name: string) => {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${file}:${line + 1}: ${name}`);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node)
        && (isCoreType(checker.getTypeAtLocation(node.expression)) || declaredByCore(checker, node.name))) {
        report(node, node.name.text);
      } else if (ts.isElementAccessExpression(node) && isCoreType(checker.getTypeAtLocation(node.expression))) {
        report(node, `[${node.argumentExpression.getText(source)}]`);
      } else if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer
        && isCoreType(checker.getTypeAtLocation(node.initializer))) {
        report(node, `{ ${node.name.elements.map((e) => e.getText(source)).join(', ')} }`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

// A probe module, served from memory beside the real sources: the scan must find each of its reads.
const PROBE = path.join(repoRoot, 'host', 'node', 'core-wrappers-probe.ts');
const PROBE_TEXT = [
  "import type { CoreExports } from '../shared/core.js';",
  "import type { VsrExports } from '../shared/vsr-abi.js';",
  "type Routes = Pick<CoreExports, 'routeBatch'>;",
  'export function h(r: Routes) { return r.routeBatch(0, 0, 0, 1); }',
  'export function f(c: CoreExports, v: VsrExports, p: Pick<CoreExports, "routePartition">, o: { core: CoreExports }) {',
  '  const { layoutShards } = c;',
  '  return [c.controlAddress(0), v.vsrOp(1), p.routePartition(1, 1, 1, 2), o.core.ringDepth(0), c["shardFlush"], layoutShards];',
  '}',
  'export function g(c: CoreExports) { return [c]; } // passing it along is not a read',
  '',
].join('\n');

function programOf(tsconfig: string, probe = false): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!config) throw new Error(`cannot read ${tsconfig}`);
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  if (probe) {
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, ...rest) => name === PROBE ? ts.createSourceFile(name, PROBE_TEXT, ts.ScriptTarget.ES2022, true) : getSourceFile.call(host, name, ...rest);
    host.fileExists = (name) => name === PROBE || fileExists.call(host, name);
    host.readFile = (name) => name === PROBE ? PROBE_TEXT : readFile.call(host, name);
  }
  // host/ only: tests call the core on purpose (they test it).
  const sources = config.fileNames.filter((f) => path.relative(repoRoot, f).split(path.sep)[0] === 'host');
  return ts.createProgram({ rootNames: probe ? [...sources, PROBE] : sources, options, host });
}

let hostReads: string[] | null = null;
// host/ once (with the probe): building the type checker is the slow part.
function readsInHost(): string[] {
  hostReads ??= coreReads(programOf(path.join(repoRoot, 'tsconfig.json'), true), repoRoot);
  return hostReads;
}

const PROBE_FILE = path.relative(repoRoot, PROBE).split(path.sep).join('/');

const outside = (reads: string[]) => reads.filter((r) => {
  const file = r.slice(0, r.indexOf(':'));
  return !WRAPPERS.has(file) && !PENDING.has(file) && file !== PROBE_FILE;
});

describe('core exports: only the wrapper classes call them', () => {
  it('finds reads under any name, through a Pick, by index and by destructuring (the scan itself works)', () => {
    const reads = readsInHost().filter((r) => r.startsWith(`${PROBE_FILE}:`));
    assert.deepEqual(reads.map((r) => r.slice(PROBE_FILE.length + 1)), [
      '4: routeBatch', '6: { layoutShards }', '7: controlAddress', '7: vsrOp', '7: routePartition', '7: ringDepth', '7: ["shardFlush"]',
    ]);
  });

  it('lists only files that exist and still call the core', () => {
    const callers = new Set(readsInHost().map((r) => r.slice(0, r.indexOf(':'))));
    for (const file of [...WRAPPERS, ...PENDING.keys()]) assert.ok(callers.has(file), `${file} is listed but does not call the core`);
  });

  it('finds no core call in host/ outside the wrappers', () => {
    assert.deepEqual(outside(readsInHost()), []);
  });

  it('finds no core call in the visualiser (host/viz) outside the wrappers', () => {
    assert.deepEqual(outside(coreReads(programOf(path.join(repoRoot, 'host/viz/tsconfig.json')), repoRoot)), []);
  });
});
