// A cluster misconfiguration stops the server before anything starts: exit 2 and one line naming the setting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runServer } from './helpers/server.js';

const SECRET = 'a-cluster-secret-of-32-bytes-ok!';
const ROSTER = '0=127.0.0.1:18191/18291,1=127.0.0.1:18192/18292,2=127.0.0.1:18193/18293';

test('cluster startup errors exit 2 with one line naming the flag', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--replica-id', '3', '--cluster', ROSTER], { SHARDLOG_CLUSTER_SECRET: SECRET }, /ClusterReplicaIdMissing: --replica-id: replica 3 is not in the roster/],
    [['--replica-id', '0', '--cluster', ROSTER], {}, /ClusterSecretMissing: --cluster-secret/],
    [['--replica-id', '0', '--cluster', ROSTER], { SHARDLOG_CLUSTER_SECRET: 'short' }, /InvalidConfigValue: SHARDLOG_CLUSTER_SECRET: the secret must be at least 32 bytes/],
    [['--replica-id', '0', '--cluster', '0=127.0.0.1:1/2,1=127.0.0.1:3/4'], { SHARDLOG_CLUSTER_SECRET: SECRET }, /ClusterSizeRefused: --cluster: 2 replica\(s\) refused/],
    // More replicas than a VSR group can have: found by the core's limit, before any shard starts.
    [['--replica-id', '0', '--cluster', Array.from({ length: 9 }, (_, i) => `${i}=127.0.0.1:${18300 + i}/${18400 + i}`).join(',')], { SHARDLOG_CLUSTER_SECRET: SECRET },
      /ClusterSizeRefused: --cluster: 9 replicas refused: a consensus group has at most 8/],
  ];
  for (const [args, env, expected] of cases) {
    const run = await runServer(args, env);
    assert.equal(run.code, 2, run.output);
    const errors = run.output.split('\n').filter((line) => line.includes(' ERROR '));
    assert.equal(errors.length, 1, run.output);
    assert.match(errors[0], expected);
  }
});
