// The client's frame reader: whatever sizes the reads come in (as the kernel fills the buffers the reader hands
// out), every frame arrives whole, once, in order; large frames are read into their own buffer and no read runs
// past the frame being filled; a bad size is a WireError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader } from '../../../host/client/frame-reader.js';
import { encodeReply } from '../../../host/shared/wire/header.js';
import { prng } from '../helpers-prng.js';

function reply(request: number, bodyBytes: number): Uint8Array {
  const body = new Uint8Array(bodyBytes);
  for (let i = 0; i < bodyBytes; i++) body[i] = (i * 31 + request) & 0xff;
  return encodeReply({ client: 1n, requestChecksum: 0n, session: 1n, commit: 0n, timestamp: 0n, request: BigInt(request), operation: 100, status: 0, body });
}

// Feeds `stream` to the reader the way the socket does: each read fills at most target().length bytes.
function feed(reader: FrameReader, stream: Uint8Array, readSize: () => number): void {
  for (let at = 0; at < stream.length;) {
    const target = reader.target();
    assert.ok(target.length > 0, 'the reader always offers room');
    const n = Math.min(target.length, readSize(), stream.length - at);
    target.set(stream.subarray(at, at + n));
    at += n;
    reader.arrived(n);
  }
}

describe('client frame reader', () => {
  it('delivers small and large frames whole and in order for any read sizes', () => {
    const frames = [0, 10, 70_000, 5, 1 << 20, 65_536 - 256, 65_536 - 255, 300_000, 1].map((bytes, i) => reply(i, bytes));
    const stream = Buffer.concat(frames);
    const random = prng(7);
    const patterns: [string, () => number][] = [
      ['one byte', () => 1], ['header-ish', () => 255], ['64 KiB', () => 65_536], ['everything', () => stream.length],
      ['random', () => 1 + Math.floor(random() * 200_000)],
    ];
    for (const [name, readSize] of patterns) {
      const got: Uint8Array[] = [];
      const reader = new FrameReader((frame) => got.push(frame));
      feed(reader, stream, readSize);
      assert.equal(got.length, frames.length, name);
      got.forEach((frame, i) => assert.ok(Object.getPrototypeOf(frame) === Uint8Array.prototype && Buffer.from(frame).equals(frames[i]), `${name}: frame ${i} (${frames[i].length} B)`));
      assert.equal(reader.target().length, 65_536, `${name}: nothing left over`);
    }
  });

  it('reads a large frame straight into the buffer it delivers, never past its end', () => {
    const big = reply(1, 500_000);
    const next = reply(2, 3);
    const got: Uint8Array[] = [];
    const reader = new FrameReader((frame) => got.push(frame));
    feed(reader, big.subarray(0, 1000), () => 1000);
    const target = reader.target();
    assert.equal(target.length, big.length - 1000, 'the rest of the frame, and no more');
    feed(reader, Buffer.concat([big.subarray(1000), next]), () => 1 << 20);
    assert.equal(got[0].buffer, target.buffer, 'delivered in the buffer the kernel read into');
    assert.ok(Buffer.from(got[0]).equals(big));
    assert.ok(Buffer.from(got[1]).equals(next));
  });

  it('refuses an impossible frame size', () => {
    const bad = Buffer.from(reply(1, 0));
    bad.writeUInt32LE(100, 48);
    const reader = new FrameReader(() => assert.fail('nothing is delivered'));
    assert.throws(() => feed(reader, bad, () => 256), /frame size 100 is outside/);
    const huge = Buffer.from(reply(1, 0));
    huge.writeUInt32LE(65 << 20, 48);
    assert.throws(() => feed(new FrameReader(() => {}), huge, () => 256), /outside/);
  });
});
