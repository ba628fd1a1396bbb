// The JSON error of every refused HTTP request, in Iggy's shape: `id` (the Iggy error code, as the binary protocol
// answers it), `code` (its snake_case name, stable), `reason` (a sentence), `field` (the input that was wrong, when
// one was). The HTTP status follows the kind of refusal.
import { ErrorCode } from '../../shared/wire/codes.js';

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, id]) => [id, name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));

// Not Iggy codes but this API's own refusals (named like Iggy's, outside its numbering).
export const HttpErrorId = { bodyTooLarge: 100_413, notFound: 100_404, methodNotAllowed: 100_405 } as const;
const OWN_NAMES = new Map<number, string>([
  [HttpErrorId.bodyTooLarge, 'request_body_too_large'], [HttpErrorId.notFound, 'route_not_found'],
  [HttpErrorId.methodNotAllowed, 'method_not_allowed'],
]);

export function errorName(id: number): string {
  return NAMES.get(id) ?? OWN_NAMES.get(id) ?? `error_${id}`;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly id: number, reason: string, readonly field?: string) {
    super(reason);
  }

  toJSON() {
    return { id: this.id, code: errorName(this.id), reason: this.message, field: this.field ?? null };
  }
}

// A bad value in the request (path, query or body): 400 with the field named.
export const badInput = (field: string, reason: string, id: number = ErrorCode.invalidFormat): HttpError =>
  new HttpError(400, id, `${field}: ${reason}`, field);

// What the binary protocol refused, as HTTP: the same Iggy code, a status for its kind.
// An unknown id or name names its field (stream_id_not_found: stream_id), as the path parameter is called.
export function refusal(id: number, what: string): HttpError {
  const name = errorName(id);
  const field = name.match(/^(\w+_id)_not_found$/)?.[1] ?? (name === 'partition_not_found' ? 'partition_id' : undefined);
  return new HttpError(statusOf(id), id, `${what}: ${name}`, field);
}

function statusOf(id: number): number {
  const name = errorName(id);
  if (id === ErrorCode.unauthenticated || id === ErrorCode.invalidCredentials || id === ErrorCode.invalidPersonalAccessToken || id === ErrorCode.staleClient) return 401;
  if (id === ErrorCode.unauthorized) return 403;
  if (id === ErrorCode.resourceNotFound || name.endsWith('_not_found')) return 404;
  if (name.endsWith('_already_exists')) return 409;
  if (id === ErrorCode.transientNotCommitted || id === ErrorCode.transientNotAccepted) return 503;
  if (id === ErrorCode.error) return 500;
  return 400;
}
