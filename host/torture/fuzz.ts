// Protocol fuzzing against a live server with fast-check: binary frames (random and mutated: sizes, checksums,
// operations, command codes, bodies, truncation, slow senders, many connections) and HTTP requests (routes,
// methods, bodies, tokens, raw garbage). The oracle (iggy-client-wire.md §2, §4.1, §5):
// * a frame whose size field is below 256 or above the 64 MiB limit: the connection is closed, nothing else;
// * any other complete frame: exactly one answer, a Reply whose status is 0 or one of the spec's error codes, or
//   an Eviction with one of the spec's reasons (a frame above the before-login limit is eviction 6, then close);
// * an HTTP request: a status the REST API uses for refusals (400/401/403/404/405/409/413/415) or success, never 5xx;
// * after every case the server process is alive and a well-behaved client's Ping goes through; at the end the
//   data a well-behaved client stored (a stream the fuzzing user has no rights on) is unchanged.
// The server runs with the login throttle relaxed (FUZZ_SERVER_ARGS): garbage tokens are part of the input, and
// its delays would otherwise be the run's time (the throttle has its own tests).
// The fuzzing binary session is a user with full rights on a sandbox stream only, so mutated deletes and purges
// are real attempts against the kept stream that the server must refuse.
import net from 'node:net';
import fc from 'fast-check';
import { request } from 'undici';
import { IggyClient } from '../client/client.js';
import { Connection } from '../client/connection.js';
import { ConnectionClosed } from '../client/errors.js';
import * as req from '../client/requests.js';
import { DEFAULT_CONFIG } from '../node/config.js';
import { SendErrorCode } from '../node/data/send.js';
import { UserErrorCode } from '../node/metadata/user-limits.js';
import { COMMANDS, ErrorCode, EvictionReason, Operation } from '../shared/wire/codes.js';
import { HEADER_SIZE, MAX_FRAME_SIZE, encodeRequest, type ServerFrame } from '../shared/wire/header.js';

// The Iggy error codes (iggy_error.rs) the server names in its tables: the shared one and those of user input and
// send limits. A status outside them is an answer no SDK can name.
const KNOWN_STATUSES = new Set<number>([0, ...Object.values(ErrorCode), ...Object.values(UserErrorCode), ...Object.values(SendErrorCode)]);
const KNOWN_REASONS = new Set<number>(Object.values(EvictionReason).filter((r) => r !== 0));
const ANSWER_BOUND_MS = 10_000;
export const FUZZ_SERVER_ARGS = ['--login-failure-delay-ms', '0', '--login-lockout-failures', '1000000', '--login-failures-per-connection', '1000000'];
export const FUZZ_USER = { username: 'fuzzer', password: 'fuzz-password-1' };

export interface FuzzFigures { frames: number; httpRequests: number; connections: number; wrongAnswers: string[]; crashes: number }

export interface FuzzTarget {
  tcp: string;
  http: string;
  alive: () => boolean; // the server process is still running
}

// ---- binary frames ------------------------------------------------------------------------------------------

// What a case sends: a frame built from a command (a valid body, a random one, or a mutated valid one), then
// mutated at the header level, sent whole, cut short, or dribbled.
export interface FrameCase {
  session: 'none' | 'fuzzer';
  code: number; // a command code (known or not)
  operationOverride: number | null;
  body: Uint8Array;
  headerMutations: [number, number][]; // [byte index < 256, xor mask]
  sizeField: 'exact' | 'tiny' | 'huge' | 'body-short'; // body-short: announces more than is sent (truncation)
  requestChecksum: 'zero' | 'random';
  delivery: 'whole' | 'dribble';
}

const KNOWN_CODES = COMMANDS.map((c) => c.code);

// The SDK's builders refuse some input before encoding (a name over 255 bytes): those cases send the raw UTF-8.
function built(build: () => Uint8Array, fallback: string): Uint8Array {
  try {
    return build();
  } catch {
    return new TextEncoder().encode(fallback);
  }
}

