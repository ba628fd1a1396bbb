// A cluster replica's damaged partition files, made ready to be repaired from its peers. A single node keeps a
// damaged log read-only (its intact prefix served, nothing removed: nobody else holds the lost batches); a replica of
// a cluster does not need its damaged bytes: every committed batch and the committed consumer offsets are on a
// majority of its peers, and the catch-up (partition-catch-up.ts) brings them. The decision is the host's, and only
// this one: "a cluster => repair from the peers"; what to keep of the cut log and what to fetch is the core's
// (tail_match.ts), as for any replica that fell behind.
//
// Crash safety: the partition is marked stale (STALE_MARKER, durably) before anything is cut or set aside, so a
// crash at any step leaves a partition that never forms a group from its files and repairs again at the next open
// (the damage is found again where it was, or is already gone).
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../../shared/log.js';
import { OFFSETS_FILE } from '../data/offsets.js';
import { fsyncDir } from '../io/durable-fs.js';
import { hasMarker, setMarker } from '../io/marker-file.js';
import type { Damage } from '../io/partition.js';
import { listSegments, segmentName } from '../io/segment-file.js';
import { STALE_MARKER } from './partition-group.js';

const log = logger('partitions');

// Marks the partition in `dir` stale (once): from now on its files are no base to form a group from.
export function markForRepair(dir: string): void {
  if (!hasMarker(dir, STALE_MARKER)) setMarker(dir, STALE_MARKER, 'this replica is repairing this partition from its peers (its files were damaged): its files are no base to form a group from');
}

// The damaged consumer offsets log goes aside (renamed, not removed: whoever looks into the damage finds it) and the
// partition opens with none; the catch-up's final chunk brings the committed ones. Returns the new name.
export function setOffsetsAside(dir: string, name: string, detail: string, now = new Date()): string {
  markForRepair(dir);
  const aside = `${OFFSETS_FILE}.damaged-${stamp(now)}`;
  fs.renameSync(path.join(dir, OFFSETS_FILE), path.join(dir, aside));
  fsyncDir(dir);
  log.warn(`partition ${name}: ${detail}; the consumer offsets log was set aside as ${path.join(dir, aside)}: the committed offsets come from a peer`);
  return aside;
}

// What a cut removed, for the log and /health.
export interface DamageCut {
  file: string;
  byte: number; // the damaged file's new size (it is removed when that is 0 and it started late: a missing segment)
  offset: number; // the first offset no longer held: the catch-up brings everything from here on
  removed: string[]; // later segments' files removed whole
}

// Cuts the (closed) log in `dir` at its damage: the damaged bytes and everything after them go, the prefix before
// them (verified at open) stays. Newest segment first, each removal durable before the next and before the
// truncation: a crash leaves whole segments ending in the damaged one, which the next open finds damaged again.
export function cutDamagedLog(dir: string, name: string, damage: Damage): DamageCut {
  if (path.resolve(path.dirname(damage.file)) !== path.resolve(dir) || !/^\d{20}\.log$/.test(path.basename(damage.file))) {
    throw new Error(`partition ${name}: the damage is reported in ${damage.file}, not a segment of ${dir}: nothing cut`);
  }
  markForRepair(dir);
  const damagedBase = Number(path.basename(damage.file).slice(0, 20));
  const removed: string[] = [];
  const remove = (base: number) => {
    for (const ext of ['.log', '.index']) fs.rmSync(path.join(dir, `${segmentName(base)}${ext}`), { force: true });
    fsyncDir(dir);
    removed.push(`${segmentName(base)}.log`);
  };
  for (const base of listSegments(dir).filter((b) => b > damagedBase).reverse()) remove(base);
  // A segment that starts past where the one before it ended (one is missing) is damaged from its byte 0 on.
  if (damage.byte === 0 && damagedBase !== damage.offset) remove(damagedBase);
  else truncateDurably(damage.file, damage.byte);
  const cut: DamageCut = { file: damage.file, byte: damage.byte, offset: damage.offset, removed };
  log.warn(`partition ${name}: ${damage.detail}; cut for repair from the peers: ${describeCut(cut)}`);
  return cut;
}

export function describeCut(cut: DamageCut): string {
  const later = cut.removed.filter((f) => f !== path.basename(cut.file));
  const own = later.length < cut.removed.length ? `${cut.file} removed` : `${cut.file} truncated to ${cut.byte} bytes`;
  return `${own}${later.length > 0 ? `, later segment(s) ${later.join(', ')} removed` : ''}; offsets from ${cut.offset} on are caught up from a peer`;
}

function truncateDurably(file: string, size: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// 2026-12-07T09-30-00-000Z: a file name's characters only.
function stamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}
