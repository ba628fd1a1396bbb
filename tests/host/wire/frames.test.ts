// The client protocol's frame codecs against the byte vectors of iggy-client-wire.md §13 (generated with the
// Node SDK's own encoders).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, WireError, Writer, utf8 } from '../../../host/shared/wire/buffer.js';
import { COMMANDS, ErrorCode, Operation, commandByCode, evictionErrorCode, isResultFramed } from '../../../host/shared/wire/codes.js';
import {
  Command, FrameSizeError, FrameSplitter, HEADER_SIZE, decodeRequestHeader, decodeServerFrame, encodeEviction, encodeReply, encodeRequest, encodeRequestHeader,
  frameCommand, requestHeaderProblem,
} from '../../../host/shared/wire/header.js';
import { namedId, numericId, readIdentifier, readPartitioning, readPollingStrategy, readTlvBlock, writeIdentifier, writePartitioning, writePollingStrategy, writeTlvBlock } from '../../../host/shared/wire/primitives.js';
import { parseResult, resultRejection, resultSuccess } from '../../../host/shared/wire/result.js';

const CLIENT = 0x0102030405060708090a0b0c0d0e0f10n;
const CLIENT_BYTES = [0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01];

// Builds the expected frame from the spec's "offset:hex" notation: everything not listed is zero.
function expected(size: number, bytes: Record<number, number | number[]>): Uint8Array {
  const out = new Uint8Array(size);
  for (const [at, value] of Object.entries(bytes)) out.set(Array.isArray(value) ? value : [value], Number(at));
  return out;
}

describe('wire frames (§13 vectors)', () => {
  it('encodes Ping before login byte for byte', () => {
    const frame = encodeRequest({ client: CLIENT, request: 1n, operation: Operation.nonReplicated, session: 0n, code: 1 });
    assert.deepEqual(frame, expected(256, { 49: 0x01, 60: 0x05, 128: CLIENT_BYTES, 168: 0x01, 176: 0x02, 196: 0x01 }));
  });

  it('encodes Register with the Node SDK body byte for byte', () => {
    const body = new Writer().u32(0x2c00).u8(8).bytes(utf8.encode('node-sdk')).u8(13).bytes(utf8.encode('0.10.0-edge.4'))
      .u8(4).bytes(utf8.encode('iggy')).u8(4).bytes(utf8.encode('iggy')).u32(0).finish();
    const frame = encodeRequest({ client: CLIENT, request: 0n, operation: Operation.register, session: 0n, body });
    assert.equal(frame.length, 297);
    assert.deepEqual(frame.subarray(0, 256), expected(256, { 48: 0x29, 49: 0x01, 60: 0x05, 128: CLIENT_BYTES, 176: 0x01 }));
    assert.deepEqual([...frame.subarray(256, 260)], [0x00, 0x2c, 0x00, 0x00]);
  });

  it('encodes CreateStream and the following Ping after binding session 7', () => {
    const create = encodeRequest({ client: CLIENT, request: 1n, operation: Operation.createStream, session: 7n, body: new Uint8Array([0x02, 0x73, 0x31]) });
    assert.deepEqual(create, Uint8Array.from([...expected(256, { 48: 0x03, 49: 0x01, 60: 0x05, 128: CLIENT_BYTES, 168: 0x01, 176: 0x80, 184: 0x07 }), 0x02, 0x73, 0x31]));
    const ping = encodeRequest({ client: CLIENT, request: 2n, operation: Operation.nonReplicated, session: 7n, code: 1 });
    assert.deepEqual(ping, expected(256, { 49: 0x01, 60: 0x05, 128: CLIENT_BYTES, 168: 0x02, 176: 0x02, 184: 0x07, 196: 0x01 }));
  });

  it('decodes a request header and validates it like the reference server', () => {
    const frame = encodeRequest({ client: CLIENT, request: 3n, operation: Operation.createStream, session: 7n, body: new Uint8Array(3) });
    const h = decodeRequestHeader(frame.subarray(0, HEADER_SIZE));
    assert.deepEqual([h.size, h.client, h.request, h.operation, h.session], [259, CLIENT, 3n, 128, 7n]);
    assert.equal(requestHeaderProblem(h, frameCommand(frame)), null);
    assert.match(requestHeaderProblem({ ...h, client: 0n }, 5)!, /client id is zero/);
    assert.match(requestHeaderProblem({ ...h, session: 0n }, 5)!, /bound session/);
    assert.match(requestHeaderProblem({ ...h, operation: 1 }, 5)!, /Register must carry session 0/);
    assert.match(requestHeaderProblem(h, 8)!, /not Request/);
    assert.equal(requestHeaderProblem({ ...h, operation: 2, session: 0n }, 5), null, 'NonReplicated may come without a session');
  });

  it('encodes the minimal Ping reply and the "name exists" rejection of §13', () => {
    const reply = encodeReply({ client: CLIENT, requestChecksum: 0n, session: 0n, commit: 0n, timestamp: 0n, request: 1n, operation: 2, status: 0 });
    assert.equal(reply.length, 256);
    assert.deepEqual([reply[48], reply[49], reply[60], reply[208]], [0x00, 0x01, 0x08, 0x02]);
    assert.deepEqual([...resultRejection(ErrorCode.streamNameAlreadyExists)], [1, 0, 0, 0, 0, 0, 0, 0, 0xf4, 0x03, 0, 0]);
    const decoded = decodeServerFrame(encodeReply({ client: CLIENT, requestChecksum: 0n, session: 7n, commit: 1n, timestamp: 0n, request: 1n, operation: 128, status: 0, body: resultRejection(1012) }));
    assert.equal(decoded.kind, 'reply');
    if (decoded.kind === 'reply') assert.deepEqual(parseResult(decoded.body), { ok: false, code: 1012 });
    assert.deepEqual(parseResult(resultSuccess(new Uint8Array([9]))), { ok: true, payload: new Uint8Array([9]) });
    assert.throws(() => encodeReply({ client: CLIENT, requestChecksum: 0n, session: 0n, commit: 0n, timestamp: 0n, request: 1n, operation: 2, status: 41, body: new Uint8Array(1) }), /empty body/);
  });

  it('encodes an eviction as exactly 256 bytes with the reason at 255', () => {
    const eviction = encodeEviction(CLIENT, 14, 11264, 11264);
    assert.equal(eviction.length, 256);
    assert.equal(frameCommand(eviction), Command.eviction);
    assert.equal(eviction[255], 14);
    assert.deepEqual(decodeServerFrame(eviction), { kind: 'eviction', reason: 14, versionMax: 11264, versionMin: 11264 });
    assert.equal(evictionErrorCode(14, 11264, 11264), ErrorCode.incompatibleProtocolVersion);
    assert.equal(evictionErrorCode(9, 0, 0), ErrorCode.invalidCredentials);
  });
});

