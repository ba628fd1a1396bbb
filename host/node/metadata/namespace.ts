// The packed partition namespace, bit-compatible with the core's namespacePack (stream < MAX_STREAMS, topic <
// MAX_TOPICS, partition < MAX_PARTITIONS: the state machine never creates ids beyond those).
import { CoreRouter } from '../../shared/core-abi.generated.js';

export function namespaceOf(stream: number, topic: number, partition: number): bigint {
  return (BigInt(stream) << CoreRouter.STREAM_SHIFT) | (BigInt(topic) << CoreRouter.TOPIC_SHIFT) | BigInt(partition);
}

// The ids a namespace packs (namespaceOf's inverse).
export function idsOfNamespace(namespace: bigint): { stream: number; topic: number; partition: number } {
  const mask = (shift: bigint) => (1n << shift) - 1n;
  return {
    stream: Number(namespace >> CoreRouter.STREAM_SHIFT),
    topic: Number((namespace >> CoreRouter.TOPIC_SHIFT) & mask(CoreRouter.STREAM_SHIFT - CoreRouter.TOPIC_SHIFT)),
    partition: Number(namespace & mask(CoreRouter.TOPIC_SHIFT)),
  };
}
