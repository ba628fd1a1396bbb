// SendMessages bodies: the §13 batch vector, batches from the batch builder, one flipped byte per checksum, and a
// named error (Iggy code) for every malformed layout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBatch } from '../../../host/node/io/batch-builder.js';
import { MAX_BATCH_BYTES, storageCore } from '../../../host/node/io/storage-core.js';
import { MAX_BATCH_MESSAGES, checksumStatus, decodeSendMessages } from '../../../host/node/data/send.js';
import { Partition } from '../../../host/node/io/partition.js';
import { tempDir } from '../helpers.js';
import { WireError, Writer } from '../../../host/shared/wire/buffer.js';
import { namedId, numericId, writeIdentifier, writePartitioning, type Partitioning } from '../../../host/shared/wire/primitives.js';

// iggy-client-wire.md §13: one message (id 1, payload "hi", origin 1000 µs), 306 bytes.
function vectorBatch(): Buffer {
  const b = Buffer.alloc(306);
  b.set([0xe8, 0x03], 24);
  b.set([0x32, 0x01], 32);
  b.set([0x65, 0xdd, 0x92, 0x38, 0xd9, 0xca, 0x28, 0x31], 40);
  b.set([0x01], 48);
  b.set([0xdc, 0x8e, 0x00, 0xca, 0x42, 0x0b, 0x92, 0xa9, 0x01], 256);
  b.set([0x02], 256 + 36);
  b.set([0x68, 0x69], 256 + 48);
  return b;
}

function sendBody(batch: Uint8Array, opts: { count?: number; partitioning?: Partitioning; metadataDelta?: number } = {}): Uint8Array {
  const meta = new Writer();
  writeIdentifier(meta, numericId(7));
  writeIdentifier(meta, namedId('s1'));
  writePartitioning(meta, opts.partitioning ?? { kind: 'partition', partition: 0 });
  meta.u32(opts.count ?? Buffer.from(batch).readUInt32LE(48));
  const m = meta.finish();
  return new Writer().u32(m.length + (opts.metadataDelta ?? 0)).bytes(m).bytes(batch).finish();
}

