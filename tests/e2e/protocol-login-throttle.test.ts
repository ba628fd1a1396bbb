// Failed-login throttling over a real server (login-throttle.ts): one socket may fail only
// --login-failures-per-connection times before the server closes it, and an address that failed
// --login-lockout-failures times is refused unchecked, even with the right password, while sessions already open
// go on. Asserted on the close, the eviction reason and the /metrics counters, never on time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyClient } from '../../host/client/client.js';
import { ConnectionClosed, EvictionError } from '../../host/client/errors.js';
import { ROOT, eventually, servingMetric, startProtocolServer, type ProtocolServer } from './helpers/protocol.js';

const INVALID_CREDENTIALS = 9;
const PER_CONNECTION = 3;
const LOCKOUT = 5;
const evicted = (reason: number) => (e: unknown) => e instanceof EvictionError && e.reason === reason;

describe('protocol: failed-login throttling', () => {
  let s: ProtocolServer;
  let root: IggyClient;
  before(async () => {
    s = await startProtocolServer([
      '--login-failures-per-connection', String(PER_CONNECTION), '--login-lockout-failures', String(LOCKOUT),
      '--login-lockout-ms', '600000', '--login-failure-delay-ms', '1',
    ]);
    root = await s.connect();
  });
  after(async () => {
    await root?.close();
    await s?.stop();
  });

  const counters = async () => ({
    failures: await servingMetric(s, 'client_login_failures_total'),
    throttled: await servingMetric(s, 'client_login_throttled_total'),
  });

  it(`closes a connection after ${PER_CONNECTION} failed logins on it, each answered InvalidCredentials`, async () => {
    const before = await counters();
    const guesser = await s.connect(null);
    for (let i = 1; i <= PER_CONNECTION; i++) await assert.rejects(guesser.login('iggy', `guess-${i}`), evicted(INVALID_CREDENTIALS), `guess ${i}`);
    await eventually('the server to close the guessing connection', async () => guesser.connection.isClosed);
    await assert.rejects(guesser.login('iggy', 'iggy'), ConnectionClosed);
    assert.deepEqual(await counters(), { failures: before.failures + PER_CONNECTION, throttled: before.throttled + 1 });
  });

  it(`locks the address out after ${LOCKOUT} failures: the right password is refused unchecked too; open sessions go on`, async () => {
    const before = await counters();
    const guesser = await s.connect(null);
    // The first test left PER_CONNECTION failures on this address.
    for (let i = PER_CONNECTION + 1; i <= LOCKOUT; i++) await assert.rejects(guesser.login('iggy', `guess-${i}`), evicted(INVALID_CREDENTIALS));
    await eventually('the locking failure to close its connection', async () => guesser.connection.isClosed);
    const late = await s.connect(null);
    await assert.rejects(late.login(ROOT.username, ROOT.password), evicted(INVALID_CREDENTIALS));
    await eventually('a locked-out login to close its connection', async () => late.connection.isClosed);
    assert.deepEqual(await counters(), { failures: before.failures + LOCKOUT - PER_CONNECTION, throttled: before.throttled + 2 });
    await root.getStreams();
  });
});
