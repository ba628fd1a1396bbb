// The descriptors kept back from client connections (host/node/net/descriptors.ts): every shard accepts
// connections, so each one past the first holds its own reserve and listener copy, and the headroom grows with them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DESCRIPTOR_RESERVE, descriptorHeadroom } from '../../../host/node/net/descriptors.js';

describe('descriptorHeadroom', () => {
  it('is max(96, limit / 8) for one shard, and a reserve and a listener more per further shard', () => {
    assert.equal(descriptorHeadroom(256), 96);
    assert.equal(descriptorHeadroom(8192), 1024);
    assert.equal(descriptorHeadroom(256, 2), 96 + DESCRIPTOR_RESERVE + 1);
    assert.equal(descriptorHeadroom(8192, 4), 1024 + 3 * (DESCRIPTOR_RESERVE + 1));
  });
});
