// The packed partition namespace, bit-compatible with assembly/router.ts namespacePack (stream < 2^20,
// topic < 4096, partition < 1 000 000: the state machine never creates ids beyond those).
export function namespaceOf(stream: number, topic: number, partition: number): bigint {
  return (BigInt(stream) << 32n) | (BigInt(topic) << 20n) | BigInt(partition);
}
