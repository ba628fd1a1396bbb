// A whole cluster SIGKILLed while it writes (a power loss): the replicas' partition files end at different ops (the
// primary writes a prepare before its backups do, and several are in flight), so no two replicas need hold the same
// files. After the restart every replica must form the partition's group again, serve every acknowledged message
// exactly once and in order, and take new sends: a committed op is on a majority's files, which the formation keeps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyError } from '../../host/client/errors.js';
import { loadMesh } from '../host/core-loader.js';
import { ReplicaClients, TestCluster, agreedLeader } from './helpers/cluster.js';
import { waitFor } from './helpers/server.js';

const BOUND_MS = 60_000; // three processes restarting on 2 loaded cores
const REPLICAS = [0, 1, 2];
const SENDERS = 16; // requests in flight: the primary's pipeline holds several uncommitted ops at the kill
const CRASHES = 3;
const SHARDS = 2; // TestCluster's replicas run 2 shards
const TRANSIENT = [57, 58]; // TransientNotCommitted, TransientNotAccepted: a group forming or changing view
const backoff = () => new Promise((resolve) => setTimeout(resolve, 20)); // before the next try, not a wait for a state

describe('replicated partitions: the whole cluster killed mid-write', () => {
  let cluster: TestCluster;
  let clients: ReplicaClients;

  before(async () => {
    cluster = await TestCluster.form(3, ['--cluster-handshake-timeout-ms', '2000']);
    clients = new ReplicaClients(cluster, BOUND_MS);
  });

  after(async () => {
    if (process.env.DEBUG_CLUSTER) for (const id of REPLICAS) console.log(`--- replica ${id}\n${cluster.output(id)}`);
    await clients?.dropAll();
    await cluster?.stop();
  });

  const leader = () => agreedLeader((id) => clients.get(id), REPLICAS, BOUND_MS);

  const payloadsOn = async (id: number, stream = 'w'): Promise<string[]> => {
    const polled = await (await clients.get(id)).pollMessages({ stream, topic: 't', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 1_000_000 });
    return polled.messages.map((m) => new TextDecoder().decode(m.payload));
  };

  // One batch to stream `v`, whose partition (1/0/0) lives on shard 0 beside the metadata group (w's, 0/0/0, on shard
  // 1): after a restart the metadata ops commit again and open it inside the metadata group's walk of the core's
  // shared outbox. Tried again while a group forms, with new values each time (a 57 may still commit): returns the
  // values acknowledged.
  const asideSent = new Set<string>();
  const sendAside = (crash: number) => {
    let attempt = 0;
    return waitFor(`a batch to v acknowledged before crash ${crash}`, BOUND_MS, async () => {
      const values = Array.from({ length: 5 }, (_, i) => `v${crash}-${attempt}-${i}`);
      attempt++;
      values.forEach((v) => asideSent.add(v));
      try {
        await (await clients.get(await leader())).sendMessages({ stream: 'v', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: values.map((payload) => ({ payload })) });
        return values;
      } catch (error) {
        if (error instanceof IggyError && TRANSIENT.includes(error.code)) return undefined;
        throw error;
      }
    });
  };

  it(`forms again after each of ${CRASHES} whole-cluster SIGKILLs under load: every acknowledged message once, in order, on every replica`, async (t) => {
    const { main } = await loadMesh('release', 1);
    assert.deepEqual([main.routePartition(0, 0, 0, SHARDS), main.routePartition(1, 0, 0, SHARDS)], [1, 0], 'w\'s partition on shard 1, v\'s on shard 0 (the metadata group\'s)');
    const lead = await clients.get(await leader());
    await lead.createStream('w');
    await lead.createTopic({ stream: 'w', name: 't', partitionsCount: 1 });
    await lead.createStream('v');
    await lead.createTopic({ stream: 'v', name: 't', partitionsCount: 1 });
    const aside: string[] = []; // acknowledged on v
    const acknowledged = new Set<string>();
    const sent = new Set<string>(); // every value ever sent: a value outside it is an anomaly
    let cuts = 0; // replicas that cut batches on no majority's files before forming (a diagnostic: timing decides)
    for (let crash = 0; crash < CRASHES; crash++) {
      aside.push(...await sendAside(crash));
      // Senders on the leader's connection, each one batch at a time, until the kill drops them.
      const target = await clients.get(await leader());
      let stop = false;
      const sender = async (s: number) => {
        for (let b = 0; !stop; b++) {
          const values = Array.from({ length: 20 }, (_, i) => `c${crash}-s${s}-b${b}-${i}`);
          values.forEach((v) => sent.add(v));
          try {
            await target.sendMessages({ stream: 'w', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: values.map((payload) => ({ payload })) });
            if (!stop) values.forEach((v) => acknowledged.add(v));
          } catch (error) {
            if (stop) return; // the kill: these values may or may not be there
            if (error instanceof IggyError && TRANSIENT.includes(error.code)) { await backoff(); continue; } // not acknowledged (a 57 may still commit: it is in `sent`)
            throw error;
          }
        }
      };
      const senders = Array.from({ length: SENDERS }, (_, s) => sender(s));
      await waitFor(`acknowledged sends before crash ${crash}`, BOUND_MS, async () => (acknowledged.size >= (crash + 1) * 400 ? true : undefined));
      // SIGKILL every replica in one go (no await between them), then let the senders see the drop.
      const exits = REPLICAS.map((id) => { const node = cluster.nodes[id]!; node.child.kill('SIGKILL'); return node.exited; });
      stop = true;
      await Promise.all(exits);
      await Promise.allSettled(senders);
      for (const id of REPLICAS) cluster.nodes[id] = null;
      await clients.dropAll();
      await Promise.all(REPLICAS.map((id) => cluster.start(id)));
      for (const id of REPLICAS) {
        const read = await waitFor(`replica ${id} serves every acknowledged message after crash ${crash}`, BOUND_MS, async () => {
          const payloads = await payloadsOn(id).catch(() => null);
          return payloads && [...acknowledged].every((v) => payloads.includes(v)) ? payloads : undefined;
        }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
        assert.equal(new Set(read).size, read.length, `replica ${id}: no message twice`);
        assert.deepEqual(read.filter((v) => !sent.has(v)), [], `replica ${id}: nothing that was never sent`);
        const onV = await waitFor(`replica ${id} serves v's acknowledged messages after crash ${crash}`, BOUND_MS, async () => {
          const payloads = await payloadsOn(id, 'v').catch(() => null);
          return payloads && aside.every((v) => payloads.includes(v)) ? payloads : undefined;
        }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
        assert.equal(new Set(onV).size, onV.length, `replica ${id}: no message of v twice`);
        assert.deepEqual(onV.filter((v) => !asideSent.has(v)), [], `replica ${id}: nothing on v that was never sent`);
        assert.deepEqual(onV.filter((v) => aside.includes(v)), aside, `replica ${id}: v's acknowledged messages in order`);
      }
      const cutHere = REPLICAS.filter((id) => cluster.output(id).includes('never committed): cut'));
      for (const id of cutHere) {
        // Shown until the next restart, as a torn tail cut at boot is: a reason in /health and a count in /metrics.
        await cluster.waitHealth(id, 'its formation cut shown as a recovery truncation', (h) =>
          h.reasons.some((r) => r.kind === 'recovery_truncation' && r.subject === '0/0/0' && r.detail.includes('on no majority\'s files')));
        assert.match(await cluster.metrics(id), /^recovery_truncations_total\{shard="\d+"\} [1-9]/m, `replica ${id}: the cut counted`);
      }
      cuts += cutHere.length;
      const reads = await Promise.all(REPLICAS.map((id) => payloadsOn(id)));
      assert.deepEqual(reads[1], reads[0], 'replicas 0 and 1 hold the same messages in the same order');
      assert.deepEqual(reads[2], reads[0], 'replicas 0 and 2 hold the same messages in the same order');
    }
    t.diagnostic(`${acknowledged.size} messages acknowledged; ${cuts} formation cut(s) over ${CRASHES} crashes`);
  });
});
