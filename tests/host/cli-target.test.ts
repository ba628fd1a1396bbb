// Which transport and address the CLI picks (host/client/cli/connect.ts target()): flags first (both transports
// at once is a usage error), then SHARDLOG_TCP_ADDRESS before SHARDLOG_HTTP_ADDRESS (a server's environment often
// sets both), then the stored login's transport, then TCP on the default address.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { DEFAULT_ADDRESS, target } from '../../host/client/cli/connect.js';
import { UsageError } from '../../host/client/cli/args.js';
import { writeLogin } from '../../host/client/cli/login-store.js';
import { tempDir } from '../e2e/helpers/server.js';

describe('CLI: transport choice', () => {
  const home = tempDir('cli-target');
  const bare = { XDG_CONFIG_HOME: home };
  after(() => fs.rmSync(home, { recursive: true, force: true }));
  const pick = (values: Record<string, string>, env: NodeJS.ProcessEnv = bare) => {
    const t = target(values, env);
    return [t.transport, t.address];
  };

  it('flags, then SHARDLOG_TCP_ADDRESS, then SHARDLOG_HTTP_ADDRESS, then TCP by default', () => {
    assert.deepEqual(pick({}), ['tcp', DEFAULT_ADDRESS]);
    assert.deepEqual(pick({ 'http-address': 'h:3000' }), ['http', 'h:3000']);
    assert.deepEqual(pick({ 'tcp-address': 't:8090' }, { ...bare, SHARDLOG_HTTP_ADDRESS: 'h:3000' }), ['tcp', 't:8090']);
    assert.deepEqual(pick({ 'http-address': 'h:1' }, { ...bare, SHARDLOG_TCP_ADDRESS: 't:8090' }), ['http', 'h:1'], 'a flag beats the environment');
    assert.deepEqual(pick({}, { ...bare, SHARDLOG_HTTP_ADDRESS: 'h:3000' }), ['http', 'h:3000']);
    assert.deepEqual(pick({}, { ...bare, SHARDLOG_HTTP_ADDRESS: 'h:3000', SHARDLOG_TCP_ADDRESS: 't:8090' }), ['tcp', 't:8090']);
    assert.deepEqual(pick({}, { ...bare, SHARDLOG_HTTP_ADDRESS: '' }), ['tcp', DEFAULT_ADDRESS], 'an empty variable is unset');
    assert.throws(() => target({ 'http-address': 'h:1', 'tcp-address': 't:1' }, bare), (e: Error) => e instanceof UsageError && /exclude each other/.test(e.message));
  });

  it('without flags or variables, the stored login\'s transport and address (TCP for logins stored before HTTP)', () => {
    writeLogin({ address: 'h:3000', username: 'u', tokenName: 'n', token: 't', transport: 'http' }, bare);
    assert.deepEqual(pick({}), ['http', 'h:3000']);
    writeLogin({ address: 't:8090', username: 'u', tokenName: 'n', token: 't' }, bare);
    assert.deepEqual(pick({}), ['tcp', 't:8090']);
  });
});
