// Snapshot round trip and determinism: two states fed the same committed ops encode to the same bytes, and a
// decoded snapshot answers reads and further ops exactly like the state it was taken from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { readStreamsCommand } from '../../../host/node/metadata/stream-reads.js';
import { decodeStreamsSnapshot, encodeStreamsSnapshot } from '../../../host/node/metadata/streams-snapshot.js';
import { InternalOperation } from '../../../host/node/metadata/types.js';
import { Harness, ROOT, body, hex, tlvString, tlvU64 } from './streams-helpers.js';

const O = Operation;

// A history with deletes (so ids get reused), renames, options, partitions and group churn.
function history(h: Harness): void {
  h.ok(O.createStream, body.createStream('a'));
  h.ok(O.createStream, body.createStream('b'));
  h.ok(O.createStream, body.createStream('c'));
  h.ok(O.deleteStream, body.stream('a'));
  h.ok(O.createStream, body.createStream('d'));
  h.ok(O.updateStream, body.updateStream('b', 'b2'));
  h.ok(O.createTopic, body.createTopic('d', 3, 't1', [tlvString('compression_algorithm', 'gzip'), tlvU64('message_expiry', 99n)]));
  h.ok(O.createTopic, body.createTopic('d', 0, 't2'));
  h.ok(O.createTopic, body.createTopic('b2', 2, 'z'));
  h.ok(O.createPartitions, body.partitions('d', 't2', 5));
  h.ok(O.deletePartitions, body.partitions('d', 't2', 2));
  h.ok(O.createConsumerGroup, body.createGroup('d', 't1', 'g1'));
  h.ok(O.createConsumerGroup, body.createGroup('d', 't1', 'g2'));
  h.ok(O.deleteConsumerGroup, body.group('d', 't1', 'g1'));
  h.ok(O.createConsumerGroup, body.createGroup('d', 't1', 'g3'));
  for (const client of [5n, (1n << 127n) + 3n, 7n]) h.ok(O.joinConsumerGroup, body.group('d', 't1', 'g2'), { client });
  h.ok(O.joinConsumerGroup, body.group('d', 't1', 'g3'), { client: 7n });
  h.ok(O.leaveConsumerGroup, body.group('d', 't1', 'g2'), { client: 5n });
  h.ok(InternalOperation.removeConsumerGroupMember, body.client(7n), { client: 0n });
  h.apply(O.createStream, body.createStream('c')); // a rejection changes nothing
}

test('two states applying the same ops produce identical snapshots', () => {
  const one = new Harness();
  const two = new Harness();
  history(one);
  history(two);
  assert.equal(hex(encodeStreamsSnapshot(one.state.streams)), hex(encodeStreamsSnapshot(two.state.streams)));
  const other = new Harness();
  history(other);
  other.ok(O.joinConsumerGroup, body.group('d', 't1', 'g3'), { client: 8n });
  assert.notEqual(hex(encodeStreamsSnapshot(other.state.streams)), hex(encodeStreamsSnapshot(one.state.streams)));
});

test('a snapshot round-trips exactly and the decoded state behaves like the original', () => {
  const h = new Harness();
  history(h);
  const bytes = encodeStreamsSnapshot(h.state.streams);
  const restored = new Harness();
  restored.state.streams = decodeStreamsSnapshot(bytes);
  restored.op = h.op; // the log continues after the checkpoint
  assert.equal(hex(encodeStreamsSnapshot(restored.state.streams)), hex(bytes));
  for (const [code, request] of [[201, new Uint8Array(0)], [200, body.stream('d')], [300, body.topic('d', 't1')], [300, body.topic('d', 't2')],
    [601, body.topic('d', 't1')], [600, body.group('d', 't1', 'g2')]] as const) {
    assert.deepEqual(readStreamsCommand(restored.state, ROOT, code, request), readStreamsCommand(h.state, ROOT, code, request), `code ${code}`);
  }
  // Ops after the restore continue the same way (same id reuse, same generations).
  for (const s of [h, restored]) {
    s.ok(O.createStream, body.createStream('e'));
    s.ok(O.joinConsumerGroup, body.group('d', 't1', 'g2'), { client: 11n });
  }
  assert.equal(hex(encodeStreamsSnapshot(restored.state.streams)), hex(encodeStreamsSnapshot(h.state.streams)));
});

test('damaged snapshots are refused: bad magic, unknown version, truncation, trailing bytes', () => {
  const h = new Harness();
  history(h);
  const bytes = encodeStreamsSnapshot(h.state.streams);
  const flipped = (at: number) => { const b = bytes.slice(); b[at] ^= 0xff; return b; };
  assert.throws(() => decodeStreamsSnapshot(flipped(0)), /magic/);
  assert.throws(() => decodeStreamsSnapshot(flipped(4)), /version/);
  for (const cut of [3, 8, 20, bytes.length - 1]) assert.throws(() => decodeStreamsSnapshot(bytes.subarray(0, cut)), WireError);
  assert.throws(() => decodeStreamsSnapshot(Uint8Array.of(...bytes, 0)), /trailing/);
  assert.equal(decodeStreamsSnapshot(encodeStreamsSnapshot(new Harness().state.streams)).streams.size, 0);
});
