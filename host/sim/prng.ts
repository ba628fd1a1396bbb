// Seeded PRNG for the simulator: xoshiro128** seeded through splitmix32. Every random choice of a run comes
// from a Prng derived from the run's seed, so a seed replays exactly. Never Math.random.
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, salt = 0) {
    let s = (Math.floor(seed) ^ Math.floor(seed / 0x100000000) * 0x9e3779b1 ^ salt) >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split(); this.b = split(); this.c = split(); this.d = split();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  // [0, 1)
  float(): number {
    return this.nextU32() / 0x100000000;
  }

  // [0, n)
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  // [lo, hi]
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  // Exponential with the given mean (for network delays and fault durations).
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