function validBodies(sandbox: number): fc.Arbitrary<Uint8Array>[] {
  const id = fc.oneof(fc.constant(sandbox), fc.nat(5), fc.string({ maxLength: 12 }));
  return [
    id.map((s) => built(() => req.identifier(s), String(s))),
    fc.string({ maxLength: 300 }).map((name) => built(() => req.createStream(name), name)),
    fc.tuple(id, id).map(([s, t]) => built(() => req.streamAndTopic(s, t), `${s}/${t}`)),
    fc.tuple(id, fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 4 })).map(([s, payloads]) =>
      built(() => req.sendMessages({ stream: s, topic: 0, partitioning: { kind: 'partition', partition: 0 }, messages: payloads.map((payload) => ({ payload })) }), String(s))),
    fc.tuple(id, fc.nat(3), fc.bigInt({ min: 0n, max: 100n })).map(([s, p, o]) =>
      built(() => req.pollMessages({ stream: s, topic: 0, partition: p, strategy: { kind: 'offset', value: o }, count: 10 }), String(s))),
  ];
}

function mutate(body: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(body, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.option(fc.nat(), { nil: undefined })).map(([b, flips, cut]) => {
    const out = Uint8Array.from(b);
    for (const [at, mask] of flips) if (out.length > 0) out[at % out.length] ^= mask;
    return cut === undefined || out.length === 0 ? out : out.subarray(0, cut % out.length);
  });
}

export function frameCaseArbitrary(sandbox: number): fc.Arbitrary<FrameCase> {
  const valid = fc.oneof(...validBodies(sandbox));
  return fc.record({
    session: fc.constantFrom('none' as const, 'fuzzer' as const, 'fuzzer' as const),
    code: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_CODES) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
    operationOverride: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(255) }),
    body: fc.oneof(valid, mutate(valid), fc.uint8Array({ maxLength: 512 })),
    headerMutations: fc.oneof({ weight: 3, arbitrary: fc.constant([] as [number, number][]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(HEADER_SIZE - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }) }),
    sizeField: fc.constantFrom('exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'tiny', 'huge', 'body-short'),
    requestChecksum: fc.constantFrom('zero', 'zero', 'zero', 'random'),
    delivery: fc.constantFrom('whole', 'whole', 'whole', 'whole', 'dribble'),
  }) as fc.Arbitrary<FrameCase>;
}

interface Session { client: bigint; session: bigint; request: bigint }

// Builds the bytes of a case for a connection's session (none: not logged in).
export function buildFrame(c: FrameCase, s: Session | null, random: () => number): { bytes: Uint8Array; declared: number } {
  const info = COMMANDS.find((x) => x.code === c.code);
  const operation = c.operationOverride ?? info?.operation ?? Operation.nonReplicated;
  const frame = encodeRequest({
    client: s?.client ?? 0x5eed_0000_0000_0001n, request: s ? s.request : 1n, operation, session: s?.session ?? 0n,
    code: operation === Operation.nonReplicated ? c.code : 0, body: c.body,
    requestChecksum: c.requestChecksum === 'random' ? BigInt(Math.floor(random() * 2 ** 48)) + 1n : 0n,
  });
  for (const [at, mask] of c.headerMutations) if (at < 48 || at >= 52) frame[at] ^= mask; // the size is set below
  const view = new DataView(frame.buffer, frame.byteOffset);
  const declared = c.sizeField === 'tiny' ? Math.floor(random() * HEADER_SIZE)
    : c.sizeField === 'huge' ? MAX_FRAME_SIZE + 1 + Math.floor(random() * 1000)
      : c.sizeField === 'body-short' ? frame.length + 1 + Math.floor(random() * 100)
        : frame.length;
  view.setUint32(48, declared, true);
  return { bytes: frame, declared };
}

// What a case came to: a wrong answer in words (or null), and whether the connection is still open for the next
// case (the server answered with a reply; an eviction, a close or a frame cut short end it).
interface CaseOutcome { wrong: string | null; open: boolean }

// One case on its connection.
async function runFrameCase(c: FrameCase, conn: Connection, s: Session | null, random: () => number, unauthenticatedLimit: number): Promise<CaseOutcome> {
  const { bytes, declared } = buildFrame(c, s, random);
  const what = () => `code ${c.code} op ${c.operationOverride ?? 'default'} size ${c.sizeField} (${declared}) body ${c.body.length} B session ${c.session} delivery ${c.delivery}`;
  if (c.sizeField === 'body-short') {
    conn.writeRaw(bytes); // the rest never comes: the server waits (its frame clock ends it); we hang up
    return { wrong: null, open: false };
  }
  let answer: ServerFrame | Error;
  try {
    answer = c.delivery === 'dribble' ? await dribble(conn, bytes) : await conn.request(bytes);
  } catch (error) {
    answer = error as Error;
  }
  return { wrong: wrongAnswer(answer, declared, s, unauthenticatedLimit, what), open: !(answer instanceof Error) && answer.kind === 'reply' };
}

