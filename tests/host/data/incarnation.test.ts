// A partition directory belongs to the partition whose creating op it records: a re-created partition with reused
// ids never opens an earlier one's files, and no directory is removed for a partition the committed state has not
// reached (the files of a later incarnation, met while an earlier state names the same ids).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { IncarnationUnknown, claimDirectory, removeIfDeleted, writeIncarnation } from '../../../host/node/data/incarnation.js';
import { partitionDir } from '../../../host/node/data/partition-dir.js';
import { storageCore, type StorageCore } from '../../../host/node/io/storage-core.js';
import { tempDir } from '../helpers.js';

const ids = { streamId: 0, topicId: 0, partitionId: 3 };
const LOG = '00000000000000000000.log';

describe('partition directory incarnation', () => {
  let sc: StorageCore;
  before(async () => { sc = await storageCore(); });

  it('claims a fresh directory, keeps its own, and removes an earlier partition\'s files', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    assert.equal(claimDirectory(sc, dataDir, ids, 7, 7), 'fresh');
    fs.writeFileSync(path.join(dir, LOG), 'messages of op 7');
    assert.equal(claimDirectory(sc, dataDir, ids, 7, 11), 'same');
    assert.ok(fs.existsSync(path.join(dir, LOG)), 'its own files are kept');
    assert.equal(claimDirectory(sc, dataDir, ids, 12, 12), 'replaced');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.tmp')), ['incarnation']);
    assert.equal(fs.readFileSync(path.join(dir, 'incarnation'), 'utf8').trim(), '12');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the marker written again after a purge keeps the purged partition its own', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    assert.equal(claimDirectory(sc, dataDir, ids, 5, 5), 'fresh');
    fs.rmSync(dir, { recursive: true }); // what a purge does: a new, empty directory
    writeIncarnation(dataDir, ids, 5);
    fs.writeFileSync(path.join(dir, LOG), 'sent after the purge');
    assert.equal(claimDirectory(sc, dataDir, ids, 5, 9), 'same');
    assert.ok(fs.existsSync(path.join(dir, LOG)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a directory without a marker is not assumed to be this partition\'s', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, LOG), 'who knows');
    assert.equal(claimDirectory(sc, dataDir, ids, 1, 1), 'replaced');
    assert.ok(!fs.existsSync(path.join(dir, LOG)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a later incarnation\'s files survive a state that names an earlier partition at the same ids', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    assert.equal(claimDirectory(sc, dataDir, ids, 577, 577), 'fresh');
    fs.writeFileSync(path.join(dir, LOG), 'acknowledged messages of op 577');
    // A replay at op 7, where stream 0 was first created, and at op 300, after its deletion.
    assert.throws(() => claimDirectory(sc, dataDir, ids, 7, 7), IncarnationUnknown);
    assert.throws(() => removeIfDeleted(sc, dataDir, ids, 0, 300), IncarnationUnknown);
    assert.equal(fs.readFileSync(path.join(dir, LOG), 'utf8'), 'acknowledged messages of op 577');
    assert.equal(fs.readFileSync(path.join(dir, 'incarnation'), 'utf8').trim(), '577', 'the marker is not rewritten');
    // Once the state has the partition's deletion (op 600), its files go.
    assert.equal(removeIfDeleted(sc, dataDir, ids, 0, 600), true);
    assert.ok(!fs.existsSync(dir));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an unreadable marker is an unknown incarnation: nothing is removed', () => {
    const dataDir = tempDir('incarnation-');
    const dir = partitionDir(dataDir, ids);
    writeIncarnation(dataDir, ids, 4);
    fs.writeFileSync(path.join(dir, 'incarnation'), 'x4\n');
    fs.writeFileSync(path.join(dir, LOG), 'kept');
    assert.throws(() => removeIfDeleted(sc, dataDir, ids, 0, 99), /PartitionIncarnationUnknown|unreadable marker/);
    assert.ok(fs.existsSync(path.join(dir, LOG)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
