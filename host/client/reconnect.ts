// What the client does when its connection drops (reconnect policy, which requests may be sent again) and where
// it connects (the leader named by the cluster metadata, iggy-client-wire.md §4.1 step 5 and §7.3).
import { Operation, commandByCode } from '../shared/wire/codes.js';
import type { ClusterMetadata } from './responses.js';
import { Code } from './codes.js';

export interface ReconnectOptions {
  retries?: number; // attempts per drop before ReconnectFailed [20]
  initialDelayMs?: number; // wait before the 2nd attempt; doubles each attempt [100]
  maxDelayMs?: number; // cap of that wait [5000]
}

export interface ReconnectPolicy { retries: number; initialDelayMs: number; maxDelayMs: number }

export const DEFAULT_RECONNECT: ReconnectPolicy = { retries: 20, initialDelayMs: 100, maxDelayMs: 5_000 };

export function reconnectPolicy(given: ReconnectOptions | boolean | undefined): ReconnectPolicy | null {
  if (given === undefined || given === false) return null;
  const policy = { ...DEFAULT_RECONNECT, ...(given === true ? {} : given) };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`reconnect.${key} must be a number >= 0, got ${value}`);
  }
  if (policy.retries < 1) throw new RangeError(`reconnect.retries must be >= 1, got ${policy.retries}`);
  return policy;
}

// The first attempt goes at once (the drop may have been a server restart that is already over); then capped
// exponential backoff with jitter, so a fleet of clients does not come back in lock-step.
export function backoffMs(policy: ReconnectPolicy, attempt: number): number {
  if (attempt <= 1) return 0;
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 2));
  return Math.round(base * (0.5 + Math.random() / 2));
}

// Whether a request that was on the wire when the connection dropped can be sent again on the new one without
// changing what it does. Every NonReplicated command is a read (Flush only forces what is written anyway); a poll
// that commits its own position (auto-commit with strategy Next) is not: the lost reply's messages would be
// skipped. StoreOffset writes an absolute value and Join is idempotent (§7.7). Every other replicated op (sends,
// creates, deletes) could be applied twice: its duplicate detection (§4.3) is per session, and the session is gone.
export function isRetrySafe(code: number, detail?: { autoCommit?: boolean; strategy?: string }): boolean {
  if (code === Code.pollMessages) return !(detail?.autoCommit && detail.strategy === 'next');
  if (code === Code.storeOffset || code === Code.joinGroup) return true;
  return commandByCode(code)?.operation === Operation.nonReplicated;
}

export const LEADER = 0;
export const HEALTHY = 0;

// The address of the cluster's leader when it is another node than `current`; null to stay (the SDK's rule: the
// reply failed, lists one node or fewer, names no healthy leader, or the leader is this node).
export function leaderToFollow(cluster: ClusterMetadata | null, current: string): string | null {
  if (!cluster || cluster.nodes.length <= 1) return null;
  const leader = cluster.nodes.find((n) => n.role === LEADER && n.status === HEALTHY);
  if (!leader) return null;
  const address = nodeAddress(leader.ip, leader.tcpPort);
  return sameAddress(address, current) ? null : address;
}

// Where to try on reconnect, in order: the last leader, the cluster's other nodes, then the addresses the caller
// gave. Attempt n uses entry (n - 1) mod length.
export function reconnectCandidates(cluster: ClusterMetadata | null, seeds: string[]): string[] {
  const nodes = cluster?.nodes ?? [];
  const ordered = [...nodes.filter((n) => n.role === LEADER), ...nodes.filter((n) => n.role !== LEADER)]
    .map((n) => nodeAddress(n.ip, n.tcpPort));
  const all = cluster && cluster.nodes.length > 1 ? [...ordered, ...seeds] : seeds;
  return [...new Set(all)];
}

function nodeAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function sameAddress(a: string, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace('localhost', '127.0.0.1').replace(/^\[|\](?=:)/g, '');
  return norm(a) === norm(b);
}