function throwsCode(fn: () => unknown, code: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected a WireError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

async function builtBatch(sizes: number[]): Promise<Buffer> {
  const sc = await storageCore();
  return buildBatch(sc, sizes.map((size, i) => ({ payload: Buffer.alloc(size, 0x41 + i), id: BigInt(i + 100) })), 5_000);
}

// The wire status a batch gets from the owner's append: its checksums are verified on the copy about to be
// written, and a batch that fails is left out of the append (badChecksum 'refuse', as PartitionHome opens them).
async function statusOnAppend(batch: Uint8Array): Promise<number> {
  const p = await Partition.open({ dir: tempDir(), partitionId: 0, quiet: true, badChecksum: 'refuse' });
  try {
    const result = p.append([batch]);
    assert.equal(result.batches === 1, result.refused[0] === 0);
    assert.equal(p.nextOffset, result.batches === 1 ? new DataView(batch.buffer, batch.byteOffset).getUint32(48, true) : 0, 'a refused batch is not written');
    return checksumStatus(result.refused[0]);
  } finally {
    p.close();
  }
}

describe('decodeSendMessages + checksums verified on append', () => {
  it('accepts the §13 vector, which the batch builder reproduces byte for byte', async () => {
    const sc = await storageCore();
    const vector = vectorBatch();
    assert.deepEqual(buildBatch(sc, [{ payload: Buffer.from('hi'), id: 1n }], 1000), vector);
    const req = decodeSendMessages(sendBody(vector));
    assert.deepEqual(req.stream, numericId(7));
    assert.deepEqual(req.topic, namedId('s1'));
    assert.deepEqual(req.partitioning, { kind: 'partition', partition: 0 });
    assert.equal(req.messagesCount, 1);
    assert.deepEqual(Buffer.from(req.batch), vector);
    assert.equal(await statusOnAppend(req.batch), 0);
  });

  it('accepts multi-message batches from the builder with every partitioning kind', async () => {
    const sc = await storageCore();
    const batch = await builtBatch([1, 10, 1000, 3]);
    for (const partitioning of [{ kind: 'balanced' }, { kind: 'key', key: Buffer.from('k') }] as Partitioning[]) {
      const req = decodeSendMessages(sendBody(batch, { partitioning }));
      assert.equal(req.partitioning.kind, partitioning.kind);
      if (req.partitioning.kind === 'key') assert.equal(Buffer.from(req.partitioning.key).toString(), 'k');
      assert.equal(req.messagesCount, 4);
      assert.equal(await statusOnAppend(req.batch), 0);
    }
  });

  it('a flipped payload byte is 4027, a flipped batch header byte or checksum is 4039', async () => {
    const sc = await storageCore();
    const payload = vectorBatch();
    payload[305] ^= 0x01; // "i" -> "h"
    assert.equal(await statusOnAppend(decodeSendMessages(sendBody(payload)).batch), 4027);
    const second = await builtBatch([5, 5]);
    second[second.length - 1] ^= 0x80; // the second frame's payload
    assert.equal(await statusOnAppend(decodeSendMessages(sendBody(second)).batch), 4027);
    const frameSum = vectorBatch();
    frameSum[256] ^= 0x01;
    assert.equal(await statusOnAppend(decodeSendMessages(sendBody(frameSum)).batch), 4027);
    const origin = vectorBatch();
    origin[24] ^= 0x01; // origin_timestamp is covered by the batch checksum only
    assert.equal(await statusOnAppend(decodeSendMessages(sendBody(origin)).batch), 4039);
    const sum = vectorBatch();
    sum[47] ^= 0x10;
    assert.equal(await statusOnAppend(decodeSendMessages(sendBody(sum)).batch), 4039);
  });

  it('metadata_length, batch_length and short bodies are InvalidCommand (3)', () => {
    const vector = vectorBatch();
    throwsCode(() => decodeSendMessages(sendBody(vector, { metadataDelta: 1 })), 3, /metadata_length/);
    throwsCode(() => decodeSendMessages(sendBody(vector).subarray(0, 10)), 3, /truncated/);
    throwsCode(() => decodeSendMessages(sendBody(vector.subarray(0, 200))), 3, /batch header alone/);
    throwsCode(() => decodeSendMessages(sendBody(Buffer.concat([vector, Buffer.alloc(1)]))), 3, /batch_length 306 but 307/);
    throwsCode(() => decodeSendMessages(sendBody(vector.subarray(0, 305))), 3, /batch_length 306 but 305/);
  });

  it('message counts: zero or a mismatch is 4009, more than the core can hash is 4023', () => {
    const vector = vectorBatch();
    throwsCode(() => decodeSendMessages(sendBody(vector, { count: 2 })), 4009, /differs/);
    throwsCode(() => decodeSendMessages(sendBody(vector, { count: 0 })), 4009, /at least one/);
    const zero = vectorBatch();
    zero.writeUInt32LE(0, 48);
    throwsCode(() => decodeSendMessages(sendBody(zero, { count: 0 })), 4009);
    const many = vectorBatch();
    many.writeUInt32LE(MAX_BATCH_MESSAGES + 1, 48);
    throwsCode(() => decodeSendMessages(sendBody(many)), 4023, /at most/);
  });

  it('a batch over MAX_BATCH_BYTES is 4036 (InvalidMessagesSize)', () => {
    const big = Buffer.alloc(MAX_BATCH_BYTES + 1);
    big.set(vectorBatch());
    big.writeBigUInt64LE(BigInt(big.length), 32);
    throwsCode(() => decodeSendMessages(sendBody(big)), 4036, /exceeds/);
  });

  it('reserved bytes, frame tiling, offset_delta and empty payloads are named errors', async () => {
    const reserved = vectorBatch();
    reserved[255] = 1;
    throwsCode(() => decodeSendMessages(sendBody(reserved)), 3, /reserved bytes 52\.\.255/);
    const frameReserved = vectorBatch();
    frameReserved[256 + 47] = 1;
    throwsCode(() => decodeSendMessages(sendBody(frameReserved)), 3, /reserved bytes 40\.\.47/);
    const overrun = vectorBatch();
    overrun.writeUInt32LE(3, 256 + 36);
    throwsCode(() => decodeSendMessages(sendBody(overrun)), 3, /only 50 left/);
    const slack = Buffer.concat([vectorBatch(), Buffer.alloc(4)]);
    slack.writeBigUInt64LE(310n, 32);
    throwsCode(() => decodeSendMessages(sendBody(slack)), 3, /4 more byte/);
    const shortFrame = await builtBatch([2]);
    const cut = Buffer.concat([shortFrame.subarray(0, 256), Buffer.alloc(20)]);
    cut.writeBigUInt64LE(276n, 32);
    throwsCode(() => decodeSendMessages(sendBody(cut)), 3, /a frame header is 48/);
    const delta = await builtBatch([2, 2]);
    delta.writeUInt32LE(0, 256 + 50 + 24);
    throwsCode(() => decodeSendMessages(sendBody(delta)), 3, /offset_delta 0, expected 1/);
    const sc = await storageCore();
    const empty = buildBatch(sc, [{ payload: Buffer.alloc(3) }, { payload: Buffer.alloc(0) }]);
    throwsCode(() => decodeSendMessages(sendBody(empty)), 4024, /frame 1 .* empty payload/);
  });
});
