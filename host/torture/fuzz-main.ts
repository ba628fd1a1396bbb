// `npm run fuzz -- [--frames N] [--http N] [--connections N] [--seed S]`: protocol fuzzing (fuzz.ts) against a
// fresh server with 2 shards on loopback; prints frames tried, crashes and wrong answers (with the first ones).
// Exit 0 when there were none, 1 otherwise, 2 on bad usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../node/free-port.js';
import { FUZZ_SERVER_ARGS, fuzzBinary, fuzzHttp, keptProblem, manyConnections, prepare, type FuzzFigures } from './fuzz.js';
import { NodeProcess } from './node-process.js';

const USAGE = `usage: npm run fuzz -- [--frames N] [--http N] [--connections N] [--seed S]
  --frames N       binary frames to try [100000]
  --http N         HTTP requests to try [frames / 10]
  --connections N  connections opened at once, between rounds [2000]
  --seed S         fast-check seed [random, printed]`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { frames: { type: 'string' }, http: { type: 'string' }, connections: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } } }));
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
  let frames: number; let http: number; let connections: number; let seed: number;
  try {
    frames = count('frames', values.frames, 100_000);
    http = count('http', values.http, Math.ceil(frames / 10));
    connections = count('connections', values.connections, 2_000);
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
    console.log(`fuzz: seed ${seed}, ${frames} frames, ${http} HTTP requests, ${connections} connections at once`);
    const ROUND = 10_000; // fast-check runs in rounds so that progress shows and a round's seed replays it
    for (let done = 0, round = 0; done < frames; done += ROUND, round++) {
      await fuzzBinary(target, root, sandbox, token, Math.min(ROUND, frames - done), seed + round, figures);
      if (connections > 0 && round % 10 === 0) await manyConnections(target, root, connections, figures);
      console.log(`  ${figures.frames} frames, ${figures.wrongAnswers.length} wrong answers, ${figures.crashes} crashes`);
      if (figures.wrongAnswers.length > 0) break;
    }
    if (http > 0 && figures.wrongAnswers.length === 0) await fuzzHttp(target, root, sandbox, http, seed, figures);
    const keptWrong = await keptProblem(root, kept);
    if (keptWrong) figures.wrongAnswers.push(keptWrong);
    await root.close();
  } finally {
    await node.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`fuzz: ${figures.frames} frames, ${figures.httpRequests} HTTP requests, ${figures.connections} connections; crashes ${figures.crashes}; wrong answers ${figures.wrongAnswers.length}`);
  for (const w of figures.wrongAnswers.slice(0, 5)) console.log(`  wrong: ${w}`);
  return figures.wrongAnswers.length === 0 && figures.crashes === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`fuzz: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});
