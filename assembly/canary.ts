// Engine self-test. V8 11.3's Liftoff tier (Node 20) miscompiles two memory.atomic.wait32 in one function; the
// correct answer is 12 (NOT_EQUAL = 1, then TIMED_OUT = 2). Every entry point checks it before trusting rings.
export function waitCanary(p: usize): i32 {
  atomic.store<i32>(p, 5);
  return <i32>atomic.wait<i32>(p, 4, 1000) * 10 + <i32>atomic.wait<i32>(p, 5, 1000);
}
