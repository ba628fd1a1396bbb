// The cluster nemesis's faults on one replica's disk (cluster-nemesis.ts picks the replica and waits until the
// cluster settled first):
// * wipe: SIGKILL, remove the whole data directory, restart 0.2-3 s later: the replica starts with nothing and must
//   rejoin by state transfer (the metadata snapshot, then each partition's segments from the group's primary), and
//   at the end serve every acknowledged message like the others (the final read through each replica);
// * disk-full: a filler file takes every free byte of the replica's own tmpfs for 0.5-3 s and is deleted: the
//   replica must refuse or delay (a backup that cannot write acknowledges nothing; the others commit without it),
//   never acknowledge what it did not write, and catch up by itself once there is room. One whose groups are not
//   all normal again, or whose /health still names a write condition (`partition_write_failed`,
//   `metadata_log_failed`, `partition_fenced`), within RECOVERY_BOUND_MS is a finding (counted in `unrecovered`: the run fails) and is then
//   restarted, as an operator would, so that the run goes on testing the other faults;
// * bitflip: SIGKILL, copy the data directory aside, flip one bit in a segment, the metadata journal, a
//   superblock copy or a consumer offsets log (nemesis.ts `chooseFile`), restart. A replica that refuses to boot
//   gets its copy back (it never ran on the flipped files, so this is a kill with a longer downtime) and restarts;
//   one that boots runs on with the flip: it must find it and repair from its peers, or serve exactly what was
//   acknowledged (an audit read through it right away goes into the history, and the final read at the end is its
//   own). One still damaged 20 s later is a finding (`unrepaired`) and is then wiped so that the run goes on. Unlike the single node (nemesis.ts), no gate and no restore of a replica that ran: its peers hold every
//   committed message, and putting back files under a replica that acknowledged prepares since would undo them.
import fs from 'node:fs';
import path from 'node:path';
import { IggyClient } from '../client/client.js';
import { hold, restart, waitSettled, type ClusterCounts, type ClusterNemesisContext } from './cluster-nemesis.js';
import { fillDevice } from './full-device.js';
import { flipOneBit } from './nemesis.js';
import { describe, readAll } from './workload.js';

// refused: would not boot on the flipped files (restored); reported: booted, repaired or harmless, /health names what
// it found (e.g. a truncation at recovery); quiet: booted, /health says nothing (a flip in bytes nothing reads, or
// repaired silently: the final read judges what it serves); unrepaired: a partition still offline or read-only, or a
// group not back, RECOVERY_BOUND_MS after it booted: a finding (counted in `unrecovered`: the run fails), and the
// replica is then wiped, as an operator would, to rejoin by state transfer so that the run goes on.
export type ClusterFlipVerdict = 'refused' | 'reported' | 'quiet' | 'unrepaired';
export const newFlipVerdicts = (): Record<ClusterFlipVerdict, number> => ({ refused: 0, reported: 0, quiet: 0, unrepaired: 0 });

export async function wipe(ctx: ClusterNemesisContext, replica: number, counts: ClusterCounts): Promise<string> {
  const node = ctx.nodes[replica];
  const downMs = 200 + Math.floor(ctx.random() * 2_800);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'wipe', detail: `SIGKILL replica ${replica} (pid ${node.pid}), its data directory removed, down ${downMs} ms` });
  await node.kill();
  fs.rmSync(node.addresses.dataDir, { recursive: true, force: true });
  node.note('wipe: data directory removed');
  await hold(downMs);
  await restart(ctx, replica, counts, 'a wipe of its data directory');
  return `wipe replica ${replica} (down ${downMs} ms)`;
}

const RECOVERY_BOUND_MS = 20_000;

export async function diskFull(ctx: ClusterNemesisContext, replica: number, counts: ClusterCounts): Promise<string> {
  const node = ctx.nodes[replica];
  const ms = 500 + Math.floor(ctx.random() * 2_500);
  const filler = fillerOf(node.addresses.dataDir);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'disk-full', detail: `filled replica ${replica}'s data device for ${ms} ms` });
  node.note(`disk-full for ${ms} ms`);
  fillDevice(filler);
  try {
    await hold(ms);
  } finally {
    fs.rmSync(filler, { force: true });
    node.note('disk-full: room again');
  }
  const why = await recovered(ctx, replica, WRITE_CONDITIONS);
  if (why === null) return `disk-full replica ${replica} (${ms} ms)`;
  const finding = `replica ${replica} not recovered ${RECOVERY_BOUND_MS} ms after its disk had room again (${why}); restarted`;
  counts.unrecovered.push(finding);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'unrecovered', detail: finding });
  await node.kill();
  await restart(ctx, replica, counts, 'a disk-full it did not recover from');
  return `disk-full replica ${replica} (${ms} ms): NOT RECOVERED (${why}); restarted`;
}

// The conditions a replica shows while a write failed for want of room (none may stay once there is room again),
// and while a partition or its metadata is damaged (none may stay once it repaired from its peers).
const WRITE_CONDITIONS = ['partition_write_failed', 'metadata_log_failed', 'partition_fenced'];
const DAMAGE_CONDITIONS = ['partition_offline', 'partition_read_only', 'metadata_log_failed'];