describe('wire primitives', () => {
  it('identifiers match §6.1 and §13', () => {
    assert.deepEqual([...writeIdentifier(new Writer(), numericId(7)).finish()], [0x01, 0x04, 0x07, 0, 0, 0]);
    assert.deepEqual([...writeIdentifier(new Writer(), namedId('s1')).finish()], [0x02, 0x02, 0x73, 0x31]);
    assert.deepEqual(readIdentifier(new Reader(Uint8Array.of(2, 2, 0x73, 0x31))), namedId('s1'));
    assert.throws(() => readIdentifier(new Reader(Uint8Array.of(1, 3, 0, 0, 0))), (e: WireError) => e.code === ErrorCode.invalidIdentifier);
    assert.throws(() => readIdentifier(new Reader(Uint8Array.of(2, 5, 0x73))), /truncated body/);
  });

  it('partitioning, polling strategy and TLV blocks round-trip and reject malformed input', () => {
    for (const p of [{ kind: 'balanced' } as const, { kind: 'partition', partition: 9 } as const, { kind: 'key', key: utf8.encode('k') } as const]) {
      assert.deepEqual(readPartitioning(new Reader(writePartitioning(new Writer(), p).finish())), p);
    }
    assert.throws(() => readPartitioning(new Reader(Uint8Array.of(2, 3, 0, 0, 0))), /length 3, expected 4/);
    for (const s of [{ kind: 'offset', value: 5n } as const, { kind: 'last' } as const]) {
      assert.deepEqual(readPollingStrategy(new Reader(writePollingStrategy(new Writer(), s).finish())), s);
    }
    assert.throws(() => readPollingStrategy(new Reader(new Uint8Array(9).fill(9))), /unknown polling strategy/);
    const entries = [{ keyKind: 2, key: utf8.encode('a'), valueKind: 12, value: new Uint8Array(8) }];
    const block = writeTlvBlock(new Writer(), entries).finish();
    assert.deepEqual(readTlvBlock(new Reader(block), block.length, 'headers'), entries);
    assert.throws(() => readTlvBlock(new Reader(block.subarray(0, 6)), 6, 'headers'), /key without a value/);
  });

  it('the command table has the spec\'s 51 codes and maps replicated codes to their operation', () => {
    assert.equal(COMMANDS.length, 51);
    assert.equal(commandByCode(202)?.operation, Operation.createStream);
    assert.equal(commandByCode(39)?.operation, Operation.logout);
    assert.equal(commandByCode(101)?.rule, 'current');
    assert.equal(isResultFramed(Operation.createStream, 0), true);
    assert.equal(isResultFramed(Operation.sendMessages, 10), false);
    assert.equal(isResultFramed(Operation.deleteSegments, 0), false);
    assert.equal(isResultFramed(Operation.register, 0), false);
    assert.equal(isResultFramed(Operation.register, 20), true);
  });
});

