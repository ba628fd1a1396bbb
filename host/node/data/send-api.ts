// The partition data path, as the server uses it.
export { checksumStatus, decodeSendMessages } from './send.js';
export { planPoll, buildPollReply, emptyPollReply, pollReplyBound, writePollReply, type PollPlan } from './poll.js';
export { NO_SPACE_VERDICT, PartitionHome, listPartitionDirs } from './partition-dir.js';
