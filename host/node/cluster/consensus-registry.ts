// The consensus groups a shard holds, by group id: where the replica plane delivers a peer's message once it is on
// the group's shard. Groups register themselves (the driver, when it creates a group's replica) and unregister when
// they go; a message for a group that is not here is a `namespace_miss` drop (VSR retransmits it).
export type OnMessage = (message: Uint8Array) => void;

export class ConsensusRegistry {
  private readonly groups = new Map<bigint, OnMessage>();

  // Returns the unregister function. A second registration of a live group is a bug (two replicas of one group).
  register(group: bigint, onMessage: OnMessage): () => void {
    if (this.groups.has(group)) throw new Error(`consensus group ${group} is registered twice on this shard`);
    this.groups.set(group, onMessage);
    return () => {
      if (this.groups.get(group) === onMessage) this.groups.delete(group);
    };
  }

  // `message` is valid only during the call (a ring slot or a reused buffer): a group that keeps it copies it.
  deliver(group: bigint, message: Uint8Array): boolean {
    const onMessage = this.groups.get(group);
    if (!onMessage) return false;
    onMessage(message);
    return true;
  }
}
