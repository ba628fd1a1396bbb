// Every user mistake at startup: one clear line naming the problem, a non-zero exit, no stack trace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, runServer, tempDir } from './helpers/server.js';

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
  });
});
