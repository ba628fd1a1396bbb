// The VSR part of core.wasm's ABI, typed for hosts (server, simulator, visualiser). No Node-only imports here:
// the browser visualiser loads this file too. Mirrors assembly/vsr/{constants,header,api}.ts.

// Raw exports of the VSR ABI (u64 parameters are BigInt; ops come back as f64 numbers).
import { ShardlogError } from './errors.js';
export interface VsrExports {
  __arena_init(base: number, size: number): void;
  __arena_used(): number;
  staticDataEnd(): number;
  vsrCreate(cluster: bigint, group: bigint, replica: number, replicaCount: number, slots: number, clientsMax: number): number;
  vsrRelease(handle: number): void;
  vsrInboxPtr(handle: number): number;
  vsrOnMessage(handle: number, ptr: number, length: number): void;
  vsrOnTick(handle: number): void;
  vsrOnJournalWriteDone(handle: number, op: bigint, checksum: bigint): void;
  vsrOnJournalRead(handle: number, op: bigint, to: number, ptr: number, length: number): void;
  vsrOutboxPtr(handle: number): number;
  vsrOutboxLen(handle: number): number;
  vsrOutboxClear(handle: number): void;
  vsrRecoverBegin(handle: number, view: number, logView: number, commit: bigint, commitChecksum: bigint,
    logHead: bigint, logHeadChecksum: bigint): void;
  vsrRecoverPrepare(handle: number, op: bigint, ptr: number, length: number, headerPtr: number, headerLength: number): void;
  vsrRecoverFrom(handle: number, op: bigint, checksum: bigint): void;
  vsrRecoverEnd(handle: number): number; // RecoveryVerdict
  vsrRecoveryLostFrom(handle: number): number;
  vsrRecoveryLostTo(handle: number): number;
  vsrStatus(handle: number): number;
  vsrView(handle: number): number;
  vsrLogView(handle: number): number;
  vsrIsPrimary(handle: number): number;
  vsrOp(handle: number): number;
  vsrCommitMin(handle: number): number;
  vsrCommitMax(handle: number): number;
  vsrViewChanges(handle: number): number;
  vsrDeadlocks(handle: number): number;
  vsrMessagesRejected(handle: number): number;
  vsrDebugMerge(handle: number): number;
  vsrDebugSlot(handle: number, op: bigint): number;
  vsrDebugSetQuorumOverride(n: number): void;
  vsrSealMessage(ptr: number): void;
  vsrVerifyMessage(ptr: number, length: number): number;
  vsrChecksum(ptr: number, length: number): bigint;
  metadataGroupId(): bigint; // assembly/router.ts METADATA_GROUP (1 << 63): the metadata group's id, pinned to shard 0
}

// A trap inside the core (a failed assert) surfaces as this error, with the core's message.
export class CoreAbort extends Error {}

// Synchronous instantiation (the simulator restarts replicas mid-tick). Reads the abort message itself, so it
// works without the generated bindings, in Node and in a browser worker.
export function instantiateVsr(module: WebAssembly.Module, memory: WebAssembly.Memory): VsrExports {
  const liftString = (ptr: number): string => {
    if (!ptr) return '';
    const bytes = new Uint8Array(memory.buffer);
    const length = new Uint32Array(memory.buffer, ptr - 4, 1)[0] >>> 1;
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[ptr + 2 * i] | (bytes[ptr + 2 * i + 1] << 8));
    return text;
  };
  const env = {
    memory,
    abort(message: number, file: number, line: number, column: number) {
      throw new CoreAbort(`core abort: ${liftString(message >>> 0)} in ${liftString(file >>> 0)}:${line >>> 0}:${column >>> 0}`);
    },
  };
  const instance = new WebAssembly.Instance(module, { env });
  return instance.exports as unknown as VsrExports;
}

export const HEADER_SIZE = 256;
export const BODY_MAX = 256;
// assembly/vsr/constants.ts: the core's inbox (a DoViewChange / StartView with SUFFIX_HEADERS_MAX = 64 headers),
// and the prepares in flight at a primary before it queues requests.
export const MESSAGE_MAX = HEADER_SIZE + 64 * HEADER_SIZE;
export const PIPELINE_MAX = 32;

