// A core instance as a shard has it, for the consensus tests: one shared memory with an arena region (the VSR
// replicas) and a storage region (StorageCore: journal, superblock) side by side.
import { sharedMemory, type CoreExports } from '../../host/shared/core.js';
import { compileCore, instantiateCore } from '../../host/node/core-file.js';
import { defaultCoreWasm } from '../../host/node/paths.js';
import { StorageCore } from '../../host/node/io/storage-core.js';
import type { VsrExports } from '../../host/shared/vsr-abi.js';

export interface ShardCore {
  core: CoreExports;
  vsr: VsrExports;
  memory: WebAssembly.Memory;
  sc: StorageCore;
  arenaBase: number;
}

const MIB = 1 << 20;

export async function shardCore(arenaBytes = 8 * MIB, storageBytes = 80 * MIB): Promise<ShardCore> {
  const module = await compileCore(defaultCoreWasm);
  const memory = sharedMemory(arenaBytes + storageBytes + 4 * MIB);
  const core = await instantiateCore(module, memory, defaultCoreWasm);
  const arenaBase = align(core.staticDataEnd() + 1024);
  core.__arena_init(arenaBase, arenaBytes);
  const storageBase = align(arenaBase + arenaBytes);
  const sc = StorageCore.attach(core, memory, storageBase, storageBytes, { windowBytes: 4 * MIB, stagingBytes: 8 * MIB });
  return { core, vsr: core, memory, sc, arenaBase };
}

function align(n: number): number {
  return Math.ceil(n / 65536) * 65536;
}
