// Protocol fuzzing, bounded profile (`npm run fuzz -- --frames N` is the long mode): fast-check frames and HTTP
// requests against one live server with 2 shards (host/torture/fuzz.ts has the oracle). The server never crashes,
// answers every well-framed frame with a status or an eviction of the spec and closes on framing errors, answers
// HTTP without a 5xx, keeps serving a well-behaved client, and the data that client stored is unchanged.
// SHARDLOG_FUZZ_SEED replays another seed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IggyClient } from '../../host/client/client.js';
import { FUZZ_SERVER_ARGS, buildFrame, fuzzBinaryLanes, fuzzHttp, keptProblem, manyConnections, prepare, type FrameCase, type FuzzFigures, type FuzzTarget, type KeptData } from '../../host/torture/fuzz.js';
import { startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const SEED = Number(process.env.SHARDLOG_FUZZ_SEED ?? 20261207);
const FRAMES = 2_500;
const HTTP_REQUESTS = 500;
const LANES = 4; // fast-check runs at once, each its own sessions (npm run fuzz's --lanes)

describe('protocol fuzzing (bounded)', () => {
  let s: ProtocolServer;
  let target: FuzzTarget;
  let root: IggyClient;
  let sandbox: number;
  let kept: KeptData;
  let token: string;
  const figures: FuzzFigures = { frames: 0, httpRequests: 0, connections: 0, wrongAnswers: [], crashes: 0 };
  before(async () => {
    s = await startProtocolServer(FUZZ_SERVER_ARGS);
    target = { tcp: s.address, http: s.server.httpAddress, alive: () => s.server.child.exitCode === null && s.server.child.signalCode === null };
    ({ root, sandbox, kept, token } = await prepare(target));
  });
  after(async () => {
    await root?.close();
    await s?.stop();
  });

  it(`${FRAMES} binary frames over ${LANES} lanes: each answered per the spec, the server alive and serving (seeds ${SEED}..${SEED + LANES - 1})`, async () => {
    await fuzzBinaryLanes(target, root, sandbox, token, FRAMES, SEED, LANES, figures);
    assert.deepEqual(figures.wrongAnswers, []);
    assert.equal(figures.crashes, 0);
    assert.equal(figures.frames, FRAMES);
  });

  it('300 connections at once (idle, half a header, a Ping) leave the server serving', async () => {
    await manyConnections(target, root, 300, figures);
    assert.deepEqual(figures.wrongAnswers, []);
  });

  it(`${HTTP_REQUESTS} HTTP requests and raw garbage: no 5xx, no crash`, async () => {
    await fuzzHttp(target, root, sandbox, HTTP_REQUESTS, SEED, figures);
    assert.deepEqual(figures.wrongAnswers, []);
    assert.equal(figures.crashes, 0);
  });

  it('the well-behaved client\'s data is unchanged (the fuzzing user has no rights on it)', async () => {
    assert.equal(await keptProblem(root, kept), null);
    await root.ping();
  });

  it('the frame builder does what the oracle assumes: exact sizes, and a tiny or huge size field', () => {
    const base: FrameCase = { session: 'none', code: 1, operationOverride: null, body: new Uint8Array(10), headerMutations: [[48, 0xff], [60, 1]], sizeField: 'exact', requestChecksum: 'zero', delivery: 'whole' };
    const random = () => 0.5;
    const size = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(48, true);
    const exact = buildFrame(base, null, random);
    assert.equal(size(exact.bytes), exact.bytes.length, 'a header mutation never touches the size field');
    assert.equal(exact.bytes[60], 5 ^ 1, 'other header bytes are mutated');
    assert.ok(buildFrame({ ...base, sizeField: 'tiny' }, null, random).declared < 256);
    assert.ok(buildFrame({ ...base, sizeField: 'huge' }, null, random).declared > 64 * 1024 * 1024);
    assert.ok(buildFrame({ ...base, sizeField: 'body-short' }, null, random).declared > exact.bytes.length);
  });
});
