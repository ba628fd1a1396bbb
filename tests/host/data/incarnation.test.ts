// A partition directory belongs to the partition whose creating op it records: a re-created partition with reused
// ids never opens an earlier one's files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { claimDirectory, writeIncarnation } from '../../../host/node/data/incarnation.js';
import { partitionDir } from '../../../host/node/data/partition-dir.js';
import { tempDir } from '../helpers.js';

const ids = { streamId: 0, topicId: 0, partitionId: 3 };

describe('partition directory incarnation', () => {
  it('claims a fresh directory, keeps its own, and removes an earlier partition\'s files', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    assert.equal(claimDirectory(dataDir, ids, 7), 'fresh');
    fs.writeFileSync(path.join(dir, '00000000000000000000.log'), 'messages of op 7');
    assert.equal(claimDirectory(dataDir, ids, 7), 'same');
    assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.log')), 'its own files are kept');
    assert.equal(claimDirectory(dataDir, ids, 12), 'replaced');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.tmp')), ['incarnation']);
    assert.equal(fs.readFileSync(path.join(dir, 'incarnation'), 'utf8').trim(), '12');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the marker written again after a purge keeps the purged partition its own', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    assert.equal(claimDirectory(dataDir, ids, 5), 'fresh');
    fs.rmSync(dir, { recursive: true }); // what a purge does: a new, empty directory
    writeIncarnation(dataDir, ids, 5);
    fs.writeFileSync(path.join(dir, '00000000000000000000.log'), 'sent after the purge');
    assert.equal(claimDirectory(dataDir, ids, 5), 'same');
    assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.log')));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a directory without a marker is not assumed to be this partition\'s', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '00000000000000000000.log'), 'who knows');
    assert.equal(claimDirectory(dataDir, ids, 1), 'replaced');
    assert.ok(!fs.existsSync(path.join(dir, '00000000000000000000.log')));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
