// Specs of state transfer (assembly/vsr/state_sync.ts): a replica that lost its state votes and acks nothing until
// a quorum answered, the state of the newest view's primary is installed and a StartView arrived; formation; a
// backup lagging beyond the journal asks for the state instead of repairing.
import { Replica } from "../../assembly/vsr/replica";
import {
  ACTION_COMMIT, ACTION_JOURNAL_WRITE, ACTION_JOURNAL_WRITE_HEADER, ACTION_REPLY, ACTION_SEND, ACTION_STATE_REQUEST,
  CMD_DO_VIEW_CHANGE, CMD_PREPARE_OK, CMD_RECOVERY, CMD_RECOVERY_RESPONSE, CMD_REQUEST, CMD_START_VIEW_CHANGE, HEADER_SIZE,
  OP_REGISTER, REPLY_OK, STATUS_NORMAL, STATUS_RECOVERING, STATUS_VIEW_CHANGE,
} from "../../assembly/vsr/constants";
import {
  B_NONCE, H_CHECKSUM, H_CLUSTER, H_COMMAND, H_REPLICA, H_SIZE, P_OP, R_CLIENT, R_GROUP, R_OPERATION, R_REQUEST, R_SESSION,
  S_GROUP, S_TAIL_END, Y_SESSION, Y_STATUS, command, seal,
} from "../../assembly/vsr/header";
import { RECORD_HEADER } from "../../assembly/vsr/outbox";
import { formationCut, recoverLost, setBase, setTail, stateInstalled, stranded } from "../../assembly/vsr/state_sync";
import { E_BASE, E_CHECKSUM, E_COUNT, E_TIMESTAMP, TAIL_ENTRY_BYTES } from "../../assembly/journal/tail_match";

import { APP, CLUSTER, Cluster, GROUP, makeRequest, register } from "./vsr-cluster";

// A cluster with ops 1..n+1 committed (the register and n requests), replica `lost` replaced by an empty one that
// knows it lost its state.
function withLostReplica(n: u64, lost: u32): Cluster {
  const c = new Cluster(3);
  const session = register(c);
  for (let i: u64 = 1; i <= n; i++) c.request(1, session, i, APP);
  c.replicas[lost] = new Replica(CLUSTER, GROUP, lost, 3, 64);
  recoverLost(c.replicas[lost], 0x1234);
  c.sent[lost] = []; // what the replica sent before it lost its disk does not count
  c.drain(lost);
  return c;
}

function sentAny(c: Cluster, i: u32, cmd: u8): bool {
  return c.sent[i].includes(cmd);
}

// What the host does on a state request: copy the peer's committed state (here: its commit point).
function transfer(c: Cluster, i: u32): void {
  const from = c.replicas[c.stateFrom[i]];
  stateInstalled(c.replicas[i], from.commitMin, from.commitChecksum);
  c.drain(i);
  c.deliver();
}

// A partition's files as a tail: `n` batches of 10 messages from offset 0, the k-th with checksum 50 + k.
function tail(n: u32): usize {
  const list = heap.alloc(<usize>max<u32>(n, 1) * TAIL_ENTRY_BYTES);
  for (let k: u32 = 0; k < n; k++) {
    const at = list + k * TAIL_ENTRY_BYTES;
    store<u64>(at + E_BASE, <u64>k * 10);
    store<u32>(at + E_COUNT, 10);
    store<u32>(at + E_COUNT + 4, 0);
    store<u64>(at + E_TIMESTAMP, 1000 + <u64>k);
    store<u64>(at + E_CHECKSUM, 50 + <u64>k);
  }
  return list;
}

