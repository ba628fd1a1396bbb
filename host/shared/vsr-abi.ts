// The VSR part of core.wasm's ABI, typed for hosts (server, simulator, visualiser). No Node-only imports here:
// the browser visualiser loads this file too. Every value comes from core-abi.generated.ts (made from assembly/ at
// build time); this file only gives the hosts' names to the ones they use.
import { ShardlogError } from './errors.js';
import { namesByValue } from './abi-names.js';
import {
  CoreVsrConstants, CoreVsrHeader, CoreVsrOutbox, type CoreExports, type CoreRawExports,
} from './core-abi.generated.js';

type VsrName = Extract<keyof CoreRawExports, `vsr${string}`> | '__arena_init' | '__arena_used' | 'staticDataEnd' | 'metadataGroupId';

// The exports a VSR host calls, callable on a bindings instance (instantiateCore) or a bare one (instantiateVsr):
// u64 parameters are BigInt, ops come back as f64 numbers, a bool result is a boolean or 0 | 1 (test it for truth).
export type VsrExports = { [K in VsrName]: CoreExports[K] | CoreRawExports[K] };

// The metadata group's consensus id (the core's METADATA_GROUP), asked of the instance the group runs on.
export function metadataGroupId(core: VsrExports): bigint {
  return core.metadataGroupId();
}

// An instance's arena for its replicas: [base, base + size) of its memory, above the core's static data.
export function initArena(core: VsrExports, base: number, size: number): void {
  if (core.staticDataEnd() >>> 0 > base) throw new Error('core static data overlaps the arena');
  core.__arena_init(base, size);
}

// Bytes of the arena taken so far (the core allocates when a replica is created, never after).
export function arenaUsed(core: VsrExports): number {
  return core.__arena_used() >>> 0;
}