// Waits (bounded) until every group is normal on every replica and the replica's /health names none of
// `conditions`. Null then; else why not.
async function recovered(ctx: ClusterNemesisContext, replica: number, conditions: string[]): Promise<string | null> {
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  for (;;) {
    let why = await waitSettled(ctx.nodes, ctx.partitionGroups, Math.max(0, deadline - Date.now()), false);
    if (why === null) {
      const health = await ctx.nodes[replica].health().catch(() => null);
      const stuck = health?.reasons.filter((r) => conditions.includes(r.kind)) ?? [];
      if (health !== null && stuck.length === 0) return null;
      why = health === null ? `replica ${replica}: no /health` : `replica ${replica} /health: ${stuck.map((r) => `${r.kind} ${r.subject}`).join(', ')}`;
    }
    if (Date.now() >= deadline) return why;
    await hold(200);
  }
}

// The filler lives beside the data directory, on the same tmpfs (the directory's parent is the mount point).
export const fillerOf = (dataDir: string) => path.join(dataDir, '..', 'torture-filler');

export async function flipBits(ctx: ClusterNemesisContext, replica: number, counts: ClusterCounts): Promise<{ line: string; verdict: ClusterFlipVerdict }> {
  const node = ctx.nodes[replica];
  await node.kill();
  const dataDir = node.addresses.dataDir;
  const backup = path.join(ctx.scratch, `before-flip-r${replica}`);
  fs.rmSync(backup, { recursive: true, force: true });
  fs.cpSync(dataDir, backup, { recursive: true });
  try {
    const flipped = flipOneBit(dataDir, ctx.random);
    const where = `replica ${replica} ${flipped.where}`;
    node.note(`bitflip ${path.relative(dataDir, flipped.file)} byte ${flipped.at} bit ${flipped.bit}`);
    const verdict = await bootFlipped(ctx, replica, backup, counts);
    ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'bitflip', detail: `${where}: ${verdict}` });
    return { line: `bitflip ${where}: ${verdict}`, verdict };
  } finally {
    fs.rmSync(backup, { recursive: true, force: true });
  }
}

// Starts the flipped replica: refused, its files are put back and it starts again; booted, it is audited (what it
// serves goes into the history) and its /health read.
async function bootFlipped(ctx: ClusterNemesisContext, replica: number, backup: string, counts: ClusterCounts): Promise<ClusterFlipVerdict> {
  const node = ctx.nodes[replica];
  const boot = await node.start();
  if (!boot.ok) {
    fs.rmSync(node.addresses.dataDir, { recursive: true, force: true });
    fs.cpSync(backup, node.addresses.dataDir, { recursive: true });
    node.note('bitflip refused at boot: files restored');
    await restart(ctx, replica, counts, 'restoring the files a bit flip made it refuse');
    return 'refused';
  }
  counts.restarts += 1;
  await audit(ctx, replica);
  // A partition opens once the metadata op that created it commits again, so the repair is judged once the groups
  // are back (bounded).
  const why = await recovered(ctx, replica, DAMAGE_CONDITIONS);
  if (why === null) {
    const health = await node.health().catch(() => null);
    return health !== null && health.reasons.length > 0 ? 'reported' : 'quiet';
  }
  const finding = `replica ${replica} not repaired ${RECOVERY_BOUND_MS} ms after a bit flip (${why}); wiped`;
  counts.unrecovered.push(finding);
  ctx.history.record({ process: 'nemesis', type: 'info', f: 'fault', fault: 'unrecovered', detail: finding });
  await node.kill();
  fs.rmSync(node.addresses.dataDir, { recursive: true, force: true });
  node.note('bitflip not repaired: data directory wiped');
  await restart(ctx, replica, counts, 'a wipe after a bit flip it did not repair');
  return 'unrepaired';
}

// A login at one replica (no leader following), tried again (bounded) while it answers InvalidCredentials or
// refuses: a restarted replica learns the users back from its journal and the primary before it takes a login.
async function loginAt(address: string): Promise<IggyClient> {
  const deadline = Date.now() + AUDIT_LOGIN_BOUND_MS;
  for (;;) {
    try {
      return await IggyClient.connect({ address, username: 'iggy', password: 'iggy', timeoutMs: 5_000, heartbeatMs: 0, followLeader: false });
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await hold(250);
    }
  }
}

const AUDIT_LOGIN_BOUND_MS = 10_000;

// Every partition read through the flipped replica alone (no leader following), as `audit-r<replica>`: wrong data
// served is an inconsistent offset or an unexpected value for the checker. A read refused while it recovers is no
// finding here (the final read judges it once the cluster healed).
async function audit(ctx: ClusterNemesisContext, replica: number): Promise<void> {
  let client: IggyClient | undefined;
  try {
    client = await loginAt(ctx.nodes[replica].addresses.tcp);
    const { failed } = await readAll(client, ctx.target, ctx.history, false, `audit-r${replica}`);
    if (failed.size > 0) ctx.log(`  audit of flipped replica ${replica}: ${[...failed].map(([p, e]) => `partition ${p}: ${e}`).join('; ')}`);
  } catch (error) {
    ctx.log(`  audit of flipped replica ${replica}: no read (${describe(error)})`);
  } finally {
    await client?.close().catch(() => {});
  }
}
