// NoSpaceRetry: a cluster replica's reopen after a full device, tried after a backoff, only once the device has
// room, again while it finds none, and never after it was cancelled; causedByNoSpace: which failures it retries.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { NoSpaceRetry, ROOM_MARGIN_BYTES, RETRY_FIRST_MS, RETRY_MAX_MS, causedByNoSpace } from '../../../host/node/server/no-space-retry.js';
import { storageError } from '../../../host/node/io/storage-errors.js';

const errno = (code: string) => Object.assign(new Error(`${code}: failed, write`), { code });

test('causedByNoSpace: a full device, its StorageError, a cause, or a journal poisoned by one; no other I/O error', () => {
  assert.equal(causedByNoSpace(errno('ENOSPC')), true);
  assert.equal(causedByNoSpace(errno('EDQUOT')), true);
  assert.equal(causedByNoSpace(storageError('NoSpace', 'seg.log', 0, 'no space for an append')), true);
  assert.equal(causedByNoSpace(new Error('wrapped', { cause: errno('ENOSPC') })), true);
  assert.equal(causedByNoSpace(storageError('JournalPoisoned', 'journal.wal', 0, 'replacement failed after its commit point: ENOSPC: no space left on device, write')), true);
  assert.equal(causedByNoSpace(errno('EIO')), false);
  assert.equal(causedByNoSpace(storageError('JournalPoisoned', 'journal.wal', 0, 'replacement failed after its commit point: EIO: i/o error, write')), false);
  assert.equal(causedByNoSpace(null), false);
});

test('NoSpaceRetry: waits for room, tries again while the reopen finds none (backoff doubling to its cap), stops once done or cancelled', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let free = 0;
    const results = [false, true];
    const attempts: string[] = [];
    const retry = new NoSpaceRetry<string>('/nowhere', async (key) => { attempts.push(key); return results.shift() ?? true; }, () => free);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const advance = async (ms: number) => { mock.timers.tick(ms); await settle(); await settle(); };

    retry.schedule('p', 'partition p');
    retry.schedule('p', 'partition p'); // a second failure of the same partition keeps the one scheduled
    await advance(RETRY_FIRST_MS);
    assert.deepEqual(attempts, [], 'no room: not reopened');
    free = ROOM_MARGIN_BYTES + 1;
    await advance(RETRY_FIRST_MS * 2 - 1);
    assert.deepEqual(attempts, [], 'the next try waits twice as long');
    await advance(1);
    assert.deepEqual(attempts, ['p'], 'room: reopened');
    assert.equal(retry.has('p'), true, 'the reopen found no room: tried again');
    await advance(RETRY_FIRST_MS * 4);
    assert.deepEqual(attempts, ['p', 'p']);
    assert.equal(retry.has('p'), false, 'done');
    await advance(RETRY_MAX_MS * 2);
    assert.deepEqual(attempts, ['p', 'p'], 'nothing after it is done');

    retry.schedule('q', 'partition q');
    retry.cancel('q'); // the partition was deleted meanwhile
    await advance(RETRY_MAX_MS);
    assert.deepEqual(attempts, ['p', 'p'], 'a cancelled retry never reopens');
    retry.stop();
    retry.schedule('r', 'partition r');
    await advance(RETRY_MAX_MS);
    assert.deepEqual(attempts, ['p', 'p'], 'none after stop (shutdown)');
  } finally {
    mock.timers.reset();
  }
});
