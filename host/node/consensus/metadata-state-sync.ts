// The metadata log's side of a state transfer (the messages: state-transfer.ts; the decisions: the core's
// state_sync.ts). A replica whose data directory is empty in a cluster marks itself lost (`state-lost`, durable
// before anything else happens) and recovers through the core's recovery protocol; the marker stays until the core
// holds the cluster's state again (after the StartView), so a crash in between restarts it as lost again.
import crypto from 'node:crypto';
import { H } from '../../shared/vsr-abi.js';
import { clearMarker, hasMarker, setMarker } from '../io/marker-file.js';
import type { Snapshot } from './snapshot-file.js';
import {
  TransferReceiver, encodeImage, stateChunks, stateRequest, transferIdOf, type ReceivedState, type TransferHeader,
} from './state-transfer.js';

const LOST_MARKER = 'state-lost';

export function isMarkedLost(dir: string): boolean {
  return hasMarker(dir, LOST_MARKER);
}

export function markLost(dir: string): void {
  setMarker(dir, LOST_MARKER, 'this replica lost its state: it recovers it from the cluster');
}

export function clearLost(dir: string): void {
  clearMarker(dir, LOST_MARKER);
}

export function randomNonce(): bigint {
  return crypto.randomBytes(8).readBigUInt64LE(0);
}

export interface StateSyncHost {
  cluster: bigint;
  group: bigint;
  replica: number;
  send(replica: number, message: Uint8Array): boolean; // sealed already
  seal(message: Uint8Array): void; //                     the core's checksums, in place
  // This replica's committed state now (snapshot at its commit, client table), or null when it has none to give.
  current(): { snapshot: Snapshot; clients: Uint8Array } | null;
  install(state: ReceivedState): void; // durable, then the core hears of it
  warn(message: string): void;
}

export class MetadataStateSync {
  served = 0; //    transfers this replica sent
  installed = 0; // transfers this replica installed
  refused = 0; //   transfers abandoned (a lost chunk, a checksum)
  private receiver: TransferReceiver | null = null;

  constructor(private readonly host: StateSyncHost) {}

  // The core asked (ACTION_STATE_REQUEST) for `from`'s state; it asks again on a timer until it is installed: each
  // request starts a new transfer (one whose chunks were dropped never completes).
  request(from: number): void {
    this.receiver = new TransferReceiver(randomNonce(), from);
    const m = stateRequest({ ...this.header(), transfer: this.receiver.transfer });
    this.host.seal(m);
    this.host.send(from, m);
  }

  // A peer asks for our state: every chunk at once (the link's queue takes them or drops; the peer asks again).
  onRequest(message: Uint8Array): void {
    const state = this.host.current();
    if (!state) return;
    const to = message[H.replica];
    const image = encodeImage(state.snapshot, state.clients);
    const chunks = stateChunks({ ...this.header(), transfer: transferIdOf(message) }, state.snapshot.op, state.snapshot.checksum, image);
    for (const m of chunks) {
      this.host.seal(m);
      if (!this.host.send(to, m)) return;
    }
    this.served++;
  }

  onChunk(message: Uint8Array): void {
    const receiver = this.receiver;
    if (!receiver || transferIdOf(message) !== receiver.transfer || message[H.replica] !== receiver.from) return;
    let state: ReceivedState | null;
    try {
      state = receiver.accept(message);
    } catch (error) {
      this.receiver = null;
      this.refused++;
      this.host.warn(`state transfer from replica ${receiver.from} abandoned: ${(error as Error).message}`);
      return;
    }
    if (!state) return;
    this.receiver = null;
    this.host.install(state);
    this.installed++;
  }

  private header(): Omit<TransferHeader, 'transfer'> {
    return { cluster: this.host.cluster, group: this.host.group, replica: this.host.replica };
  }
}