// The simulator's test knob: a replication quorum other than the real rule (0: the real rule), so a test can show
// the checkers catching a broken quorum.
export function setQuorumOverride(core: VsrExports, quorum: number): void {
  core.vsrDebugSetQuorumOverride(quorum);
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

export const HEADER_SIZE = CoreVsrConstants.HEADER_SIZE;
export const BODY_MAX = CoreVsrConstants.BODY_MAX;
export const PIPELINE_MAX = CoreVsrConstants.PIPELINE_MAX;
// The core's inbox: a DoViewChange / StartView with SUFFIX_HEADERS_MAX headers.
export const MESSAGE_MAX = CoreVsrConstants.MESSAGE_MAX;

export const Command = {
  Request: CoreVsrConstants.CMD_REQUEST, Prepare: CoreVsrConstants.CMD_PREPARE, PrepareOk: CoreVsrConstants.CMD_PREPARE_OK,
  Reply: CoreVsrConstants.CMD_REPLY, Commit: CoreVsrConstants.CMD_COMMIT, StartViewChange: CoreVsrConstants.CMD_START_VIEW_CHANGE,
  DoViewChange: CoreVsrConstants.CMD_DO_VIEW_CHANGE, StartView: CoreVsrConstants.CMD_START_VIEW,
  RequestStartView: CoreVsrConstants.CMD_REQUEST_START_VIEW, RequestPrepares: CoreVsrConstants.CMD_REQUEST_PREPARES,
  RepairPrepare: CoreVsrConstants.CMD_REPAIR_PREPARE, Recovery: CoreVsrConstants.CMD_RECOVERY,
  RecoveryResponse: CoreVsrConstants.CMD_RECOVERY_RESPONSE, StateRequest: CoreVsrConstants.CMD_STATE_REQUEST,
  StateChunk: CoreVsrConstants.CMD_STATE_CHUNK,
} as const;

export const Status = {
  Normal: CoreVsrConstants.STATUS_NORMAL, ViewChange: CoreVsrConstants.STATUS_VIEW_CHANGE, Recovering: CoreVsrConstants.STATUS_RECOVERING,
} as const;

export const Action = {
  Send: CoreVsrConstants.ACTION_SEND, Reply: CoreVsrConstants.ACTION_REPLY, JournalWrite: CoreVsrConstants.ACTION_JOURNAL_WRITE,
  Commit: CoreVsrConstants.ACTION_COMMIT, Persist: CoreVsrConstants.ACTION_PERSIST, JournalRead: CoreVsrConstants.ACTION_JOURNAL_READ,
  JournalWriteHeader: CoreVsrConstants.ACTION_JOURNAL_WRITE_HEADER, StateRequest: CoreVsrConstants.ACTION_STATE_REQUEST,
} as const;

// App is the simulator's opaque application operation (any value above Register works; the core never reads it).
export const Operation = { Register: CoreVsrConstants.OP_REGISTER, App: 128 } as const;

// vsrRecoverEnd's verdict. Only a single replica refuses.
export const RecoveryVerdict = {
  Ok: CoreVsrConstants.RECOVERY_OK, Lost: CoreVsrConstants.RECOVERY_LOST, Diverged: CoreVsrConstants.RECOVERY_DIVERGED,
} as const;

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

// Reply status names by value ('Ok', 'NoSession', 'SessionMismatch', …), from the core's REPLY_* names.
export const ReplyStatus = namesByValue(CoreVsrConstants, 'REPLY_', 'pascal');
export const REPLY_OK = CoreVsrConstants.REPLY_OK;
export const REPLY_NO_SESSION = CoreVsrConstants.REPLY_NO_SESSION;
export const REPLY_SESSION_MISMATCH = CoreVsrConstants.REPLY_SESSION_MISMATCH;
export const REPLY_REQUEST_TOO_OLD = CoreVsrConstants.REPLY_REQUEST_TOO_OLD;

// Header offsets the hosts read or write: common (H_*), request (R_*), prepare (P_*) and reply (Y_*) fields.
const V = CoreVsrHeader;
export const H = {
  checksum: V.H_CHECKSUM, checksumBody: V.H_CHECKSUM_BODY, cluster: V.H_CLUSTER, size: V.H_SIZE, view: V.H_VIEW, command: V.H_COMMAND,
  replica: V.H_REPLICA,
} as const;
export const Req = {
  client: V.R_CLIENT, timestamp: V.R_TIMESTAMP, request: V.R_REQUEST, operation: V.R_OPERATION, session: V.R_SESSION, group: V.R_GROUP,
} as const;
export const Prep = {
  client: V.P_CLIENT, parent: V.P_PARENT, op: V.P_OP, commit: V.P_COMMIT, request: V.P_REQUEST, operation: V.P_OPERATION, group: V.P_GROUP, session: V.P_SESSION,
} as const;
// State transfer messages (host to host): group, transfer id, the op and checksum the image covers, chunk placement.
export const Xfer = {
  group: V.T_GROUP, transfer: V.T_TRANSFER, op: V.T_OP, checksum: V.T_CHECKSUM, offset: V.T_OFFSET, total: V.T_TOTAL, keep: V.T_KEEP,
  fromStart: V.T_FROM_START, final: V.T_FINAL,
} as const;
export const Rep = {
  requestChecksum: V.Y_REQUEST_CHECKSUM, context: V.Y_CONTEXT, client: V.Y_CLIENT, op: V.Y_OP, commit: V.Y_COMMIT, request: V.Y_REQUEST,
  operation: V.Y_OPERATION, status: V.Y_STATUS, session: V.Y_SESSION, group: V.Y_GROUP,
} as const;

// An outbox record: kind u32, target u32, payload length u32, then the payload padded to 8 bytes.
export const OUTBOX_RECORD_HEADER = CoreVsrOutbox.RECORD_HEADER;

// Calls `visit` for each action in the outbox (payload offset into memory), then clears it, also when a visit
// throws: the actions left belong to the replica whose walk failed, and the instance's next walk (another replica's,
// perhaps: the outbox is shared) must not perform them. `view` spans the instance's memory (create it once: memory
// never grows).
export function drainOutbox(
  core: VsrExports, handle: number, view: DataView,
  visit: (kind: number, target: number, payload: number, length: number) => void,
): void {
  const length = core.vsrOutboxLen(handle) >>> 0;
  if (length === 0) return;
  const base = core.vsrOutboxPtr(handle) >>> 0;
  try {
    for (let at = base; at < base + length;) {
      const kind = view.getUint32(at, true);
      const target = view.getUint32(at + 4, true);
      const size = view.getUint32(at + 8, true);
      visit(kind, target, at + OUTBOX_RECORD_HEADER, size);
      at += OUTBOX_RECORD_HEADER + ((size + 7) & ~7);
    }
  } finally {
    core.vsrOutboxClear(handle);
  }
}
