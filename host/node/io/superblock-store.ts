// The replica's superblock: two copies, `superblock.a` and `superblock.b`, written in turn, each through
// tmp → fsync → rename → fsync dir. The core checks each copy and picks the newer valid one (assembly/journal/superblock.ts).
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../../shared/log.js';
import { mkdirDurably, replaceFileDurably, writeFully } from './durable-fs.js';
import { storageError } from './storage-errors.js';
import { storageCore, type StorageCore } from './storage-core.js';
import { CoreJournalSuperblock as SB } from '../../shared/core-abi.generated.js';

const RECORD = SB.SB_RECORD;
const PAYLOAD = SB.SB_HEADER; // the payload follows the record's header
const VERDICTS: Record<number, string> = {
  [SB.SB_OK]: 'ok', [SB.SB_EMPTY]: 'empty', [SB.SB_SHORT]: 'short', [SB.SB_BAD_MAGIC]: 'bad magic', [SB.SB_BAD_VERSION]: 'bad version',
  [SB.SB_BAD_LENGTH]: 'bad payload length', [SB.SB_CHECKSUM]: 'checksum mismatch',
};
const { PICK_A, PICK_B, PICK_NONE } = SB;
const FILES = ['superblock.a', 'superblock.b'];

export interface VsrState {
  cluster: bigint;
  replica: number;
  replicaCount: number;
  view: number;
  logView: number;
  commit: number;
  checkpointOp: number;
  checkpointChecksum: bigint;
  // The head of the log when the replica entered normal status in logView, and that op's checksum: recovery keeps
  // the journal's ops up to it that were accepted in older views (the view change confirmed them). 0 in a version 1
  // record, which recovered so.
  logHead: number;
  logHeadChecksum: bigint;
}

export class SuperblockStore {
  state: VsrState | null = null;
  sequence = 0;
  warnings: string[] = [];
  private writeSlot = 0;
  private readonly region: number; // [current record | next record]
  private readonly log = logger('superblock');

  private constructor(private readonly sc: StorageCore, readonly dir: string) {
    this.region = sc.alloc(2 * 128);
  }

  static async open(dir: string, sc?: StorageCore, quiet = false): Promise<SuperblockStore> {
    const store = new SuperblockStore(sc ?? await storageCore(), dir);
    store.load(quiet);
    return store;
  }

  private load(quiet: boolean): void {
    const { sc } = this;
    const core = sc.core;
    mkdirDurably(this.dir);
    // A write that crashed before its rename left the old copy in place: its tmp is garbage.
    for (const name of FILES) fs.rmSync(path.join(this.dir, `${name}.tmp`), { force: true });
    const verdicts: number[] = [];
    const sequences: number[] = [];
    const errorsAt: number[] = [];
    FILES.forEach((name, i) => {
      const at = this.region + 128 * i;
      sc.u8.fill(0, at, at + 128);
      const file = path.join(this.dir, name);
      const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
      sc.u8.set(bytes.subarray(0, 128), at);
      verdicts.push(core.superblockCheck(at, Math.min(bytes.length, 128))); // either version's record length
      errorsAt.push(core.superblockErrorAt());
      sequences.push(verdicts[i] === SB.SB_OK ? core.superblockSequence(at) : 0);
    });
    const pick = core.superblockPick(verdicts[0], sequences[0], verdicts[1], sequences[1]);
    if (pick !== PICK_A && pick !== PICK_B && pick !== PICK_NONE) {
      throw storageError('SuperblockCorrupt', path.join(this.dir, FILES[0]), errorsAt[0],
        `${FILES[0]}: ${VERDICTS[verdicts[0]]}; ${FILES[1]}: ${VERDICTS[verdicts[1]]} at byte ${errorsAt[1]}: no valid copy, refusing to boot`);
    }
    for (const i of [0, 1]) {
      if (verdicts[i] !== SB.SB_OK && verdicts[i] !== SB.SB_EMPTY) {
        const warning = `SuperblockCopyCorrupt: ${path.join(this.dir, FILES[i])} @ byte ${errorsAt[i]}: ${VERDICTS[verdicts[i]]}; using the other copy, the next write replaces this one`;
        this.warnings.push(warning);
        if (!quiet) this.log.warn(warning);
      }
    }
    this.writeSlot = core.superblockWriteSlot(pick);
    if (pick === PICK_NONE) return;
    // Keep the winner as "current" (slot 0 of the region): the next record chains to its checksum.
    const winner = this.region + 128 * pick;
    if (pick === PICK_B) sc.u8.copyWithin(this.region, winner, winner + 128);
    this.sequence = sequences[pick];
    const payloadLength = new DataView(sc.u8.buffer, this.region + 24, 4).getUint32(0, true);
    this.state = decode(new DataView(sc.u8.buffer, this.region + PAYLOAD, payloadLength));
  }

  // Durably replaces the older copy with `state` at the next sequence; the in-memory state moves only afterwards.
  write(state: VsrState): void {
    const { sc } = this;
    const next = this.region + 128;
    sc.u8.fill(0, next, next + 128);
    encode(new DataView(sc.u8.buffer, next + PAYLOAD, SB.SB_PAYLOAD), state);
    sc.core.superblockSeal(next, this.sequence + 1, this.state ? this.region : 0);
    const bytes = Buffer.from(sc.u8.slice(next, next + RECORD));
    replaceFileDurably(path.join(this.dir, FILES[this.writeSlot]), (fd) => writeFully(fd, bytes, 0));
    sc.u8.copyWithin(this.region, next, next + 128);
    this.sequence += 1;
    this.state = { ...state };
    this.writeSlot = 1 - this.writeSlot;
  }

  close(): void {
    this.sc.release(this.region, 2 * 128);
  }
}

function encode(v: DataView, s: VsrState): void {
  v.setBigUint64(0, s.cluster & 0xffff_ffff_ffff_ffffn, true);
  v.setBigUint64(8, s.cluster >> 64n, true);
  v.setUint8(16, s.replica);
  v.setUint8(17, s.replicaCount);
  v.setUint32(20, s.view, true);
  v.setUint32(24, s.logView, true);
  v.setBigUint64(32, BigInt(s.commit), true);
  v.setBigUint64(40, BigInt(s.checkpointOp), true);
  v.setBigUint64(48, s.checkpointChecksum, true);
  v.setBigUint64(64, BigInt(s.logHead), true);
  v.setBigUint64(72, s.logHeadChecksum, true);
}

function decode(v: DataView): VsrState {
  return {
    cluster: v.getBigUint64(0, true) | (v.getBigUint64(8, true) << 64n),
    replica: v.getUint8(16),
    replicaCount: v.getUint8(17),
    view: v.getUint32(20, true),
    logView: v.getUint32(24, true),
    commit: Number(v.getBigUint64(32, true)),
    checkpointOp: Number(v.getBigUint64(40, true)),
    checkpointChecksum: v.getBigUint64(48, true),
    logHead: v.byteLength >= SB.SB_PAYLOAD ? Number(v.getBigUint64(64, true)) : 0,
    logHeadChecksum: v.byteLength >= SB.SB_PAYLOAD ? v.getBigUint64(72, true) : 0n,
  };
}