export const Command = {
  Request: 5, Prepare: 6, PrepareOk: 7, Reply: 8, Commit: 9, StartViewChange: 10, DoViewChange: 11,
  StartView: 12, RequestStartView: 17, RequestPrepares: 18, RepairPrepare: 19,
} as const;

export const Status = { Normal: 0, ViewChange: 1, Recovering: 2 } as const;

export const Action = { Send: 1, Reply: 2, JournalWrite: 3, Commit: 4, Persist: 5, JournalRead: 6, JournalWriteHeader: 7 } as const;

export const Operation = { Register: 1, App: 128 } as const;

// vsrRecoverEnd's verdict (assembly/vsr/constants.ts RECOVERY_*). Only a single replica refuses.
export const RecoveryVerdict = { Ok: 0, Lost: 1, Diverged: 2 } as const;

// A single replica that refused to start: its journal lacks ops it may have acknowledged (RecoveryLostOps), or
// holds another prepare than the one its superblock recorded as committed (RecoveryDiverged). No peer can
// repair it; serving on would hand out a history that lost acknowledged writes.
export class RecoveryRefused extends ShardlogError {
  constructor(override readonly code: 'RecoveryLostOps' | 'RecoveryDiverged', readonly group: bigint, readonly from: number,
    readonly to: number, message: string) {
    super(code, message);
  }
}

// Call right after vsrRecoverEnd with its verdict: null when the replica runs, else the refusal to report.
export function recoveryRefusal(core: VsrExports, handle: number, verdict: number, group: bigint): RecoveryRefused | null {
  if (verdict === RecoveryVerdict.Ok) return null;
  const from = core.vsrRecoveryLostFrom(handle);
  const to = core.vsrRecoveryLostTo(handle);
  const ops = from === to ? `op ${from}` : `ops ${from}..${to}`;
  if (verdict === RecoveryVerdict.Diverged) {
    return new RecoveryRefused('RecoveryDiverged', group, from, to,
      `group ${group}: the journal's ${ops} is not the prepare the superblock recorded as committed; a single replica cannot repair it, refusing to start`);
  }
  if (verdict !== RecoveryVerdict.Lost) throw new Error(`group ${group}: unknown recovery verdict ${verdict}`);
  return new RecoveryRefused('RecoveryLostOps', group, from, to,
    `group ${group}: ${ops} may have been acknowledged and are missing or corrupt in the journal; a single replica cannot repair them, refusing to start`);
}

export const ReplyStatus = ['Ok', 'NoSession', 'SessionMismatch', 'RequestTooOld', 'BodyTooLarge'] as const;
export const REPLY_OK = 0;
export const REPLY_REQUEST_TOO_OLD = 3;

// Header offsets the hosts read or write (assembly/vsr/header.ts).
export const H = {
  checksum: 0, checksumBody: 16, cluster: 32, size: 48, view: 52, command: 60, replica: 61,
} as const;
export const Req = { client: 128, timestamp: 160, request: 168, operation: 176, session: 184, group: 248 } as const;
export const Prep = { client: 128, parent: 144, op: 176, commit: 184, request: 200, operation: 208, group: 216, session: 232 } as const;
export const Rep = {
  requestChecksum: 128, context: 144, client: 160, op: 176, commit: 184, request: 200, operation: 208,
  status: 216, session: 224, group: 232,
} as const;

export const OUTBOX_RECORD_HEADER = 16;

// Calls `visit` for each action in the outbox (payload offset into memory), then clears it. `view` spans the
// instance's memory (create it once: memory never grows).
export function drainOutbox(
  core: VsrExports, handle: number, view: DataView,
  visit: (kind: number, target: number, payload: number, length: number) => void,
): void {
  const length = core.vsrOutboxLen(handle) >>> 0;
  if (length === 0) return;
  const base = core.vsrOutboxPtr(handle) >>> 0;
  let at = base;
  while (at < base + length) {
    const kind = view.getUint32(at, true);
    const target = view.getUint32(at + 4, true);
    const size = view.getUint32(at + 8, true);
    visit(kind, target, at + OUTBOX_RECORD_HEADER, size);
    at += OUTBOX_RECORD_HEADER + ((size + 7) & ~7);
  }
  core.vsrOutboxClear(handle);
}