describe("vsr state transfer: a replica that lost its state", () => {
  it("stays recovering, acks and votes nothing, until the state of the newest view's primary is installed", () => {
    const c = withLostReplica(3, 2);
    c.deliver(); // the recovery round: both peers answer
    const r = c.replicas[2];
    expect(r.status).toBe(STATUS_RECOVERING);
    expect(r.stateLost).toBe(true);
    expect(c.stateFrom[2]).toBe(0); // the primary of view 0
    expect(c.stateOp[2]).toBe(4); //   its commit
    const session = load<u64>(c.lastReply() + Y_SESSION);
    c.request(1, session, 4, APP); // op 5: prepared to every backup
    expect(c.replicas[0].commitMin).toBe(5); // the cluster keeps committing with the other backup
    expect(sentAny(c, 2, CMD_PREPARE_OK)).toBe(false);
    expect(r.op).toBe(0);
    transfer(c, 2);
    expect(r.status).toBe(STATUS_NORMAL);
    expect(r.stateLost).toBe(false);
    expect(r.view).toBe(0);
    c.tick(40); // repair brings op 5
    expect(r.commitMin).toBe(5);
    c.request(1, session, 5, APP);
    c.tick(20); // the commit heartbeat tells the backups
    expect(r.commitMin).toBe(6);
    expect(sentAny(c, 2, CMD_PREPARE_OK)).toBe(true);
  });

  it("does not vote: with the primary down, the other backup alone cannot elect", () => {
    const c = withLostReplica(2, 2);
    c.down[0] = true;
    c.tick(300);
    expect(c.primary()).toBe(-1);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    expect(sentAny(c, 2, CMD_START_VIEW_CHANGE)).toBe(false);
    expect(sentAny(c, 2, CMD_DO_VIEW_CHANGE)).toBe(false);
    expect(c.stateFrom[2]).toBe(-1); // no quorum with the primary of the newest view: no state to take
  });

  it("learns the newest view from the quorum and takes the state of that view's primary", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.request(1, session, 1, APP);
    c.down[0] = true;
    c.tick(300); // 1 and 2 elect view 1 (primary 1)
    expect(c.primary()).toBe(1);
    c.request(1, session, 2, APP);
    c.restartLost(2, 0x55); // then 2 loses its disk
    c.tick(50);
    expect(c.stateFrom[2]).toBe(-1); // only replica 1 answers: no quorum
    c.down[0] = false; // 0 still believes in view 0; it learns view 1 from 1's heartbeats
    c.tick(100);
    expect(c.stateFrom[2]).toBe(1);
    transfer(c, 2);
    expect(c.replicas[2].status).toBe(STATUS_NORMAL);
    expect(c.replicas[2].view).toBe(c.replicas[1].view);
    expect(c.replicas[2].commitMin).toBe(c.replicas[1].commitMin);
  });

  it("ignores an answer to another nonce (an earlier incarnation's probe)", () => {
    const c = withLostReplica(1, 2);
    c.blockTo[2] = true;
    c.deliver();
    const r = c.replicas[2];
    for (let from: u32 = 0; from < 2; from++) {
      const m = heap.alloc(HEADER_SIZE);
      memory.fill(m, 0, HEADER_SIZE);
      store<u64>(m + H_CLUSTER, CLUSTER);
      store<u32>(m + H_SIZE, HEADER_SIZE);
      store<u8>(m + H_COMMAND, CMD_RECOVERY_RESPONSE);
      store<u8>(m + H_REPLICA, <u8>from);
      store<u64>(m + S_GROUP, GROUP);
      store<u64>(m + B_NONCE, r.recoveryNonce + 7);
      seal(m);
      r.onMessage(m, HEADER_SIZE);
      c.drain(2);
    }
    expect(r.syncResponders).toBe(0);
    expect(c.stateFrom[2]).toBe(-1);
  });

  it("never nacks, after the transfer, an op up to the primary's head (it may have acked it before the loss)", () => {
    const c = withLostReplica(2, 2);
    c.dropCommand = CMD_PREPARE_OK;
    const session = load<u64>(c.lastReply() + Y_SESSION);
    c.request(1, session, 3, APP); // op 4 prepared, not committed
    c.dropCommand = 0;
    c.deliver();
    expect(c.stateOp[2]).toBe(3);
    c.blockTo[2] = true; // the StartView does not arrive
    transfer(c, 2);
    expect(c.replicas[2].mayNack(4)).toBe(false);
    expect(c.replicas[2].mayNack(5)).toBe(true);
  });
});

