// Atomics.waitAsync without stalling the event loop. Its promise holds no reference on Node's event loop, so a
// thread whose only pending work is such a wait simply exits (worker exit code 13, unsettled top-level await).
// A ref'd timer for the same timeout keeps the loop alive and bounds the wait.
export function waitWord(view: Int32Array, index: number, value: number, timeoutMs: number): Promise<'ok' | 'not-equal' | 'timed-out'> {
  const result = Atomics.waitAsync(view, index, value, timeoutMs);
  if (!result.async) return Promise.resolve(result.value);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => { timer = setTimeout(() => resolve('timed-out'), timeoutMs + 5); });
  return Promise.race([result.value, timeout]).finally(() => clearTimeout(timer));
}
