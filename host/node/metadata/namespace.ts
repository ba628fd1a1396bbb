// The packed partition namespace, bit-compatible with the core's namespacePack (stream < MAX_STREAMS, topic <
// MAX_TOPICS, partition < MAX_PARTITIONS: the state machine never creates ids beyond those).
import { CoreRouter } from '../../shared/core-abi.generated.js';

export function namespaceOf(stream: number, topic: number, partition: number): bigint {
  return (BigInt(stream) << CoreRouter.STREAM_SHIFT) | (BigInt(topic) << CoreRouter.TOPIC_SHIFT) | BigInt(partition);
}