describe("vsr state transfer: formation", () => {
  it("two of three replicas empty and up: they form (a quorum of lost replicas proves nothing was committed)", () => {
    const c = new Cluster(3);
    c.down[2] = true;
    for (let i: u32 = 0; i < 2; i++) {
      c.restartLost(i, 0x77 + i);
    }
    c.tick(20);
    expect(c.primary()).toBe(0);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
  });

  it("two of three empty, the first Recovery of one lost (its links were not up): both still form and commit", () => {
    const c = new Cluster(3);
    c.down[2] = true;
    c.restartLost(1, 0x51);
    c.dropQueued(); // replica 0 is not up yet: replica 1's first round reaches nobody
    c.restartLost(0, 0x50);
    c.deliver(); // replica 1 answers "lost" and counts the asker: both form on this exchange
    expect(c.replicas[0].status).toBe(STATUS_NORMAL);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
    register(c);
    expect(c.replicas[0].commitMin).toBe(1);
  });

  it("two of three empty, the answer to one's Recovery arrives after its next round began: both still form and commit", () => {
    const c = new Cluster(3);
    c.down[2] = true;
    c.restartLost(0, 0x50);
    c.dropQueued(); // replica 1 is not up yet: replica 0's first round reaches nobody
    c.restartLost(1, 0x51);
    // Replica 1's Recovery reaches 0, which answers "lost" and forms (it counts the asker) ...
    const ptr = c.queuePtr.shift();
    const len = c.queueLen.shift();
    expect(c.queueTo.shift()).toBe(0);
    c.replicas[0].onMessage(ptr, len);
    c.drain(0);
    expect(c.replicas[0].status).toBe(STATUS_NORMAL);
    // ... but replica 1's timer starts its next round before that answer arrives.
    let rounds = 0;
    for (let t = 0; t < 1000 && rounds < 2; t++) {
      c.replicas[1].onTick();
      c.drain(1);
      rounds = 0;
      for (let k = 0; k < c.sent[1].length; k++) if (c.sent[1][k] == CMD_RECOVERY) rounds++;
    }
    expect(rounds).toBe(2);
    c.tick(300);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
    register(c);
    expect(c.replicas[0].commitMin).toBe(1);
  });

  it("two of three empty, the formed one's answer arrives only after the straggler's next round really began (with or without an op prepared meanwhile): both form", () => {
    for (let proposeFirst = 0; proposeFirst < 2; proposeFirst++) {
      const c = new Cluster(3);
      c.down[2] = true;
      c.restartLost(0, 0x50);
      c.dropQueued();
      c.restartLost(1, 0x51);
      const ptr = c.queuePtr.shift();
      const len = c.queueLen.shift();
      c.queueTo.shift();
      c.replicas[0].onMessage(ptr, len); // 0 answers "lost" (queued for 1) and forms, counting 1 as a lost asker
      c.drain(0);
      expect(c.replicas[0].status).toBe(STATUS_NORMAL);
      if (proposeFirst == 1) {
        c.replicas[0].onMessage(makeRequest(1, 0, 0, OP_REGISTER), HEADER_SIZE + 8);
        c.drain(0);
      }
      const first = c.replicas[1].recoveryNonce;
      for (let t = 0; t < 1000 && c.replicas[1].recoveryNonce == first; t++) {
        c.replicas[1].onTick();
        c.drain(1);
      }
      expect(c.replicas[1].recoveryNonce).not.toBe(first); // its next round began before 0's answer arrived
      c.tick(300);
      expect(c.replicas[1].status).toBe(STATUS_NORMAL);
      expect(c.replicas[1].view).toBe(c.replicas[0].view);
    }
  });

  it("a stale replica (barred from formation) answers lost so the others form, but never forms itself", () => {
    const c = new Cluster(3);
    for (let i: u32 = 0; i < 3; i++) {
      c.restartLost(i, 0x30 + i, 0, i == 2); // replica 2 barred
    }
    c.tick(20);
    expect(c.replicas[0].status).toBe(STATUS_NORMAL);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    expect(c.replicas[2].stateLost).toBe(true);
    register(c); // the two others commit without it
    expect(c.replicas[0].commitMin).toBe(1);
    c.tick(50);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    expect(sentAny(c, 2, CMD_PREPARE_OK)).toBe(false);
  });

  it("replicas with a base (a partition's files) form only all together and alike; one restarted later with the same base joins without transfer, another base does not", () => {
    for (let same = 0; same < 2; same++) {
      const c = new Cluster(3);
      for (let i: u32 = 0; i < 3; i++) {
        c.restartLost(i, 0x60 + i, 0xba5e);
        if (i == 1) {
          c.tick(20);
          expect(c.replicas[0].status).toBe(STATUS_RECOVERING); // two of three alike are not enough with a base
        }
      }
      c.tick(20);
      expect(c.primary()).toBe(0);
      register(c); // formed, and committed
      c.restartLost(2, 0x62, same == 1 ? 0xba5e : 0xd1ff); // restarted
      c.tick(60);
      if (same == 1) {
        expect(c.replicas[2].status).toBe(STATUS_NORMAL); // took the ops since the base by repair
        expect(c.replicas[2].commitMin).toBe(1);
        expect(c.stateFrom[2]).toBe(-1);
      } else {
        expect(c.replicas[2].status).toBe(STATUS_RECOVERING); // another base: only a transfer brings it in
        expect(c.stateFrom[2]).toBe(0);
        expect(c.replicas[2].formationBarred).toBe(true); // its files change from here: never a base to form from
        transfer(c, 2);
        c.tick(20);
        expect(c.replicas[2].status).toBe(STATUS_NORMAL);
        expect(c.replicas[2].base).toBe(0xba5e); // the peer's group's base: a later shortcut only from that one
      }
    }
  });

  it("replicas with a base form without a barred one (it kept out, behind), which stays out", () => {
    const c = new Cluster(3);
    for (let i: u32 = 0; i < 3; i++) {
      c.restartLost(i, 0x80 + i, i == 2 ? 0x5ad : 0xba5e, i == 2); // replica 2 barred
    }
    c.tick(20);
    expect(c.primary()).toBe(0);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    register(c);
    expect(c.replicas[0].commitMin).toBe(1);
  });

  it("two replicas with a base restarted while the third runs on do not form apart from it", () => {
    const c = new Cluster(3);
    register(c);
    for (let i: u32 = 1; i < 3; i++) {
      c.restartLost(i, 0x70 + i, 0xf11e5);
    }
    c.tick(60);
    expect(c.replicas[1].status).toBe(STATUS_RECOVERING); // the runner's base (none: it started empty) is not theirs
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    expect(c.stateFrom[1]).toBe(0);
  });

  it("a replica that lost everything asks for the state of a primary that formed from files, though that primary committed no op yet", () => {
    const c = new Cluster(3);
    for (let i: u32 = 0; i < 3; i++) {
      c.restartLost(i, 0x90 + i, 0xba5e);
    }
    c.tick(20);
    expect(c.primary()).toBe(0);
    expect(c.replicas[0].commitMin).toBe(0); // its files are its state: nothing of this group committed yet
    c.restartLost(2, 0x99); // its data directory wiped: no base
    c.tick(60);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
    expect(c.stateFrom[2]).toBe(0); // the primary's files, not an empty start
  });

  it("every replica empty: nobody held state, the cluster forms in view 0 and commits", () => {
    const c = new Cluster(3);
    for (let i: u32 = 0; i < 3; i++) {
      c.restartLost(i, 0x99 + i);
    }
    c.tick(20);
    expect(c.primary()).toBe(0);
    register(c);
    c.tick(20); // the commit heartbeat tells the backups
    for (let i = 0; i < 3; i++) expect(c.replicas[i].commitMin).toBe(1);
  });
});

