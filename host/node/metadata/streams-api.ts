// The streams half of the metadata state machine, as the server uses it.
export { applyStreamsOp } from './streams-apply.js';
export { prepareStreamsOp } from './streams-prepare.js';
export { readStreamsCommand } from './stream-reads.js';
export { encodeStreamsSnapshot, decodeStreamsSnapshot } from './streams-snapshot.js';
export { partitionsOf, groupsOfClient, streamsCounts, clearAllMembers, type PartitionRef } from './streams-queries.js';
export { resolveSendTarget, resolvePollTarget } from './targets.js';
