// --cluster / --replica-id / --cluster-secret: parsed from flags, environment and the config file's cluster.* keys;
// every mistake is one named error naming the setting that holds it (main turns it into exit 2).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { helpText, parseConfig, type ServerConfig } from '../../../host/node/config.js';

const ROSTER = '0=127.0.0.1:8091/9091,1=127.0.0.1:8092/9092,2=127.0.0.1:8093/9093/3003';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const run = parseConfig(argv, env);
  assert.equal(run.kind, 'run');
  if (run.kind !== 'run') throw new Error('unreachable');
  return run.config;
}

function refused(argv: string[], env: NodeJS.ProcessEnv, code: string, names: string | RegExp): void {
  assert.throws(() => parseConfig(argv, env), (e: Error) => {
    assert.equal(e.name, code, e.message);
    if (typeof names === 'string') assert.ok(e.message.includes(names), `${e.message} does not name ${names}`);
    else assert.match(e.message, names);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

// A secret of the minimum length (32 bytes).
const SECRET = 'S3cret-S3cret-S3cret-S3cret-S3cr';
const node = (id: string, extra: string[] = []) => ['--replica-id', id, '--cluster', ROSTER, '--cluster-secret', SECRET, ...extra];

test('no --cluster: a single node, unchanged', () => {
  const c = config([]);
  assert.equal(c.clusterSettings, null);
  assert.equal(c.tcpAddress, '127.0.0.1:8090');
});

test('a roster node takes its client address (and HTTP address, when its entry has one) from its entry', () => {
  const one = config(node('1'));
  assert.equal(one.clusterSettings!.self, 1);
  assert.equal(one.clusterSettings!.roster.entries.length, 3);
  assert.equal(one.clusterSettings!.roster.entries[1].replicaPort, 9092);
  assert.equal(one.tcpAddress, '127.0.0.1:8092');
  assert.equal(one.httpAddress, '127.0.0.1:3000', 'entry 1 names no HTTP port');
  const two = config(node('2'));
  assert.equal(two.httpAddress, '127.0.0.1:3003');
  assert.equal(config(node('1', ['--tcp-address', '127.0.0.1:7000'])).tcpAddress, '127.0.0.1:7000', '--tcp-address wins');
});

test('the same from SHARDLOG_* variables and from cluster.* keys of the config file', () => {
  const env = config([], { SHARDLOG_CLUSTER: ROSTER, SHARDLOG_REPLICA_ID: '0', SHARDLOG_CLUSTER_SECRET: SECRET, SHARDLOG_CLUSTER_ID: '42' });
  assert.equal(env.clusterSettings!.self, 0);
  assert.equal(env.clusterSettings!.clusterId, 42n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-cluster-config-'));
  try {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ cluster: { nodes: ROSTER, replica_id: 2, secret: SECRET, id: 7, handshake_timeout_ms: 250 } }));
    const c = config(['--config', file]);
    assert.equal(c.clusterSettings!.self, 2);
    assert.equal(c.clusterSettings!.clusterId, 7n);
    assert.equal(c.clusterSettings!.handshakeTimeoutMs, 250);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('two nodes with the same roster written differently agree on its hash; another roster does not', () => {
  const a = config(node('0')).clusterSettings!.roster.hash;
  const shuffled = '2=127.0.0.1:8093/9093/3003, 0=127.0.0.1:8091/9091,1=127.0.0.1:8092/9092';
  const b = config(['--replica-id', '1', '--cluster', shuffled, '--cluster-secret', SECRET]).clusterSettings!.roster.hash;
  assert.deepEqual(a, b);
  const other = config(['--replica-id', '1', '--cluster', ROSTER.replace('9093', '9094'), '--cluster-secret', SECRET]).clusterSettings!.roster.hash;
  assert.notDeepEqual(a, other);
});

test('own id missing from the roster: ClusterReplicaIdMissing naming --replica-id', () => {
  refused(node('5'), {}, 'ClusterReplicaIdMissing', '--replica-id');
  refused(['--cluster', ROSTER, '--cluster-secret', SECRET], {}, 'ClusterReplicaIdMissing', '--replica-id');
});

test('a replica id or secret without a roster: ClusterMissing naming the flag', () => {
  refused(['--replica-id', '0'], {}, 'ClusterMissing', '--replica-id');
  refused([], { SHARDLOG_CLUSTER_SECRET: SECRET }, 'ClusterMissing', 'SHARDLOG_CLUSTER_SECRET');
});

test('no secret with a cluster: ClusterSecretMissing naming --cluster-secret', () => {
  refused(['--replica-id', '0', '--cluster', ROSTER], {}, 'ClusterSecretMissing', '--cluster-secret');
});

test('duplicate ids: ClusterDuplicateReplica naming --cluster', () => {
  refused(['--replica-id', '0', '--cluster', '0=h:1/2,0=h:3/4,1=h:5/6', '--cluster-secret', SECRET], {}, 'ClusterDuplicateReplica', '--cluster');
});

test('duplicate ports on one host (across entries, or client = replica port): ClusterDuplicatePort naming --cluster', () => {
  refused(['--replica-id', '0', '--cluster', '0=h:1/2,1=h:2/4,2=h:5/6', '--cluster-secret', SECRET], {}, 'ClusterDuplicatePort', '--cluster');
  refused(['--replica-id', '0', '--cluster', '0=h:1/1,1=h:3/4,2=h:5/6', '--cluster-secret', SECRET], {}, 'ClusterDuplicatePort', '--cluster');
  refused(['--replica-id', '0', '--cluster', '0=h:1/2/9,1=h:3/4,2=h:5/9', '--cluster-secret', SECRET], {}, 'ClusterDuplicatePort', 'h:9');
  // The same ports on different hosts are fine.
  assert.equal(config(['--replica-id', '0', '--cluster', '0=a:1/2,1=b:1/2,2=c:1/2', '--cluster-secret', SECRET]).clusterSettings!.roster.entries.length, 3);
});

test('fewer than 3 or an even number of replicas: ClusterSizeRefused saying why', () => {
  refused(['--replica-id', '0', '--cluster', '0=h:1/2', '--cluster-secret', SECRET], {}, 'ClusterSizeRefused', /--cluster: 1 replica.*majority/);
  refused(['--replica-id', '0', '--cluster', '0=h:1/2,1=h:3/4', '--cluster-secret', SECRET], {}, 'ClusterSizeRefused', /2 replicas stop when either fails/);
  refused(['--replica-id', '0', '--cluster', '0=h:1/2,1=h:3/4,2=h:5/6,3=h:7/8', '--cluster-secret', SECRET], {}, 'ClusterSizeRefused', /4 tolerate no more failures than 3/);
});

test('ids other than 0..N-1: ClusterRosterInvalid naming --cluster', () => {
  refused(['--replica-id', '0', '--cluster', '0=h:1/2,1=h:3/4,5=h:5/6', '--cluster-secret', SECRET], {}, 'ClusterRosterInvalid', '2 is missing');
});

test('bad entry syntax: ClusterRosterInvalid naming the setting and the entry', () => {
  for (const bad of ['0=h:1', '0=h/1/2', 'x=h:1/2', '0=h:1/2/3/4', '0=h:99999/2', '0=h:0/2', '', '0=:1/2']) {
    refused(['--replica-id', '0', '--cluster', `${bad},1=h:3/4,2=h:5/6`, '--cluster-secret', SECRET], {}, 'ClusterRosterInvalid', '--cluster');
  }
  refused([], { SHARDLOG_CLUSTER: '0=h:1/2;1=h:3/4', SHARDLOG_REPLICA_ID: '0', SHARDLOG_CLUSTER_SECRET: SECRET }, 'ClusterRosterInvalid', 'SHARDLOG_CLUSTER');
});

test('a cluster secret under 32 bytes: InvalidConfigValue naming the flag, not the secret', () => {
  refused(['--replica-id', '0', '--cluster', ROSTER, '--cluster-secret', SECRET.slice(1)], {}, 'InvalidConfigValue', /--cluster-secret: the secret must be at least 32 bytes/);
  refused([], { SHARDLOG_CLUSTER: ROSTER, SHARDLOG_REPLICA_ID: '0', SHARDLOG_CLUSTER_SECRET: 's' }, 'InvalidConfigValue', 'SHARDLOG_CLUSTER_SECRET');
});

test('the secret never appears in an error message', () => {
  assert.throws(() => parseConfig(['--replica-id', '9', '--cluster', ROSTER, '--cluster-secret', 'TopSecret99-that-is-long-enough-for-HMAC'], {}), (e: Error) => !e.message.includes('TopSecret99-that-is-long-enough-for-HMAC'));
});

test('--help lists the cluster flags and says why 2 or 4 replicas are refused', () => {
  const help = helpText();
  for (const flag of ['--cluster <value>', '--replica-id <value>', '--cluster-secret <value>', '--cluster-id <value>', '--cluster-handshake-timeout-ms <value>']) {
    assert.ok(help.includes(flag), flag);
  }
  assert.match(help, /2 replicas stop when either fails/);
  assert.match(help, /env SHARDLOG_CLUSTER_SECRET, file cluster\.secret/);
});