// The oracle for one answer: null when the spec allows it.
function wrongAnswer(answer: ServerFrame | Error, declared: number, s: Session | null, unauthenticatedLimit: number, what: () => string): string | null {
  const framing = declared < HEADER_SIZE || declared > MAX_FRAME_SIZE;
  if (framing) return answer instanceof ConnectionClosed ? null : `${what()}: a framing error must close the connection, got ${describeAnswer(answer)}`;
  if (answer instanceof Error) {
    if (answer instanceof ConnectionClosed && s === null && declared > unauthenticatedLimit) return null;
    return `${what()}: no answer (${answer.name}: ${answer.message})`;
  }
  if (answer.kind === 'reply' && !KNOWN_STATUSES.has(answer.status)) return `${what()}: reply status ${answer.status} is not in the spec`;
  if (answer.kind === 'eviction' && !KNOWN_REASONS.has(answer.reason)) return `${what()}: eviction reason ${answer.reason} is not in the spec`;
  return null;
}

function describeAnswer(a: ServerFrame | Error): string {
  if (a instanceof Error) return `${a.name}: ${a.message}`;
  return a.kind === 'reply' ? `a reply with status ${a.status}` : `eviction ${a.reason}`;
}

// Sends the frame a few bytes at a time (a slow sender), then waits for the answer.
async function dribble(conn: Connection, bytes: Uint8Array): Promise<ServerFrame> {
  const pieces = Math.min(8, bytes.length);
  const step = Math.ceil(bytes.length / pieces);
  for (let at = 0; at + step < bytes.length; at += step) {
    conn.writeRaw(bytes.subarray(at, at + step));
    await new Promise((resolve) => setTimeout(resolve, 2)); // the slowness is the input, not a synchronisation
  }
  const last = Math.floor((bytes.length - 1) / step) * step;
  return conn.request(bytes.subarray(last));
}

// ---- the run ------------------------------------------------------------------------------------------------

export interface KeptData { stream: number; topic: number; payloads: string[] }

// The well-behaved side: a root client that sets up the sandbox, the fuzzing user and the kept data, and checks
// the kept data afterwards.
export async function prepare(target: FuzzTarget): Promise<{ root: IggyClient; sandbox: number; kept: KeptData; token: string }> {
  const root = await connectRoot(target);
  const keptStream = (await root.createStream('fuzz-kept')).id;
  const keptTopic = (await root.createTopic({ stream: keptStream, name: 't', partitionsCount: 1 })).id;
  const payloads = Array.from({ length: 20 }, (_, i) => `kept-${i}`);
  await root.sendMessages({ stream: keptStream, topic: keptTopic, partitioning: { kind: 'partition', partition: 0 }, messages: payloads.map((payload) => ({ payload })) });
  const sandbox = (await root.createStream('fuzz-sandbox')).id;
  await root.createTopic({ stream: sandbox, name: 't', partitionsCount: 2 });
  const all = { manageStream: true, readStream: true, manageTopics: true, readTopics: true, pollMessages: true, sendMessages: true, topics: [] };
  const none = { manageServers: false, readServers: false, manageUsers: false, readUsers: false, manageStreams: false, readStreams: false, manageTopics: false, readTopics: false, pollMessages: false, sendMessages: false };
  await root.createUser({ ...FUZZ_USER, permissions: { global: none, streams: [{ streamId: sandbox, ...all }] } });
  // The fuzzing session logs in again after every eviction: with a token (a hash lookup), not a password (a slow
  // hash by design), so that frames, not logins, take the time.
  const fuzzer = await IggyClient.connect({ address: target.tcp, ...FUZZ_USER, timeoutMs: ANSWER_BOUND_MS });
  const token = await fuzzer.createToken('fuzzing');
  await fuzzer.close();
  return { root, sandbox, kept: { stream: keptStream, topic: keptTopic, payloads }, token };
}

