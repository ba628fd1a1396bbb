// Client request bodies of the users commands (iggy-client-wire.md §7.9, §7.10), a root-bootstrapped state built
// once (scrypt is slow) and cloned per test through the snapshot, and a prepare→apply pipeline with op numbers.
import assert from 'node:assert/strict';
import { Writer, utf8 } from '../../../host/shared/wire/buffer.js';
import { Operation } from '../../../host/shared/wire/codes.js';
import { type Identifier, writeIdentifier, writeName } from '../../../host/shared/wire/primitives.js';
import { type Permissions, writeOptionalPermissions } from '../../../host/node/metadata/permissions.js';
import { type MetadataState, createMetadataState } from '../../../host/node/metadata/state.js';
import { type ApplyResult, type CommittedOp, InternalOperation, type Prepared, type Session } from '../../../host/node/metadata/types.js';
import { applyUsersOp } from '../../../host/node/metadata/users-apply.js';
import { bootstrapRootBody, prepareUsersOp } from '../../../host/node/metadata/users-prepare.js';
import { decodeUsersSnapshot, encodeUsersSnapshot } from '../../../host/node/metadata/users-snapshot.js';

export const T0 = 1_700_000_000_000_000; // µs

const secret = (w: Writer, s: string): Writer => {
  const b = utf8.encode(s);
  return w.u8(b.length).bytes(b);
};

export function createUserBody(username: string, password: string, status = 1, permissions: Permissions | null = null, options = new Uint8Array(0)): Uint8Array {
  const w = writeName(new Writer(), username);
  secret(w, password).u8(status);
  return writeOptionalPermissions(w, permissions).bytes(options).finish();
}

export function updateUserBody(user: Identifier, username: string | null, status: number | null): Uint8Array {
  const w = writeIdentifier(new Writer(), user).u8(username === null ? 0 : 1);
  if (username !== null) writeName(w, username);
  w.u8(status === null ? 0 : 1);
  if (status !== null) w.u8(status);
  return w.finish();
}

export const identifierBody = (user: Identifier): Uint8Array => writeIdentifier(new Writer(), user).finish();

export function changePasswordBody(user: Identifier, current: string, next: string): Uint8Array {
  return secret(secret(writeIdentifier(new Writer(), user), current), next).finish();
}

export function updatePermissionsBody(user: Identifier, permissions: Permissions | null): Uint8Array {
  return writeOptionalPermissions(writeIdentifier(new Writer(), user), permissions).finish();
}

export const createPatBody = (name: string, expiry: bigint): Uint8Array => writeName(new Writer(), name).u64(expiry).finish();
export const deletePatBody = (name: string): Uint8Array => writeName(new Writer(), name).finish();

export const sessionOf = (userId: number): Session => ({ userId, client: BigInt(userId + 1000), connectionId: userId + 1 });

// Root `iggy`/`iggy` plus `alice` (password `alice-pw`, no permissions) committed as ops 1 and 2.
let base: Uint8Array | undefined;
export async function baseState(): Promise<MetadataState> {
  if (!base) {
    const s = createMetadataState();
    const p = new Pipeline(s);
    assert.equal(p.apply(InternalOperation.bootstrapRoot, await bootstrapRootBody('iggy', 'iggy'), 0).result, 0);
    assert.equal((await p.run(Operation.createUser, createUserBody('alice', 'alice-pw'), 0)).result, 0);
    base = encodeUsersSnapshot(s.users);
  }
  const state = createMetadataState();
  state.users = decodeUsersSnapshot(base);
  return state;
}

// Commits ops in order with increasing op numbers and timestamps, like the metadata group would.
export class Pipeline {
  op = 0;
  clock = T0;
  lastPrepared: Prepared | undefined;
  readonly log: CommittedOp[] = [];

  constructor(readonly state: MetadataState) {}

  apply(operation: number, body: Uint8Array, userId: number): ApplyResult {
    this.op += 1;
    this.clock += 1000;
    const op: CommittedOp = { op: this.op, operation, body, timestampMicros: this.clock, client: BigInt(userId + 1000), userId };
    this.log.push(op);
    return applyUsersOp(this.state, op);
  }

  // Prepare as `userId`, then commit: a prepare failure comes back as { status }.
  async run(operation: number, body: Uint8Array, userId: number): Promise<ApplyResult & { status?: number; reply?: Uint8Array }> {
    const prepared = await prepareUsersOp(this.state, sessionOf(userId), operation, body, this.clock);
    this.lastPrepared = prepared;
    if (!prepared.ok) return { result: -1, payload: new Uint8Array(0), status: prepared.status };
    return { ...this.apply(operation, prepared.body, userId), reply: prepared.reply };
  }
}
