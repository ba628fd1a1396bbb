// The outbox: actions the core asks its host to perform, in order. Records are
//   kind u32 | target u32 | length u32 | reserved u32 | payload[length] (padded to 8 bytes)
// The host drains it after every call into the core (vsrOutboxPtr/vsrOutboxLen, then vsrOutboxClear) and must
// perform the actions in order: a PERSIST must be durable before a later SEND leaves.
import { ACTION_JOURNAL_READ, ACTION_SEND, OUTBOX_BYTES } from "./constants";

export const RECORD_HEADER: u32 = 16;

export class Outbox {
  buffer: usize;
  length: u32 = 0;
  // Sends dropped because the outbox was full: the network may lose them anyway, retransmits recover.
  dropped: u64 = 0;

  constructor() {
    this.buffer = heap.alloc(OUTBOX_BYTES);
  }

  // Returns the payload address to fill, or 0 when a droppable SEND does not fit.
  reserve(kind: u32, target: u32, length: u32): usize {
    const need = RECORD_HEADER + ((length + 7) & ~7);
    if (this.length + need > OUTBOX_BYTES) {
      // Journal writes, commits and persists must never be lost: the outbox is sized so they always fit.
      // Sends and journal reads (for a peer's repair, which asks again) may be.
      assert(kind == ACTION_SEND || kind == ACTION_JOURNAL_READ, "outbox overflow on a non-droppable action");
      this.dropped++;
      return 0;
    }
    const record = this.buffer + this.length;
    store<u32>(record, kind);
    store<u32>(record + 4, target);
    store<u32>(record + 8, length);
    store<u32>(record + 12, 0);
    this.length += need;
    return record + RECORD_HEADER;
  }

  push(kind: u32, target: u32, source: usize, length: u32): void {
    const payload = this.reserve(kind, target, length);
    if (payload != 0) memory.copy(payload, source, length);
  }

  clear(): void {
    this.length = 0;
  }
}