describe("vsr state transfer: a backup behind the primary's checkpoint (beyond its journal)", () => {
  it("asks the primary for its state instead of repairing, then commits on from it", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[2] = true;
    for (let i: u64 = 1; i <= 12; i++) c.request(1, session, i, APP);
    c.replicas[0].checkpoint = 10; // the primary's journal no longer holds ops 1..10
    c.blockTo[2] = false;
    c.tick(40);
    expect(c.stateFrom[2]).toBe(0);
    expect(c.stateOp[2]).toBe(13);
    expect(c.replicas[2].commitMin).toBe(1); // the register, before it was cut off
    transfer(c, 2);
    expect(c.replicas[2].commitMin).toBe(13);
    c.request(1, session, 13, APP);
    c.tick(20);
    expect(c.replicas[2].commitMin).toBe(14);
  });

  it("repairs op by op when its commit is at or above the checkpoint", () => {
    const c = new Cluster(3);
    const session = register(c);
    c.blockTo[2] = true;
    for (let i: u64 = 1; i <= 12; i++) c.request(1, session, i, APP);
    c.replicas[0].checkpoint = 1; // the register only: the backup holds it
    c.blockTo[2] = false;
    c.tick(40);
    expect(c.stateFrom[2]).toBe(-1);
    expect(c.replicas[2].commitMin).toBe(13);
  });
});

