// A MessagingClient for the SDK's Consumer that writes the group's offset commits into the history: every
// StoreOffset, and every poll with auto-commit (the server stores the reply's last offset: the commit's value is
// known only from the reply). Everything else goes straight to the client. The commits are the Consumer's own; this
// only watches them on their way to the wire.
import type { IggyClient } from '../client/client.js';
import type { MessagingClient } from '../client/messaging-client.js';
import type { Id, OffsetTarget, PollInput, SendInput } from '../client/requests.js';
import { outcomeOf, type HistoryWriter } from './history.js';

export class CommitRecorder implements MessagingClient {
  // `served`: which replica answered the client's last call (a cluster's; nothing on a single node).
  constructor(private readonly client: IggyClient, private readonly history: HistoryWriter, private readonly process: string, private readonly group: string,
    private readonly served: () => { replica?: number } = () => ({})) {}

  getTopic(stream: Id, topic: Id) { return this.client.getTopic(stream, topic); }
  sendMessages(send: SendInput) { return this.client.sendMessages(send); }
  createGroup(stream: Id, topic: Id, name: string) { return this.client.createGroup(stream, topic, name); }
  joinGroup(stream: Id, topic: Id, group: Id) { return this.client.joinGroup(stream, topic, group); }
  leaveGroup(stream: Id, topic: Id, group: Id) { return this.client.leaveGroup(stream, topic, group); }
  syncGroup(stream: Id, topic: Id, group: Id) { return this.client.syncGroup(stream, topic, group); }

  storeOffset(target: OffsetTarget, offset: bigint): Promise<void> {
    return this.commit(target, () => this.client.storeOffset(target, offset).then(() => offset));
  }

  async pollMessages(poll: PollInput & { verifyChecksums?: boolean }) {
    if (!poll.autoCommit) return this.client.pollMessages(poll);
    let polled!: Awaited<ReturnType<IggyClient['pollMessages']>>;
    await this.commit(poll, async () => {
      polled = await this.client.pollMessages(poll);
      // No messages (or the re-sync sentinel's none): the server stored nothing.
      return polled.messages.length > 0 ? polled.messages[polled.messages.length - 1].offset : null;
    });
    return polled;
  }

  // Runs one commit between its invoke and its completion: ok with the stored value, fail when the server answered
  // an error or stored nothing, info when the outcome is unknown (a dropped connection, a timeout).
  private async commit(target: OffsetTarget, run: () => Promise<bigint | null>): Promise<void> {
    const key = `${target.stream}/${target.topic}/${target.partition}`;
    const base = { process: this.process, f: 'commit' as const, key, group: this.group };
    this.history.record({ ...base, type: 'invoke' });
    try {
      const stored = await run();
      if (stored === null) this.history.record({ ...base, type: 'fail', error: 'nothing to store' });
      else this.history.record({ ...base, type: 'ok', offset: String(stored), ...this.served() });
    } catch (error) {
      this.history.record({ ...base, type: outcomeOf(error), error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
}