export async function keptProblem(root: IggyClient, kept: KeptData): Promise<string | null> {
  const stream = await root.getStream(kept.stream);
  if (!stream || stream.name !== 'fuzz-kept') return `the kept stream ${kept.stream} is gone or renamed (${JSON.stringify(stream?.name)})`;
  const polled = await root.pollMessages({ stream: kept.stream, topic: kept.topic, partition: 0, strategy: { kind: 'first' }, count: 1000, verifyChecksums: true });
  const got = polled.messages.map((m) => new TextDecoder().decode(m.payload));
  if (JSON.stringify(got) !== JSON.stringify(kept.payloads)) return `the kept messages changed: ${JSON.stringify(got.slice(0, 5))}... (${got.length})`;
  return null;
}

// Runs `frames` binary cases over `lanes` independent fast-check runs at once (lane i seeded `seed + i`, its own
// fuzzing session and connections, every frame's answer checked as in fuzzBinary): the server is kept busy while a
// lane waits on a slow sender's pauses, a reconnect or a Ping. Each lane has its own well-behaved root client (lane
// 0 the caller's): one shared client's Pings, one after every frame, would queue behind each other and bound the
// rate. A lane's counterexample names its seed, which `fuzzBinary` alone (`npm run fuzz -- --lanes 1 --seed S`)
// replays.
export async function fuzzBinaryLanes(target: FuzzTarget, root: IggyClient, sandbox: number, token: string, frames: number, seed: number, lanes: number, figures: FuzzFigures): Promise<void> {
  const share = (lane: number) => Math.floor(frames / lanes) + (lane < frames % lanes ? 1 : 0);
  const roots = [root];
  try {
    for (let lane = 1; lane < lanes && share(lane) > 0; lane++) roots.push(await connectRoot(target));
    await Promise.all(roots.map((client, lane) => fuzzBinary(target, client, sandbox, token, share(lane), seed + lane, figures)));
  } finally {
    for (const client of roots.slice(1)) await client.close().catch(() => {});
  }
}

const connectRoot = (target: FuzzTarget) => IggyClient.connect({ address: target.tcp, username: 'iggy', password: 'iggy', timeoutMs: ANSWER_BOUND_MS });

// Runs `frames` binary cases (fast-check, seeded), each on a connection of its session kind: a fresh one for
// "none", the fuzzing user's (logged in again after an eviction or a close) for "fuzzer".
export async function fuzzBinary(target: FuzzTarget, root: IggyClient, sandbox: number, token: string, frames: number, seed: number, figures: FuzzFigures, unauthenticatedLimit = DEFAULT_CONFIG.maxUnauthenticatedFrameBytes): Promise<void> {
  let fuzzer: IggyClient | null = null;
  // The next fuzzing session and the next fresh connection are opened while the current case runs (a login takes a
  // round trip or more; every third case needs a new connection): each case still gets a fresh one.
  const spares = new Spares(target, token);
  const random = seedRandom(seed);
  const sessionOf = (c: IggyClient): Session => ({ client: c.clientId, session: c.sessionNumber ?? 0n, request: BigInt(1 + Math.floor(random() * 1000)) });
  await fc.assert(fc.asyncProperty(frameCaseArbitrary(sandbox), async (c) => {
    figures.frames += 1;
    let conn: Connection;
    let session: Session | null = null;
    if (c.session === 'fuzzer') {
      if (!fuzzer || fuzzer.connection.isClosed || fuzzer.sessionNumber === null) {
        await fuzzer?.close().catch(() => {});
        fuzzer = await spares.session();
      }
      conn = fuzzer.connection;
      session = sessionOf(fuzzer);
    } else {
      conn = await spares.connection();
      figures.connections += 1;
    }
    const { wrong, open } = await runFrameCase(c, conn, session, random, unauthenticatedLimit);
    if (c.session === 'none' || !open || wrong) await conn.close();
    // A case that ended the fuzzer's connection (an eviction, a framing error, a frame cut short) starts the next
    // one on a new session. One answered with a reply leaves it open: a server that closed it anyway is caught by
    // the next case on it (no answer), not hidden by a Ping in between.
    if (c.session === 'fuzzer' && (!open || wrong)) { await fuzzer?.close().catch(() => {}); fuzzer = null; }
    const health = await serverProblem(target, root);
    if (health) figures.crashes += 1;
    const problem = wrong ?? health;
    if (problem) figures.wrongAnswers.push(problem);
    return problem === null;
  }), { numRuns: frames, seed, endOnFailure: true, verbose: 0 }).catch((error) => {
    figures.wrongAnswers.push(`counterexample (seed ${seed}): ${(error as Error).message.split('\n').slice(0, 12).join('\n')}`);
  });
  await (fuzzer as IggyClient | null)?.close().catch(() => {});
  await spares.close();
}

