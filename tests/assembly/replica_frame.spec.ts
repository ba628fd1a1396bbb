import {
  FRAME_CHECKSUM, FRAME_CLUSTER, FRAME_COMMAND, FRAME_GROUP, FRAME_OK, FRAME_REPLICA, FRAME_SIZE, REPLICA_ATTACHMENT_MAX, REPLICA_FRAME_MAX,
  consensusGroupOf, replicaFrameAttach, replicaFrameBody, replicaFrameHeader, replicaFrameLinkLocal, replicaPingWrite, LINK_NONE, LINK_PING, LINK_PONG, routeConsensusFrame,
} from "../../assembly/vsr/replica_frame";
import {
  CMD_COMMIT, CMD_DO_VIEW_CHANGE, CMD_PING, CMD_PONG, CMD_PREPARE, CMD_PREPARE_OK, CMD_REPLY, CMD_REQUEST_PREPARES, CMD_START_VIEW,
  CMD_START_VIEW_CHANGE, CMD_STATE_CHUNK, HEADER_SIZE, MESSAGE_MAX,
} from "../../assembly/vsr/constants";
import {
  C_GROUP, D_GROUP, H_ATTACH_SIZE, H_CLUSTER, H_COMMAND, H_REPLICA, H_SIZE, K_GROUP, P_GROUP, Q_GROUP, S_GROUP, V_GROUP, Y_GROUP, seal,
  sealPrepareFrame, sealPrepareIdentity,
} from "../../assembly/vsr/header";
import { INVALID_NAMESPACE, METADATA_GROUP, namespacePack, routeConsensusControl, routePartition } from "../../assembly/router";

const CLUSTER: u64 = 7;
const BODY: u32 = 32;

let m: usize = 0;

// A message from replica 1 of CLUSTER: `command` with `group` at `offset`, sealed.
function message(cmd: u8, offset: usize, group: u64): usize {
  if (m == 0) m = heap.alloc(REPLICA_FRAME_MAX);
  memory.fill(m, 0, HEADER_SIZE + BODY);
  store<u32>(m + H_SIZE, HEADER_SIZE + BODY);
  store<u8>(m + H_COMMAND, cmd);
  store<u8>(m + H_REPLICA, 1);
  store<u64>(m + H_CLUSTER, CLUSTER);
  store<u64>(m + offset, group);
  if (cmd == CMD_PREPARE) {
    sealPrepareIdentity(m);
    sealPrepareFrame(m);
  } else {
    seal(m);
  }
  return m;
}

describe("consensusGroupOf", () => {
  it("reads the group where each command keeps it", () => {
    expect(consensusGroupOf(message(CMD_PREPARE, P_GROUP, 11))).toBe(11);
    expect(consensusGroupOf(message(CMD_PREPARE_OK, K_GROUP, 12))).toBe(12);
    expect(consensusGroupOf(message(CMD_COMMIT, C_GROUP, 13))).toBe(13);
    expect(consensusGroupOf(message(CMD_START_VIEW_CHANGE, S_GROUP, 14))).toBe(14);
    expect(consensusGroupOf(message(CMD_DO_VIEW_CHANGE, D_GROUP, 15))).toBe(15);
    expect(consensusGroupOf(message(CMD_START_VIEW, V_GROUP, 16))).toBe(16);
    expect(consensusGroupOf(message(CMD_REQUEST_PREPARES, Q_GROUP, 17))).toBe(17);
    expect(consensusGroupOf(message(CMD_REPLY, Y_GROUP, 18))).toBe(18);
  });

  it("has no group for a command it does not know", () => {
    expect(consensusGroupOf(message(99, P_GROUP, 11))).toBe(INVALID_NAMESPACE);
  });
});

