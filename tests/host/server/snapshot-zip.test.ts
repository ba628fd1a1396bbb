// The ZIP writer behind GetSnapshotFile: the CRC-32 check value, and archives whose every entry reads back
// through the local and central headers, stored or deflated.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { crc32, zip } from '../../../host/node/server/snapshot-zip.js';
import { tempDir } from '../helpers.js';

const files = [{ name: 'a.txt', data: new TextEncoder().encode('hello '.repeat(100)) }, { name: 'dir/b.txt', data: new Uint8Array([0, 1, 2, 255]) }];

function readBack(archive: Uint8Array) {
  const b = Buffer.from(archive);
  const end = b.length - 22;
  assert.equal(b.readUInt32LE(end), 0x06054b50, 'end of central directory');
  const count = b.readUInt16LE(end + 10);
  let at = b.readUInt32LE(end + 16);
  const out: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(b.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const method = b.readUInt16LE(at + 10);
    const crc = b.readUInt32LE(at + 16);
    const size = b.readUInt32LE(at + 20);
    const nameLength = b.readUInt16LE(at + 28);
    const local = b.readUInt32LE(at + 42);
    const name = b.subarray(at + 46, at + 46 + nameLength).toString();
    assert.equal(b.readUInt32LE(local), 0x04034b50, 'local header');
    const dataAt = local + 30 + b.readUInt16LE(local + 26);
    const raw = b.subarray(dataAt, dataAt + size);
    const data = method === 8 ? zlib.inflateRawSync(raw) : raw;
    assert.equal(crc32(data), crc, `${name}: crc`);
    out.push({ name, data });
    at += 46 + nameLength;
  }
  return out;
}

describe('snapshot zip', () => {
  it('CRC-32 matches the standard check value', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  for (const deflate of [false, true]) {
    it(`${deflate ? 'deflated' : 'stored'} entries read back intact`, () => {
      const got = readBack(zip(files, deflate));
      assert.deepEqual(got.map((f) => f.name), files.map((f) => f.name));
      got.forEach((f, i) => assert.deepEqual(new Uint8Array(f.data), files[i].data));
    });
  }

  it('python\'s zipfile (an independent reader) accepts the archive, when python3 is installed', (t) => {
    const dir = tempDir('zip');
    const file = path.join(dir, 'snapshot.zip');
    fs.writeFileSync(file, zip(files, true));
    try {
      const names = execFileSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(",".join(z.namelist()))', file]).toString().trim();
      assert.equal(names, 'a.txt,dir/b.txt');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') t.skip('python3 not installed');
      else throw error;
    }
  });
});