// One fuzzing session and one fresh unauthenticated connection, opened ahead: taking one starts opening the next.
class Spares {
  private nextSession: Promise<IggyClient> | null = null;
  private nextConnection: Promise<Connection> | null = null;

  constructor(private readonly target: FuzzTarget, private readonly token: string) {}

  session(): Promise<IggyClient> {
    const taken = this.nextSession ?? this.login();
    this.nextSession = this.login();
    this.nextSession.catch(() => {}); // a failure is thrown to the case that takes it
    return taken;
  }

  connection(): Promise<Connection> {
    const taken = this.nextConnection ?? Connection.open(this.target.tcp, ANSWER_BOUND_MS);
    this.nextConnection = Connection.open(this.target.tcp, ANSWER_BOUND_MS);
    this.nextConnection.catch(() => {});
    return taken;
  }

  async close(): Promise<void> {
    await this.nextSession?.then((c) => c.close()).catch(() => {});
    await this.nextConnection?.then((c) => c.close()).catch(() => {});
  }

  private login(): Promise<IggyClient> {
    return IggyClient.connect({ address: this.target.tcp, token: this.token, timeoutMs: ANSWER_BOUND_MS, heartbeatMs: 0 });
  }
}

async function serverProblem(target: FuzzTarget, root: IggyClient): Promise<string | null> {
  if (!target.alive()) return 'the server process exited';
  try {
    await root.ping();
    return null;
  } catch (error) {
    return `a well-behaved client's Ping failed: ${(error as Error).message}`;
  }
}

// Opens `count` connections at once: a third idle, a third with half a header, a third with a Ping; the server
// keeps serving the well-behaved client meanwhile, and every Ping is answered or refused by the connection limit.
export async function manyConnections(target: FuzzTarget, root: IggyClient, count: number, figures: FuzzFigures): Promise<void> {
  const { hostname, port } = new URL(`tcp://${target.tcp}`);
  const sockets = await Promise.all(Array.from({ length: count }, (_, i) => new Promise<net.Socket | null>((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      if (i % 3 === 1) socket.write(new Uint8Array(100));
      if (i % 3 === 2) socket.write(encodeRequest({ client: BigInt(i + 1), request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1 }));
      resolve(socket);
    });
    socket.once('error', () => resolve(null));
  })));
  figures.connections += count;
  const problem = await serverProblem(target, root);
  if (problem) figures.wrongAnswers.push(`with ${count} connections open: ${problem}`);
  for (const s of sockets) s?.destroy();
}

// ---- HTTP ---------------------------------------------------------------------------------------------------

const HTTP_ALLOWED = new Set([200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415]);
const PATHS = ['/streams', '/streams/{s}', '/streams/{s}/purge', '/streams/{s}/topics', '/streams/{s}/topics/{t}', '/streams/{s}/topics/{t}/purge',
  '/streams/{s}/topics/{t}/partitions', '/streams/{s}/topics/{t}/messages', '/streams/{s}/topics/{t}/consumer-offsets',
  '/streams/{s}/topics/{t}/consumer-groups', '/streams/{s}/topics/{t}/consumer-groups/{g}', '/users', '/users/{u}', '/users/{u}/password',
  '/users/{u}/permissions', '/users/login', '/users/logout', '/users/refresh-token', '/personal-access-tokens', '/personal-access-tokens/login',
  '/personal-access-tokens/{u}', '/stats', '/clients', '/clients/{s}', '/cluster/metadata', '/options/{u}', '/ping', '/snapshot', '/nowhere'];

export interface HttpCase { method: string; path: string; segments: string[]; query: string; auth: 'none' | 'fuzzer' | 'garbage' | 'tampered'; body: string | null; contentType: string }

