// Errors a user can cause (bad flags, config, ports, missing build). They carry a stable name and print as one
// line without a stack trace; anything else is a bug and keeps its stack.
export class ShardlogError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = code;
  }
}

export function userError(code: string, message: string): ShardlogError {
  return new ShardlogError(code, message);
}

export function describeError(error: unknown): string {
  if (error instanceof ShardlogError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
