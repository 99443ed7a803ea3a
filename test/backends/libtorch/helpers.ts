import assert from 'node:assert/strict';
import { tf } from '../../../src/backends/tfjs.js';
import { registerLibtorchBackend } from '../../../src/backends/libtorch/index.js';

const status = await registerLibtorchBackend({ threads: 2 });
/** Why the libtorch tests skip: only when the addon is not built (or cannot load). */
export const skip: string | false = status.ok ? false : `libtorch backend unavailable: ${status.why}`;

export type Rand = () => number;

/** A seeded uniform [0, 1) generator (mulberry32), so a failing case replays from the seed in its message. */
export function rng(seed: number): Rand {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(r: Rand, shape: number[], lo = -1, hi = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => lo + (hi - lo) * r()),
    shape,
  );
}

export function ints(r: Rand, shape: number[], lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Int32Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r())),
    shape,
    'int32',
  );
}

export interface Result {
  shape: number[];
  dtype: string;
  values: number[];
}

function read(out: tf.Tensor | tf.Tensor[]): Result[] {
  return (Array.isArray(out) ? out : [out]).map((t) => ({
    shape: t.shape,
    dtype: t.dtype,
    values: Array.from(t.dataSync()),
  }));
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Element-wise |a - e| <= atol + rtol·|e|, with NaN and infinities required to match exactly. */
export function assertClose(actual: Result[], expected: Result[], tol: Tolerance, what: string): void {
  const { rtol = 1e-4, atol = 1e-5 } = tol;
  assert.equal(actual.length, expected.length, `${what}: number of outputs`);
  expected.forEach((e, i) => {
    const a = actual[i];
    assert.deepEqual(a.shape, e.shape, `${what}: shape of output ${i}`);
    assert.equal(a.dtype, e.dtype, `${what}: dtype of output ${i}`);
    let worst = -1;
    let at = -1;
    for (let j = 0; j < e.values.length; j++) {
      const [x, y] = [a.values[j], e.values[j]];
      if (Number.isNaN(y) || !Number.isFinite(y)) {
        if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y)))
          assert.fail(`${what}: output ${i}[${j}] is ${x}, cpu gives ${y}`);
        continue;
      }
      const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
      if (excess > worst) [worst, at] = [excess, j];
    }
    if (worst > 0) assert.fail(`${what}: output ${i}[${at}] is ${a.values[at]}, cpu gives ${e.values[at]}`);
  });
}

/** Kernels the libtorch backend ran, gathered across `compareWithCpu` calls (for the coverage check). */
export const kernelsRun = new Set<string>();

/**
 * Builds the same computation from the same seed on the cpu backend and on libtorch and compares the outputs.
 * `build` creates its inputs from `r`, so each backend gets identical fresh random data.
 */
export async function compareWithCpu(
  what: string,
  build: (r: Rand) => tf.Tensor | tf.Tensor[],
  tol: Tolerance = {},
): Promise<void> {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const once = (): Result[] => {
    const out = tf.tidy(() => build(rng(seed)));
    const results = read(out);
    tf.dispose(out);
    return results;
  };
  await tf.setBackend('cpu');
  const expected = once();
  await tf.setBackend('libtorch');
  let actual: Result[] = [];
  const profile = await tf.profile(() => {
    actual = once();
  });
  for (const name of profile.kernelNames) kernelsRun.add(name);
  assertClose(actual, expected, tol, `${what} (seed ${seed})`);
}
