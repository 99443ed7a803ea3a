/** Seeded randomness for the input pipeline: every draw derives from integer keys (seed, epoch, sample index). */

/** Mixes integer keys into one 32-bit hash (murmur3's finaliser after each key). */
export function hashKeys(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const key of keys) {
    // Split keys into 32-bit halves so sample indices and seeds above 2^32 still mix in full.
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    for (const part of [lo, hi]) {
      h = Math.imul(h ^ part, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** A uniform [0, 1) generator (sfc32) seeded from the keys; equal keys give equal sequences. */
export function rngFor(...keys: number[]): () => number {
  let a = hashKeys(...keys, 1);
  let b = hashKeys(...keys, 2);
  let c = hashKeys(...keys, 3);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Uniform float in [low, high) (numpy's rng.uniform). */
export function uniform(rng: () => number, low: number, high: number): number {
  return low + (high - low) * rng();
}

/** Uniform integer in [0, n) (numpy's rng.randint(n)). */
export function randint(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/** Standard normal draw (Box–Muller). */
export function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
