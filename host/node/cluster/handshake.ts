// The replica handshake: before any frame, the two ends of a replica connection prove they hold the cluster secret,
// belong to the same cluster and roster, and are who they say. The secret never crosses the wire: each side sends
// an HMAC-SHA256 over both sides' fresh nonces and the identities, so a recorded handshake cannot be replayed (the
// other side's nonce is new every time) and a MAC for one direction is no MAC for the other (distinct labels).
//
// Who dials whom: the lower replica id dials the higher, which accepts (as TigerBeetle's message bus and Iggy's
// connector decide it): exactly one connection per pair, no tie to break when both dial at once.
//
//   acceptor -> dialer  CHALLENGE  magic u32 | kind u8=1 | version u8 | acceptor id u16 | cluster u64 | nonce[32]       (48 B)
//   dialer -> acceptor  HELLO      magic u32 | kind u8=2 | version u8 | dialer id u16 | cluster u64 | roster hash[32] |
//                                  nonce[32] | mac[32] = HMAC(secret, "hello" · acceptor nonce · dialer nonce · ids · cluster · roster)  (112 B)
//   acceptor -> dialer  WELCOME    magic u32 | kind u8=3 | version u8 | acceptor id u16 | mac[32] = HMAC(secret, "welcome" · ...)      (40 B)
//
// All integers little-endian. Fixed sizes: a peer that sends anything else is refused as garbage, never parsed on.
import crypto from 'node:crypto';

export const HANDSHAKE_MAGIC = 0x31524c53; // "SLR1"
export const HANDSHAKE_VERSION = 1;
export const CHALLENGE_BYTES = 48;
export const HELLO_BYTES = 112;
export const WELCOME_BYTES = 40;
const NONCE = 32;
const KIND = { challenge: 1, hello: 2, welcome: 3 } as const;

// Why a handshake was refused: the label of replica_handshake_refusals_total and the kind of its log line.
export const REFUSALS = {
  garbage: 'bytes that are not this handshake (another protocol, another version, or noise)',
  cluster_mismatch: 'the peer belongs to another cluster (--cluster-id)',
  roster_mismatch: 'the peer was started with another roster (--cluster differs between nodes)',
  unknown_replica: 'the peer claims a replica id that is not in the roster (or not the one dialled)',
  wrong_direction: 'the peer dialled a lower replica id (the lower id dials the higher)',
  bad_mac: 'the peer\'s MAC does not verify: it does not hold this cluster secret',
  duplicate_replica: 'a connection to that replica is already up',
  timeout: 'the handshake did not finish within --cluster-handshake-timeout-ms',
  closed: 'the peer closed the connection during the handshake',
  handshake_limit: 'too many connections were in their handshake at once: closed at accept',
} as const;
export type Refusal = keyof typeof REFUSALS;
export const REFUSAL_NAMES = Object.keys(REFUSALS) as Refusal[];

export interface Identity {
  self: number;
  clusterId: bigint;
  rosterHash: Uint8Array; // 32 bytes
  secret: string;
  knows(replica: number): boolean;
}

export function newNonce(): Buffer {
  return crypto.randomBytes(NONCE);
}

function head(kind: number, id: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUInt32LE(HANDSHAKE_MAGIC, 0);
  b.writeUInt8(kind, 4);
  b.writeUInt8(HANDSHAKE_VERSION, 5);
  b.writeUInt16LE(id, 6);
  return b;
}

function headOk(b: Buffer, kind: number): boolean {
  return b.readUInt32LE(0) === HANDSHAKE_MAGIC && b.readUInt8(4) === kind && b.readUInt8(5) === HANDSHAKE_VERSION;
}

function mac(label: string, secret: string, parts: { first: Buffer; second: Buffer; from: number; to: number; cluster: bigint; roster: Uint8Array }): Buffer {
  const ids = Buffer.alloc(12);
  ids.writeUInt16LE(parts.from, 0);
  ids.writeUInt16LE(parts.to, 2);
  ids.writeBigUInt64LE(parts.cluster, 4);
  return crypto.createHmac('sha256', secret).update(label).update(parts.first).update(parts.second).update(ids).update(parts.roster).digest();
}

export function challenge(me: Identity, nonce: Buffer): Buffer {
  const b = head(KIND.challenge, me.self, CHALLENGE_BYTES);
  b.writeBigUInt64LE(me.clusterId, 8);
  nonce.copy(b, 16);
  return b;
}

// The dialer reads the acceptor's challenge: the refusal, or the hello to send and the welcome it must then get.
export function answerChallenge(me: Identity, peer: number, b: Buffer): { refusal: Refusal } | { hello: Buffer; expectWelcome: Buffer } {
  if (!headOk(b, KIND.challenge)) return { refusal: 'garbage' };
  if (b.readBigUInt64LE(8) !== me.clusterId) return { refusal: 'cluster_mismatch' };
  if (b.readUInt16LE(6) !== peer) return { refusal: 'unknown_replica' };
  const theirs = b.subarray(16, 16 + NONCE);
  const ours = newNonce();
  const hello = head(KIND.hello, me.self, HELLO_BYTES);
  hello.writeBigUInt64LE(me.clusterId, 8);
  Buffer.from(me.rosterHash).copy(hello, 16);
  ours.copy(hello, 48);
  const common = { cluster: me.clusterId, roster: me.rosterHash };
  mac('shardlog replica hello', me.secret, { first: theirs, second: ours, from: me.self, to: peer, ...common }).copy(hello, 80);
  const welcome = head(KIND.welcome, peer, WELCOME_BYTES);
  mac('shardlog replica welcome', me.secret, { first: ours, second: theirs, from: peer, to: me.self, ...common }).copy(welcome, 8);
  return { hello, expectWelcome: welcome };
}

// The acceptor checks a hello against the challenge it sent: the refusal, or the dialer's id and the welcome to send.
export function checkHello(me: Identity, ourNonce: Buffer, b: Buffer): { refusal: Refusal; claimed: number | null } | { peer: number; welcome: Buffer } {
  if (!headOk(b, KIND.hello)) return { refusal: 'garbage', claimed: null };
  const peer = b.readUInt16LE(6);
  if (b.readBigUInt64LE(8) !== me.clusterId) return { refusal: 'cluster_mismatch', claimed: peer };
  if (!me.knows(peer) || peer === me.self) return { refusal: 'unknown_replica', claimed: peer };
  if (peer > me.self) return { refusal: 'wrong_direction', claimed: peer };
  if (!crypto.timingSafeEqual(b.subarray(16, 48), me.rosterHash)) return { refusal: 'roster_mismatch', claimed: peer };
  const theirs = b.subarray(48, 80);
  const common = { cluster: me.clusterId, roster: me.rosterHash };
  const expected = mac('shardlog replica hello', me.secret, { first: ourNonce, second: theirs, from: peer, to: me.self, ...common });
  if (!crypto.timingSafeEqual(b.subarray(80, 112), expected)) return { refusal: 'bad_mac', claimed: peer };
  const welcome = head(KIND.welcome, me.self, WELCOME_BYTES);
  mac('shardlog replica welcome', me.secret, { first: theirs, second: ourNonce, from: me.self, to: peer, ...common }).copy(welcome, 8);
  return { peer, welcome };
}

// The dialer checks the acceptor's welcome (mutual: the acceptor proves the secret too).
export function checkWelcome(expected: Buffer, b: Buffer): Refusal | null {
  if (!headOk(b, KIND.welcome)) return 'garbage';
  return crypto.timingSafeEqual(b, expected) ? null : 'bad_mac';
}
