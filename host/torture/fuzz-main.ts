// `npm run fuzz -- [--frames N] [--http N] [--connections N] [--lanes N] [--seed S]`: protocol fuzzing (fuzz.ts)
// against a fresh server with 2 shards on loopback; prints frames tried (per second, and the CPU each took), crashes
// and wrong answers (with the first ones).
// Exit 0 when there were none, 1 otherwise, 2 on bad usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../node/free-port.js';
import { FUZZ_SERVER_ARGS, fuzzBinaryLanes, fuzzHttp, keptProblem, manyConnections, prepare, type FuzzFigures } from './fuzz.js';
import { NodeProcess } from './node-process.js';

const DEFAULT_LANES = 8;
const ROUND = 10_000; // frames per round: fast-check runs in rounds so that progress shows and a round's seeds replay it

const USAGE = `usage: npm run fuzz -- [--frames N] [--http N] [--connections N] [--lanes N] [--seed S]
  --frames N       binary frames to try [100000]
  --http N         HTTP requests to try [frames / 10]
  --connections N  connections opened at once, between rounds [2000]
  --lanes N        binary fuzzing runs at once, each its own sessions and seed [${DEFAULT_LANES}]
  --seed S         fast-check seed [random, printed]; round r's lane l runs seed + r * lanes + l`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { frames: { type: 'string' }, http: { type: 'string' }, connections: { type: 'string' }, lanes: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    console.error(`fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const count = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`--${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
    return n;
  };
  let frames: number; let http: number; let connections: number; let lanes: number; let seed: number;
  try {
    frames = count('frames', values.frames, 100_000);
    http = count('http', values.http, Math.ceil(frames / 10));
    connections = count('connections', values.connections, 2_000);
    lanes = count('lanes', values.lanes, DEFAULT_LANES);
    if (lanes < 1) throw new RangeError(`--lanes must be at least 1, not ${JSON.stringify(values.lanes)}`);
    seed = count('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
  } catch (error) {
    console.error(`fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-fuzz-'));
  const node = new NodeProcess({ tcp: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}`, dataDir, shards: 2, args: FUZZ_SERVER_ARGS });
  const figures: FuzzFigures = { frames: 0, httpRequests: 0, connections: 0, wrongAnswers: [], crashes: 0 };
  try {
    const boot = await node.start();
    if (!boot.ok) throw new Error(`the server did not start:\n${boot.output}`);
    const target = { tcp: node.addresses.tcp, http: node.addresses.http, alive: () => node.running };
    const { root, sandbox, kept, token } = await prepare(target);
    console.log(`fuzz: seed ${seed}, ${frames} frames over ${lanes} lanes, ${http} HTTP requests, ${connections} connections at once`);
    // The binary frames' wall time and CPU time (this process's, the server's), without the connection storms: the
    // CPU per frame says what a frame costs whatever else the machine runs; frames/s depends on that too.
    const spent = { ms: 0, fuzzerCpuMs: 0, serverCpuMs: 0 };
    for (let done = 0, round = 0; done < frames; done += ROUND, round++) {
      const started = { ms: performance.now(), fuzzer: process.cpuUsage(), server: cpuMs(node.pid) };
      await fuzzBinaryLanes(target, root, sandbox, token, Math.min(ROUND, frames - done), seed + round * lanes, lanes, figures);
      spent.ms += performance.now() - started.ms;
      const fuzzer = process.cpuUsage(started.fuzzer);
      spent.fuzzerCpuMs += (fuzzer.user + fuzzer.system) / 1000;
      spent.serverCpuMs += cpuMs(node.pid) - started.server;
      if (connections > 0 && round % 10 === 0) await manyConnections(target, root, connections, figures);
      const perFrame = (ms: number) => (ms / figures.frames).toFixed(2);
      console.log(`  ${figures.frames} frames (${rate(figures.frames, spent.ms)} frames/s; CPU per frame: fuzzer ${perFrame(spent.fuzzerCpuMs)} ms, server ${perFrame(spent.serverCpuMs)} ms), ${figures.wrongAnswers.length} wrong answers, ${figures.crashes} crashes`);
      if (figures.wrongAnswers.length > 0) break;
    }
    if (http > 0 && figures.wrongAnswers.length === 0) await fuzzHttp(target, root, sandbox, http, seed, figures);
    const keptWrong = await keptProblem(root, kept).catch((error: Error) => `the kept data could not be read: ${error.message}`);
    if (keptWrong) figures.wrongAnswers.push(keptWrong);
    await root.close().catch(() => {});
  } finally {
    // A server that died is the finding: its last words go with the report.
    if (!node.running && node.starts > 0) console.log(`fuzz: the server exited; its last output:\n${node.output().split('\n').slice(-40).join('\n')}`);
    await node.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`fuzz: ${figures.frames} frames, ${figures.httpRequests} HTTP requests, ${figures.connections} connections; crashes ${figures.crashes}; wrong answers ${figures.wrongAnswers.length}`);
  for (const w of figures.wrongAnswers.slice(0, 5)) console.log(`  wrong: ${w}`);
  return figures.wrongAnswers.length === 0 && figures.crashes === 0 ? 0 : 1;
}

const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n * 1000) / ms) : 0);

// The CPU time (user + system, every thread) a process has used, from /proc (Linux); 0 where there is none.
function cpuMs(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux ABI Node runs on

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`fuzz: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});
