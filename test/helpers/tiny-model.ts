import type * as tfc from '@tensorflow/tfjs-core';
import { tf } from '../../src/backends/tfjs.js';
import type { BuildContext } from '../../src/registry/component.js';
import type { Model } from '../../src/models/types.js';

/** The cpu backend (the project's tfjs, gradients registered) and a build context for a model on `inputShape` images of `numClasses` classes. */
export async function cpuContext(
  inputShape: [number, number, number],
  numClasses: number,
  seed = 1,
): Promise<BuildContext> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, seed, configDir: '.', facts: { inputShape, numClasses }, log: () => {} };
}

export function variable(model: Model, name: string): tfc.Variable {
  const v = model.variables.find((x) => x.name === name);
  if (!v) throw new Error(`no variable ${name}`);
  return v.variable;
}

/** Scales a variable in place (forcing a residual branch towards zero or making it large). */
export function scale(model: Model, name: string, factor: number): void {
  const v = variable(model, name);
  tf.tidy(() => v.assign(tf.mul(v, factor)));
}

export function randomImages(n: number, shape: [number, number, number], seed = 7): tfc.Tensor4D {
  return tf.randomNormal([n, ...shape], 0, 1, 'float32', seed) as tfc.Tensor4D;
}

export function maxAbsDiff(a: tfc.Tensor, b: tfc.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

export { tf };

/** Peak bytes a forward pass allocates beyond what existed before it (weights and input excluded). */
export async function forwardPeakBytes(model: Model, x: tfc.Tensor4D, training: boolean): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    tf.dispose(model.apply(x, { training, updateStats: false }) as unknown as tfc.TensorContainer);
  });
  return info.peakBytes - before;
}
