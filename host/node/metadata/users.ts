// Users and their personal access tokens: the committed users half of the metadata state. Only the apply step
// (users-apply.ts) and the snapshot decoder change it; everything else reads.
import type { Identifier } from '../../shared/wire/primitives.js';
import type { Permissions } from './permissions.js';

export const UserStatus = { active: 1, inactive: 2 } as const;
export type UserStatusValue = 1 | 2;

export interface PersonalAccessToken {
  name: string;
  tokenHash: string; // sha256 hex of the raw token (pats.ts); the raw token is never stored
  expiryAt: bigint; // absolute µs since the epoch; 0n = never expires
}

export interface User {
  id: number;
  username: string;
  passwordHash: string; // self-describing scrypt string (password.ts)
  status: UserStatusValue;
  createdAt: number; // µs since the epoch, from the committing op
  permissions: Permissions | null;
  options: Uint8Array; // the options TLV block as committed (the user catalog has no keys, so it is empty today)
  tokens: Map<string, PersonalAccessToken>; // by name, in creation order
}

export class UsersState {
  // Ids are never reused: a deleted user's id must not silently hand its sessions to a newcomer.
  nextId = 0;
  private readonly byId = new Map<number, User>();
  private readonly byName = new Map<string, number>();
  private readonly byTokenHash = new Map<string, { userId: number; name: string }>();

  get size(): number {
    return this.byId.size;
  }

  get(id: number): User | undefined {
    return this.byId.get(id);
  }

  byUsername(username: string): User | undefined {
    const id = this.byName.get(username);
    return id === undefined ? undefined : this.byId.get(id);
  }

  // Numeric identifiers are user ids, string identifiers exact usernames.
  resolve(id: Identifier): User | undefined {
    return id.kind === 'numeric' ? this.get(id.id) : this.byUsername(id.name);
  }

  // In id order (ids only grow and users are inserted in id order, also by the snapshot decoder).
  all(): User[] {
    return [...this.byId.values()];
  }

  insert(user: User): void {
    if (this.byId.has(user.id) || this.byName.has(user.username)) throw new Error(`user ${user.id} (${user.username}) already present`);
    this.byId.set(user.id, user);
    this.byName.set(user.username, user.id);
    for (const pat of user.tokens.values()) this.byTokenHash.set(pat.tokenHash, { userId: user.id, name: pat.name });
    this.nextId = Math.max(this.nextId, user.id + 1);
  }

  remove(id: number): void {
    const user = this.byId.get(id);
    if (!user) return;
    for (const pat of user.tokens.values()) this.byTokenHash.delete(pat.tokenHash);
    this.byName.delete(user.username);
    this.byId.delete(id);
  }

  rename(user: User, username: string): void {
    this.byName.delete(user.username);
    user.username = username;
    this.byName.set(username, user.id);
  }

  addToken(user: User, pat: PersonalAccessToken): void {
    user.tokens.set(pat.name, pat);
    this.byTokenHash.set(pat.tokenHash, { userId: user.id, name: pat.name });
  }

  removeToken(user: User, name: string): boolean {
    const pat = user.tokens.get(name);
    if (!pat) return false;
    user.tokens.delete(name);
    this.byTokenHash.delete(pat.tokenHash);
    return true;
  }

  hasTokenHash(tokenHash: string): boolean {
    return this.byTokenHash.has(tokenHash);
  }

  findToken(tokenHash: string): { user: User; pat: PersonalAccessToken } | undefined {
    const at = this.byTokenHash.get(tokenHash);
    const user = at && this.byId.get(at.userId);
    const pat = user?.tokens.get(at!.name);
    return user && pat ? { user, pat } : undefined;
  }
}
