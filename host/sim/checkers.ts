// Invariant checkers. They see every commit (from the COMMIT actions) and every reply a client accepted, and
// record the first violation of:
//   - agreement: every replica's committed prefix agrees op by op (same prepare checksum at each op);
//   - order: a replica commits op n only right after op n-1 (per incarnation), so commit numbers never regress;
//   - no acked loss: an op a client was told is committed is the op that stays committed at that number;
//   - at most once: a (client, session, request) appears at most once in the committed log;
//   - liveness (checked by the simulator): after faults stop, the cluster converges within a bound.
import { H, Operation, Prep, Rep } from '../shared/vsr-abi.js';

export class Checkers {
  violations: string[] = [];
  // Canonical committed log: op → checksum (as the first replica that committed it saw it).
  private committed = new Map<number, bigint>();
  private committedBy = new Map<number, number>(); // op → the replica that committed it first (named in violations)
  private committedKey = new Map<number, string>();
  private requestAt = new Map<string, number>();
  private acked = new Map<number, bigint>();
  private lastCommit: number[];
  maxCommitted = 0;
  maxAcked = 0;
  commits = 0;

  constructor(replicas: number) {
    this.lastCommit = new Array(replicas).fill(0);
  }

  violation(text: string): void {
    if (this.violations.length < 20) this.violations.push(text);
  }

  restarted(replica: number): void {
    this.lastCommit[replica] = 0; // the state machine restarts empty and the core replays from op 1
  }

  // A state transfer installed ops up to `op` at once: its next commit is op + 1.
  installed(replica: number, op: number): void {
    if (op > this.lastCommit[replica]) this.lastCommit[replica] = op;
  }

  commit(replica: number, prepare: Uint8Array): void {
    const v = new DataView(prepare.buffer, prepare.byteOffset, prepare.byteLength);
    const op = Number(v.getBigUint64(Prep.op, true));
    const checksum = v.getBigUint64(H.checksum, true);
    this.commits++;
    if (op !== this.lastCommit[replica] + 1) {
      this.violation(`order: replica ${replica} committed op ${op} after op ${this.lastCommit[replica]}`);
    }
    this.lastCommit[replica] = op;
    const known = this.committed.get(op);
    if (known === undefined) {
      this.committed.set(op, checksum);
      this.committedBy.set(op, replica);
      this.maxCommitted = Math.max(this.maxCommitted, op);
      const acked = this.acked.get(op);
      if (acked !== undefined && acked !== checksum) this.violation(`acked loss: op ${op} acked as another prepare`);
      const operation = v.getUint8(Prep.operation);
      if (operation !== Operation.Register) {
        const key = `${v.getBigUint64(Prep.client, true)}/${v.getBigUint64(Prep.session, true)}/${v.getBigUint64(Prep.request, true)}`;
        const other = this.requestAt.get(key);
        if (other !== undefined) this.violation(`at most once: request ${key} committed at op ${other} and op ${op}`);
        else this.requestAt.set(key, op);
        this.committedKey.set(op, key);
      }
    } else if (known !== checksum) {
      this.violation(`agreement: replica ${replica} committed op ${op} with another prepare than the cluster ` +
        `(replica ${this.committedBy.get(op)} committed ${hex(known)}, replica ${replica} ${hex(checksum)})`);
    }
  }

  // A reply a client accepted (status Ok, for its outstanding request).
  acknowledged(reply: Uint8Array): void {
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    const op = Number(v.getBigUint64(Rep.op, true));
    const checksum = v.getBigUint64(Rep.context, true);
    this.maxAcked = Math.max(this.maxAcked, op);
    const prior = this.acked.get(op);
    if (prior !== undefined && prior !== checksum) this.violation(`acked loss: op ${op} acked as two different prepares`);
    this.acked.set(op, checksum);
    const known = this.committed.get(op);
    if (known !== undefined && known !== checksum) this.violation(`acked loss: client acked op ${op}, cluster committed another prepare there`);
  }

  checkCommitRegress(replica: number, previous: number, current: number): void {
    if (current < previous) this.violation(`regress: replica ${replica} commit went from ${previous} to ${current}`);
  }

  // Every acked op must be committed in the end (the cluster converged to a commit at least this high).
  finalCheck(finalCommit: number): void {
    if (this.maxAcked > finalCommit) this.violation(`acked loss: client acked op ${this.maxAcked}, final commit is ${finalCommit}`);
    for (const [op, checksum] of this.acked) {
      const known = this.committed.get(op);
      if (known === undefined) this.violation(`acked loss: op ${op} was acked but never committed by any replica`);
      else if (known !== checksum) this.violation(`acked loss: op ${op}`);
    }
  }
}

function hex(checksum: bigint): string {
  return checksum.toString(16).padStart(16, '0').slice(0, 8);
}
