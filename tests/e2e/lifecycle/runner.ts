// Runs the lifecycle property: fast-check generates a server profile and a command sequence, each sequence runs
// against a fresh server process (ending with a check, a clean restart and a check), and a failure is shrunk for
// at most `shrinkSeconds` against the real process (each candidate is a whole new run). Rounds: after a finding
// the next round starts from the next seed, until `runs` sequences or `minutes` are used up.
import fc from 'fast-check';
import { checkNow, commandArbitrary, newTally, restartAndCheck, type Real, type Tally } from './commands.js';
import { Model } from './model.js';
import { Finding, LiveSystem, type ServerProfile } from './system.js';

export interface LifecycleOptions {
  runs: number;
  seed: number;
  minutes?: number; // no new run (sequence or shrink candidate) starts after this
  path?: string; // with seed and replayPath: replay one counterexample exactly (fast-check prints all three)
  replayPath?: string;
  maxCommands: number;
  restartWeight: number; // each of the two restart commands, against 38 for all other commands together
  shrinkSeconds: number;
  profiles: ServerProfile[];
  log(line: string): void;
  verbose: boolean; // a progress line per sequence
}

// kinds: what went wrong ('acknowledged messages lost', …), or 'test error' when the test itself broke.
export interface Failure { seed: number; kinds: string[]; report: string; dataDir: string | null; replay: string[] }

export interface LifecycleResult {
  sequences: number; // generated sequences run in full (shrink candidates not counted)
  shrinkRuns: number;
  tally: Tally; // over every run, shrink candidates included
  checkpoints: number; // distinct metadata checkpoints seen on disk at restarts
  busyPortBoots: number; // boots that found a port taken and were tried again on fresh ports
  findings: Failure[];
}

export async function runLifecycle(o: LifecycleOptions): Promise<LifecycleResult> {
  const started = Date.now();
  const deadline = o.minutes === undefined ? Infinity : started + o.minutes * 60_000;
  const result: LifecycleResult = { sequences: 0, shrinkRuns: 0, tally: newTally(), checkpoints: 0, busyPortBoots: 0, findings: [] };
  let seed = o.seed;
  while (result.sequences < o.runs && Date.now() < deadline) {
    const round = await runRound(o, seed, o.runs - result.sequences, deadline, result);
    if (round) result.findings.push(round);
    if (!round || o.path) break;
    seed = (seed + 1) >>> 0;
  }
  return result;
}

async function runRound(o: LifecycleOptions, seed: number, runs: number, deadline: number, result: LifecycleResult): Promise<Failure | null> {
  let failedAt: number | null = null;
  let keptDir: string | null = null;
  let keptSystem: LiveSystem | null = null;
  // noBias: fast-check would otherwise start with tiny sequences, and a short profile runs only a few.
  const commands = fc.noBias(fc.commands([commandArbitrary(o.restartWeight)], { maxCommands: o.maxCommands, size: 'max', replayPath: o.replayPath }));
  const property = fc.asyncProperty(fc.constantFrom(...o.profiles), commands, async (profile, cmds) => {
    const shrinking = failedAt !== null;
    // Past the shrink budget every candidate passes untested: fast-check then ends with the smallest failure so far.
    if (shrinking && Date.now() - failedAt! > o.shrinkSeconds * 1000) return;
    const index = shrinking ? result.shrinkRuns : result.sequences; // for the progress line
    const model = new Model(`r${result.sequences + result.shrinkRuns}`);
    const sys = new LiveSystem(profile);
    const real: Real = { sys, trace: [], tally: newTally() };
    let failed = false;
    try {
      await sys.start();
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      await checkNow(model, real, 'at the end');
      await restartAndCheck(model, real, 'clean', 'the final restart (SIGTERM)');
    } catch (error) {
      failed = true;
      failedAt ??= Date.now();
      throw new Error(describeFailure(error, profile, real, sys), { cause: error });
    } finally {
      if (shrinking) result.shrinkRuns += 1;
      else result.sequences += 1;
      add(result.tally, real.tally);
      result.checkpoints += sys.checkpoints.size;
      result.busyPortBoots += sys.busyPortBoots;
      if (o.verbose) o.log(progressLine(index, shrinking, profile, real.tally, failed, sys));
      await sys.close(failed);
      if (failed) {
        if (keptSystem) await keptSystem.close(false); // only the latest failure's data directory is kept
        keptSystem = sys;
        keptDir = sys.dataDir;
      }
    }
  });
  // --minutes: fast-check stops starting runs at the deadline (a shrink in progress then ends with what it has).
  const interruptAfterTimeLimit = Number.isFinite(deadline) ? Math.max(1, deadline - Date.now()) : undefined;
  const details = await fc.check(property, { seed, numRuns: runs, path: o.path, endOnFailure: o.shrinkSeconds <= 0, interruptAfterTimeLimit });
  if (!details.failed || details.counterexamplePath === null) return null; // passed, or interrupted before any run ended
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const cause = details.errorInstance instanceof Error ? details.errorInstance.cause : undefined;
  const kinds = cause instanceof Finding ? cause.kinds : ['test error'];
  const summary = `seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)}, shrunk ${details.numShrinks} time(s)${details.interrupted ? ' (interrupted)' : ''}`;
  const counterexample = fc.stringify(details.counterexample);
  // Replaying the shrunk sequence exactly takes the seed, fast-check's path and the commands' replay path.
  const replayPath = /replayPath="([^"]*)"/.exec(counterexample)?.[1];
  const replay = ['--seed', String(details.seed), '--path', details.counterexamplePath, ...(replayPath ? ['--replay-path', replayPath] : []), '--shrink-seconds', '0'];
  return { seed, kinds, report: `${summary}\ncounterexample: ${counterexample}\n${error}`, dataDir: keptDir, replay };
}

function describeFailure(error: unknown, profile: ServerProfile, real: Real, sys: LiveSystem): string {
  const e = error as Error;
  const warnings = sys.warnings();
  return [
    `${e.name}: ${e.message}`,
    `server: --shards ${profile.shards} --metadata-journal-slots ${profile.journalSlots}, data dir ${sys.dataDir} (kept)`,
    warnings ? `server WARN/ERROR lines:\n${warnings}` : 'server WARN/ERROR lines: none',
    `what ran (${real.trace.length} steps, ${real.tally.metadataOps} metadata ops):`,
    ...real.trace.map((line, i) => `  ${String(i + 1).padStart(3)}. ${line}`),
  ].join('\n');
}

function progressLine(index: number, shrinking: boolean, profile: ServerProfile, t: Tally, failed: boolean, sys: LiveSystem): string {
  return `${shrinking ? 'shrink' : 'sequence'} ${index + 1} (shards ${profile.shards}, journal ${profile.journalSlots}): ${t.commands} commands, `
    + `${t.metadataOps} metadata ops, ${sys.checkpoints.size} checkpoint(s), restarts ${t.cleanRestarts} clean / ${t.killRestarts} kill, `
    + `${t.messagesChecked} messages checked — ${failed ? 'FAILED' : 'ok'}`;
}

function add(total: Tally, more: Tally): void {
  for (const key of Object.keys(total) as (keyof Tally)[]) total[key] += more[key];
}
