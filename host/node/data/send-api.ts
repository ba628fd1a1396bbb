// The partition data path, as the server uses it.
export { checksumStatus, decodeSendMessages } from './send.js';
export { planPoll, buildPollReply, emptyPollReply, pollReplyBound, writePollReply, type PollPlan } from './poll.js';
export { PartitionHome, listPartitionDirs } from './partition-dir.js';
