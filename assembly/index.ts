// The exported ABI of core.wasm, and nothing else. Hosts: host/node (server), host/sim (simulator), host/viz.
// Functions taking a `descriptor` expect the layout descriptor the host wrote (assembly/layout.ts).
import {
  D_ARENA_SIZE, D_OWNERS_BASE, D_SCRATCH_SIZE, D_SHARDS, D_STORAGE_SIZE, D_TOTAL_BYTES, M_DROPS, MAILBOX_METRICS, METRICS_STRIDE, control,
  controlOffset, field, metricOffset, shardArena, shardCount, shardCtl, shardMetrics, shardScratch, shardStorage, useDescriptor,
  ringAddress as ringAt,
} from "./layout";
import { DROP_REASONS, DROP_VARIANTS, laneOf } from "./frame";
import { ownerClaim, ownerClearIfOwned, ownerOf } from "./owners";
import { countDrop, dropCount } from "./metrics";
import { selfShard } from "./shard";

export { waitCanary } from "./canary";
export {
  metadataGroupId, murmur3_32, namespaceCheck, namespacePack, routeBatch, routeConsensusControl, routeMetadata, routePartition,
} from "./router";
export {
  layoutInit, recvNext, requestShutdown, selfShard, sendAbort, sendBegin, sendCommit, sendCommitLength, sendFits, shardAwake, shardFlush, shardIdle,
  shardIdleSeen, shardInit, shutdownReason,
} from "./shard";
export {
  ringAbort, ringCapacity, ringCommit, ringCommitLength, ringDepth, ringMaxFrame, ringPeek, ringPublish, ringPublishTail, ringRelease, ringReserve,
} from "./ring";
export { benchConsume, benchProduce } from "./bench";

// Address of the module's end of static data: the host keeps its layout above it.
export function staticDataEnd(): usize {
  return __heap_base;
}

export { layoutPlan } from "./layout";

// Main-thread accessors (after layoutUse or layoutInit): the host reads addresses, never recomputes them.
export function layoutUse(descriptor: usize): void {
  useDescriptor(descriptor);
}

export function layoutTotalBytes(): usize {
  return field(D_TOTAL_BYTES);
}

export function layoutShards(): u32 {
  return field(D_SHARDS);
}

// The control word a CONTROL_* selector (assembly/layout.ts) names.
export function controlAddress(which: u32): usize {
  const offset = controlOffset(which);
  assert(offset != 0, "controlAddress: unknown control word");
  return control(offset);
}

export function shardArenaAddress(shard: u32): usize {
  return shardArena(shard);
}

export function shardArenaSize(): u32 {
  return field(D_ARENA_SIZE);
}

export function shardScratchAddress(shard: u32): usize {
  return shardScratch(shard);
}

export function shardScratchSize(): u32 {
  return field(D_SCRATCH_SIZE);
}

export function shardStorageAddress(shard: u32): usize {
  return shardStorage(shard);
}

export function shardStorageSize(): u32 {
  return field(D_STORAGE_SIZE);
}

// The u64 counter a METRIC_* selector (assembly/layout.ts) names in `shard`'s metrics block.
export function metricsAddress(shard: u32, which: u32): usize {
  const offset = metricOffset(which);
  assert(offset >= 0, "metricsAddress: unknown metric");
  return shardMetrics(shard) + <usize>offset;
}

// The host mailbox's counter `which` (a MAILBOX_* selector: backlog bytes and messages, waits, µs waited) for what
// `shard` sends to `target`.
export function mailboxMetricAddress(shard: u32, target: u32, which: u32): usize {
  assert(target < shardCount() && which < MAILBOX_METRICS, "mailboxMetricAddress: unknown target or metric");
  return shardMetrics(shard) + METRICS_STRIDE + ((<usize>target * MAILBOX_METRICS + which) << 3);
}

export function dropCounterAddress(shard: u32, variant: u32, reason: u32): usize {
  return shardMetrics(shard) + M_DROPS + ((<usize>variant * DROP_REASONS + reason) << 3);
}

// The lane (0 inbox, 1 reply) a frame of this variant and kind travels on.
export function frameLane(variant: u32, kind: u32): u32 {
  return laneOf(variant, kind);
}

export function ringAddress(src: u32, dst: u32, lane: u32): usize {
  return ringAt(src, dst, lane);
}

export function shardCtlAddress(shard: u32): usize {
  return shardCtl(shard);
}

export function shardMetricsAddress(shard: u32): usize {
  return shardMetrics(shard);
}

export function dropCounter(shard: u32, variant: u32, reason: u32): u64 {
  return dropCount(shard, variant, reason);
}

// A drop the host saw on the receiving side (a consensus frame whose group is not registered on its shard, a
// forward to a link this shard no longer owns): counted in this shard's frame_drops_total like the core's own.
export function frameDropped(variant: u32, reason: u32): void {
  if (variant >= DROP_VARIANTS || reason >= DROP_REASONS) unreachable(); // a host bug: would count past the table
  countDrop(selfShard(), variant, reason);
}

