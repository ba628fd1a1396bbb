// Two replicas of three killed and restarted while the third, a backup, runs on. Their partition groups come back as
// replicas that lost their group state (its VSR state is not persisted), and the backup, whose primary is gone, is
// changing views: no replica in normal status for the lost ones to catch up from, and no quorum for the view change
// without them. The core finds that view change stranded (assembly/vsr/state_sync.ts stranded()), the backup starts
// its group again from its files, and all three form again from their files: every acknowledged message is served
// by every replica, once and in order, and sends go on. (Found by `npm run torture`: two groups reopened after full
// devices while the third changed views, stuck until a restart.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IggyError } from '../../host/client/errors.js';
import { ReplicaClients, TestCluster, agreedLeader, type ReplicaHealth } from './helpers/cluster.js';
import { waitFor } from './helpers/server.js';

const BOUND_MS = 60_000; // processes restarting on 2 loaded cores
const REPLICAS = [0, 1, 2];
const TRANSIENT = [57, 58];

interface GroupHealth { group: string; status: string }
const partitionGroup = (h: ReplicaHealth): GroupHealth | undefined =>
  (h.replicas as unknown as { groups: GroupHealth[] }).groups.find((g) => g.group === 'partition 0/0/0');

describe('replicated partitions: two replicas restarted while the third changes views', () => {
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

  // Sends a batch tagged `tag` through the leader; tried again while a group forms, with new values each time (a 57
  // may still commit). Returns the values acknowledged; every value tried goes into `tried`.
  const tried = new Set<string>();
  const send = (live: number[], tag: string): Promise<string[]> => {
    let attempt = 0;
    return waitFor(`batch ${tag} acknowledged`, BOUND_MS, async () => {
      const values = Array.from({ length: 10 }, (_, i) => `${tag}.${attempt}-${i}`);
      attempt++;
      values.forEach((v) => tried.add(v));
      try {
        const lead = await clients.get(await agreedLeader((id) => clients.get(id), live, BOUND_MS));
        await lead.sendMessages({ stream: 's', topic: 't', partitioning: { kind: 'partition', partition: 0 }, messages: values.map((payload) => ({ payload })) });
        return values;
      } catch (error) {
        if (error instanceof IggyError && TRANSIENT.includes(error.code)) return undefined;
        throw error;
      }
    }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(live)}`); });
  };

  const payloadsOn = async (id: number): Promise<string[]> => {
    const polled = await (await clients.get(id)).pollMessages({ stream: 's', topic: 't', partition: 0, strategy: { kind: 'offset', value: 0n }, count: 100_000 });
    return polled.messages.map((m) => new TextDecoder().decode(m.payload));
  };

  it('the backup left alone starts its group again from its files, and all three form again: every acknowledged message, and sends go on', async () => {
    const leader = await agreedLeader((id) => clients.get(id), REPLICAS, BOUND_MS);
    const lead = await clients.get(leader);
    await lead.createStream('s');
    await lead.createTopic({ stream: 's', name: 't', partitionsCount: 1 });
    const acknowledged: string[] = [];
    for (let b = 0; b < 5; b++) acknowledged.push(...await send(REPLICAS, `a${b}`));
    const backup = REPLICAS.find((id) => id !== leader)!;
    const others = REPLICAS.filter((id) => id !== backup);
    // The backup holds every acknowledged message before the others go (what it serves is committed).
    await waitFor(`replica ${backup} holds the acknowledged messages`, BOUND_MS, async () => {
      const held = await payloadsOn(backup).catch(() => [] as string[]);
      return acknowledged.every((v) => held.includes(v)) ? true : undefined;
    });
    await clients.dropAll();
    await Promise.all(others.map((id) => cluster.kill(id)));
    await cluster.waitHealth(backup, 'its partition group changing views, its primary gone', (h) => partitionGroup(h)?.status === 'view_change', BOUND_MS);
    await Promise.all(others.map((id) => cluster.start(id)));
    acknowledged.push(...await send(REPLICAS, 'b'));
    for (const id of REPLICAS) {
      const read = await waitFor(`replica ${id} serves every acknowledged message`, BOUND_MS, async () => {
        const payloads = await payloadsOn(id).catch(() => null);
        return payloads && acknowledged.every((v) => payloads.includes(v)) ? payloads : undefined;
      }).catch(async (error: Error) => { throw new Error(`${error.message}\n${await cluster.diagnosis(REPLICAS)}`); });
      assert.equal(new Set(read).size, read.length, `replica ${id}: no message twice`);
      assert.deepEqual(read.filter((v) => !tried.has(v)), [], `replica ${id}: nothing that was never sent`);
      assert.deepEqual(read.filter((v) => acknowledged.includes(v)), acknowledged, `replica ${id}: every acknowledged message, in order`);
    }
    assert.match(cluster.output(backup), /partition 0\/0\/0: its view change cannot finish/, 'the backup started its group again');
  });
});