describe("routeConsensusFrame", () => {
  it("pins every metadata-group message to shard 0, though its hash picks shard 1 of 2", () => {
    expect(routeConsensusControl(METADATA_GROUP, 2)).toBe(0);
    expect(routeConsensusFrame(message(CMD_COMMIT, C_GROUP, METADATA_GROUP), 2)).toBe(0);
    expect(routeConsensusFrame(message(CMD_START_VIEW_CHANGE, S_GROUP, METADATA_GROUP), 2)).toBe(0);
    expect(routeConsensusFrame(message(CMD_DO_VIEW_CHANGE, D_GROUP, METADATA_GROUP), 2)).toBe(0);
    expect(routeConsensusFrame(message(CMD_START_VIEW, V_GROUP, METADATA_GROUP), 2)).toBe(0);
    expect(routeConsensusFrame(message(CMD_PREPARE, P_GROUP, METADATA_GROUP), 2)).toBe(0);
    // Group 0 (what the server once used for the metadata group) goes to shard 1 of 2: the bug the sentinel fixes.
    expect(routeConsensusFrame(message(CMD_COMMIT, C_GROUP, 0), 2)).toBe(1);
  });

  it("routes a partition's prepares and control messages to the shard its namespace hashes to", () => {
    for (let p: u32 = 1; p < 40; p++) {
      const ns = namespacePack(3, 2, p);
      const owner = routePartition(3, 2, p, 4);
      expect(routeConsensusFrame(message(CMD_PREPARE, P_GROUP, ns), 4)).toBe(owner);
      expect(routeConsensusFrame(message(CMD_PREPARE_OK, K_GROUP, ns), 4)).toBe(owner);
      expect(routeConsensusFrame(message(CMD_COMMIT, C_GROUP, ns), 4)).toBe(owner);
    }
  });
});

describe("replicaFrameHeader / replicaFrameBody", () => {
  it("lets a sealed message from the authenticated peer through, with its size", () => {
    const f = message(CMD_COMMIT, C_GROUP, METADATA_GROUP);
    expect(replicaFrameHeader(f, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + BODY));
    expect(replicaFrameBody(f, HEADER_SIZE + BODY)).toBe(FRAME_OK);
    const p = message(CMD_PREPARE, P_GROUP, namespacePack(1, 1, 1));
    expect(replicaFrameHeader(p, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + BODY));
    expect(replicaFrameBody(p, HEADER_SIZE + BODY)).toBe(FRAME_OK);
  });

  it("refuses a size below a header or above the largest replica message before the body is read", () => {
    const f = message(CMD_COMMIT, C_GROUP, METADATA_GROUP);
    store<u32>(f + H_SIZE, HEADER_SIZE - 1);
    expect(replicaFrameHeader(f, CLUSTER, 1)).toBe(FRAME_SIZE);
    store<u32>(f + H_SIZE, REPLICA_FRAME_MAX + 1);
    expect(replicaFrameHeader(f, CLUSTER, 1)).toBe(FRAME_SIZE);
    store<u32>(f + H_SIZE, 0xffffffff);
    expect(replicaFrameHeader(f, CLUSTER, 1)).toBe(FRAME_SIZE);
  });

  it("refuses another cluster's message, also one that differs only in the high half of the cluster id", () => {
    const f = message(CMD_COMMIT, C_GROUP, METADATA_GROUP);
    expect(replicaFrameHeader(f, CLUSTER + 1, 1)).toBe(FRAME_CLUSTER);
    store<u64>(f + H_CLUSTER + 8, 1);
    expect(replicaFrameHeader(f, CLUSTER, 1)).toBe(FRAME_CLUSTER);
  });

  it("refuses a message naming another sender than the link's authenticated peer", () => {
    expect(replicaFrameHeader(message(CMD_COMMIT, C_GROUP, METADATA_GROUP), CLUSTER, 2)).toBe(FRAME_REPLICA);
  });

  it("refuses commands replicas do not exchange (a client's reply, an unknown number)", () => {
    expect(replicaFrameHeader(message(CMD_REPLY, Y_GROUP, METADATA_GROUP), CLUSTER, 1)).toBe(FRAME_COMMAND);
    expect(replicaFrameHeader(message(0, C_GROUP, METADATA_GROUP), CLUSTER, 1)).toBe(FRAME_COMMAND);
  });

  it("refuses a group no shard can hold", () => {
    expect(replicaFrameHeader(message(CMD_COMMIT, C_GROUP, INVALID_NAMESPACE), CLUSTER, 1)).toBe(FRAME_GROUP);
    expect(replicaFrameHeader(message(CMD_COMMIT, C_GROUP, (<u64>1 << 62)), CLUSTER, 1)).toBe(FRAME_GROUP);
  });

  it("refuses a body or header whose checksum does not verify", () => {
    const f = message(CMD_COMMIT, C_GROUP, METADATA_GROUP);
    store<u8>(f + HEADER_SIZE + 3, load<u8>(f + HEADER_SIZE + 3) ^ 1);
    expect(replicaFrameBody(f, HEADER_SIZE + BODY)).toBe(FRAME_CHECKSUM);
    const g = message(CMD_COMMIT, C_GROUP, METADATA_GROUP);
    store<u64>(g + C_GROUP + 16, 1); // a header byte outside the fields the header check reads
    expect(replicaFrameHeader(g, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + BODY));
    expect(replicaFrameBody(g, HEADER_SIZE + BODY)).toBe(FRAME_CHECKSUM);
    const p = message(CMD_PREPARE, P_GROUP, METADATA_GROUP);
    store<u32>(p + 52, 9); // the view, covered by the prepare's frame seal only
    expect(replicaFrameBody(p, HEADER_SIZE + BODY)).toBe(FRAME_CHECKSUM);
  });
});