export function replicaOwnerClaim(replica: u32, shard: u32): u32 {
  return ownerClaim(<usize>field(D_OWNERS_BASE), replica, shard);
}

export function replicaOwnerClear(replica: u32, token: u32): bool {
  return ownerClearIfOwned(<usize>field(D_OWNERS_BASE), replica, token);
}

export function replicaOwner(replica: u32): i32 {
  return ownerOf(<usize>field(D_OWNERS_BASE), replica);
}

// The replica plane (host/node/cluster): which frames a peer may send, and which shard holds their group.
export { REPLICAS_MAX } from "./vsr/constants";
export {
  FRAME_CHECKSUM, FRAME_CLUSTER, FRAME_COMMAND, FRAME_GROUP, FRAME_OK, FRAME_REPLICA, FRAME_SIZE, LINK_NONE, LINK_PING, LINK_PONG,
  REPLICA_ATTACHMENT_MAX, REPLICA_FRAME_MAX, consensusGroupOf, replicaFrameAttach, replicaFrameBody, replicaFrameHeader, replicaFrameLinkLocal, replicaPingWrite, routeConsensusFrame,
} from "./vsr/replica_frame";

// Storage (issue 5): checksums, journal, superblock, segments.
export { xxh3_64, xxh3_64_into, xxh3_64_low, xxh3_last_high } from "./checksum/xxh3";
export {
  batchBaseOffset, batchBaseTimestamp, batchCount, batchErrorAt, batchLength, batchSeal, batchStamp, batchVerify,
} from "./journal/batch";
export {
  segmentFindBatch, segmentScan, segmentScanBatches, segmentScanConsumed, segmentScanErrorAt, segmentScanLastTimestamp,
  segmentScanMessages, segmentScanNeed, segmentScanNextOffset, segmentTailClaimedMessages, segmentTailDecision,
} from "./journal/segment";
export { tailMatch } from "./journal/tail_match";
export {
  indexAppend, indexCount, indexDropBefore, indexFindOffset, indexFindTimestamp, indexInit, indexOffsetAt,
  indexPositionAt, indexRegionBytes, indexSegmentAt, indexTimestampAt, indexTruncate, retentionPick,
} from "./journal/sparse_index";
export {
  INCARNATION_AHEAD, INCARNATION_DELETED, INCARNATION_SAME, INCARNATION_UNMARKED, incarnationVerdict,
} from "./journal/incarnation";
export { prepareCheckBody, prepareCheckHeader, prepareHeaderChecksum, prepareOp, prepareSeal, prepareSize } from "./journal/prepare";
export {
  walAppend, walAppendDurable, walDrainCommit, walEnd, walFileHeaderSeal, walFileHeaderSlots, walFind, walFirstOp, walHasEntries, walHeaderRepaired, walInit,
  walLastOp, walLoadSlots, walLogStart, walPoison, walPoisoned, walReason, walRegionBytes, walRemaining, walScanBegin,
  walScanFeed, walScanPos, walScanWant, walSetSnapshotOp, walSlotCount, walSlotHeaderState, walSlotNeedsClear, walSlotNeedsHeader,
  walSlotOffset, walSlotOp, walSlotSize, walSlotState, walSnapshotOp, walStopAt, walTruncateFrom, walVerdict,
} from "./journal/wal";
export {
  superblockCheck, superblockErrorAt, superblockPick, superblockSeal, superblockSequence, superblockWriteSlot,
} from "./journal/superblock";

// Viewstamped Replication core (issue 4): replica state machines, sans-I/O; see assembly/vsr/api.ts.
export {
  vsrCreate, vsrRelease, vsrInboxPtr, vsrRecoverFrom, vsrOnMessage, vsrOnTick, vsrFollowLeader, vsrLeadsWith, vsrOnJournalWriteDone, vsrOnJournalRead, vsrOutboxPtr, vsrOutboxLen, vsrOutboxClear,
  vsrRecoverBegin, vsrRecoverPrepare, vsrRecoverEnd, vsrRecoveryLostFrom, vsrRecoveryLostTo, vsrStatus, vsrView, vsrLogView, vsrIsPrimary, vsrOp,
  vsrCommitMin, vsrCommitMax, vsrViewChanges, vsrDeadlocks, vsrMessagesRejected, vsrDebugMerge, vsrDebugSlot, vsrDebugSetQuorumOverride,
  vsrSealMessage, vsrSealPrepare, vsrVerifyMessage, vsrChecksum,
  vsrRecoverLost, vsrSetBase, vsrSetTail, vsrFormationCut, vsrStateInstalled, vsrCommitChecksum, vsrClientTableField, vsrClientTableCount, vsrClientTableCapacity,
  vsrClientTableSetCount, vsrSetCheckpoint, vsrStateLost, vsrStranded, vsrStateRequests, vsrJournalCut,
} from "./vsr/api";
