// Specs of a partition group following the cluster's leader (assembly/vsr/leader.ts): the metadata group's primary
// moves a group it does not lead to the next view it leads, keeping every committed op; nobody else does.
import { STATUS_NORMAL, STATUS_VIEW_CHANGE } from "../../assembly/vsr/constants";
import { followLeader, leadsWith } from "../../assembly/vsr/leader";

import { APP, Cluster, register } from "./vsr-cluster";

// A 3-replica group in view 0 (primary 0) with ops 1..n+1 committed (the register and n requests).
function committed(n: u64): Cluster {
  const c = new Cluster(3);
  const session = register(c);
  for (let i: u64 = 1; i <= n; i++) c.request(1, session, i, APP);
  c.tick(20); // the commit heartbeat tells the backups
  return c;
}

describe("vsr follow leader: a partition group follows the metadata group's primary", () => {
  it("the leader takes the group in the next view it leads; every committed op is kept", () => {
    const c = committed(3);
    expect(c.primary()).toBe(0);
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(true); // the metadata group's view 2: replica 2 leads
    expect(c.replicas[2].view).toBe(2);
    expect(c.replicas[2].status).toBe(STATUS_VIEW_CHANGE);
    c.drain(2);
    c.deliver();
    expect(c.primary()).toBe(2);
    for (let i = 0; i < 3; i++) {
      expect(c.replicas[i].view).toBe(2);
      expect(c.replicas[i].commitMin).toBe(4);
    }
  });

  it("skips views the leader does not lead (view 5 with 3 replicas: replica 2)", () => {
    const c = committed(1);
    expect(followLeader(c.replicas[2], 5, STATUS_NORMAL)).toBe(true);
    expect(c.replicas[2].view).toBe(2); // the smallest view above 0 whose primary is 2
    c.drain(2);
    c.deliver();
    expect(c.primary()).toBe(2);
  });

  it("a leader behind the primary's checkpoint (its peers no longer keep what it lacks) does not take the group until it caught up", () => {
    const c = committed(1);
    c.replicas[2].clusterCheckpoint = c.replicas[2].commitMin + 50; // the primary's Commit said so
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(false);
    expect(c.replicas[2].view).toBe(0);
    c.replicas[2].clusterCheckpoint = c.replicas[2].commitMin; // caught up to the checkpoint
    const commitMax = c.replicas[2].commitMax;
    c.replicas[2].commitMax = c.replicas[2].commitMin + 3; // a StartView named a commit it has not executed yet
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(false);
    c.replicas[2].commitMax = commitMax; // executed
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(true);
  });

  it("does nothing on a backup of the leader group, a leader group not normal, a group already led, or a view change", () => {
    const c = committed(1);
    expect(followLeader(c.replicas[1], 2, STATUS_NORMAL)).toBe(false); //  replica 1 is not the leader of view 2
    expect(followLeader(c.replicas[2], 2, STATUS_VIEW_CHANGE)).toBe(false); // the leader group is changing view
    expect(followLeader(c.replicas[0], 3, STATUS_NORMAL)).toBe(false); //  replica 0 already leads the group
    expect(c.replicas[1].view).toBe(0);
    expect(c.replicas[2].view).toBe(0);
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(true);
    expect(followLeader(c.replicas[2], 2, STATUS_NORMAL)).toBe(false); // its view change is in progress
    expect(c.replicas[2].view).toBe(2);
  });

  it("with the old primary down, the leader and the other backup elect the leader", () => {
    const c = committed(2);
    c.down[0] = true;
    expect(followLeader(c.replicas[1], 1, STATUS_NORMAL)).toBe(true);
    c.drain(1);
    c.deliver();
    expect(c.primary()).toBe(1);
    expect(c.replicas[1].commitMin).toBe(3);
  });

  it("never moves a single-replica group", () => {
    const c = new Cluster(1);
    expect(followLeader(c.replicas[0], 0, STATUS_NORMAL)).toBe(false);
  });

  it("a group's primary takes writes only while it leads the leader group too, both normal", () => {
    const c = committed(1);
    expect(leadsWith(c.replicas[0], 0, STATUS_NORMAL)).toBe(true);
    expect(leadsWith(c.replicas[0], 3, STATUS_NORMAL)).toBe(true); //       view 3 of 3 replicas: replica 0 leads
    expect(leadsWith(c.replicas[0], 1, STATUS_NORMAL)).toBe(false); //      replica 1 leads: it takes the group over
    expect(leadsWith(c.replicas[0], 0, STATUS_VIEW_CHANGE)).toBe(false); // the leader group is changing view
    expect(leadsWith(c.replicas[1], 1, STATUS_NORMAL)).toBe(false); //      a backup of the group
    expect(leadsWith(new Cluster(1).replicas[0], 5, STATUS_VIEW_CHANGE)).toBe(true); // a single replica leads alone
  });
});