export function httpCaseArbitrary(sandbox: number): fc.Arbitrary<HttpCase> {
  const segment = fc.oneof(fc.constant(String(sandbox)), fc.nat(5).map(String), fc.string({ maxLength: 10 }).map(encodeURIComponent), fc.constant('%00'), fc.constant('..'), fc.constant('99999999999999999999'));
  const json = fc.oneof(fc.json({ maxDepth: 3 }), fc.constant('{"name":"x","partitions_count":1}'), fc.constant('{"username":"fuzzer","password":"fuzz-password-1"}'),
    fc.constant('{"messages":[{"payload":"aGk="}],"partitioning":{"kind":"partition_id","value":"AAAAAA=="}}'), fc.string({ maxLength: 200 }));
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
    path: fc.constantFrom(...PATHS),
    segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
    query: fc.oneof(fc.constant(''), fc.constant('?consumer_id=1&partition_id=0&kind=offset&value=0&count=5'), fc.string({ maxLength: 30 }).map((q) => `?${encodeURIComponent(q)}=${encodeURIComponent(q)}`)),
    auth: fc.constantFrom('none', 'fuzzer', 'fuzzer', 'garbage', 'tampered'),
    body: fc.option(json, { nil: null }),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'),
  }) as fc.Arbitrary<HttpCase>;
}

export async function fuzzHttp(target: FuzzTarget, root: IggyClient, sandbox: number, count: number, seed: number, figures: FuzzFigures): Promise<void> {
  const token = await httpLogin(target.http);
  await fc.assert(fc.asyncProperty(httpCaseArbitrary(sandbox), async (c) => {
    figures.httpRequests += 1;
    const [s, t, u] = c.segments;
    const path = c.path.replace('{s}', s).replace('{t}', t).replace('{g}', u).replace('{u}', u) + c.query;
    const headers: Record<string, string> = { 'content-type': c.contentType };
    if (c.auth === 'fuzzer') headers.authorization = `Bearer ${token}`;
    else if (c.auth === 'garbage') headers.authorization = `Bearer ${'x'.repeat(20)}`;
    else if (c.auth === 'tampered') headers.authorization = `Bearer ${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    let wrong: string | null = null;
    try {
      const res = await request(`http://${target.http}${path}`, { method: c.method as 'GET', headers, body: c.method === 'GET' ? undefined : c.body ?? undefined, headersTimeout: ANSWER_BOUND_MS, bodyTimeout: ANSWER_BOUND_MS });
      const text = await res.body.text();
      if (!HTTP_ALLOWED.has(res.statusCode)) wrong = `${c.method} ${path} (auth ${c.auth}, body ${JSON.stringify(c.body)?.slice(0, 80)}): HTTP ${res.statusCode} ${text.slice(0, 200)}`;
    } catch (error) {
      wrong = `${c.method} ${path}: no answer (${(error as Error).message})`;
    }
    const health = await serverProblem(target, root);
    if (health) figures.crashes += 1;
    const problem = wrong ?? health;
    if (problem) figures.wrongAnswers.push(problem);
    return problem === null;
  }), { numRuns: count, seed, endOnFailure: true, verbose: 0 }).catch((error) => {
    figures.wrongAnswers.push(`HTTP counterexample (seed ${seed}): ${(error as Error).message.split('\n').slice(0, 12).join('\n')}`);
  });
  // Raw bytes that are not HTTP: answered 400 or closed; the server goes on.
  for (let i = 0; i < 20; i++) {
    figures.httpRequests += 1;
    await rawHttp(target.http, Buffer.from(`${'GARBAGE '.repeat(i)}\r\n\r\n${String.fromCharCode(...Array.from({ length: i * 7 }, (_, j) => (j * 37 + i) % 256))}`, 'latin1'));
    const health = await serverProblem(target, root);
    if (health) { figures.crashes += 1; figures.wrongAnswers.push(`after raw HTTP garbage ${i}: ${health}`); }
  }
}

async function httpLogin(http: string): Promise<string> {
  const res = await request(`http://${http}/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(FUZZ_USER) });
  const body = (await res.body.json()) as { access_token?: { token: string } };
  if (!body.access_token) throw new Error(`the fuzzing user cannot log in over HTTP: ${res.statusCode} ${JSON.stringify(body)}`);
  return body.access_token.token;
}

function rawHttp(http: string, bytes: Buffer): Promise<void> {
  const [host, port] = http.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) }, () => socket.end(bytes));
    socket.on('data', () => {});
    socket.setTimeout(ANSWER_BOUND_MS, () => socket.destroy());
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

function seedRandom(seed: number): () => number {
  let x = (seed >>> 0) || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x1_0000_0000; };
}

