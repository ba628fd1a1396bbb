// Every user mistake at startup: one clear line naming the problem, a non-zero exit, no stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, runServer, startServer, tempDir, waitFor } from './helpers/server.js';

function assertUserError(result: { code: number | null; output: string }, name: RegExp, mentions: RegExp): void {
  assert.notEqual(result.code, 0, result.output);
  assert.match(result.output, name);
  assert.match(result.output, mentions);
  assert.doesNotMatch(result.output, /^\s+at /m, 'no stack trace for a user mistake');
}

describe('startup errors', () => {
  it('--shards 0 is ShardsCountZero and names the flag', async () => {
    assertUserError(await runServer(['--shards', '0']), /ShardsCountZero/, /--shards/);
  });

  it('SHARDLOG_SHARDS=0 names the environment variable', async () => {
    assertUserError(await runServer([], { SHARDLOG_SHARDS: '0' }), /ShardsCountZero/, /SHARDLOG_SHARDS/);
  });

  it('more shards than the u16 id space is ShardsCountOverflow', async () => {
    assertUserError(await runServer(['--shards', '70000']), /ShardsCountOverflow/, /--shards: 70000 shards is more than the maximum of 65534/);
  });

  it('more shards than allowed CPUs is ShardsCountOverflow', async () => {
    const over = os.availableParallelism() + 1;
    assertUserError(await runServer(['--shards', String(over)]), /ShardsCountOverflow/, /may only run on/);
  });

  it('a CPU range outside the allowed set is CpuNotAllowed', async () => {
    assertUserError(await runServer(['--cpu-allocation', '1000..1001']), /CpuNotAllowed/, /CPU 1000/);
  });

  it('an unknown flag is UnknownFlag', async () => {
    assertUserError(await runServer(['--shard', '2']), /UnknownFlag/, /--shard/);
  });

  it('a flag without its value is MissingFlagValue', async () => {
    assertUserError(await runServer(['--shards']), /MissingFlagValue/, /--shards/);
  });

  it('a bad value is InvalidConfigValue naming the flag', async () => {
    assertUserError(await runServer(['--inbox-capacity', '1000']), /InvalidConfigValue/, /--inbox-capacity: "1000" is not a power of two/);
    assertUserError(await runServer(['--http-address', 'localhost']), /InvalidConfigValue/, /--http-address/);
  });

  it('an unknown config key is UnknownConfigKey naming key and file', async () => {
    const dir = tempDir('cfg');
    const file = path.join(dir, 'shardlog.json');
    fs.writeFileSync(file, JSON.stringify({ sharding: { cpu_allocation: '1', inbox_capacty: 8 } }));
    assertUserError(await runServer(['--config', file]), /UnknownConfigKey/, /sharding\.inbox_capacty/);
    fs.writeFileSync(file, '{ not json');
    assertUserError(await runServer(['--config', file]), /ConfigFileInvalid/, /not valid JSON/);
    assertUserError(await runServer(['--config', path.join(dir, 'missing.json')]), /ConfigFileUnreadable/, /ENOENT/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('values from the config file are used, and flags override them', async () => {
    const dir = tempDir('cfg');
    const file = path.join(dir, 'shardlog.json');
    fs.writeFileSync(file, JSON.stringify({ sharding: { cpu_allocation: '0' } }));
    assertUserError(await runServer(['--config', file]), /ShardsCountZero/, /sharding\.cpu_allocation in .*shardlog\.json/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an HTTP port in use is AddressInUse', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runServer(['--shards', '1', '--http-address', `127.0.0.1:${port}`]);
      assertUserError(result, /AddressInUse/, new RegExp(`--http-address: 127\\.0\\.0\\.1:${port} is already in use`));
      assert.equal(result.code, 2);
      assert.doesNotMatch(result.output, /shared memory:|stopped with/, 'found before any shard started');
    } finally {
      blocker.close();
    }
  });

  it('a TCP port in use is TcpListenFailed, exit 2, after the shards that started are stopped', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runServer(['--shards', '2', '--tcp-address', `127.0.0.1:${port}`]);
      assert.equal(result.code, 2, result.output);
      assert.match(result.output, new RegExp(`TcpListenFailed: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(tcp\\.address / --tcp-address\\)`));
    } finally {
      blocker.close();
    }
  });

  it('a missing core.wasm is CoreWasmMissing with the fix', async () => {
    assertUserError(await runServer(['--shards', '1', '--core-wasm', '/nonexistent/core.wasm']), /CoreWasmMissing/, /\/nonexistent\/core\.wasm not found: run `npm run asbuild`/);
  });

  it('--help prints every flag with its environment variable and exits 0', async () => {
    const result = await runServer(['--help']);
    assert.equal(result.code, 0);
    for (const flag of ['--config', '--shards', '--cpu-allocation', '--data-dir', '--tcp-address', '--http-address']) {
      assert.match(result.output, new RegExp(`^  ${flag} `, 'm'));
    }
    assert.match(result.output, /SHARDLOG_SHARDS/);
    for (const [flag, env] of [
      ['--max-connections', 'SHARDLOG_MAX_CONNECTIONS'], ['--max-unauthenticated-frame-bytes', 'SHARDLOG_MAX_UNAUTHENTICATED_FRAME_BYTES'],
      ['--max-connection-buffer-bytes', 'SHARDLOG_MAX_CONNECTION_BUFFER_BYTES'], ['--max-buffered-bytes', 'SHARDLOG_MAX_BUFFERED_BYTES'],
      ['--frame-timeout-ms', 'SHARDLOG_FRAME_TIMEOUT_MS'], ['--login-timeout-ms', 'SHARDLOG_LOGIN_TIMEOUT_MS'], ['--idle-timeout-ms', 'SHARDLOG_IDLE_TIMEOUT_MS'],
    ]) {
      assert.match(result.output, new RegExp(`^  ${flag} <value>`, 'm'));
      assert.match(result.output, new RegExp(`env ${env}, file tcp\\.`));
    }
  });

  it('a connection limit out of range is InvalidConfigValue naming the flag', async () => {
    assertUserError(await runServer(['--max-unauthenticated-frame-bytes', '100']), /InvalidConfigValue/, /--max-unauthenticated-frame-bytes: "100" is not between 2048/);
    assertUserError(await runServer([], { SHARDLOG_MAX_CONNECTIONS: '0' }), /InvalidConfigValue/, /SHARDLOG_MAX_CONNECTIONS: "0" is not between 1/);
  });
});

// A data directory on a disk that refuses: one line naming the directory and the real cause, exit 2. As root,
// permissions do not stop the server, so the disks are small tmpfs mounts (read-only, or full).
describe('startup on a disk that refuses', () => {
  const mounts: string[] = [];
  const mount = (options: string): string | null => {
    const dir = tempDir('mnt');
    const done = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    if (done.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      return null;
    }
    mounts.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of mounts) {
      spawnSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing data directory on a read-only file system is EROFS, not ENOENT', async (t) => {
    const ro = mount('ro,size=1m');
    if (!ro) return t.skip('cannot mount a tmpfs here (needs root): the read-only disk is not tested');
    const dataDir = path.join(ro, 'data');
    const result = await runServer(['--shards', '1', '--data-dir', dataDir]);
    assert.equal(result.code, 2, result.output);
    assertUserError(result, /DataDirUnusable/, new RegExp(`cannot use ${dataDir} as the data directory: read-only file system \\(EROFS\\)`));
    assert.doesNotMatch(result.output, /ENOENT/);
  });

  it('a full disk at boot is one line naming the data directory and ENOSPC, exit 2', async (t) => {
    const full = mount('size=64k');
    if (!full) return t.skip('cannot mount a tmpfs here (needs root): the full disk is not tested');
    const dataDir = path.join(full, 'data');
    fs.mkdirSync(dataDir);
    // Fill the rest: the metadata log cannot write its first header.
    try {
      fs.writeFileSync(path.join(full, 'fill'), Buffer.alloc(1 << 20));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const result = await runServer(['--shards', '2', '--data-dir', dataDir]);
    assert.equal(result.code, 2, result.output);
    assertUserError(result, /DataDirUnusable/, new RegExp(`data directory ${dataDir}: no space left on device \\(ENOSPC\\)`));
    assert.equal(result.output.split('\n').filter((l) => /ERROR/.test(l)).length, 1, `one error line:\n${result.output}`);
  });

  it('data that refuses to open (a metadata journal made with another slot count) is one line naming the file and the flag, exit 2', async () => {
    const dataDir = tempDir('slots');
    try {
      const first = await startServer(['--shards', '1', '--data-dir', dataDir, '--metadata-journal-slots', '64']);
      await waitFor('the first server to be ready', 15_000, async () => (/ ready: /.test(first.output()) ? true : undefined));
      first.child.kill('SIGTERM');
      await first.exited;
      const result = await runServer(['--shards', '1', '--data-dir', dataDir]);
      assert.equal(result.code, 2, result.output);
      assertUserError(result, /JournalSlotCountMismatch/, /journal\.wal @ byte 8: the file has 64 header slots.*--metadata-journal-slots 64/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