describe('frame splitter', () => {
  it('reassembles frames split at every byte boundary and refuses impossible sizes', () => {
    const frames = [
      encodeRequest({ client: CLIENT, request: 1n, operation: 2, session: 0n, code: 1 }),
      encodeRequest({ client: CLIENT, request: 1n, operation: 128, session: 7n, body: new Uint8Array(1000).fill(7) }),
    ];
    const stream = Uint8Array.from([...frames[0], ...frames[1]]);
    for (const cut of [1, 100, 255, 256, 257, 700, stream.length - 1]) {
      const splitter = new FrameSplitter();
      const got = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
      assert.deepEqual(got, frames, `cut at ${cut}`);
      assert.equal(splitter.pendingBytes, 0);
    }
    const bad = encodeRequest({ client: CLIENT, request: 1n, operation: 2, session: 0n });
    new DataView(bad.buffer).setUint32(48, 100, true);
    assert.throws(() => new FrameSplitter().push(bad), /frame size 100 is outside/);
    new DataView(bad.buffer).setUint32(48, 65 * 1024 * 1024, true);
    assert.throws(() => new FrameSplitter().push(bad), /outside/);
  });

  it('a frame over a lowered limit is a FrameSizeError carrying the header; the limit can rise between pushes', () => {
    const frame = encodeRequest({ client: CLIENT, request: 1n, operation: 2, session: 0n, code: 1, body: new Uint8Array(5000) });
    const splitter = new FrameSplitter(4096);
    let caught: unknown;
    try {
      splitter.push(frame.subarray(0, 256));
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof FrameSizeError && caught.size === frame.length && caught.limit === 4096);
    assert.deepEqual(caught.head, frame.subarray(0, 256), 'the header, to answer the client from');
    const raised = new FrameSplitter(4096);
    raised.maxFrameSize = 8192;
    assert.deepEqual(raised.push(frame), [frame]);
  });

  it('an admitter sees each frame once, before its body is taken; a refused frame waits until pushed again', () => {
    const frames = [1000, 3000, 10].map((n) => encodeRequest({ client: CLIENT, request: 1n, operation: 2, session: 0n, code: 1, body: new Uint8Array(n).fill(n & 0xff) }));
    const asked: number[] = [];
    let allow = true;
    const splitter = new FrameSplitter(1 << 20, null, (size) => { asked.push(size); return allow; });
    const stream = Uint8Array.from(frames.flatMap((f) => [...f]));
    assert.deepEqual(splitter.push(stream.subarray(0, 300)), []);
    assert.deepEqual(asked, [frames[0].length], 'asked as soon as the header is in');
    allow = false;
    assert.deepEqual(splitter.push(stream.subarray(300)), [frames[0]]);
    assert.ok(splitter.blocked, 'the second frame waits');
    assert.deepEqual(asked, [frames[0].length, frames[1].length]);
    allow = true;
    assert.deepEqual(splitter.push(new Uint8Array(0)), [frames[1], frames[2]]);
    assert.ok(!splitter.blocked);
    assert.deepEqual(asked, [frames[0].length, frames[1].length, frames[1].length, frames[2].length], 'asked again only for the refused one');
    assert.equal(splitter.pendingBytes, 0);
  });
});

describe('request header as a piece', () => {
  it('encodeRequestHeader then the body is byte for byte the frame encodeRequest builds', () => {
    const body = new Uint8Array(5000).map((_, i) => i & 0xff);
    const r = { client: CLIENT, request: 9n, operation: 128, session: 7n, code: 0, body };
    const header = encodeRequestHeader(r);
    assert.equal(header.length, 256);
    assert.deepEqual(Buffer.concat([header, body]), Buffer.from(encodeRequest(r)));
  });
});
