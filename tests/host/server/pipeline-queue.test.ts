// The one queue between a request and a group's pipeline: at most `capacity` writes submitted at once, in arrival
// order, each under the next request number; a commit (take) makes room for the next; drain hands back everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineQueue } from '../../../host/node/server/pipeline-queue.js';

test('writes are submitted in order while fewer than capacity are uncommitted; a commit makes room for exactly one more', () => {
  const queue = new PipelineQueue<string>(2);
  const submitted: string[] = [];
  const admit = () => queue.admit((request, write) => submitted.push(`${request}:${write}`));
  for (const w of ['a', 'b', 'c', 'd']) queue.push(w);
  assert.equal(admit(), true);
  assert.deepEqual(submitted, ['1:a', '2:b']);
  assert.equal(admit(), false, 'a full pipeline: nothing more is submitted');
  assert.equal(queue.get(2n), 'b');
  assert.equal(queue.take(1n), 'a');
  assert.equal(queue.take(1n), undefined, 'taken once');
  assert.equal(queue.get(99n), undefined, 'not one of this queue\'s requests (the owner\'s Register)');
  admit();
  assert.deepEqual(submitted, ['1:a', '2:b', '3:c'], 'one commit, one more submitted');
  assert.deepEqual(queue.drain(), { waiting: ['d'], submitted: ['b', 'c'] });
  assert.equal(admit(), false, 'nothing left after a drain');
  assert.equal(queue.get(2n), undefined);
});
