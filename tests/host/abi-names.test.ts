// Names made from the core's constant names: the labels /metrics publishes and the words logs use, and the
// errors for a family that cannot be indexed by value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namesByValue } from '../../host/shared/abi-names.js';
import { DROP_REASONS, DROP_VARIANTS, LANES } from '../../host/shared/frames.js';
import { ReplyStatus } from '../../host/shared/vsr-abi.js';

describe('namesByValue', () => {
  it('gives frame_drops_total and ring gauges the label values they always had', () => {
    assert.deepEqual(DROP_VARIANTS, ['consensus', 'partition', 'fd_transfer', 'forward_client_send', 'forward_replica_send',
      'metadata_commit_tick', 'replica_handshake_ack', 'lifecycle']);
    assert.deepEqual(DROP_REASONS, ['full', 'disconnected', 'unroutable', 'delivery_failed', 'misrouted', 'park_overflow', 'park_dropped', 'oversize',
      'namespace_miss']); // namespace_miss: a consensus frame for a group no shard registered (the replica plane)
    assert.deepEqual(LANES, ['inbox', 'reply']);
    assert.deepEqual(ReplyStatus, ['Ok', 'NoSession', 'SessionMismatch', 'RequestTooOld', 'BodyTooLarge']);
  });

  it('skips the count constant that shares the stem (DROP_REASONS is not a DROP_REASON_*)', () => {
    assert.deepEqual(namesByValue({ X_A: 0, X_B: 1, XS: 2, X_LABEL: 'text' }, 'X_', 'snake'), ['a', 'b']);
  });

  it('refuses a family with a gap, a duplicate value, or no member', () => {
    assert.throws(() => namesByValue({ X_A: 0, X_C: 2 }, 'X_', 'snake'), /X_\* has no constant of value 1/);
    assert.throws(() => namesByValue({ X_A: 0, X_B: 0 }, 'X_', 'pascal'), /X_\* has two constants of value 0 \(X_A, X_B\)/);
    assert.throws(() => namesByValue({ Y_A: 0 }, 'X_', 'snake'), /no constant starts with X_/);
  });
});
