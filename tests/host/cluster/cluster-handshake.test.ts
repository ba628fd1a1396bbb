// The replica handshake as pure functions: each refusal has its name, a recorded hello does not pass against a new
// challenge, the acceptor must prove the secret too, and the secret is never in a message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHALLENGE_BYTES, HELLO_BYTES, WELCOME_BYTES, answerChallenge, challenge, checkHello, checkWelcome, newNonce, type Identity,
} from '../../../host/node/cluster/handshake.js';
import { parseRoster } from '../../../host/node/cluster/roster.js';
import { dialDelayMs, DIAL_DELAY_MAX_MS, DIAL_DELAY_MIN_MS, replicaDialShard, replicaListenShard } from '../../../host/node/cluster/replica-plane.js';

const ROSTER = '0=127.0.0.1:1/2,1=127.0.0.1:3/4,2=127.0.0.1:5/6';
const SECRET = 'the-Cluster-Secret';

function me(self: number, overrides: Partial<Identity> = {}): Identity {
  const roster = parseRoster(ROSTER, 'test');
  return { self, clusterId: 9n, rosterHash: roster.hash, secret: SECRET, knows: (id) => id >= 0 && id < 3, ...overrides };
}

// Runs a handshake of dialer `d` towards acceptor `a` (who dials: the lower id): the acceptor's verdict and, when
// it welcomed, the dialer's.
function run(d: Identity, a: Identity, peer = a.self) {
  const nonce = newNonce();
  const c = challenge(a, nonce);
  assert.equal(c.length, CHALLENGE_BYTES);
  const answer = answerChallenge(d, peer, c);
  if ('refusal' in answer) return { dialer: answer.refusal };
  assert.equal(answer.hello.length, HELLO_BYTES);
  const checked = checkHello(a, nonce, answer.hello);
  if ('refusal' in checked) return { acceptor: checked.refusal, claimed: checked.claimed, hello: answer.hello };
  assert.equal(checked.welcome.length, WELCOME_BYTES);
  return { peer: checked.peer, welcome: checkWelcome(answer.expectWelcome, checked.welcome), hello: answer.hello };
}

test('two replicas with the same secret, cluster and roster complete it: the acceptor learns the dialer\'s id', () => {
  const r = run(me(0), me(2));
  assert.equal(r.peer, 0);
  assert.equal(r.welcome, null);
});

test('a wrong secret is bad_mac at the acceptor (the dialer claimed its id), and the secret is in no message', () => {
  const r = run(me(0, { secret: 'guess' }), me(1));
  assert.equal(r.acceptor, 'bad_mac');
  assert.equal(r.claimed, 0);
  assert.ok(!r.hello!.includes(Buffer.from(SECRET)) && !r.hello!.includes(Buffer.from('guess')));
});

test('a recorded hello does not pass against a fresh challenge (replay)', () => {
  const acceptor = me(1);
  const first = newNonce();
  const answer = answerChallenge(me(0), 1, challenge(acceptor, first));
  assert.ok(!('refusal' in answer));
  assert.ok(!('refusal' in checkHello(acceptor, first, answer.hello)));
  const replayed = checkHello(acceptor, newNonce(), answer.hello);
  assert.ok('refusal' in replayed && replayed.refusal === 'bad_mac');
});

test('another cluster id, another roster, an unknown id, an id dialling a lower one: each refused by its name', () => {
  assert.equal(run(me(0, { clusterId: 10n }), me(1)).dialer, 'cluster_mismatch'); // seen in the challenge already
  const otherRoster = parseRoster(ROSTER.replace('/6', '/7'), 'test').hash;
  assert.equal(run(me(0, { rosterHash: otherRoster }), me(1)).acceptor, 'roster_mismatch');
  assert.equal(run(me(7), me(1)).acceptor, 'unknown_replica');
  assert.equal(run(me(1, { self: 1 }), me(1)).acceptor, 'unknown_replica', 'its own id');
  assert.equal(run(me(2), me(1)).acceptor, 'wrong_direction');
  assert.equal(run(me(0), me(2), 1).dialer, 'unknown_replica', 'the dialer reached another replica than it dialled');
});

test('noise in place of a challenge or hello is garbage', () => {
  assert.equal(answerChallenge(me(0), 1, Buffer.alloc(CHALLENGE_BYTES, 0x41)).hasOwnProperty('refusal'), true);
  const refused = checkHello(me(1), newNonce(), Buffer.alloc(HELLO_BYTES, 0x41));
  assert.ok('refusal' in refused && refused.refusal === 'garbage' && refused.claimed === null);
});

test('a welcome forged without the secret is bad_mac at the dialer (the acceptor proves the secret too)', () => {
  const nonce = newNonce();
  const answer = answerChallenge(me(0), 1, challenge(me(1), nonce));
  assert.ok(!('refusal' in answer));
  const impostor = checkHello(me(1, { secret: 'other' }), nonce, answer.hello);
  assert.ok('refusal' in impostor && impostor.refusal === 'bad_mac');
  const forged = Buffer.from(answer.expectWelcome);
  forged[20] ^= 1;
  assert.equal(checkWelcome(answer.expectWelcome, forged), 'bad_mac');
  assert.equal(checkWelcome(answer.expectWelcome, Buffer.alloc(WELCOME_BYTES)), 'garbage');
});

test('reconnect delays grow from the minimum to the cap, jittered within it', () => {
  assert.equal(dialDelayMs(0, () => 0), DIAL_DELAY_MIN_MS);
  assert.equal(dialDelayMs(0, () => 0.999), DIAL_DELAY_MIN_MS);
  assert.ok(dialDelayMs(3, () => 0.999) > dialDelayMs(1, () => 0.999));
  assert.equal(dialDelayMs(1000, () => 0.9999999), DIAL_DELAY_MAX_MS);
  for (let f = 0; f < 40; f++) {
    const d = dialDelayMs(f);
    assert.ok(d >= DIAL_DELAY_MIN_MS && d <= DIAL_DELAY_MAX_MS, `${d} ms after ${f} failures`);
  }
});

test('links live on non-zero shards when there are several: the listener on shard 1, dials spread over 1..n-1', () => {
  assert.equal(replicaListenShard(1), 0);
  assert.equal(replicaListenShard(2), 1);
  assert.equal(replicaDialShard(2, 1), 0);
  for (const shards of [2, 3, 8]) {
    for (let peer = 0; peer < 8; peer++) {
      const s = replicaDialShard(peer, shards);
      assert.ok(s >= 1 && s < shards, `peer ${peer} on shard ${s} of ${shards}`);
    }
  }
  assert.notEqual(replicaDialShard(1, 3), replicaDialShard(2, 3));
});
