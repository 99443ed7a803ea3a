import { tf } from '../tfjs.js';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';

let tape: unknown = null;
let createdBefore = 0;
let previous: Tensor[] = [];
/** Wrapped config → the config it wraps, so wrapping twice wraps the original once. */
const originals = new WeakMap<GradConfig, GradConfig>();

/**
 * A gradient that frees memory as the backward pass goes. tfjs keeps every intermediate gradient until the whole
 * backward pass ends, so a ResNet's backward pass holds several times its forward activations. The engine calls a
 * node's gradient function and at once every input-gradient thunk it returned, before moving on; and the dy a node
 * receives is the gradient of that node's own output, which nothing reads again. So each gradient function first
 * releases the dy the previous one received. Only tensors the backward pass itself created are released (never a dy
 * the caller passed in), nothing while higher-order gradients are taken, and a thunk that would hand dy on unchanged
 * hands on a copy.
 */
export function withEarlyRelease(config: GradConfig): GradConfig {
  const base = originals.get(config) ?? config;
  const wrapped: GradConfig = {
    ...base,
    gradFunc: (dy, saved, attrs) => {
      releasePrevious(dy);
      const thunks = base.gradFunc(dy, saved, attrs);
      const dys = new Set(Array.isArray(dy) ? dy : [dy]);
      return Object.fromEntries(
        Object.entries(thunks).map(([input, thunk]) => [
          input,
          () => {
            const grad = thunk();
            return dys.has(grad) ? grad.clone() : grad;
          },
        ]),
      );
    },
  };
  originals.set(wrapped, base);
  return wrapped;
}

function releasePrevious(dy: Tensor | Tensor[]): void {
  const state = tf.engine().state;
  if (state.activeTape !== tape) {
    tape = state.activeTape;
    previous = [];
    createdBefore = Math.max(0, ...(state.activeTape ?? []).flatMap((node) => node.outputs.map((t) => t.id)));
  }
  for (const t of previous) t.dispose();
  previous =
    state.gradientDepth > 0 ? [] : (Array.isArray(dy) ? dy : [dy]).filter((t) => t != null && t.id > createdBefore);
}