describe("ping and pong (link liveness)", () => {
  it("are sealed headers the link handles itself: valid without a group, never routed", () => {
    if (m == 0) m = heap.alloc(REPLICA_FRAME_MAX);
    replicaPingWrite(m, CLUSTER, 1, false);
    expect(load<u8>(m + H_COMMAND)).toBe(CMD_PING);
    expect(replicaFrameLinkLocal(m)).toBe(LINK_PING);
    expect(replicaFrameHeader(m, CLUSTER, 1)).toBe(<i32>HEADER_SIZE);
    expect(replicaFrameBody(m, HEADER_SIZE)).toBe(FRAME_OK);
    expect(routeConsensusFrame(m, 2)).toBeLessThan(0);
    replicaPingWrite(m, CLUSTER, 1, true);
    expect(load<u8>(m + H_COMMAND)).toBe(CMD_PONG);
    expect(replicaFrameLinkLocal(m)).toBe(LINK_PONG);
    expect(replicaFrameHeader(m, CLUSTER, 1)).toBe(<i32>HEADER_SIZE);
    expect(replicaFrameLinkLocal(message(CMD_COMMIT, C_GROUP, METADATA_GROUP))).toBe(LINK_NONE);
  });

  it("are refused with a body, from another cluster or another sender, like any frame", () => {
    replicaPingWrite(m, CLUSTER, 1, false);
    expect(replicaFrameHeader(m, CLUSTER + 1, 1)).toBe(FRAME_CLUSTER);
    expect(replicaFrameHeader(m, CLUSTER, 2)).toBe(FRAME_REPLICA);
    store<u32>(m + H_SIZE, HEADER_SIZE + 8);
    expect(replicaFrameHeader(m, CLUSTER, 1)).toBe(FRAME_SIZE);
    replicaPingWrite(m, CLUSTER, 1, false);
    store<u8>(m + 200, 1);
    expect(replicaFrameBody(m, HEADER_SIZE)).toBe(FRAME_CHECKSUM);
  });
});

const ATTACH: u32 = 1000;

// A sealed prepare with ATTACH bytes of attachment after it, stamped by replicaFrameAttach.
function attached(): usize {
  const p = message(CMD_PREPARE, P_GROUP, METADATA_GROUP);
  for (let i: u32 = 0; i < ATTACH; i++) store<u8>(p + HEADER_SIZE + BODY + i, <u8>(i * 7));
  expect(replicaFrameAttach(p, p + HEADER_SIZE + BODY, ATTACH)).toBe(true);
  return p;
}

