// Failed-login throttling is one per node: the memory of failures per address and per username (LoginThrottle,
// login-throttle.ts) lives on shard 0, and the shard serving a login asks it over the rings (through the same call
// on shard 0 itself). With connections on every shard, a guesser whose connections land on several shards gets
// no fresh budget on each, and a locked-out address is locked out everywhere. Logins are rare: a round trip each.
import { Lifecycle, Variant } from '../../shared/frames.js';
import { Reader, Writer, utf8 } from '../../shared/wire/buffer.js';
import type { FailureVerdict, LoginThrottle } from './login-throttle.js';
import { Method, encodePartitionReply } from './shard-protocol.js';
import type { ShardRpc } from './shard-rpc.js';

const THROTTLE_SHARD = 0;
const enum Ask { admit = 0, failed = 1, succeeded = 2 }
const NO_USERNAME = 0xffff_ffff; // the length word of an absent username (a token login)
const decoder = new TextDecoder();

export class LoginGate {
  constructor(private readonly rpc: ShardRpc) {}

  // Whether a login from `address` may be checked now (LoginThrottle.admit).
  async admit(address: string): Promise<boolean> {
    return (await this.ask(Ask.admit, address, undefined)).u8('admitted') === 1;
  }

  async failed(address: string, username: string | undefined): Promise<FailureVerdict> {
    const r = await this.ask(Ask.failed, address, username);
    return { delayMs: r.u32('delay'), lockedOut: r.u8('locked out') === 1 };
  }

  async succeeded(username: string | undefined): Promise<void> {
    if (username !== undefined) await this.ask(Ask.succeeded, '', username);
  }

  private async ask(ask: Ask, address: string, username: string | undefined): Promise<Reader> {
    const w = new Writer(64).u8(Method.loginThrottle).u8(ask).lenBytes32(utf8.encode(address));
    if (username === undefined) w.u32(NO_USERNAME);
    else w.lenBytes32(utf8.encode(username));
    const reply = await this.rpc.call(THROTTLE_SHARD, Variant.lifecycle, Lifecycle.partitionRead, w.finish());
    return new Reader(reply, 4); // after the status word
  }
}

// Shard 0: answers a LoginGate's question from the node's throttle, with shard 0's clock.
export function answerLoginGate(throttle: LoginThrottle, payload: Uint8Array): Uint8Array {
  const r = new Reader(payload, 1);
  const ask = r.u8('ask') as Ask;
  const address = decoder.decode(r.bytes(r.u32('address length'), 'address'));
  const length = r.u32('username length');
  const username = length === NO_USERNAME ? undefined : decoder.decode(r.bytes(length, 'username'));
  const now = Date.now();
  if (ask === Ask.admit) return encodePartitionReply(0, Uint8Array.of(throttle.admit(address, now) ? 1 : 0));
  if (ask === Ask.failed) {
    const verdict = throttle.failed(address, username, now);
    return encodePartitionReply(0, new Writer(5).u32(verdict.delayMs).u8(verdict.lockedOut ? 1 : 0).finish());
  }
  if (ask === Ask.succeeded) {
    throttle.succeeded(username);
    return encodePartitionReply(0);
  }
  throw new Error(`login gate: unknown question ${ask as number}`);
}
