// host/shared/core-abi.generated.ts against the module that runs: the values it holds are the compiled core's
// (globals core.wasm also exports, and constants whose meaning an export reveals), its signatures match core.wasm's
// exports, it is not stale, and its generator refuses what it cannot type.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as abi from '../../host/shared/core-abi.generated.js';
import { CoreJournalIncarnation, CoreRouter, CoreVsrConstants, CORE_FUNCTION_ARITY } from '../../host/shared/core-abi.generated.js';
import { debugCoreWasm, defaultCoreWasm, repoRoot } from '../../host/node/paths.js';
import { loadMesh } from './core-loader.js';

const generator = path.join(repoRoot, 'host/tools/core-abi.mjs');

interface Generator {
  listConstants(dir: string): Promise<{ group: string; constants: { name: string; type: string }[] }[]>;
  parseBindings(dts: string): unknown;
  CoreAbiError: new (message: string) => Error;
}
const loadGenerator = async (): Promise<Generator> => await import(pathToFileURL(generator).href) as Generator;

function rawInstance(file: string): WebAssembly.Exports {
  const module = new WebAssembly.Module(fs.readFileSync(file));
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  return new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('abort'); } } }).exports;
}

// Every group object of the generated module whose key is `name`.
function generatedValues(name: string): unknown[] {
  return Object.entries(abi)
    .filter(([group, value]) => group.startsWith('Core') && typeof value === 'object' && value !== null && name in value)
    .map(([, value]) => (value as Record<string, unknown>)[name]);
}

describe('core ABI module (generated)', () => {
  for (const [label, file] of [['release', defaultCoreWasm], ['debug', debugCoreWasm]] as const) {
    it(`holds the value of every global ${label} core.wasm exports`, () => {
      const globals = Object.entries(rawInstance(file)).filter(([, v]) => v instanceof WebAssembly.Global) as [string, WebAssembly.Global][];
      assert.ok(globals.length >= 4, 'core.wasm exports its incarnation verdicts as globals');
      for (const [name, global] of globals) {
        assert.deepEqual(generatedValues(name), [global.value], `${name}`);
      }
    });

    it(`types exactly the functions ${label} core.wasm exports, with their parameter counts`, () => {
      const functions = Object.fromEntries(Object.entries(rawInstance(file))
        .filter(([, v]) => typeof v === 'function').map(([name, fn]) => [name, (fn as (...a: unknown[]) => unknown).length]));
      assert.deepEqual(functions, { ...CORE_FUNCTION_ARITY });
    });
  }

  it('holds values the compiler computed (shifts, sums, u64 and negative constants), as the core uses them', async () => {
    const { main } = await loadMesh('release', 1);
    assert.equal(CoreVsrConstants.SLOT_SIZE, CoreVsrConstants.HEADER_SIZE + CoreVsrConstants.BODY_MAX);
    assert.equal(main.routeConsensusControl(CoreRouter.METADATA_GROUP, 7), 0, 'METADATA_GROUP is the sentinel routed to shard 0');
    assert.equal(main.routeConsensusControl(CoreRouter.PACKED_NAMESPACE_MAX + 1n, 7), CoreRouter.ROUTE_ERR_GROUP);
    assert.equal(main.namespaceCheck(CoreRouter.MAX_STREAMS - 1, CoreRouter.MAX_TOPICS - 1, CoreRouter.MAX_PARTITIONS - 1), 0);
    assert.equal(main.namespaceCheck(CoreRouter.MAX_STREAMS, 0, 0), CoreRouter.ROUTE_ERR_STREAM);
    assert.equal(main.namespaceCheck(0, CoreRouter.MAX_TOPICS, 0), CoreRouter.ROUTE_ERR_TOPIC);
    assert.equal(main.namespacePack(CoreRouter.MAX_STREAMS, 0, 0), CoreRouter.INVALID_NAMESPACE);
    assert.equal(main.incarnationVerdict(0, 1, 5), CoreJournalIncarnation.INCARNATION_UNMARKED);
  });

  it('is up to date with assembly/ (the generator, run again, writes the same text)', () => {
    const check = spawnSync(process.execPath, [generator, '--check'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('refuses an exported constant without a written type, naming the file and line', async () => {
    const { listConstants, CoreAbiError } = await loadGenerator();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'core-abi-'));
    try {
      fs.writeFileSync(path.join(dir, 'good.ts'), 'export const A: u32 = <u32>1 << 3;\nconst hidden: u32 = 1;\nexport let state: u32 = 0;\n');
      assert.deepEqual((await listConstants(dir)).map((g) => [g.group, g.constants.map((c) => `${c.name}:${c.type}`)]), [['CoreGood', ['A:u32']]]);
      fs.writeFileSync(path.join(dir, 'bad.ts'), '// first line\nexport const B = 5;\n');
      await assert.rejects(listConstants(dir), (e: Error) => e instanceof CoreAbiError && /bad\.ts:2: exported constant B/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a core export it cannot type (a non-numeric parameter)', async () => {
    const { parseBindings, CoreAbiError } = await loadGenerator();
    const dts = 'declare namespace __AdaptedExports {\n  export function name(s: string): number;\n}\n';
    assert.throws(() => parseBindings(dts), (e: Error) => e instanceof CoreAbiError && /parameter "s: string"/.test(e.message));
  });
});
