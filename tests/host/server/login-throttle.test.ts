// The failed-login throttle's decisions (login-throttle.ts), with an explicit clock: the delay schedule, the
// address lockout and its end, usernames slowed but never locked out, forgetting after quiet, the bound on keys,
// and the rate-limited log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../host/node/config.js';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, MAX_KEYS } from '../../../host/node/server/login-throttle.js';

const settings = { perConnection: 3, lockoutFailures: 4, lockoutMs: 1_000, delayMs: 10 };

describe('login throttle', () => {
  it('answers the first failure at once, then doubles the delay up to 32x', () => {
    const t = new LoginThrottle({ ...settings, lockoutFailures: 1_000 });
    const delays = Array.from({ length: 9 }, (_, i) => t.failed('10.0.0.1', 'root', i).delayMs);
    assert.deepEqual(delays, [0, 10, 20, 40, 80, 160, 320, 320, 320]);
  });

  it('delays by the larger of address and username: a username guessed from many addresses still slows down', () => {
    const t = new LoginThrottle({ ...settings, lockoutFailures: 1_000 });
    const delays = ['a', 'b', 'c', 'd'].map((address, i) => t.failed(address, 'root', i).delayMs);
    assert.deepEqual(delays, [0, 10, 20, 40]);
    assert.equal(t.failed('e', undefined, 5).delayMs, 0, 'a token guess from a fresh address');
    t.succeeded('root');
    assert.equal(t.failed('f', 'root', 6).delayMs, 0, 'a successful login forgets the username');
  });

  it('locks an address out at lockoutFailures, keeps it out while it keeps trying, lets it back after quiet', () => {
    const t = new LoginThrottle(settings);
    const verdicts = [0, 1, 2, 3].map((now) => t.failed('10.0.0.1', `user-${now}`, now).lockedOut);
    assert.deepEqual(verdicts, [false, false, false, true]);
    assert.equal(t.admit('10.0.0.1', 500), false);
    assert.equal(t.admit('10.0.0.2', 500), true, 'other addresses are not affected');
    assert.equal(t.admit('10.0.0.1', 1_400), false, 'the refused try at 500 extended the lockout');
    assert.equal(t.admit('10.0.0.1', 2_400), true, 'quiet for lockoutMs');
    assert.equal(t.failed('10.0.0.1', 'x', 2_401).delayMs, 0, 'and its failures are forgotten');
  });

  it('never locks a username out (anyone could lock root out), and forgets failures after lockoutMs', () => {
    const t = new LoginThrottle(settings);
    for (let i = 0; i < 10; i++) t.failed(`10.0.1.${i}`, 'root', i);
    for (let i = 0; i < 10; i++) assert.equal(t.admit(`10.0.1.${i}`, 20), true);
    assert.equal(t.failed('10.0.2.1', 'root', 5_000).delayMs, 0);
  });

  it(`remembers at most ${MAX_KEYS} keys, dropping the least recently failed`, () => {
    const t = new LoginThrottle({ ...settings, lockoutFailures: 2 });
    t.failed('first', undefined, 0);
    t.failed('first', undefined, 0);
    assert.equal(t.admit('first', 1), false);
    for (let i = 0; i < MAX_KEYS; i++) t.failed(`flood-${i}`, undefined, 1);
    assert.equal(t.size, MAX_KEYS);
    assert.equal(t.admit('first', 2), true, 'the oldest key went first');
  });
});

describe('login throttle settings', () => {
  it('default as documented, are set by flag or SHARDLOG_* variable, and refuse a zero limit by name', () => {
    const pick = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = parseConfig(argv, env);
      assert.equal(r.kind, 'run');
      const c = r.kind === 'run' ? r.config : undefined!;
      return { perConnection: c.loginFailuresPerConnection, lockoutFailures: c.loginLockoutFailures, lockoutMs: c.loginLockoutMs, delayMs: c.loginFailureDelayMs };
    };
    assert.deepEqual(pick([]), DEFAULT_LOGIN_THROTTLE);
    assert.deepEqual(pick(['--login-failures-per-connection', '2', '--login-failure-delay-ms', '0'], { SHARDLOG_LOGIN_LOCKOUT_FAILURES: '7', SHARDLOG_LOGIN_LOCKOUT_MS: '500' }),
      { perConnection: 2, lockoutFailures: 7, lockoutMs: 500, delayMs: 0 });
    assert.throws(() => parseConfig(['--login-lockout-failures', '0'], {}), { name: 'InvalidConfigValue' });
    assert.throws(() => parseConfig(['--login-failures-per-connection', '0'], {}), { name: 'InvalidConfigValue' });
  });
});