describe("a prepare's attachment (the real body its descriptor binds)", () => {

  it("travels after the prepare: the header asks for both, the body check covers both", () => {
    const p = attached();
    expect(replicaFrameHeader(p, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + BODY + ATTACH));
    expect(replicaFrameBody(p, HEADER_SIZE + BODY + ATTACH)).toBe(FRAME_OK);
  });

  it("is stamped from where it lies: bytes elsewhere, sent after the prepare, check as if they had followed it", () => {
    const p = message(CMD_PREPARE, P_GROUP, METADATA_GROUP);
    const elsewhere = heap.alloc(ATTACH);
    for (let i: u32 = 0; i < ATTACH; i++) store<u8>(elsewhere + i, <u8>(i * 11));
    expect(replicaFrameAttach(p, elsewhere, ATTACH)).toBe(true);
    memory.copy(p + HEADER_SIZE + BODY, elsewhere, ATTACH); // what the receiver reads: the prepare, then the bytes
    expect(replicaFrameBody(p, HEADER_SIZE + BODY + ATTACH)).toBe(FRAME_OK);
    store<u8>(p + HEADER_SIZE + BODY + 7, load<u8>(p + HEADER_SIZE + BODY + 7) ^ 1); // not the bytes it was stamped from
    expect(replicaFrameBody(p, HEADER_SIZE + BODY + ATTACH)).toBe(FRAME_CHECKSUM);
  });

  it("is refused when one byte of it changes, or when the frame is cut or longer than stamped", () => {
    const p = attached();
    store<u8>(p + HEADER_SIZE + BODY + 500, load<u8>(p + HEADER_SIZE + BODY + 500) ^ 1);
    expect(replicaFrameBody(p, HEADER_SIZE + BODY + ATTACH)).toBe(FRAME_CHECKSUM);
    const q = attached();
    expect(replicaFrameBody(q, HEADER_SIZE + BODY + ATTACH - 1)).toBe(FRAME_CHECKSUM);
    expect(replicaFrameBody(q, HEADER_SIZE + BODY + ATTACH + 1)).toBe(FRAME_CHECKSUM);
    expect(replicaFrameBody(q, HEADER_SIZE + BODY)).toBe(FRAME_CHECKSUM);
  });

  it("has its length and checksum under the frame seal: rewriting the length alone is refused", () => {
    const p = attached();
    store<u32>(p + H_ATTACH_SIZE, ATTACH - 10);
    expect(replicaFrameBody(p, HEADER_SIZE + BODY + ATTACH - 10)).toBe(FRAME_CHECKSUM);
  });

  it("is only a prepare's, and at most REPLICA_ATTACHMENT_MAX", () => {
    const p = message(CMD_PREPARE, P_GROUP, METADATA_GROUP);
    expect(replicaFrameAttach(p, p + HEADER_SIZE + BODY, REPLICA_ATTACHMENT_MAX + 1)).toBe(false);
    store<u32>(p + H_ATTACH_SIZE, REPLICA_ATTACHMENT_MAX + 1);
    expect(replicaFrameHeader(p, CLUSTER, 1)).toBe(FRAME_SIZE);
    const c = message(CMD_COMMIT, C_GROUP, METADATA_GROUP); // the same buffer, now a commit
    expect(replicaFrameAttach(c, c + HEADER_SIZE + BODY, 10)).toBe(false);
    // A commit whose attachment field is set (sealed with it) is refused: only a prepare carries one.
    store<u32>(c + H_ATTACH_SIZE, 10);
    seal(c);
    expect(replicaFrameHeader(c, CLUSTER, 1)).toBe(FRAME_SIZE);
    expect(REPLICA_FRAME_MAX).toBeGreaterThanOrEqual(MESSAGE_MAX);
  });

  it("may follow a header-only StateChunk (a partition's batches), under its header checksum", () => {
    const c = message(CMD_STATE_CHUNK, S_GROUP, 5);
    store<u32>(c + H_SIZE, HEADER_SIZE);
    seal(c);
    for (let i: u32 = 0; i < ATTACH; i++) store<u8>(c + HEADER_SIZE + i, <u8>(i * 3));
    expect(replicaFrameAttach(c, c + HEADER_SIZE, ATTACH)).toBe(true);
    expect(replicaFrameHeader(c, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + ATTACH));
    expect(replicaFrameBody(c, HEADER_SIZE + ATTACH)).toBe(FRAME_OK);
    store<u8>(c + HEADER_SIZE + 9, load<u8>(c + HEADER_SIZE + 9) ^ 1);
    expect(replicaFrameBody(c, HEADER_SIZE + ATTACH)).toBe(FRAME_CHECKSUM);
    // A chunk with a body of its own (the metadata's) carries none.
    const d = message(CMD_STATE_CHUNK, S_GROUP, 5);
    expect(replicaFrameAttach(d, d + HEADER_SIZE + BODY, ATTACH)).toBe(false);
    store<u32>(d + H_ATTACH_SIZE, 10);
    seal(d);
    expect(replicaFrameHeader(d, CLUSTER, 1)).toBe(FRAME_SIZE);
  });

  it("is cleared when the prepare's frame is sealed again (a re-send or a journal write carries none)", () => {
    const p = attached();
    sealPrepareFrame(p);
    expect(load<u32>(p + H_ATTACH_SIZE)).toBe(0);
    expect(replicaFrameHeader(p, CLUSTER, 1)).toBe(<i32>(HEADER_SIZE + BODY));
    expect(replicaFrameBody(p, HEADER_SIZE + BODY)).toBe(FRAME_OK);
  });
});
