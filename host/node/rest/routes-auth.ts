// Login, token refresh and logout: the only routes without a bearer token (besides /ping) are the two logins and
// the refresh, which carry their credential in the body.
import * as req from '../../client/requests.js';
import { TokenProblem } from './jwt-issuer.js';
import { parseBody, str } from './json-input.js';
import { HttpError } from './rest-errors.js';
import { ErrorCode } from '../../shared/wire/codes.js';
import { noContent, type Route } from './route.js';
import { Code } from './commands.js';


export const AUTH_ROUTES: Route[] = [
  {
    method: 'POST', path: '/users/login', public: true,
    async handle(call) {
      const body = parseBody(call.body);
      const login = req.registerWithPassword(str(body, 'username'), str(body, 'password'));
      return { status: 200, json: await call.sessions.login(Code.loginRegister, login, call.address) };
    },
  },
  {
    method: 'POST', path: '/personal-access-tokens/login', public: true,
    async handle(call) {
      const body = parseBody(call.body);
      return { status: 200, json: await call.sessions.login(Code.loginRegisterWithToken, req.registerWithToken(str(body, 'token')), call.address) };
    },
  },
  {
    method: 'POST', path: '/users/refresh-token', public: true,
    async handle(call) {
      const token = str(parseBody(call.body), 'token');
      let claims;
      try {
        claims = await call.sessions.issuer.verify(token, 'refresh');
      } catch (error) {
        if (error instanceof TokenProblem) throw new HttpError(401, ErrorCode.unauthenticated, error.message, 'token');
        throw error;
      }
      return { status: 200, json: await call.sessions.refresh(claims) };
    },
  },
  {
    method: 'DELETE', path: '/users/logout',
    async handle(call) {
      await call.sessions.logout(call.claims, call.session);
      return noContent;
    },
  },
];
