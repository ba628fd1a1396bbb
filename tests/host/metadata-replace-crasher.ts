// Child process of metadata-replace-crash.test: a backup's metadata log journals ops 1..5, then (the fault hook
// armed) the core asks for another prepare at op 3 and a new op 6, then op 7, with a SIGKILL at file-system step `at` of that
// write (0 = no kill). Each completion the log reports durable is printed (`durable <op> <checksum>`) before the
// next step can run, so the parent knows what the core was told. Prints `DONE <steps>` when it completes.
import fs from 'node:fs';
import { MetadataLog } from '../../host/node/consensus/metadata-log.js';
import { Command, H, HEADER_SIZE, Prep, metadataGroupId } from '../../host/shared/vsr-abi.js';
import { shardCore, type ShardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';
import { prng } from './helpers-prng.js';
import { armSelfKill } from './self-kill.js';

export const SLOTS = 64;
export const MAX_ENTRY = (1 << 20) + 4096; // the metadata log's journal entries: prepare + body up to 1 MiB

export interface Write { op: number; checksum: bigint; message: Uint8Array; body: Uint8Array }

// A sealed metadata prepare for `op` with a 40-byte body (as a descriptor), built and sealed by the core.
export function prepare(shard: ShardCore, at: number, op: number, request: number): Write {
  const size = HEADER_SIZE + 40;
  const u8 = new Uint8Array(shard.memory.buffer);
  const view = new DataView(shard.memory.buffer);
  u8.fill(0, at, at + size);
  for (let i = 0; i < 40; i++) u8[at + HEADER_SIZE + i] = (request * 7 + i) & 0xff;
  view.setUint32(at + H.size, size, true);
  view.setUint8(at + H.command, Command.Prepare);
  view.setBigUint64(at + Prep.group, metadataGroupId(shard.vsr), true);
  view.setBigUint64(at + Prep.op, BigInt(op), true);
  view.setBigUint64(at + Prep.client, 77n, true);
  view.setBigUint64(at + Prep.request, BigInt(request), true);
  view.setUint8(at + Prep.operation, 130);
  shard.vsr.vsrSealPrepare(at);
  const message = Uint8Array.from(u8.subarray(at, at + size));
  return { op, checksum: view.getBigUint64(at + H.checksum, true), message, body: requestBody(request) };
}

async function main(): Promise<void> {
  const [dir, atText] = process.argv.slice(2);
  const killer = armSelfKill(Number(atText), prng(Number(atText)));
  const shard = await shardCore();
  const log = await MetadataLog.open(dir, shard.core, shard.memory, shard.sc, new ToyState(), {
    slotCount: SLOTS, clientsMax: 8, quiet: true, peers: { replica: 1, replicaCount: 3, send: () => true },
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const inner = log as any;
  const scratch = shard.sc.alloc(4096);
  const done = (op: number, checksum: bigint) => { if (checksum !== 0n) fs.writeSync(1, `durable ${op} ${checksum}\n`); };
  // The storage's side of the core: each write with its body attached (as a prepare arrives from the primary).
  const write = (ws: Write[]) => {
    for (const w of ws) inner.attached.set(w.checksum, { op: w.op, body: w.body });
    inner.journalWriteReplicated(ws.map((w) => ({ op: w.op, checksum: w.checksum, message: w.message, headerOnly: false })), done);
  };
  write([1, 2, 3, 4, 5].map((op) => prepare(shard, scratch, op, op)));
  killer.enable();
  write([prepare(shard, scratch, 3, 103), prepare(shard, scratch, 6, 6)]);
  write([prepare(shard, scratch, 7, 7)]); // appends go on after the switch
  fs.writeSync(1, `DONE ${killer.steps()}\n`);
}

if (process.argv[1]?.endsWith('metadata-replace-crasher.js')) {
  main().catch((error) => {
    fs.writeSync(2, `metadata-replace-crasher: ${(error as Error).stack}\n`);
    process.exit(3);
  });
}