describe("vsr state transfer: a formation half done", () => {
  it("one replica formed alone (its answers to the others were lost): the stragglers, view 0's primary among them, still form with it and commit", () => {
    const c = new Cluster(3); // with a base: a partition group's formation
    for (let i: u32 = 0; i < 3; i++) c.restartLost(i, 0xa0 + i, 0xba5e);
    c.blockTo[0] = true;
    c.blockTo[2] = true;
    c.deliver(); // replica 1 hears both Recoveries and forms; its answers never arrive
    expect(c.replicas[1].status).toBe(STATUS_NORMAL, "1 formed");
    expect(c.replicas[0].status).toBe(STATUS_RECOVERING, "0 straggles");
    c.blockTo[0] = false;
    c.blockTo[2] = false;
    c.tick(200);
    for (let i: u32 = 0; i < 3; i++) expect(c.replicas[i].status).toBe(STATUS_NORMAL, `replica ${i} normal`);
    expect(c.primary()).toBeGreaterThanOrEqual(0, "a primary");
    register(c);
    expect(c.replicas[c.primary()].commitMin).toBe(1, "committed");
  });

  it("a whole cluster restarted from files that end at different batches: the longest cuts back to the majority's, a quorum forms, the shortest catches up", () => {
    const c = new Cluster(3);
    const batches: u32[] = [5, 4, 3]; // the primary wrote two batches the last backup had not, one the other had not
    for (let i: u32 = 0; i < 3; i++) c.restartLostWithTail(i, 0x90 + i, 0xf00 + batches[i], tail(batches[i]), batches[i], <u64>batches[i] * 10);
    c.tick(20);
    expect(c.replicas[0].status).toBe(STATUS_RECOVERING); // no two alike: nobody forms yet
    expect(formationCut(c.replicas[0])).toBe(40); // its fifth batch is on no majority: never committed
    expect(formationCut(c.replicas[1])).toBe(u64.MAX_VALUE); // its log is the majority's
    expect(formationCut(c.replicas[2])).toBe(u64.MAX_VALUE); // it lacks a batch of it: it catches up later
    // The host cuts replica 0's files back and gives their tail again.
    setBase(c.replicas[0], 0xf04);
    setTail(c.replicas[0], tail(4), 4, 40);
    c.drain(0);
    c.tick(40);
    expect(c.replicas[0].status).toBe(STATUS_NORMAL);
    expect(c.replicas[1].status).toBe(STATUS_NORMAL);
    expect(c.primary()).toBe(0);
    register(c);
    expect(c.replicas[0].commitMin).toBe(1);
    c.tick(40);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING); // another base: a transfer brings it in
    expect(c.stateFrom[2]).toBe(0);
  });

  it("without every replica's tail (one wiped or catching up) nobody cuts, and differing files do not form", () => {
    const c = new Cluster(3);
    c.restartLostWithTail(0, 0xa0, 0xf05, tail(5), 5, 50);
    c.restartLostWithTail(1, 0xa1, 0xf04, tail(4), 4, 40);
    c.restartLost(2, 0xa2, 0xf03, true); // barred: its files may lack what it acknowledged
    c.tick(60);
    expect(formationCut(c.replicas[0])).toBe(u64.MAX_VALUE);
    expect(c.replicas[0].status).toBe(STATUS_RECOVERING);
    expect(c.replicas[1].status).toBe(STATUS_RECOVERING);
  });

  it("a tail that is not a run of batches ending where it says (resealed by a peer) is not taken: nobody cuts or forms from it", () => {
    const c = new Cluster(3);
    c.restartLostWithTail(0, 0xb0, 0xf05, tail(5), 5, 50);
    c.restartLostWithTail(1, 0xb1, 0xf04, tail(4), 4, 40);
    c.dropQueued();
    c.restartLostWithTail(2, 0xb2, 0xf04, tail(4), 4, 40);
    // Replica 2's Recovery to replica 0 claims its 4 batches end at 45: sealed again, so only the run check can refuse it.
    for (let k = 0; k < c.queuePtr.length; k++) {
      if (c.queueTo[k] != 0) continue;
      store<u64>(c.queuePtr[k] + S_TAIL_END, 45);
      seal(c.queuePtr[k]);
    }
    c.deliver();
    expect((c.replicas[0].formKnown >> 2) & 1).toBe(0); // replica 2's tail is not known to replica 0
    expect(formationCut(c.replicas[0])).toBe(u64.MAX_VALUE);
  });
});

