// Every route of the REST API, in the order they are matched (fixed paths before parameters at the same place).
import { AUTH_ROUTES } from './routes-auth.js';
import { MESSAGE_ROUTES } from './routes-messages.js';
import { STREAM_ROUTES } from './routes-streams.js';
import { SYSTEM_ROUTES } from './routes-system.js';
import { USER_ROUTES } from './routes-users.js';
import type { Route } from './route.js';

export const ROUTES: Route[] = [...SYSTEM_ROUTES, ...AUTH_ROUTES, ...USER_ROUTES, ...STREAM_ROUTES, ...MESSAGE_ROUTES];
