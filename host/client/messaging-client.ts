// What Producer and Consumer need of a client: the calls both IggyClient (binary TCP) and HttpClient (REST) have,
// with the same arguments, results and IggyError codes. Group membership (join, leave, sync) is a session's: over
// HTTP, the access token's (shardlog's member routes).
import type { PolledMessages } from './batch.js';
import type { OffsetTarget, Id, PollInput, SendInput } from './requests.js';
import type { ConsumerGroupDetails, GroupAssignment, SendConfirmation, TopicDetails } from './responses.js';

export interface MessagingClient {
  getTopic(stream: Id, topic: Id): Promise<TopicDetails | null>;
  sendMessages(send: SendInput): Promise<SendConfirmation[]>;
  pollMessages(poll: PollInput & { verifyChecksums?: boolean }): Promise<PolledMessages>;
  storeOffset(target: OffsetTarget, offset: bigint): Promise<void>;
  createGroup(stream: Id, topic: Id, name: string): Promise<ConsumerGroupDetails>;
  joinGroup(stream: Id, topic: Id, group: Id): Promise<void>;
  leaveGroup(stream: Id, topic: Id, group: Id): Promise<void>;
  syncGroup(stream: Id, topic: Id, group: Id): Promise<GroupAssignment | null>;
}
