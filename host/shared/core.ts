// Loading core.wasm through its raw bindings (asc --bindings raw): compile once, instantiate per thread over
// one shared memory. The exports are typed here by hand: build/core.d.ts only exists after a build.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { userError } from './errors.js';
import type { VsrExports } from './vsr-abi.js';

// The VSR exports (vsr-abi.ts) are part of every instance: a shard runs its consensus groups on its own instance.
export interface CoreExports extends VsrExports {
  __arena_init(base: number, size: number): void;
  __arena_used(): number;
  __alloc(size: number): number;
  __reset(): void;
  waitCanary(address: number): number;
  staticDataEnd(): number;
  layoutPlan(descriptor: number, base: number, shards: number, inboxCapacity: number, replyCapacity: number,
    slotSize: number, arenaSize: number, scratchSize: number, storageSize: number): number;
  layoutInit(descriptor: number): void;
  layoutUse(descriptor: number): void;
  layoutTotalBytes(): number;
  layoutShards(): number;
  controlAddress(which: number): number;
  shardCtlAddress(shard: number): number;
  shardArenaAddress(shard: number): number;
  shardArenaSize(): number;
  shardScratchAddress(shard: number): number;
  shardScratchSize(): number;
  shardStorageAddress(shard: number): number;
  shardStorageSize(): number;
  metricsAddress(shard: number, which: number): number;
  dropCounterAddress(shard: number, variant: number, reason: number): number;
  mailboxMetricAddress(shard: number, target: number, which: number): number;
  frameLane(variant: number, kind: number): number;
  ringAddress(src: number, dst: number, lane: number): number;
  ringDepth(ring: number): number;
  ringCapacity(ring: number): number;
  ringMaxFrame(ring: number): number;
  ringReserve(ring: number, frameLen: number): number;
  ringCommit(ring: number): void;
  ringPublish(ring: number): boolean;
  ringPeek(ring: number): number;
  ringRelease(ring: number): void;
  ringPublishTail(ring: number): void;
  shardInit(descriptor: number, shard: number): void;
  selfShard(): number;
  sendBegin(dst: number, variant: number, kind: number, correlation: number, payloadLen: number): number;
  sendCommit(): void;
  sendCommitLength(payloadLen: number): void;
  sendAbort(): void;
  sendFits(dst: number, variant: number, kind: number, payloadLen: number): boolean;
  shardFlush(): void;
  recvNext(): number;
  shardIdle(spins: number): boolean;
  shardIdleSeen(): number;
  shardAwake(): void;
  requestShutdown(reason: number): number;
  shutdownReason(): number;
  routeMetadata(): number;
  routePartition(stream: number, topic: number, partition: number, shards: number): number;
  routeConsensusControl(group: bigint, shards: number): number;
  routeBatch(groups: number, out: number, count: number, shards: number): void;
  namespacePack(stream: number, topic: number, partition: number): bigint;
  namespaceCheck(stream: number, topic: number, partition: number): number;
  murmur3_32(ptr: number, len: number, seed: number): number;
  replicaOwnerClaim(replica: number, shard: number): number;
  replicaOwnerClear(replica: number, token: number): boolean;
  replicaOwner(replica: number): number;
  frameDropped(variant: number, reason: number): void;
  // The replica plane (assembly/vsr/replica_frame.ts): verdicts are the FRAME_* globals (negative), sizes positive.
  consensusGroupOf(header: number): bigint;
  routeConsensusFrame(header: number, shards: number): number;
  replicaFrameHeader(header: number, cluster: bigint, peer: number): number;
  replicaFrameBody(message: number, length: number): number;
  replicaFrameLinkLocal(header: number): number; // LINK_NONE, LINK_PING or LINK_PONG
  replicaPingWrite(out: number, cluster: bigint, replica: number, pong: boolean): void;
  LINK_NONE: WebAssembly.Global;
  LINK_PING: WebAssembly.Global;
  LINK_PONG: WebAssembly.Global;
  REPLICA_FRAME_MAX: WebAssembly.Global;
  REPLICAS_MAX: WebAssembly.Global; // replicas one VSR group can have (a roster may not name more)
  FRAME_OK: WebAssembly.Global;
  FRAME_SIZE: WebAssembly.Global;
  FRAME_CLUSTER: WebAssembly.Global;
  FRAME_REPLICA: WebAssembly.Global;
  FRAME_COMMAND: WebAssembly.Global;
  FRAME_GROUP: WebAssembly.Global;
  FRAME_CHECKSUM: WebAssembly.Global;
  benchProduce(ring: number, count: number, frameLen: number, source: number): void;
  benchConsume(ring: number, count: number, frameLen: number, sink: number): number;
  // Storage (issue 5). u64 values the host needs as numbers (offsets, ops, positions, µs) cross as f64 (< 2^53).
  xxh3_64_into(ptr: number, len: number, out: number): void;
  xxh3_64_low(ptr: number, len: number): number;
  xxh3_last_high(): number;
  batchVerify(p: number, avail: number, scratch: number, scratchLen: number, full: boolean): number;
  batchStamp(p: number, avail: number, partition: number, baseOffset: number, baseTimestamp: number, scratch: number, scratchLen: number, full: boolean): number;
  batchSeal(p: number, avail: number, scratch: number, scratchLen: number): number;
  batchErrorAt(): number;
  batchLength(): number;
  batchCount(): number;
  batchBaseOffset(p: number): number;
  batchBaseTimestamp(p: number): number;
  segmentScan(p: number, avail: number, filePos: number, expectedOffset: number, minTimestamp: number, index: number, segment: number, scratch: number, scratchLen: number, full: boolean): number;
  segmentScanConsumed(): number;
  segmentScanBatches(): number;
  segmentScanMessages(): number;
  segmentScanNextOffset(): number;
  segmentScanLastTimestamp(): number;
  segmentScanErrorAt(): number;
  segmentScanNeed(): number;
  segmentTailClaimedMessages(p: number, avail: number, nextOffset: number): number;
  segmentTailDecision(p: number, avail: number, remaining: number, filePos: number, nextOffset: number, verdict: number, scratch: number, scratchLen: number, maxWrite: number): number;
  walSlotHeaderState(r: number, i: number): number;
  segmentFindBatch(p: number, avail: number, from: number, minOffset: number, scratch: number, scratchLen: number): number;
  indexRegionBytes(capacity: number): number;
  indexInit(index: number, capacity: number, interval: number): void;
  indexCount(index: number): number;
  indexAppend(index: number, offset: number, timestamp: number, position: number, segment: number): boolean;
  indexOffsetAt(index: number, i: number): number;
  indexTimestampAt(index: number, i: number): number;
  indexPositionAt(index: number, i: number): number;
  indexSegmentAt(index: number, i: number): number;
  indexFindOffset(index: number, target: number): number;
  indexFindTimestamp(index: number, target: number): number;
  indexDropBefore(index: number, segment: number): void;
  indexTruncate(index: number, segment: number, position: number): void;
  incarnationVerdict(recorded: number, wanted: number, applied: number): number;
  INCARNATION_SAME: WebAssembly.Global;
  INCARNATION_DELETED: WebAssembly.Global;
  INCARNATION_UNMARKED: WebAssembly.Global;
  INCARNATION_AHEAD: WebAssembly.Global;
  retentionPick(table: number, count: number, maxBytes: number, now: number, maxAge: number): number;
  prepareSeal(p: number, size: number): void;
  prepareCheckHeader(p: number, maxEntry: number): number;
  prepareCheckBody(p: number): number;
  prepareOp(p: number): number;
  prepareSize(p: number): number;
  walRegionBytes(slotCount: number): number;
  walFileHeaderSeal(p: number, slotCount: number, maxEntry: number): void;
  walFileHeaderSlots(p: number): number;
  walInit(r: number, slotCount: number, maxEntry: number): void;
  walLogStart(r: number): number;
  walLoadSlots(r: number, p: number): void;
  walScanBegin(r: number, fileSize: number): void;
  walScanPos(r: number): number;
  walScanWant(r: number): number;
  walScanFeed(r: number, p: number, len: number): void;
  walVerdict(r: number): number;
  walReason(r: number): number;
  walStopAt(r: number): number;
  walSlotState(r: number, i: number): number;
  walSlotOp(r: number, i: number): number;
  walSlotOffset(r: number, i: number): number;
  walSlotSize(r: number, i: number): number;
  walSlotCount(r: number): number;
  walHasEntries(r: number): boolean;
  walFirstOp(r: number): number;
  walLastOp(r: number): number;
  walSnapshotOp(r: number): number;
  walEnd(r: number): number;
  walPoison(r: number): void;
  walPoisoned(r: number): boolean;
  walSlotNeedsHeader(r: number, i: number): boolean;
  walSlotNeedsClear(r: number, i: number): boolean;
  walHeaderRepaired(r: number, i: number): void;
  walFind(r: number, op: number): number;
  walAppend(r: number, p: number): number;
  walAppendDurable(r: number, op: number): void;
  walRemaining(r: number): number;
  walSetSnapshotOp(r: number, op: number): boolean;
  walDrainCommit(r: number, upTo: number): void;
  walTruncateFrom(r: number, op: number): number;
  superblockSeal(p: number, sequence: number, prev: number): void;
  superblockCheck(p: number, len: number): number;
  superblockErrorAt(): number;
  superblockSequence(p: number): number;
  superblockPick(verdictA: number, seqA: number, verdictB: number, seqB: number): number;
  superblockWriteSlot(pick: number): number;
}

