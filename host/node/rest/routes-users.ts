// Users, their permissions and password, and personal access tokens.
import * as req from '../../client/requests.js';
import * as res from '../../client/responses.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { Code } from './commands.js';
import { parseBody, pathId, permissions, str, u64, type Json } from './json-input.js';
import { permissionsJson, toJson } from './json-output.js';
import { badInput, refusal } from './rest-errors.js';
import { noContent, type Call, type Route } from './route.js';

const user = (c: Call) => pathId(c.params.user, 'user_id');

// Iggy's status strings, or the wire's numbers.
function status(o: Json): number | undefined {
  const v = o.status;
  if (v === undefined || v === null) return undefined;
  if (v === 'active' || v === req.UserStatus.active) return req.UserStatus.active;
  if (v === 'inactive' || v === req.UserStatus.inactive) return req.UserStatus.inactive;
  throw badInput('status', `must be active or inactive, not ${JSON.stringify(v)}`);
}

const statusName = (s: number) => (s === req.UserStatus.active ? 'active' : 'inactive');
const userJson = (u: res.UserInfo) => ({ ...(toJson(u) as object), status: statusName(u.status) });
const userDetailsJson = (u: res.UserDetails) => ({ ...userJson(u), permissions: permissionsJson(u.permissions) });

export const USER_ROUTES: Route[] = [
  { method: 'GET', path: '/users', handle: async (c) => ({ status: 200, json: res.readUsers(await c.run(Code.getUsers, req.empty(), 'get users')).map(userJson) }) },
  {
    method: 'POST', path: '/users',
    async handle(c) {
      const body = parseBody(c.body);
      const input = { username: str(body, 'username'), password: str(body, 'password'), status: status(body), permissions: permissions(body.permissions, 'permissions') };
      const created = res.readUserDetails(await c.run(Code.createUser, req.createUser(input), 'create user'));
      return { status: 201, json: userDetailsJson(created) };
    },
  },
  {
    method: 'GET', path: '/users/:user',
    async handle(c) {
      const payload = await c.run(Code.getUser, req.identifier(user(c)), 'get user');
      if (payload.length === 0) throw refusal(ErrorCode.resourceNotFound, 'get user');
      return { status: 200, json: userDetailsJson(res.readUserDetails(payload)) };
    },
  },
  {
    method: 'PUT', path: '/users/:user',
    async handle(c) {
      const id = user(c);
      const body = parseBody(c.body);
      await c.run(Code.updateUser, req.updateUser(id, { username: str(body, 'username', true), status: status(body) }), 'update user');
      return noContent;
    },
  },
  { method: 'DELETE', path: '/users/:user', handle: async (c) => (await c.run(Code.deleteUser, req.identifier(user(c)), 'delete user'), noContent) },
  {
    method: 'PUT', path: '/users/:user/password',
    async handle(c) {
      const id = user(c);
      const body = parseBody(c.body);
      await c.run(Code.changePassword, req.changePassword(id, str(body, 'current_password'), str(body, 'new_password')), 'change password');
      return noContent;
    },
  },
  {
    method: 'PUT', path: '/users/:user/permissions',
    async handle(c) {
      const id = user(c);
      const body = parseBody(c.body);
      await c.run(Code.updatePermissions, req.updatePermissions(id, permissions(body.permissions, 'permissions')), 'update permissions');
      return noContent;
    },
  },

  {
    method: 'GET', path: '/personal-access-tokens',
    handle: async (c) => ({ status: 200, json: res.readTokens(await c.run(Code.getTokens, req.empty(), 'get personal access tokens')).map((t) => ({ name: t.name, expiry_at: t.expiryAt === 0n ? null : t.expiryAt })) }),
  },
  {
    method: 'POST', path: '/personal-access-tokens',
    async handle(c) {
      const body = parseBody(c.body);
      // Iggy's expiry: seconds (0 or absent = the server default); the wire carries µs.
      const seconds = u64(body, 'expiry', 0n);
      const token = res.readRawToken(await c.run(Code.createToken, req.createToken(str(body, 'name'), seconds * 1_000_000n), 'create personal access token'));
      return { status: 201, json: { token } };
    },
  },
  {
    method: 'DELETE', path: '/personal-access-tokens/:name',
    async handle(c) {
      let name: string;
      try {
        name = decodeURIComponent(c.params.name);
      } catch {
        throw badInput('name', 'is not valid percent-encoding');
      }
      await c.run(Code.deleteToken, req.tokenName(name), 'delete personal access token');
      return noContent;
    },
  },
];

