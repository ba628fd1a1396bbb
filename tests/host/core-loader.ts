// Loads a core build into this test process over a fresh shared memory with a mesh laid out for `shards`.
import { type CoreExports } from '../../host/shared/core.js';
import { compileCore, coreInstantiator, instantiateCore } from '../../host/node/core-file.js';
import { DESCRIPTOR_BASE, createMeshMemory } from '../../host/shared/layout.js';
import { debugCoreWasm, defaultCoreWasm } from '../../host/node/paths.js';

export interface TestMesh {
  memory: WebAssembly.Memory;
  main: CoreExports;
  shard(id: number): Promise<CoreExports>;
}

export async function loadMesh(build: 'release' | 'debug', shards: number, capacity = 8, slotSize = 64, storageSize = 0): Promise<TestMesh> {
  const file = build === 'debug' ? debugCoreWasm : defaultCoreWasm;
  const module = await compileCore(file);
  const { memory, core } = await createMeshMemory(module, coreInstantiator(file), {
    shards, inboxCapacity: capacity, replyCapacity: capacity, slotSize, arenaSize: 1 << 16, scratchSize: 1 << 12, storageSize,
  });
  return {
    memory,
    main: core,
    async shard(id: number) {
      const instance = await instantiateCore(module, memory, file);
      instance.shardInit(DESCRIPTOR_BASE, id);
      instance.__arena_init(instance.shardArenaAddress(id), instance.shardArenaSize());
      return instance;
    },
  };
}