type RawInstantiate = (module: WebAssembly.Module, imports: { env: unknown }) => Promise<CoreExports>;

const bindingsCache = new Map<string, Promise<RawInstantiate>>();

function bindingsFor(wasmFile: string): Promise<RawInstantiate> {
  const js = wasmFile.replace(/\.wasm$/, '.js');
  let loaded = bindingsCache.get(js);
  if (!loaded) {
    loaded = import(pathToFileURL(js).href).then((m: { instantiate: RawInstantiate }) => m.instantiate);
    bindingsCache.set(js, loaded);
  }
  return loaded;
}

export async function compileCore(wasmFile: string): Promise<WebAssembly.Module> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(fs.readFileSync(wasmFile));
  } catch {
    throw userError('CoreWasmMissing', `${wasmFile} not found: run \`npm run asbuild\` first`);
  }
  if (!fs.existsSync(wasmFile.replace(/\.wasm$/, '.js'))) {
    throw userError('CoreWasmMissing', `${wasmFile.replace(/\.wasm$/, '.js')} (raw bindings) not found: run \`npm run asbuild\``);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw userError('CoreWasmInvalid', `${wasmFile} is not a valid core module (${(error as Error).message}); rebuild with \`npm run asbuild\``);
  }
}

// `wasmFile` locates the raw bindings that belong to `module` (build/core.js for build/core.wasm).
export async function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory, wasmFile: string): Promise<CoreExports> {
  const instantiate = await bindingsFor(wasmFile);
  return instantiate(module, { env: { memory } });
}

export const WASM_PAGE = 65536;

export function sharedMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(2, Math.ceil(bytes / WASM_PAGE));
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

// V8 11.3 (Node 20) Liftoff returns 1 here instead of 12. Run on a word nobody else uses.
export function checkWaitCanary(core: CoreExports, scratchAddress: number): void {
  const result = core.waitCanary(scratchAddress);
  if (result !== 12) {
    throw userError('BrokenWasmAtomics', `wasm atomics self-test returned ${result}, expected 12: start node with --no-liftoff (Node 20) or use Node >= 22`);
  }
}