// Replica 1 cut off from the others until it changes views; then replica 0 down, replica 2 restarted lost (a
// partition group reopened from its files).
function strandedCandidate(): Cluster {
  const c = new Cluster(3);
  register(c);
  c.blockTo[1] = true;
  for (let t = 0; t < 400 && c.replicas[1].status != STATUS_VIEW_CHANGE; t++) c.tick(1);
  expect(c.replicas[1].status).toBe(STATUS_VIEW_CHANGE);
  c.blockTo[1] = false;
  c.down[0] = true;
  c.restartLost(2, 0x51, 0xf11e5);
  c.tick(60);
  return c;
}

describe("vsr state transfer: a view change no quorum can finish", () => {
  it("one peer lost, one down: not stranded (the one down may come back and vote)", () => {
    const c = strandedCandidate();
    expect(c.replicas[1].status).toBe(STATUS_VIEW_CHANGE);
    expect(stranded(c.replicas[1])).toBe(false);
  });

  it("both peers lost: stranded (no replica can vote with it), and the lost ones stay recovering meanwhile", () => {
    const c = strandedCandidate();
    c.down[0] = false;
    c.restartLost(0, 0x50, 0xf11e4);
    c.tick(60);
    expect(c.replicas[1].status).toBe(STATUS_VIEW_CHANGE);
    expect(stranded(c.replicas[1])).toBe(true);
    expect(c.replicas[0].status).toBe(STATUS_RECOVERING);
    expect(c.replicas[2].status).toBe(STATUS_RECOVERING);
  });

  it("its host starts it again from its files: all three lost with the same files form again and commit", () => {
    const c = strandedCandidate();
    c.down[0] = false;
    c.restartLost(0, 0x50, 0xf11e5);
    c.tick(60);
    expect(stranded(c.replicas[1])).toBe(true);
    c.restartLost(1, 0x52, 0xf11e5); // what the host does: the group reopened from its files (the same here)
    c.tick(200);
    expect(c.primary()).toBeGreaterThanOrEqual(0);
    for (let i: u32 = 0; i < 3; i++) expect(c.replicas[i].status).toBe(STATUS_NORMAL);
  });

  it("a Recovery heard while normal does not count: a peer that caught up from the primary and went quiet is not lost", () => {
    const c = new Cluster(3);
    register(c);
    c.restartLost(2, 0x71, 0); // replica 1, a normal backup, hears its Recovery
    c.tick(20);
    transfer(c, 2);
    c.tick(60);
    expect(c.replicas[2].status).toBe(STATUS_NORMAL);
    c.blockTo[1] = true;
    for (let t = 0; t < 400 && c.replicas[1].status != STATUS_VIEW_CHANGE; t++) c.tick(1);
    expect(c.replicas[1].status).toBe(STATUS_VIEW_CHANGE);
    c.blockTo[1] = false;
    c.down[2] = true; // replica 2 paused (it cannot join the view change yet)
    c.restartLost(0, 0x72, 0xf11e5);
    c.tick(60);
    expect(c.replicas[1].status).toBe(STATUS_VIEW_CHANGE);
    expect(stranded(c.replicas[1])).toBe(false); // only replica 0 is lost: replica 2 may still vote
  });

  it("a normal replica is never stranded, however many peers lost their state: it answers them", () => {
    const c = new Cluster(3);
    register(c);
    c.restartLost(1, 0x61, 0);
    c.restartLost(2, 0x62, 0);
    expect(stranded(c.replicas[0])).toBe(false);
  });
});
