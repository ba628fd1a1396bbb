// Child process of step-crash.test: prepares a journal (or superblock) in `dir`, then runs ONE drain (or superblock
// write) with a SIGKILL at its file-system step `at` (0 = no kill; prints the step count when it completes).
import path from 'node:path';
import fs from 'node:fs';
import { PrepareJournal, sealPrepare } from '../../host/node/io/prepare-journal.js';
import { storageCore } from '../../host/node/io/storage-core.js';
import { SuperblockStore } from '../../host/node/io/superblock-store.js';
import { prng } from './helpers-prng.js';
import { armSelfKill } from './self-kill.js';

export const OPS = 12;
export const DRAIN_UP_TO = 7;

async function main(): Promise<void> {
  const [what, dir, atText] = process.argv.slice(2);
  const killer = armSelfKill(Number(atText), prng(Number(atText)));
  const sc = await storageCore({ memoryBytes: 96 << 20 });
  if (what === 'drain') {
    const journal = await PrepareJournal.open({ dir, slotCount: 16, quiet: true }, sc);
    let parent: Buffer | null = null;
    const prepares: Buffer[] = [];
    for (let op = 1; op <= OPS; op++) prepares.push(parent = sealPrepare(sc, op, parent, Buffer.from(`op ${op}`)));
    journal.append(prepares);
    journal.syncHeaders();
    killer.enable();
    journal.drain(DRAIN_UP_TO);
  } else {
    const store = await SuperblockStore.open(dir, sc, true);
    const state = (commit: number) => ({ cluster: 1n, replica: 0, replicaCount: 1, view: commit, logView: commit, commit, checkpointOp: commit, checkpointChecksum: 0n, logHead: 0, logHeadChecksum: 0n });
    store.write(state(1));
    store.write(state(2));
    killer.enable();
    store.write(state(3));
  }
  fs.writeSync(1, `DONE ${killer.steps()}\n`);
  void path;
}

if (process.argv[1]?.endsWith('step-crasher.js')) {
  main().catch((error) => {
    fs.writeSync(2, `step-crasher: ${(error as Error).stack}\n`);
    process.exit(3);
  });
}
